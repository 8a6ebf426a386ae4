/**
 * Every price the cost model uses, in one place, each with the page it comes from and the day it
 * was read. US East (N. Virginia), first pricing tier, no free tier applied (an account's free
 * tier is shared by everything in it). Where a figure could not be confirmed from the AWS page
 * itself (several AWS pricing pages render their numbers client-side, so the text we could read
 * had none), `confirmed` is false and `note` says where the figure comes from instead.
 *
 * Also here: the capacity facts the model needs next to the prices (what one event poller or EPU
 * carries), with their sources.
 */

/** One list price. */
export interface Price {
  /** US dollars per `per`. */
  readonly usd: number;
  /** The billing unit, e.g. 'GB-second', 'request', 'EPU-hour'. */
  readonly per: string;
  /** Where the figure was read. */
  readonly source: string;
  /** The day it was read (ISO date). */
  readonly read: string;
  /** True when the figure was read on an AWS page (pricing page or documentation). */
  readonly confirmed: boolean;
  /** How it was confirmed, or why it could not be. */
  readonly note?: string;
}

const READ = '2026-12-04';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const KAFKA_MODES = 'https://docs.aws.amazon.com/lambda/latest/dg/kafka-scaling-modes.html';
const S3 = 'https://aws.amazon.com/s3/pricing/';
const GLUE = 'https://aws.amazon.com/glue/pricing/';
const CW = 'https://aws.amazon.com/cloudwatch/pricing/';
const FIREHOSE = 'https://aws.amazon.com/firehose/pricing/';
const MSK = 'https://aws.amazon.com/msk/pricing/';
const RENDERED = 'the AWS page renders this number client-side; the text we could read did not contain it';

/** The price list. Keys are stable: CLI flags and the JSON output use them. */
export const PRICES = {
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    per: 'GB-second (Arm, first 7.5 billion GB-s a month)',
    source: LAMBDA,
    read: READ,
    confirmed: false,
    note: `${RENDERED}; the Arm first-tier rate (4/5 of x86's $0.0000166667) as used by the bench since issue 6`,
  },
  lambdaX86GbSecond: { usd: 0.0000166667, per: 'GB-second (x86, first 6 billion GB-s a month)', source: LAMBDA, read: READ, confirmed: false, note: RENDERED },
  lambdaRequest: { usd: 0.2 / 1e6, per: 'request', source: LAMBDA, read: READ, confirmed: true, note: '"$0.20 per million requests" in the page text' },
  epuHour: {
    usd: 0.185,
    per: 'Event Poller Unit-hour (Kafka ESM provisioned mode)',
    source: KAFKA_MODES,
    read: READ,
    confirmed: true,
    note: 'the Lambda developer guide\'s provisioned-mode cost example: "Cost per EPU: $0.185/hour in US East (N. Virginia)"',
  },
  s3Put: { usd: 0.005 / 1000, per: 'PUT, COPY, POST or LIST request (S3 Standard)', source: S3, read: READ, confirmed: false, note: `${RENDERED}; the long-standing $0.005 per 1,000` },
  s3Get: { usd: 0.0004 / 1000, per: 'GET or SELECT request (S3 Standard)', source: S3, read: READ, confirmed: false, note: `${RENDERED}; the long-standing $0.0004 per 1,000` },
  s3StorageGbMonth: { usd: 0.023, per: 'GB-month (S3 Standard, first 50 TB)', source: S3, read: READ, confirmed: false, note: RENDERED },
  glueRequest: { usd: 1 / 1e6, per: 'Data Catalog request (beyond the first million a month)', source: GLUE, read: READ, confirmed: true, note: 'the page states the first million requests are free; $1.00 per million beyond' },
  glueDpuHour: {
    usd: 0.44,
    per: 'DPU-hour (table optimizers: compaction, snapshot retention, orphan file deletion)',
    source: GLUE,
    read: READ,
    confirmed: false,
    note: 'the page states $0.44 per DPU-hour for ETL jobs (read in its Japanese edition); that the table optimizers bill the same DPU-hour rate is how the page lists them, not re-read verbatim',
  },
  cloudwatchMetricMonth: { usd: 0.3, per: 'custom metric-month (first 10,000)', source: CW, read: READ, confirmed: false, note: `${RENDERED}; $0.30 per the 2026 summaries of that page (signoz.io, cloudburn.io)` },
  cloudwatchAlarmMetricMonth: { usd: 0.1, per: 'standard-resolution alarm metric-month (a metric-math alarm bills each metric it reads)', source: CW, read: READ, confirmed: false, note: RENDERED },
  cloudwatchDashboardMonth: { usd: 3, per: 'dashboard-month (beyond the account\'s first three)', source: CW, read: READ, confirmed: false, note: `${RENDERED}; "$3 each" per factualminds.com (2026-06)` },
  cloudwatchLogsIngestGb: { usd: 0.5, per: 'GB of logs ingested (Standard class)', source: CW, read: READ, confirmed: false, note: `${RENDERED}; "$0.50/GB" per factualminds.com (2026-06)` },
  cloudwatchLogsStorageGbMonth: { usd: 0.03, per: 'GB-month of logs archived (compressed)', source: CW, read: READ, confirmed: false, note: RENDERED },
  kmsRequest: { usd: 0.03 / 10000, per: 'KMS request (symmetric)', source: 'https://aws.amazon.com/kms/pricing/', read: READ, confirmed: false, note: RENDERED },
  interfaceEndpointAzHour: {
    usd: 0.01,
    per: 'interface VPC endpoint-hour per Availability Zone',
    source: 'https://aws.amazon.com/privatelink/pricing/',
    read: READ,
    confirmed: false,
    note: 'the page text names the unit (per endpoint, per AZ, per hour) without the number; $0.01 per awsnegotiations.com and cloudcostkit.com (2026)',
  },
  interfaceEndpointGb: { usd: 0.01, per: 'GB processed by interface endpoints (first PB)', source: 'https://aws.amazon.com/privatelink/pricing/', read: READ, confirmed: true, note: 'the page\'s tier table: "First 1 PB $0.01"' },
  natGatewayGb: { usd: 0.045, per: 'GB processed by a NAT gateway', source: 'https://aws.amazon.com/vpc/pricing/', read: READ, confirmed: false, note: 'not re-read; the long-standing us-east-1 rate' },
  athenaTb: { usd: 5, per: 'TB scanned (10 MB minimum per query)', source: 'https://aws.amazon.com/athena/pricing/', read: READ, confirmed: false, note: 'as lib/ops prints it; identical for every alternative, so the table leaves scans out and counts only the requests per file opened' },
  firehoseMskIngestGb: {
    usd: 0.055,
    per: 'GB ingested from an Amazon MSK source',
    source: FIREHOSE,
    read: READ,
    confirmed: false,
    note: `${RENDERED}; $0.055 as quoted from that page in a public cost review of July 2026 (a Firehose MSK-source migration)`,
  },
  firehoseFormatConversionGb: { usd: 0.018, per: 'GB converted from JSON to Parquet/ORC', source: FIREHOSE, read: READ, confirmed: false, note: `${RENDERED}; the rate the bench has used since issue 6` },
  firehoseIcebergGb: {
    usd: 0.075,
    per: 'GB delivered to Apache Iceberg tables (first 250 TB)',
    source: FIREHOSE,
    read: READ,
    confirmed: false,
    note: `${RENDERED}; $0.075 as quoted for a Kinesis Data Streams source (and for extra bytes from every source) in a 2025 post citing the page; the rate for an MSK source to Iceberg was not found`,
  },
  mskPrivateConnectivityHour: {
    usd: 0.0225,
    per: 'multi-VPC private connectivity-hour per authentication scheme (needed for Firehose to read a private MSK cluster)',
    source: MSK,
    read: READ,
    confirmed: false,
    note: `${RENDERED}; as quoted from that page in the July 2026 cost review`,
  },
  mskPrivateConnectivityGb: { usd: 0.006, per: 'GB through multi-VPC private connectivity', source: MSK, read: READ, confirmed: false, note: `${RENDERED}; as quoted in the July 2026 cost review` },
  mskConnectMcuHour: {
    usd: 0.11,
    per: 'MSK Connect MCU-hour (1 vCPU, 4 GiB)',
    source: MSK,
    read: READ,
    confirmed: false,
    note: `${RENDERED}; consistent with "~$316/month (4 MCU)" in a March 2026 MSK Connect vs Firehose comparison (dbaglobe.com)`,
  },
} as const satisfies Record<string, Price>;

