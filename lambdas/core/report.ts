/**
 * The batch summary the handler returns and logs, and the CloudWatch metrics derived from it.
 * Invariant: `in = written + quarantined + filtered + duplicates`.
 */
import type { PartitionResult } from './commit';
import type { BatchCounts } from './model';

/** What one invocation did, summed over its topic-partitions (the counts are records, `rows` rows). */
export interface BatchSummary extends BatchCounts {
  files: number;
  bytes: number;
  partitionsRegistered: number;
  /** Highest event time written, epoch ms (null when nothing had one). */
  maxEventTime: number | null;
  partitions: Array<{ topic: string; partition: number; in: number; committedOffset: number | null; generation: number; fencedKeys: number }>;
  /** Iceberg tables: what the commit after the batch published (absent for Hive tables). */
  published?: { snapshotId: number | null; batches: number; files: number; rows: number; skipped?: string; error?: string };
}

/** Sums per-partition results into the batch summary. */
export function summarize(results: PartitionResult[]): BatchSummary {
  const s: BatchSummary = { in: 0, written: 0, rows: 0, quarantined: 0, filtered: 0, duplicates: 0, files: 0, bytes: 0, partitionsRegistered: 0, maxEventTime: null, partitions: [] };
  for (const r of results) {
    s.in += r.counts.in;
    s.written += r.counts.written;
    s.rows += r.counts.rows;
    s.quarantined += r.counts.quarantined;
    s.filtered += r.counts.filtered;
    s.duplicates += r.counts.duplicates;
    s.files += r.files;
    s.bytes += r.bytes;
    s.partitionsRegistered += r.partitionsRegistered;
    if (r.maxEventTime !== null) s.maxEventTime = Math.max(s.maxEventTime ?? -Infinity, r.maxEventTime);
    s.partitions.push({ topic: r.topic, partition: r.partition, in: r.counts.in, committedOffset: r.committedOffset, generation: r.generation, fencedKeys: r.fencedKeys });
  }
  return s;
}

/** The subset of Powertools Metrics the report uses (so it can be tested without EMF). */
export interface MetricsSink {
  addMetric(name: string, unit: 'Count' | 'Bytes' | 'Milliseconds', value: number): unknown;
}

/** Metric names, as they appear in CloudWatch under the pipeline dimension. */
export const METRIC = {
  recordsIn: 'RecordsIn',
  rowsWritten: 'RowsWritten',
  recordsWritten: 'RecordsWritten',
  recordsQuarantined: 'RecordsQuarantined',
  recordsFiltered: 'RecordsFiltered',
  recordsDuplicate: 'RecordsDuplicate',
  bytesWritten: 'BytesWritten',
  filesWritten: 'FilesWritten',
  partitionsRegistered: 'PartitionsRegistered',
  eventTimeLagMs: 'EventTimeLagMs',
  /** Topic-partitions of an invocation that failed (the handler then throws and the ESM retries). */
  partitionsFailed: 'PartitionsFailed',
  /** Iceberg: staged batches published by a snapshot, and commits that failed (the scheduled committer publishes later). */
  batchesPublished: 'BatchesPublished',
  commitFailures: 'IcebergCommitFailures',
} as const;

/** Adds one batch's metrics; EventTimeLagMs (now − newest event time) only when rows carried an event time. */
export function recordMetrics(sink: MetricsSink, s: BatchSummary, now: number): void {
  sink.addMetric(METRIC.recordsIn, 'Count', s.in);
  sink.addMetric(METRIC.rowsWritten, 'Count', s.rows);
  sink.addMetric(METRIC.recordsWritten, 'Count', s.written);
  sink.addMetric(METRIC.recordsQuarantined, 'Count', s.quarantined);
  sink.addMetric(METRIC.recordsFiltered, 'Count', s.filtered);
  sink.addMetric(METRIC.recordsDuplicate, 'Count', s.duplicates);
  sink.addMetric(METRIC.bytesWritten, 'Bytes', s.bytes);
  sink.addMetric(METRIC.filesWritten, 'Count', s.files);
  sink.addMetric(METRIC.partitionsRegistered, 'Count', s.partitionsRegistered);
  if (s.maxEventTime !== null) sink.addMetric(METRIC.eventTimeLagMs, 'Milliseconds', Math.max(0, now - s.maxEventTime));
}
