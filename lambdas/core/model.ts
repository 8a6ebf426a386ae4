/**
 * The data that flows between the loader's stages. Stage modules exchange these types only, so
 * each can be read, tested and replaced on its own:
 *
 * ```
 * MSK event ─decode→ KafkaRecord[] per topic-partition ─prepare→ PreparedBatch ─commit→ CommitResult
 * ```
 */
import type { FileStats } from './iceberg/stats';

/** One record of the MSK / self-managed Kafka event, exactly as the ESM delivers it. */
export interface MskRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME' | string;
  /** base64; absent when the record has no key. */
  key?: string;
  /** base64; absent or empty for a tombstone. */
  value?: string;
  /** Each header is an object with one key whose value is the header's bytes as a number array. */
  headers: Array<Record<string, number[]>>;
}

/** The event the Lambda receives: `records` keyed by `topic-partition`. */
export interface MskEvent {
  eventSource: 'aws:kafka' | 'SelfManagedKafka' | string;
  eventSourceArn?: string;
  bootstrapServers?: string;
  records: Record<string, MskRecord[]>;
}

/** Why a record could not become a row. */
export type QuarantineStage = 'decode' | 'schema' | 'transform' | 'conform' | 'partition';

/** One quarantined record, serialized as one NDJSON line (fields = the quarantine table's columns). */
export interface QuarantineEntry {
  pipeline: string;
  topic: string;
  kafka_partition: number;
  kafka_offset: number;
  kafka_timestamp: number;
  timestamp_type: string;
  key_base64: string | null;
  value_base64: string | null;
  headers: { key: string; value_base64: string }[];
  stage: QuarantineStage;
  error: string;
  loader_version: string;
}

/** One Parquet file's worth of rows: all rows of one table partition from one Kafka partition's batch. */
export interface PreparedFile {
  /** Partition key values in key order, as registered in Glue (unescaped). */
  partitionValues: string[];
  /** The escaped Hive path `k=v/k=v` ('' for an unpartitioned table). */
  hivePath: string;
  rows: number;
  /** Lowest and highest Kafka offset among the file's rows. */
  firstOffset: number;
  lastOffset: number;
  /** Highest event time among the rows (epoch ms), for freshness metrics; null when not event-time partitioned. */
  maxEventTime: number | null;
  /** The encoded Parquet file. */
  body: Uint8Array;
  /** For an Iceberg table: the file's partition tuple (spec 0's fields, in order) and its column statistics. */
  iceberg?: IcebergFileInfo;
}

/** What an Iceberg manifest needs of a data file besides its path, size and rows. */
export interface IcebergFileInfo {
  /** Partition values: hours or days since the epoch for hour/day, the value for identity; null for none. */
  partition: (number | string | boolean | null)[];
  stats: FileStats;
}

/** Counts of one batch; `in = written + quarantined + filtered + duplicates` always holds. */
export interface BatchCounts {
  /** Records delivered. */
  in: number;
  /** Records that became at least one row (rows written may exceed it when a transform fans out). */
  written: number;
  /** Rows written. */
  rows: number;
  quarantined: number;
  filtered: number;
  duplicates: number;
}

/** The result of the pure (no I/O) part of the loader for one Kafka partition's records. */
export interface PreparedBatch {
  topic: string;
  partition: number;
  /** Offsets of the records considered (after duplicate skipping), inclusive. */
  firstOffset: number;
  lastOffset: number;
  files: PreparedFile[];
  quarantine: QuarantineEntry[];
  counts: BatchCounts;
  /** The pipeline the files were written with when the table evolved (its columns beyond the declared ones); absent otherwise. */
  pipeline?: import('./pipeline').Pipeline;
}