export type PriceKey = keyof typeof PRICES;
/** Just the numbers, $ per unit, by key. */
export type PriceTable = Record<PriceKey, number>;

/** The list prices as plain numbers, with `overrides` applied (e.g. from CLI flags or another region). */
export function priceTable(overrides: Partial<PriceTable> = {}): PriceTable {
  const out = Object.fromEntries(Object.entries(PRICES).map(([k, p]) => [k, p.usd])) as PriceTable;
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in PRICES)) throw new RangeError(`unknown price "${k}"; known: ${Object.keys(PRICES).join(', ')}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`price ${k} must be a non-negative number, got ${String(v)}`);
    out[k as PriceKey] = v;
  }
  return out;
}

/** A capacity or behaviour fact the model relies on, with its source. */
export interface Fact {
  readonly value: number;
  readonly unit: string;
  readonly source: string;
  readonly read: string;
  readonly quote: string;
}

/** Capacity facts next to the prices they turn into money. */
export const FACTS = {
  kafkaPollerMBps: { value: 5, unit: 'MB/s per event poller (Kafka)', source: KAFKA_MODES, read: READ, quote: 'each event poller can handle up to 5 MB/sec of throughput or up to 5 concurrent invocations' },
  epuMBps: { value: 20, unit: 'MB/s per EPU', source: KAFKA_MODES, read: READ, quote: 'Each EPU supports up to 20 MB/s throughput capacity for event polling' },
  pollersPerEpu: { value: 10, unit: 'event pollers per EPU', source: KAFKA_MODES, read: READ, quote: 'supports a default of 10 event pollers' },
  invokePayloadBytes: { value: 6_000_000, unit: 'bytes per invocation payload', source: 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html', read: READ, quote: 'the batch is sent when the batch size, the 6 MB payload limit or the batching window is reached' },
  maxBatchingWindowSeconds: { value: 300, unit: 'seconds', source: 'https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html', read: READ, quote: 'MaximumBatchingWindowInSeconds: 0 to 300' },
  secondsPerMonth: { value: 730 * 3600, unit: 'seconds in a billing month (730 hours)', source: LAMBDA, read: READ, quote: 'AWS pricing examples use 730 hours a month' },
} as const satisfies Record<string, Fact>;
