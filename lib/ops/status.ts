/**
 * The one-glance view behind `lakeloader status`, read from the lake bucket alone (no Athena
 * query, so it costs nothing and works while Athena is down): per pipeline the last commit time,
 * the committed offset of each Kafka partition, rows and files by table partition over the last
 * days with the average file size and the number of small files (compaction candidates), and the
 * quarantine by stage.
 */
import type { TableCatalog } from '../../lambdas/core/catalog';
import { mapLimited } from '../../lambdas/core/concurrency';
import { keyOf, readTableMetadata, tableFiles } from '../../lambdas/core/iceberg/table';
import { dataPrefix } from '../../lambdas/core/layout';
import type { Pipeline } from '../../lambdas/core/pipeline';
import type { ObjectStore } from '../../lambdas/core/store';
import { listAll, readCommitManifests, readCommitStates, readReplayManifests } from './lake';
import { listQuarantine, readQuarantineObject } from './quarantine';

/** Files smaller than this are "small" (Athena slows down on many of them). 64 MB by default. */
export const DEFAULT_SMALL_FILE_BYTES = 64 * 1024 * 1024;

export interface StatusOptions {
  /**
   * The window: the last N × 24 hours of event time before `now`. Every table partition whose
   * event-time span overlaps the window is shown (an hour partition that ends after the window's
   * start, a day partition likewise), and partitions dated after `now` too; a table not
   * partitioned by event time is windowed by commit time instead. @default 3
   */
  days?: number;
  /** @default DEFAULT_SMALL_FILE_BYTES */
  smallFileBytes?: number;
  /** @default Date.now() */
  now?: number;
  /** Iceberg tables: where the table is, so that the files shown are the current snapshot's (what readers scan, after compaction). */
  iceberg?: { catalog: TableCatalog; bucket: string; database: string };
}

export interface KafkaPartitionStatus {
  topic: string;
  partition: number;
  committedOffset: number | null;
  /** An attempt wrote its pending state and has not committed (in flight, or crashed and awaiting the ESM's retry). */
  pending: boolean;
  lastCommitAt: string | null;
  /** Rows, quarantined records and files of the last commit. */
  lastCommit: { rows: number; quarantined: number; files: number } | null;
}

export interface TablePartitionStatus {
  /** `dt=2026-01-15/hour=10`, or '' for an unpartitioned table. */
  partition: string;
  rows: number;
  files: number;
  bytes: number;
  avgFileBytes: number;
  smallFiles: number;
}

