/**
 * What the other ways of landing Kafka topics in an S3 lake cost at the same traffic, with the
 * same price list, and how fresh their data is:
 * - Amazon Data Firehose reading the MSK topic, converting JSON to Parquet, delivering to an
 *   Iceberg table (its buffer flushes when 128 MiB or 300 s is reached);
 * - MSK Connect running the Confluent S3 sink (Parquet, time-based partitioner, scheduled
 *   rotation every 10 minutes, 100,000-record files at most), billed in MCU-hours;
 * - Amazon MSK's native data delivery to Iceberg tables on S3 Tables: no public price found, so
 *   it is shown with its documented freshness and without a cost.
 *
 * Every alternative also leaves files for Athena to open; they are priced with the loader's
 * query model (model.ts, queryRequestsUsd) so the comparison counts the same things.
 */
import { FACTS, type PriceTable } from './prices';
import { queryRequestsUsd, type CostAssumptions } from './model';

const MONTH_S = FACTS.secondsPerMonth.value;
const MONTH_H = MONTH_S / 3600;
const GB = 1e9;

/** How the alternatives are configured (each has a CLI-visible default). */
export interface AlternativeAssumptions {
  firehose: {
    /** Buffer size (MiB) and interval (s): Parquet conversion needs ≥ 64 MiB. @default 128, 300 */
    bufferMiB: number;
    bufferSeconds: number;
    /** Conversion, delivery and the Iceberg commit after a flush, seconds. @default 30 */
    deliverySeconds: number;
    /** MSK authentication schemes with multi-VPC private connectivity on (Firehose needs it for a private cluster). @default 1 */
    privateConnectivitySchemes: number;
  };
  mskConnect: {
    /** JSON MB/s one MCU converts to Parquet (an assumption: no published figure). @default 4 */
    mbPerSecondPerMcu: number;
    /** rotate.schedule.interval.ms, s. @default 600 */
    rotateSeconds: number;
    /** flush.size, records. @default 100,000 */
    flushRecords: number;
    /** Multipart upload requests per file (create, part, complete). @default 3 */
    putsPerFile: number;
    /** Upload after a rotation, s. @default 5 */
    uploadSeconds: number;
  };
  mskDelivery: {
    /** The channel's configured freshness (5–15 minutes, default 10). */
    freshnessSeconds: number;
  };
}

export const DEFAULT_ALTERNATIVES: AlternativeAssumptions = {
  firehose: { bufferMiB: 128, bufferSeconds: 300, deliverySeconds: 30, privateConnectivitySchemes: 1 },
  mskConnect: { mbPerSecondPerMcu: 4, rotateSeconds: 600, flushRecords: 100_000, putsPerFile: 3, uploadSeconds: 5 },
  mskDelivery: { freshnessSeconds: 600 },
};

/** One alternative at one level. */
export interface AlternativeCost {
  name: string;
  /** null: not priced (see `note`). */
  usdPerMonth: number | null;
  usdPerGb: number | null;
  /** Per-GB charges only (no fixed monthly part). */
  variableUsdPerGb: number | null;
  items: Record<string, number>;
  freshnessP50Seconds: number;
  freshnessP99Seconds: number;
  note: string;
}

/**
 * Expected distinct table partitions a file-writing batch of n records touches: the current one,
 * the next when the batch's `seconds` cross a boundary, and the earlier ones its late records
 * (lateShare of n, up to lateMaxSeconds late) fall into.
 */
export function expectedTablePartitions(n: number, seconds: number, partitionSeconds: number | null, lateShare: number, lateMaxSeconds: number): number {
  if (!partitionSeconds) return 1;
  const earlier = Math.max(1, Math.ceil(lateMaxSeconds / partitionSeconds));
  const late = n * lateShare;
  return 1 + Math.min(1, seconds / partitionSeconds) + (late > 0 ? earlier * (1 - Math.exp(-late / earlier)) : 0);
}

interface LevelInputs {
  mbPerSecondPerTopic: number;
  topics: number;
  partitionSeconds: number | null;
}

