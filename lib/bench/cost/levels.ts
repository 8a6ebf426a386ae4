/**
 * The cost-and-freshness table of `npm run bench` and docs/bench.md: at 0.01, 0.1, 1 and 10 MB/s
 * per topic, the loader stack as synthesized (its defaults), the same stack with provisioned
 * pollers in a poller group, Firehose, MSK Connect and MSK's native delivery — $/GB, $/month,
 * freshness p50/p99 — and the issue's targets checked against them.
 */
import { DEFAULT_ALTERNATIVES, firehoseCost, mskConnectCost, mskDeliveryCost, type AlternativeAssumptions, type AlternativeCost } from './alternatives';
import { lakeloaderCost, tablePartitionSeconds, type CostAssumptions, type LakeloaderLevelCost } from './model';
import { PRICES, type PriceTable } from './prices';
import type { StackSettings } from './stack';

/** The traffic levels of the table, MB/s per topic. */
export const LEVELS = [0.01, 0.1, 1, 10] as const;

/** The issue's targets: all-in $/GB against Firehose's, and p99 freshness. */
export const TARGETS = {
  /** Lakeloader $/GB ÷ Firehose $/GB at most this, from this level (MB/s per topic) up. */
  ratio: [
    { fromMbPerSecond: 1, maxRatio: 1 / 10 },
    { fromMbPerSecond: 0.1, maxRatio: 1 / 3 },
  ],
  p99Seconds: 300,
} as const;

/** One row of the table (the `cost.levels[]` of `bench --json`). */
export interface CostLevel {
  mbPerSecond: number;
  gbPerMonth: number;
  /** Lakeloader at the stack's defaults, all in. */
  usdPerGb: number;
  usdPerMonth: number;
  /** Firehose's all-in $/GB at the same traffic (per-GB charges and its fixed private-connectivity hours). */
  firehoseUsdPerGb: number;
  freshnessP50Seconds: number;
  freshnessP99Seconds: number;
  /** $ a month per line of the Lakeloader figure. */
  items: Record<string, number>;
  /** Storage of one month of this level's Parquet, $ per month kept (not in usdPerMonth; the same for every alternative). */
  storageUsdPerMonthOfData: number;
  /** Event pollers per mapping and whether they are provisioned. */
  pollers: number;
  provisionedPollers: boolean;
  /** Kafka-partition batches (commit-protocol runs) and Parquet files a month, and S3 PUTs per GB. */
  partitionBatchesPerMonth: number;
  filesPerMonth: number;
  s3PutsPerGb: number;
  /** The same stack with provisioned pollers, one per partition, in one poller group. */
  provisionedGrouped: { usdPerGb: number; usdPerMonth: number; freshnessP50Seconds: number; freshnessP99Seconds: number; items: Record<string, number> };
  alternatives: { firehose: AlternativeCost; mskConnect: AlternativeCost; mskDelivery: AlternativeCost };
  targets: {
    /** usdPerGb ÷ Firehose's per-GB charges (its fixed hours left out: the stricter comparison). */
    ratioVsFirehose: number;
    maxRatio: number | null;
    ratioMet: boolean | null;
    p99Met: boolean;
  };
}

/** The table and what it was computed from. */
export interface CostTable {
  levels: CostLevel[];
  stack: {
    mappings: number;
    topics: number;
    format: 'hive' | 'iceberg';
    batchSize: number;
    maxBatchingWindowSeconds: number;
    provisionedPollers: boolean;
    memoryMb: number;
    alarms: number;
    dashboards: number;
    kms: boolean;
  };
  /** The model's assumptions (named so beside the per-batch model's `assumptions` in `bench --json`'s `cost`). */
  levelAssumptions: CostAssumptions;
  alternativeAssumptions: AlternativeAssumptions;
  /** Every price used, with its source, date and whether the AWS page confirmed it. */
  priceList: Record<string, { usd: number; per: string; source: string; read: string; confirmed: boolean; note?: string }>;
}

export interface CostTableOptions {
  assumptions: CostAssumptions;
  prices: PriceTable;
  alternatives?: AlternativeAssumptions;
  levels?: readonly number[];
}

/**
 * The what-if row: every Kafka mapping on provisioned pollers, one per partition (so an
 * invocation carries one partition's records and the commit protocol runs once per invocation),
 * all in one poller group.
 */
export function withGroupedProvisionedPollers(settings: StackSettings, partitions: number): StackSettings {
  const n = Math.max(1, Math.min(200, partitions));
  return { ...settings, mappings: settings.mappings.map((m) => ({ ...m, provisioned: { minimumPollers: n, maximumPollers: n, pollerGroupName: 'lakeloader' } })) };
}