export interface PipelineStatus {
  pipeline: string;
  topics: string[];
  lastCommitAt: string | null;
  kafkaPartitions: KafkaPartitionStatus[];
  /** Table partitions in the window, newest first. */
  tablePartitions: TablePartitionStatus[];
  /** `from` is the window's start (ISO-8601, `now` − days × 24 h). */
  window: { days: number; from: string; basis: 'partition date' | 'commit time' };
  totals: { rows: number; files: number; bytes: number; avgFileBytes: number; smallFiles: number };
  quarantine: { total: number; byStage: Record<string, number>; objects: number };
  replays: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The event-time span `[start, end)` (epoch ms, UTC) of a table partition path such as
 * `dt=2026-01-15/hour=10` (one hour) or `dt=2026-01-15` (one day); null when the path has no `dt=`.
 */
export function partitionSpan(partition: string): { start: number; end: number } | null {
  const m = /(?:^|\/)dt=(\d{4})-(\d{2})-(\d{2})(?:\/hour=(\d{2}))?(?:\/|$)/.exec(partition);
  if (!m) return null;
  const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (m[4] === undefined) return { start: day, end: day + DAY };
  const start = day + Number(m[4]) * HOUR;
  return { start, end: start + HOUR };
}

/**
 * Reads one pipeline's status from the lake bucket.
 */
export async function pipelineStatus(store: ObjectStore, pipeline: Pipeline, opts: StatusOptions = {}): Promise<PipelineStatus> {
  const table = pipeline.name;
  const days = opts.days ?? 3;
  const small = opts.smallFileBytes ?? DEFAULT_SMALL_FILE_BYTES;
  const now = opts.now ?? Date.now();
  const fromMs = now - days * DAY;
  const byDate = pipeline.partitioning.by === 'eventTime';

  const [states, manifests, replays, listing, qObjects] = await Promise.all([
    readCommitStates(store, table),
    readCommitManifests(store, table),
    readReplayManifests(store, table),
    listAll(store, dataPrefix(table)),
    listQuarantine(store, table),
  ]);

  const kafkaPartitions: KafkaPartitionStatus[] = states
    .map(({ state }) => ({
      topic: state.topic,
      partition: state.partition,
      committedOffset: state.committedOffset,
      pending: state.pending !== null,
      lastCommitAt: state.lastCommit?.committedAt ?? null,
      lastCommit: state.lastCommit ? { rows: state.lastCommit.rows, quarantined: state.lastCommit.quarantined, files: state.lastCommit.files } : null,
    }))
    .sort((a, b) => (a.topic !== b.topic ? (a.topic < b.topic ? -1 : 1) : a.partition - b.partition));
  const lastCommitAt = kafkaPartitions.reduce<string | null>((m, p) => (p.lastCommitAt && (!m || p.lastCommitAt > m) ? p.lastCommitAt : m), null);

  // Files listed by committed manifests (commit and replay), with their rows, sized by the listing.
  const sizes = new Map(listing.map((o) => [o.key, o.size]));
  const prefixLen = dataPrefix(table).length;
  const parts = new Map<string, TablePartitionStatus>();
  const files = [
    ...manifests.flatMap(({ manifest }) => manifest.files.map((f) => ({ f, at: manifest.committedAt }))),
    ...replays.filter((r) => r.manifest.status === 'committed').flatMap(({ manifest }) => manifest.files.map((f) => ({ f, at: manifest.committedAt }))),
  ];
  if (pipeline.format === 'iceberg' && opts.iceberg) {
    // Readers scan the current snapshot: show its files (compaction's output, not what it replaced).
    const ice = { store, ...opts.iceberg, pipeline };
    const t = await opts.iceberg.catalog.getTable(opts.iceberg.database, table);
    const current = t ? await readTableMetadata(ice, t) : null;
    files.length = 0;
    if (current) {
      const at = new Date(current.metadata['last-updated-ms']).toISOString();
      for (const e of await tableFiles(ice, current.metadata)) files.push({ f: { key: keyOf(ice, e.data_file.file_path), rows: Number(e.data_file.record_count) } as (typeof files)[number]['f'], at });
    }
  }
  for (const { f, at } of files) {
    const rel = f.key.slice(prefixLen);
    const partition = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    if (byDate) {
      const span = partitionSpan(partition);
      if (!span || span.end <= fromMs) continue;
    } else if (Date.parse(at) < fromMs) continue;
    const size = sizes.get(f.key);
    if (size === undefined) continue; // lost: audit reports it
    let p = parts.get(partition);
    if (!p) parts.set(partition, (p = { partition, rows: 0, files: 0, bytes: 0, avgFileBytes: 0, smallFiles: 0 }));
    p.rows += f.rows;
    p.files++;
    p.bytes += size;
    if (size < small) p.smallFiles++;
  }
  const tablePartitions = [...parts.values()].sort((a, b) => (a.partition < b.partition ? 1 : a.partition > b.partition ? -1 : 0));
  for (const p of tablePartitions) p.avgFileBytes = p.files ? Math.round(p.bytes / p.files) : 0;
  const totals = tablePartitions.reduce(
    (t, p) => ({ rows: t.rows + p.rows, files: t.files + p.files, bytes: t.bytes + p.bytes, avgFileBytes: 0, smallFiles: t.smallFiles + p.smallFiles }),
    { rows: 0, files: 0, bytes: 0, avgFileBytes: 0, smallFiles: 0 },
  );
  totals.avgFileBytes = totals.files ? Math.round(totals.bytes / totals.files) : 0;

  const byStage: Record<string, number> = {};
  let total = 0;
  const nonEmpty = qObjects.filter((o) => o.size > 0);
  const read = await mapLimited(nonEmpty, 16, (o) => readQuarantineObject(store, o.key));
  for (const q of read)
    for (const l of q?.lines ?? []) {
      byStage[l.entry.stage] = (byStage[l.entry.stage] ?? 0) + 1;
      total++;
    }

  return {
    pipeline: table,
    topics: pipeline.topics,
    lastCommitAt,
    kafkaPartitions,
    tablePartitions,
    window: { days, from: new Date(fromMs).toISOString(), basis: byDate ? 'partition date' : 'commit time' },
    totals,
    quarantine: { total, byStage, objects: read.filter((q) => q && q.lines.length > 0).length },
    replays: replays.filter((r) => r.manifest.status === 'committed').length,
  };
}
