/**
 * Seeded malformed clickstream records: the bad inputs a real topic sees, each tagged with its
 * category and the loader stage expected to quarantine it (see DESIGN.md "The flow of one batch").
 */
import type { QuarantineStage } from '../../lambdas/core/model';
import { clickEventToJson, generateClickEvents } from './clickstream';
import { deriveSeed, mulberry32 } from './prng';

export type MalformedReason =
  | 'invalid-json'
  | 'trailing-garbage'
  | 'invalid-utf8'
  | 'not-an-object'
  | 'tombstone'
  | 'empty-value'
  | 'missing-user-id'
  | 'user-id-not-integer'
  | 'user-id-out-of-range'
  | 'missing-ts'
  | 'bad-ts'
  | 'bad-amount';

/** The stage of the loader that quarantines each category. */
export const MALFORMED_STAGE: Readonly<Record<MalformedReason, QuarantineStage>> = {
  'invalid-json': 'decode',
  'trailing-garbage': 'decode',
  'invalid-utf8': 'decode',
  'not-an-object': 'decode',
  tombstone: 'decode',
  'empty-value': 'decode',
  'missing-user-id': 'conform',
  'user-id-not-integer': 'conform',
  'user-id-out-of-range': 'conform',
  'missing-ts': 'conform',
  'bad-ts': 'conform',
  'bad-amount': 'conform',
};

export const MALFORMED_REASONS = Object.keys(MALFORMED_STAGE) as MalformedReason[];

export interface MalformedRecord {
  /** The value bytes as produced: text, raw bytes (invalid UTF-8), or null (a tombstone). */
  value: string | Uint8Array | null;
  reason: MalformedReason;
  /** The stage expected to quarantine it. */
  stage: QuarantineStage;
  /** A Kafka key (the user id of the event it was derived from). */
  key: string;
}

/**
 * Returns `count` malformed records, cycling through every category (so any `count` ≥ 12 covers
 * them all) in a seeded, reproducible order. Each is derived from a realistic event (around
 * `options.start`), so it looks like a real record that went wrong.
 */
export function malformedRecords(seed: number, count: number, options: { start?: Date } = {}): MalformedRecord[] {
  const rng = mulberry32(deriveSeed(seed, 'malformed'));
  const base = generateClickEvents({ seed: deriveSeed(seed, 'malformed-base'), count, users: 50, start: options.start });
  const order = [...MALFORMED_REASONS];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return base.map(({ json, event, key }, i) => {
    const reason = order[i % order.length];
    const without = (field: string) => {
      const copy: Record<string, unknown> = JSON.parse(json);
      delete copy[field];
      // user_id may exceed 2^53: splice the exact digits back in rather than trusting JSON.parse.
      return JSON.stringify(copy, (k, v) => (k === 'user_id' ? `__UID__` : v)).replace('"__UID__"', event.user_id.toString());
    };
    let value: MalformedRecord['value'];
    switch (reason) {
      case 'invalid-json':
        value = json.slice(0, rng.int(10, json.length - 10));
        break;
      case 'trailing-garbage':
        value = `${json} ${rng.pick(['x', '{}', 'null', '}'])}`;
        break;
      case 'invalid-utf8': {
        const bytes = Buffer.from(json, 'utf8');
        const at = json.indexOf('"page_url":"') + 14;
        bytes[at] = 0xc3;
        bytes[at + 1] = 0x28; // 0xC3 must be followed by a continuation byte (0x80..0xBF)
        value = new Uint8Array(bytes);
        break;
      }
      case 'not-an-object':
        value = rng.pick([`[${json}]`, `"${event.event_id}"`, '42', 'null', 'true']);
        break;
      case 'tombstone':
        value = null;
        break;
      case 'empty-value':
        value = '';
        break;
      case 'missing-user-id':
        value = without('user_id');
        break;
      case 'user-id-not-integer':
        value = json.replace(`"user_id":${event.user_id}`, `"user_id":${rng.pick(['"not-a-number"', '12.75', '{"id":1}'])}`);
        break;
      case 'user-id-out-of-range':
        value = json.replace(`"user_id":${event.user_id}`, `"user_id":${rng.pick(['9223372036854775808', '18446744073709551616', '-9223372036854775809'])}`);
        break;
      case 'missing-ts':
        value = without('ts');
        break;
      case 'bad-ts':
        value = json.replace(`"ts":"${event.ts}"`, `"ts":${rng.pick(['"yesterday"', '"2026-13-45T99:00:00Z"', '"15/01/2026 10:00"', 'false'])}`);
        break;
      case 'bad-amount':
        value = clickEventToJson({ ...event, amount: 1, currency: 'EUR' }).replace('"amount":1,', `"amount":${rng.pick(['"twelve"', '[1,2]', '{"value":3}'])},`);
        break;
    }
    return { value, reason, stage: MALFORMED_STAGE[reason], key };
  });
}
