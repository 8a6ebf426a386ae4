/**
 * A seeded, reproducible generator of realistic clickstream events for the example pipeline
 * (pipelines/clickstream.ts). Used by the demo, the end-to-end tests and the bench.
 *
 * Each event comes with the exact JSON text a producer would send (written by hand, so a
 * `user_id` above 2^53 stays exact in the text) and the parsed expectation (`user_id` as a
 * bigint, `ts` as epoch ms, `amount` also in integer cents) from which tests compute exact
 * expected counts and sums.
 *
 * The shape: users have a sticky country, device and locale; sessions rotate; event times
 * mostly increase with arrival time, and a share of late events arrive minutes to hours after
 * they happened (so one batch touches several hourly partitions). About 600 bytes of JSON per
 * event, so 7,500 events make an MSK event of about 6 MB (the ESM's payload limit).
 */
import { mulberry32, type Rng } from './prng';

/** The parsed expectation of one generated event. Optional fields absent from the JSON are undefined. */
export interface ClickEvent {
  event_id: string;
  /** Exact; about `bigUserIdShare` of users have ids above 2^53. */
  user_id: bigint;
  session_id: string;
  event_type: EventType;
  /** ISO-8601 UTC with milliseconds, exactly as in the JSON. */
  ts: string;
  /** `ts` as epoch milliseconds. */
  tsMs: number;
  /** Only on purchases. */
  amount?: number;
  /** `amount` in integer cents, for exact sums. Only on purchases. */
  amountCents?: number;
  /** Only on purchases. */
  currency?: string;
  country: string;
  device: string;
  page_url: string;
  referrer: string | null;
  props: Record<string, string>;
}

export type EventType = 'page_view' | 'click' | 'search' | 'add_to_cart' | 'remove_from_cart' | 'begin_checkout' | 'purchase';

/** One generated event: the producer's JSON text, the expectation, and when it reached Kafka. */
export interface GeneratedClickEvent {
  json: string;
  event: ClickEvent;
  /** When the event reached Kafka (epoch ms, non-decreasing across the stream); ≥ `event.tsMs`. */
  arrivalMs: number;
  /** A natural Kafka key: the user id as decimal text. */
  key: string;
}

export interface ClickstreamOptions {
  /** Any integer; same seed and options → byte-identical output. */
  seed: number;
  /** Number of events. */
  count: number;
  /** Arrival time of the first event. @default 2026-01-15T10:00:00.000Z (fixed, so runs are reproducible) */
  start?: Date;
  /** Mean arrival rate, events per second. @default 50 */
  eventsPerSecond?: number;
  /** Share of events that arrive late (event time 5 minutes to `maxLatenessMs` before arrival). @default 0.02 */
  lateShare?: number;
  /** Largest lateness of a late event, ms. @default 3 hours */
  maxLatenessMs?: number;
  /** Size of the user population. @default 5000 */
  users?: number;
  /** Share of users whose id is above 2^53 (up to int64 max). @default 0.05 */
  bigUserIdShare?: number;
}

/** Epoch ms of the default start (2026-01-15T10:00:00Z). */
export const DEFAULT_START_MS = Date.UTC(2026, 0, 15, 10, 0, 0, 0);
const TWO_POW_53 = 2n ** 53n;
const INT64_MAX = 2n ** 63n - 1n;