/** Computes the table for a stack's settings. */
export function costTable(settings: StackSettings, options: CostTableOptions): CostTable {
  const { assumptions: a, prices } = options;
  const alt = options.alternatives ?? DEFAULT_ALTERNATIVES;
  const grouped = withGroupedProvisionedPollers(settings, a.partitions);
  const dataTable = settings.tables.find((t) => !t.quarantine);
  const span = tablePartitionSeconds(settings, settings.mappings[0]!);
  const levels = (options.levels ?? LEVELS).map((mbps): CostLevel => {
    const ll: LakeloaderLevelCost = lakeloaderCost(settings, mbps, a, prices);
    const pg = lakeloaderCost(grouped, mbps, a, prices);
    const level = { mbPerSecondPerTopic: mbps, topics: ll.topics, partitionSeconds: span };
    const firehose = firehoseCost(level, a, alt.firehose, prices);
    const mskConnect = mskConnectCost(level, a, alt.mskConnect, prices);
    const mskDelivery = mskDeliveryCost(alt.mskDelivery);
    const target = TARGETS.ratio.find((t) => mbps >= t.fromMbPerSecond);
    const ratio = ll.usdPerGb / firehose.variableUsdPerGb!;
    const puts = ll.mappings.reduce((s, m) => s + m.s3Puts, 0);
    return {
      mbPerSecond: mbps,
      gbPerMonth: ll.gbPerMonth,
      usdPerGb: ll.usdPerGb,
      usdPerMonth: ll.usdPerMonth,
      firehoseUsdPerGb: firehose.usdPerGb!,
      freshnessP50Seconds: ll.freshnessP50Seconds,
      freshnessP99Seconds: ll.freshnessP99Seconds,
      items: ll.items,
      storageUsdPerMonthOfData: ll.storageUsdPerMonthOfData,
      pollers: ll.mappings[0]?.pollers ?? 0,
      provisionedPollers: ll.mappings.some((m) => m.provisioned),
      partitionBatchesPerMonth: ll.mappings.reduce((s, m) => s + m.partitionBatches, 0),
      filesPerMonth: ll.mappings.reduce((s, m) => s + m.files, 0),
      s3PutsPerGb: puts / ll.gbPerMonth,
      provisionedGrouped: { usdPerGb: pg.usdPerGb, usdPerMonth: pg.usdPerMonth, freshnessP50Seconds: pg.freshnessP50Seconds, freshnessP99Seconds: pg.freshnessP99Seconds, items: pg.items },
      alternatives: { firehose, mskConnect, mskDelivery },
      targets: {
        ratioVsFirehose: ratio,
        maxRatio: target?.maxRatio ?? null,
        ratioMet: target ? ratio <= target.maxRatio : null,
        p99Met: ll.freshnessP99Seconds <= TARGETS.p99Seconds,
      },
    };
  });
  const m0 = settings.mappings[0]!;
  return {
    levels,
    stack: {
      mappings: settings.mappings.length,
      topics: settings.mappings.reduce((s, m) => s + m.topics.length, 0),
      format: a.tableFormat ?? dataTable?.format ?? 'hive',
      batchSize: m0.batchSize,
      maxBatchingWindowSeconds: m0.maxBatchingWindowSeconds,
      provisionedPollers: settings.mappings.some((m) => m.provisioned !== null),
      memoryMb: m0.function.memoryMb,
      alarms: settings.alarms.count,
      dashboards: settings.dashboards,
      kms: settings.kms.enabled,
    },
    levelAssumptions: a,
    alternativeAssumptions: alt,
    priceList: Object.fromEntries(Object.entries(PRICES).map(([k, p]) => [k, { ...p, usd: prices[k as keyof PriceTable] }])),
  };
}

const usd = (x: number | null) => (x === null ? 'n/a' : x >= 100 ? `$${Math.round(x).toLocaleString('en-US')}` : x >= 1 ? `$${x.toFixed(2)}` : x >= 0.01 ? `$${x.toFixed(3)}` : `$${x.toFixed(4)}`);
const secs = (p50: number, p99: number) => `${fmtS(p50)}/${fmtS(p99)}`;
const fmtS = (s: number) => (s >= 90 ? `${(s / 60).toFixed(1)}m` : `${s.toFixed(s >= 10 ? 0 : 1)}s`);
const pad = (s: string, n: number) => s.padStart(n);

/** Item names as printed. */
const ITEM_LABEL: Record<string, string> = {
  lambdaCompute: 'Lambda GB-s',
  lambdaRequests: 'Lambda requests',
  s3Requests: 'S3 requests (commit protocol, data, Iceberg commits)',
  glueRequests: 'Glue requests',
  kmsRequests: 'KMS requests',
  s3AccessLogStorage: 'S3 access-log storage',
  cloudwatchLogsIngest: 'CloudWatch Logs ingestion',
  cloudwatchLogsStorage: 'CloudWatch Logs storage',
  onDemandNetworkData: 'on-demand ESM network path (per GB of payload)',
  onDemandNetworkEndpoints: 'on-demand ESM network path (Lambda/STS interface endpoints)',
  glueOptimizerDpu: 'Glue table optimizers (DPU-hours)',
  queryFileRequests: 'Athena-side requests for the files left (queries)',
  scheduledCommitter: 'Iceberg scheduled committer (Lambda, S3, Glue, logs)',
  provisionedPollersEpu: 'provisioned pollers (EPU-hours)',
  cloudwatchMetrics: 'CloudWatch custom metrics',
  cloudwatchAlarms: 'CloudWatch alarms',
  cloudwatchDashboards: 'CloudWatch dashboard',
};