/** Firehose: MSK source, JSON → Parquet, Iceberg destination. */
export function firehoseCost(level: LevelInputs, a: CostAssumptions, alt: AlternativeAssumptions['firehose'], prices: PriceTable): AlternativeCost {
  const mbps = level.mbPerSecondPerTopic * level.topics;
  const gb = (mbps * 1e6 * MONTH_S) / GB;
  const flushSeconds = Math.min(alt.bufferSeconds, (alt.bufferMiB * 1048576) / (level.mbPerSecondPerTopic * 1e6));
  const flushes = (MONTH_S / flushSeconds) * level.topics;
  const recordsPerFlush = (level.mbPerSecondPerTopic * 1e6 * flushSeconds) / a.recordBytes;
  const files = flushes * expectedTablePartitions(recordsPerFlush, flushSeconds, level.partitionSeconds, a.lateShare, a.lateMaxSeconds);
  const items: Record<string, number> = {
    firehoseIngest: gb * prices.firehoseMskIngestGb,
    firehoseFormatConversion: gb * prices.firehoseFormatConversionGb,
    mskPrivateConnectivityData: gb * prices.mskPrivateConnectivityGb,
    mskPrivateConnectivityHours: alt.privateConnectivitySchemes * MONTH_H * prices.mskPrivateConnectivityHour,
    // Per flush: the data file(s) and an Iceberg commit (PUT manifest, manifest list, metadata; GET metadata, manifest list; GetTable + UpdateTable).
    s3Requests: (files + flushes * 3) * prices.s3Put + flushes * 2 * prices.s3Get,
    glueRequests: flushes * 2 * prices.glueRequest,
    queryFileRequests: 0,
  };
  const tablePartitions = level.partitionSeconds ? MONTH_S / level.partitionSeconds : 1;
  items.queryFileRequests =
    level.topics * queryRequestsUsd({ files: files / level.topics, tablePartitions, commits: flushes / level.topics, jsonGb: gb / level.topics }, 'iceberg', { tableOptimizers: [] }, undefined, { ...a, assumeOptimizers: [] }, prices);
  const usdPerMonth = sum(items);
  const variable = prices.firehoseMskIngestGb + prices.firehoseFormatConversionGb + prices.mskPrivateConnectivityGb;
  return {
    name: 'Firehose (MSK source, Parquet conversion, Iceberg destination)',
    usdPerMonth,
    usdPerGb: usdPerMonth / gb,
    variableUsdPerGb: variable,
    items,
    // A record waits for the flush (uniform over the buffer's span), then delivery.
    freshnessP50Seconds: flushSeconds * 0.5 + alt.deliverySeconds,
    freshnessP99Seconds: flushSeconds * 0.99 + alt.deliverySeconds,
    note: `ingest $${prices.firehoseMskIngestGb}/GB + conversion $${prices.firehoseFormatConversionGb}/GB (Iceberg-destination rate for an MSK source not found; $${prices.firehoseIcebergGb}/GB for a KDS source) + MSK private connectivity; flush every ${flushSeconds.toFixed(0)} s`,
  };
}

/** MSK Connect with the Confluent S3 sink connector (Parquet). */
export function mskConnectCost(level: LevelInputs, a: CostAssumptions, alt: AlternativeAssumptions['mskConnect'], prices: PriceTable): AlternativeCost {
  const mbps = level.mbPerSecondPerTopic * level.topics;
  const gb = (mbps * 1e6 * MONTH_S) / GB;
  const mcus = Math.max(1, Math.ceil(mbps / alt.mbPerSecondPerMcu));
  const recordsPerPartitionPerSecond = (level.mbPerSecondPerTopic * 1e6) / a.recordBytes / a.partitions;
  const fileSeconds = Math.min(alt.rotateSeconds, alt.flushRecords / recordsPerPartitionPerSecond);
  const fileRecords = recordsPerPartitionPerSecond * fileSeconds;
  const filesPerPartition = (MONTH_S / fileSeconds) * expectedTablePartitions(fileRecords, fileSeconds, level.partitionSeconds, a.lateShare, a.lateMaxSeconds);
  const files = filesPerPartition * a.partitions * level.topics;
  const tablePartitions = level.partitionSeconds ? MONTH_S / level.partitionSeconds : 1;
  const items: Record<string, number> = {
    mskConnectMcu: mcus * MONTH_H * prices.mskConnectMcuHour,
    s3Requests: files * alt.putsPerFile * prices.s3Put,
    queryFileRequests: level.topics * queryRequestsUsd({ files: files / level.topics, tablePartitions, commits: 0, jsonGb: gb / level.topics }, 'hive', { tableOptimizers: [] }, undefined, a, prices),
  };
  const usdPerMonth = sum(items);
  return {
    name: 'MSK Connect + Confluent S3 sink (Parquet)',
    usdPerMonth,
    usdPerGb: usdPerMonth / gb,
    variableUsdPerGb: null,
    items,
    freshnessP50Seconds: fileSeconds * 0.5 + alt.uploadSeconds,
    freshnessP99Seconds: fileSeconds * 0.99 + alt.uploadSeconds,
    note: `${mcus} MCU (assumed ${alt.mbPerSecondPerMcu} MB/s per MCU); a file per Kafka partition every ${fileSeconds.toFixed(0)} s; Glue partitions not registered (partition projection)`,
  };
}

/** Amazon MSK data delivery to Iceberg tables on S3 Tables (Express brokers). */
export function mskDeliveryCost(alt: AlternativeAssumptions['mskDelivery']): AlternativeCost {
  return {
    name: 'MSK native delivery (Express brokers → S3 Tables)',
    usdPerMonth: null,
    usdPerGb: null,
    variableUsdPerGb: null,
    items: {},
    freshnessP50Seconds: alt.freshnessSeconds / 2,
    freshnessP99Seconds: alt.freshnessSeconds,
    note: 'no public price found (searched 2026-12-04); needs MSK Provisioned with Express brokers and the Glue Schema Registry; freshness is the channel setting, 5–15 min (≥ 2.4 MB/s for 5 min)',
  };
}

const sum = (items: Record<string, number>) => Object.values(items).reduce((s, x) => s + x, 0);