const EVENT_TYPES: readonly (readonly [EventType, number])[] = [
  ['page_view', 45],
  ['click', 25],
  ['search', 10],
  ['add_to_cart', 8],
  ['remove_from_cart', 2],
  ['begin_checkout', 5],
  ['purchase', 5],
];
const COUNTRIES: readonly (readonly [string, number])[] = [
  ['US', 30], ['DE', 12], ['GB', 10], ['FR', 8], ['JP', 7], ['BR', 6], ['IN', 6], ['CA', 5], ['NL', 4], ['ES', 4], ['AU', 4], ['SE', 2], ['MX', 2],
];
const CURRENCY: Record<string, string> = {
  US: 'USD', DE: 'EUR', GB: 'GBP', FR: 'EUR', JP: 'JPY', BR: 'BRL', IN: 'INR', CA: 'CAD', NL: 'EUR', ES: 'EUR', AU: 'AUD', SE: 'SEK', MX: 'MXN',
};
const LOCALE: Record<string, string> = {
  US: 'en-US', DE: 'de-DE', GB: 'en-GB', FR: 'fr-FR', JP: 'ja-JP', BR: 'pt-BR', IN: 'en-IN', CA: 'en-CA', NL: 'nl-NL', ES: 'es-ES', AU: 'en-AU', SE: 'sv-SE', MX: 'es-MX',
};
const DEVICES: readonly (readonly [string, number])[] = [['mobile', 55], ['desktop', 35], ['tablet', 7], ['tv', 3]];
const USER_AGENTS: Record<string, readonly string[]> = {
  mobile: [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
    'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
  ],
  desktop: [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15',
    'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  ],
  tablet: ['Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'],
  tv: ['Mozilla/5.0 (Linux; Android 12; BRAVIA 4K VH2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.5615.136 Safari/537.36 OPR/46.0.2207.0 OMI/4.24'],
};
const CATEGORIES = ['shoes', 'running', 'outdoor', 'kitchen', 'books', 'toys', 'audio', 'garden', 'fitness', 'home-office'];
const SEARCHES = ['running shoes', 'trail shoes size 42', 'laufschuhe größe 44', 'café crème cups', 'noise cancelling headphones', 'yoga mat', 'カメラ バッグ', 'standing desk', 'garden hose 30m', 'tênis de corrida', 'lego technic', 'cast iron pan'];
const REFERRERS = [
  'https://www.google.com/',
  'https://www.bing.com/search?q=shop',
  'https://duckduckgo.com/',
  'https://www.facebook.com/',
  'https://t.co/x7Yq2Lm9aB',
  'https://www.instagram.com/',
  'https://news.ycombinator.com/',
  'https://mail.example.net/newsletter/2026-01',
];
const CAMPAIGNS = ['winter_sale', 'newsletter_w03', 'retargeting', 'brand', 'launch_audio'];
const SOURCES = ['google', 'newsletter', 'facebook', 'instagram', 'affiliate'];
const EXPERIMENTS = ['checkout_v2', 'search_ranking_b', 'free_shipping_banner', 'recs_carousel'];
const APP_VERSIONS = ['5.12.3', '5.12.4', '5.13.0', '5.13.1'];
const SCREENS: Record<string, readonly string[]> = {
  mobile: ['390x844', '412x915', '375x667', '360x800'],
  desktop: ['1920x1080', '2560x1440', '1440x900', '1366x768'],
  tablet: ['820x1180', '1024x1366'],
  tv: ['1920x1080', '3840x2160'],
};

interface User {
  id: bigint;
  idText: string;
  country: string;
  device: string;
  userAgent: string;
  screen: string;
  session: string;
  experiment: string;
  variant: string;
}

function makeUser(rng: Rng, bigShare: number): User {
  const id = rng.chance(bigShare)
    ? TWO_POW_53 + 1n + ((BigInt(rng.uint32()) << 31n) ^ BigInt(rng.uint32())) % (INT64_MAX - TWO_POW_53)
    : BigInt(rng.int(1, 99_999_999));
  const device = rng.weighted(DEVICES);
  return {
    id,
    idText: id.toString(),
    country: rng.weighted(COUNTRIES),
    device,
    userAgent: rng.pick(USER_AGENTS[device]),
    screen: rng.pick(SCREENS[device]),
    session: newSessionId(rng),
    experiment: rng.pick(EXPERIMENTS),
    variant: rng.pick(['A', 'B']),
  };
}

const newSessionId = (rng: Rng) => `s-${rng.hex(16)}`;

/** A UUID v4-shaped id drawn from the PRNG (reproducible, unlike crypto.randomUUID). */
export function uuidFrom(rng: Rng): string {
  const h = rng.hex(32);
  const variant = '89ab'[rng.int(0, 3)];
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const q = JSON.stringify;

/** Serializes a ClickEvent to JSON text with a fixed field order; bigints are written exactly. */
export function clickEventToJson(e: ClickEvent): string {
  let s = `{"event_id":${q(e.event_id)},"user_id":${e.user_id.toString()},"session_id":${q(e.session_id)},"event_type":${q(e.event_type)},"ts":${q(e.ts)}`;
  if (e.amount !== undefined) s += `,"amount":${q(e.amount)},"currency":${q(e.currency)}`;
  s += `,"country":${q(e.country)},"device":${q(e.device)},"page_url":${q(e.page_url)},"referrer":${e.referrer === null ? 'null' : q(e.referrer)},"props":{`;
  let first = true;
  for (const k in e.props) {
    s += `${first ? '' : ','}${q(k)}:${q(e.props[k])}`;
    first = false;
  }
  return `${s}}}`;
}

/**
 * Generates `count` clickstream events, reproducibly from `seed`.
 * @returns events in arrival order (non-decreasing `arrivalMs`), each with its exact JSON text.
 */
export function generateClickEvents(options: ClickstreamOptions): GeneratedClickEvent[] {
  const { seed, count } = options;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const rate = options.eventsPerSecond ?? 50;
  const lateShare = options.lateShare ?? 0.02;
  const maxLateness = options.maxLatenessMs ?? 3 * 3_600_000;
  if (!(rate > 0)) throw new RangeError(`eventsPerSecond must be > 0, got ${rate}`);
  if (!(maxLateness >= 300_000)) throw new RangeError(`maxLatenessMs must be at least 300000 (5 minutes), got ${maxLateness}`);
  const rng = mulberry32(seed);
  const users = Array.from({ length: options.users ?? 5000 }, () => makeUser(rng, options.bigUserIdShare ?? 0.05));
  let arrival = options.start ? options.start.getTime() : DEFAULT_START_MS;
  const out: GeneratedClickEvent[] = new Array(count);

  for (let i = 0; i < count; i++) {
    arrival += Math.round(-Math.log(1 - rng.next()) * (1000 / rate));
    const user = rng.pick(users);
    if (rng.chance(0.08)) user.session = newSessionId(rng);
    const tsMs = rng.chance(lateShare) ? arrival - rng.int(300_000, maxLateness) : arrival - rng.int(0, 2_000);
    const type = rng.weighted(EVENT_TYPES);
    const category = rng.pick(CATEGORIES);
    const sku = `sku-${String(rng.int(1, 99_999)).padStart(6, '0')}`;
    const path =
      type === 'search' ? `/search` : type === 'purchase' || type === 'begin_checkout' ? `/checkout/${type === 'purchase' ? 'confirmation' : 'payment'}` : rng.chance(0.3) ? `/c/${category}` : `/p/${category}/${sku}`;
    const fromCampaign = rng.chance(0.25);
    const page_url = `https://shop.example.com${path}${fromCampaign ? `?utm_source=${rng.pick(SOURCES)}&utm_medium=cpc&utm_campaign=${rng.pick(CAMPAIGNS)}` : ''}`;
    const props: Record<string, string> = {
      user_agent: user.userAgent,
      locale: LOCALE[user.country],
      screen: user.screen,
      app_version: APP_VERSIONS[rng.int(0, APP_VERSIONS.length - 1)],
      experiment: user.experiment,
      variant: user.variant,
    };
    if (type === 'search') props.search_query = rng.pick(SEARCHES);
    if (type === 'click') props.element_id = rng.pick(['nav-menu', 'hero-banner', 'product-card', 'filter-size', 'reviews-tab', 'recs-carousel']);
    if (type === 'add_to_cart' || type === 'remove_from_cart' || type === 'click') props.product_id = sku;
    if (type === 'add_to_cart') props.quantity = String(rng.weighted([[1, 80], [2, 15], [3, 5]] as const));
    if (type === 'purchase') props.order_id = `o-${rng.hex(12)}`;

    const event: ClickEvent = {
      event_id: uuidFrom(rng),
      user_id: user.id,
      session_id: user.session,
      event_type: type,
      ts: new Date(tsMs).toISOString(),
      tsMs,
      country: user.country,
      device: user.device,
      page_url,
      referrer: rng.chance(0.4) ? null : rng.pick(REFERRERS),
      props,
    };
    if (type === 'purchase') {
      const currency = CURRENCY[user.country];
      const cents = currency === 'JPY' ? rng.int(5, 300) * 10_000 : rng.int(499, 49_999);
      event.amountCents = cents;
      event.amount = cents / 100;
      event.currency = currency;
    }
    out[i] = { json: clickEventToJson(event), event, arrivalMs: arrival, key: user.idText };
  }
  return out;
}