/** The table as text (the bench report's cost section). */
export function formatCostTable(t: CostTable): string {
  const a = t.levelAssumptions;
  const L: string[] = [];
  const s = t.stack;
  L.push(
    `Cost and freshness by traffic (per topic; ${s.topics} topic(s) × ${a.partitions} partitions, ${Math.round(a.recordBytes)} B records, ${s.format} table; stack as synthesized: batch ${s.batchSize}, window ${s.maxBatchingWindowSeconds} s, ${s.provisionedPollers ? 'provisioned' : 'on-demand'} pollers, ${s.memoryMb} MB; us-east-1 list prices read ${Object.values(t.priceList)[0]?.read})`,
  );
  const head = ['MB/s', 'GB/month', 'Lakeloader $/GB', '$/month', 'p50/p99', '| provisioned 1/partition $/GB', '$/month', '| Firehose $/GB', '$/month', 'p50/p99', '| MSK Connect $/GB', '$/month', 'p50/p99', '| MSK delivery', 'p50/p99'];
  const widths = [6, 9, 16, 9, 12, 31, 9, 15, 9, 12, 18, 9, 12, 14, 12];
  L.push(head.map((h, i) => pad(h, widths[i]!)).join(' '));
  for (const l of t.levels) {
    const f = l.alternatives.firehose;
    const c = l.alternatives.mskConnect;
    const d = l.alternatives.mskDelivery;
    const row = [
      String(l.mbPerSecond),
      l.gbPerMonth >= 100 ? Math.round(l.gbPerMonth).toLocaleString('en-US') : l.gbPerMonth.toFixed(1),
      usd(l.usdPerGb),
      usd(l.usdPerMonth),
      secs(l.freshnessP50Seconds, l.freshnessP99Seconds),
      `| ${usd(l.provisionedGrouped.usdPerGb)}`,
      usd(l.provisionedGrouped.usdPerMonth),
      `| ${usd(f.usdPerGb)}`,
      usd(f.usdPerMonth),
      secs(f.freshnessP50Seconds, f.freshnessP99Seconds),
      `| ${usd(c.usdPerGb)}`,
      usd(c.usdPerMonth),
      secs(c.freshnessP50Seconds, c.freshnessP99Seconds),
      `| ${usd(d.usdPerGb)}`,
      secs(d.freshnessP50Seconds, d.freshnessP99Seconds),
    ];
    L.push(row.map((x, i) => pad(x, widths[i]!)).join(' '));
  }
  L.push('');
  L.push('Targets (Lakeloader $/GB ÷ Firehose per-GB charges; p99 ≤ 5 min)');
  for (const l of t.levels) {
    const r = l.targets;
    const ratio = `${(r.ratioVsFirehose * 100).toFixed(1)}% of Firehose`;
    const goal = r.maxRatio === null ? 'no $/GB target' : `target ≤ ${(r.maxRatio * 100).toFixed(0)}%: ${r.ratioMet ? 'met' : 'NOT met'}`;
    L.push(`  ${pad(String(l.mbPerSecond), 5)} MB/s  ${ratio} (${goal}); p99 ${fmtS(l.freshnessP99Seconds)} ${r.p99Met ? 'met' : 'NOT met'}; ${l.pollers} poller(s), ${Math.round(l.s3PutsPerGb).toLocaleString('en-US')} S3 PUTs/GB`);
  }
  L.push('');
  L.push('Lakeloader at its defaults, $ a month by line:');
  const keys = [...new Set(t.levels.flatMap((l) => Object.keys(l.items)))];
  L.push(`  ${''.padEnd(58)}${t.levels.map((l) => pad(`${l.mbPerSecond} MB/s`, 11)).join('')}`);
  for (const k of keys) L.push(`  ${(ITEM_LABEL[k] ?? k).padEnd(58)}${t.levels.map((l) => pad(usd(l.items[k] ?? 0), 11)).join('')}`);
  L.push(`  ${'storage of one month of data (per month kept; not above)'.padEnd(58)}${t.levels.map((l) => pad(usd(l.storageUsdPerMonthOfData), 11)).join('')}`);
  const unconfirmed = Object.entries(t.priceList).filter(([, p]) => !p.confirmed).map(([k]) => k);
  L.push('');
  L.push(`Prices: lib/bench/cost/prices.ts (source and date each; not confirmed on the AWS page itself: ${unconfirmed.join(', ')}). Assumptions: docs/bench.md "Cost and freshness".`);
  return L.join('\n');
}
