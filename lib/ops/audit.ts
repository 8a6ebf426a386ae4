/**
 * The audit behind `lakeloader audit`: proves from the lake itself that every committed Kafka
 * offset is in the table or the quarantine exactly once.
 *
 * - Offsets: per topic and Kafka partition, the commit manifests' ranges must be contiguous
 *   (a gap or an overlap is reported) and end at the state's committed offset.
 * - Objects: every data file listed by a committed commit or replay manifest must exist (else
 *   "lost object"); every Parquet object under `tables/<table>/` must be listed, be a fenced
 *   tombstone, or belong to the attempt in flight (else "stray file"). Same for quarantine objects.
 * - Rows (Athena SQL): per Kafka partition the row count must equal what the manifests logged,
 *   and the number of distinct `_offset` values must equal the row count (duplicates = 0).
 * - Quarantine: each quarantine object's line count must equal the manifest's count less the
 *   lines replays removed.
 * - Iceberg tables: the files of the current snapshot must exist; committed batches beyond the
 *   offsets the table has published are staged (readers do not see them yet: counted, and
 *   reported as "unpublished" once older than 10 minutes or three commit intervals); the row
 *   check expects the published batches only. Files compaction rewrote are not "stray".
 * - Freshness: the latest event time per Kafka partition.
 * - ESM failures: an on-failure record of the table's topics that was not re-driven is reported
 *   (the ESM moved past that batch, so the manifests cannot show its records are missing).
 */
import type { TableCatalog } from '../../lambdas/core/catalog';
import { mapLimited } from '../../lambdas/core/concurrency';
import { LakeloaderError } from '../../lambdas/core/errors';
import { publishedOffsets } from '../../lambdas/core/iceberg/commit';
import { keyOf, readTableMetadata, tableFiles } from '../../lambdas/core/iceberg/table';
import type { CommitState, Manifest } from '../../lambdas/core/commit';
import { dataPrefix } from '../../lambdas/core/layout';
import type { Pipeline } from '../../lambdas/core/pipeline';
import type { ObjectStore } from '../../lambdas/core/store';
import type { QueryResult } from './athena';
import { readCommitManifests, readCommitStates, readReplayManifests, type ReplayManifest } from './lake';
import { listQuarantine, readQuarantineObject } from './quarantine';
import { unresolvedFailureRecords } from './redrive';

/** Runs one SQL statement (with `?` parameters) and returns all its rows: runQuery bound to the context. */
export type SqlRunner = (sql: string) => Promise<Pick<QueryResult, 'columns' | 'rows' | 'dataScannedBytes' | 'costUsd'>>;

export interface AuditDeps {
  store: ObjectStore;
  sql: SqlRunner;
  database: string;
  /** Iceberg tables: the catalog holding the table, and the lake bucket. */
  catalog?: TableCatalog;
  bucket?: string;
  /** @default Date.now */
  now?: () => number;
}

export type ProblemKind =
  | 'gap'
  | 'overlap'
  | 'state-mismatch'
  | 'duplicates'
  | 'row-mismatch'
  | 'lost-object'
  | 'stray-file'
  | 'quarantine-mismatch'
  | 'incomplete-replay'
  | 'unresolved-esm-failure'
  | 'unpublished';

export interface AuditProblem {
  kind: ProblemKind;
  topic?: string;
  partition?: number;
  key?: string;
  detail: string;
}

/** One topic and Kafka partition. */
export interface PartitionAudit {
  topic: string;
  partition: number;
  /** Committed offset ranges, merged where contiguous: [from, to] inclusive. */
  ranges: [number, number][];
  committedOffset: number | null;
  /** An attempt is between its pending and commit steps (in flight, or crashed and not retried yet). */
  pendingAttempt: boolean;
  manifests: number;
  files: number;
  expectedRows: number;
  /** Rows in the table (SQL); null when the table keeps no Kafka coordinates. */
  rows: number | null;
  distinctOffsets: number | null;
  duplicates: number | null;
  expectedQuarantined: number;
  quarantined: number;
  /** Latest event time among the rows (as Athena prints it), or null. */
  latestEventTime: string | null;
  /** Iceberg: rows of committed batches that no snapshot has published yet (readers do not see them yet). */
  stagedRows?: number;
  /** Iceberg: the last offset a snapshot has published. */
  publishedOffset?: number | null;
}

export interface AuditReport {
  table: string;
  ok: boolean;
  partitions: PartitionAudit[];
  problems: AuditProblem[];
  totals: { manifests: number; files: number; rows: number | null; expectedRows: number; quarantined: number; expectedQuarantined: number; dataScannedBytes: number; costUsd: number };
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** The audit's working state: per Kafka partition figures, the problems found, and the objects in play. */
class AuditState {
  readonly problems: AuditProblem[] = [];
  readonly parts = new Map<string, PartitionAudit>();
  /** Keys of the attempts and replays in flight (not stray while they run). */
  readonly inFlight = new Set<string>();
  /** Keys fenced by a later attempt (tombstones, not stray). */
  readonly fenced = new Set<string>();
  /** Data files the committed manifests list, with their rows. */
  readonly expectedData = new Map<string, { topic: string; partition: number; rows: number }>();
  /** Quarantine objects the committed manifests list, with their records (less the ones replays removed). */
  readonly expectedQuarantine = new Map<string, { topic: string; partition: number; records: number }>();
  readonly committedReplays: ReplayManifest[] = [];
  /** Iceberg: data files of the current snapshot. */
  live?: Set<string>;

  part(topic: string, partition: number): PartitionAudit {
    const k = tpKey(topic, partition);
    let p = this.parts.get(k);
    if (!p) {
      p = { topic, partition, ranges: [], committedOffset: null, pendingAttempt: false, manifests: 0, files: 0, expectedRows: 0, rows: null, distinctOffsets: null, duplicates: null, expectedQuarantined: 0, quarantined: 0, latestEventTime: null };
      this.parts.set(k, p);
    }
    return p;
  }
}

/** 1. Offsets: the commit manifests' ranges per topic-partition must be contiguous. */
function checkOffsets(a: AuditState, manifests: { manifest: Manifest }[]): void {
  const byTp = new Map<string, Manifest[]>();
  for (const { manifest } of manifests) {
    const list = byTp.get(tpKey(manifest.topic, manifest.partition)) ?? [];
    list.push(manifest);
    byTp.set(tpKey(manifest.topic, manifest.partition), list);
  }
  for (const list of byTp.values()) {
    const p = a.part(list[0]!.topic, list[0]!.partition);
    p.manifests = list.length;
    let prev: Manifest | null = null;
    for (const m of list) {
      if (prev && m.fromOffset > prev.toOffset + 1)
        a.problems.push({ kind: 'gap', topic: m.topic, partition: m.partition, detail: `offsets ${prev.toOffset + 1}..${m.fromOffset - 1} are in no commit manifest` });
      else if (prev && m.fromOffset <= prev.toOffset)
        a.problems.push({ kind: 'overlap', topic: m.topic, partition: m.partition, detail: `offsets ${m.fromOffset}..${Math.min(prev.toOffset, m.toOffset)} are in two commit manifests (g${prev.generation} and g${m.generation})` });
      const last = p.ranges[p.ranges.length - 1];
      if (last && m.fromOffset <= last[1] + 1) last[1] = Math.max(last[1], m.toOffset);
      else p.ranges.push([m.fromOffset, m.toOffset]);
      prev = m;
    }
  }
}

/** 2. States: the committed offset must be the end of the manifests; the pending attempt's keys are in flight. */
function checkStates(a: AuditState, states: { state: CommitState }[]): void {
  for (const { state } of states) {
    const p = a.part(state.topic, state.partition);
    p.committedOffset = state.committedOffset;
    if (state.pending) {
      p.pendingAttempt = true;
      for (const k of state.pending.keys) a.inFlight.add(k);
      for (const k of state.pending.fencedKeys ?? []) a.fenced.add(k);
    }
    const end = p.ranges.length ? p.ranges[p.ranges.length - 1]![1] : null;
    if (state.committedOffset !== end)
      a.problems.push({ kind: 'state-mismatch', topic: state.topic, partition: state.partition, detail: `the state says committed offset ${state.committedOffset}, the manifests end at ${end}` });
  }
}

/** 3. Expected objects: the files of committed commit and replay manifests; fenced keys are tombstones. */
function collectExpectedObjects(a: AuditState, manifests: { manifest: Manifest }[], replays: { key: string; manifest: ReplayManifest }[]): void {
  for (const { manifest: m } of manifests) {
    const p = a.part(m.topic, m.partition);
    for (const f of m.files) {
      a.expectedData.set(f.key, { topic: m.topic, partition: m.partition, rows: f.rows });
      p.files++;
      p.expectedRows += f.rows;
    }
    if (m.quarantine) {
      a.expectedQuarantine.set(m.quarantine.key, { topic: m.topic, partition: m.partition, records: m.quarantine.records });
      p.expectedQuarantined += m.quarantine.records;
    }
    for (const k of m.fencedKeys ?? []) a.fenced.add(k);
  }
  // Quarantine objects written by re-drives first, so that replays of them can be subtracted below.
  for (const { manifest: r } of replays)
    if (r.status === 'committed' && r.quarantineWritten) {
      a.expectedQuarantine.set(r.quarantineWritten.key, { topic: r.topic, partition: r.partition, records: r.quarantineWritten.records });
      a.part(r.topic, r.partition).expectedQuarantined += r.quarantineWritten.records;
    }
  for (const { key, manifest: r } of replays) {
    if (r.status !== 'committed') {
      a.problems.push({ kind: 'incomplete-replay', topic: r.topic, partition: r.partition, key, detail: `a replay of ${r.quarantineKey} stopped before it committed; run lakeloader replay again to finish it` });
      for (const f of r.files) a.inFlight.add(f.key);
      if (r.quarantineWritten) a.inFlight.add(r.quarantineWritten.key);
      continue;
    }
    a.committedReplays.push(r);
    const p = a.part(r.topic, r.partition);
    for (const f of r.files) {
      a.expectedData.set(f.key, { topic: r.topic, partition: r.partition, rows: f.rows });
      p.files++;
      p.expectedRows += f.rows;
    }
    const q = a.expectedQuarantine.get(r.quarantineKey);
    if (q) q.records -= r.removedOffsets.length;
    p.expectedQuarantined -= r.removedOffsets.length;
  }
}

/** 4. Data objects: lost (listed, not in S3) and stray (in S3, listed nowhere: Athena reads them). */
async function checkDataObjects(a: AuditState, store: AuditDeps['store'], table: string): Promise<void> {
  const present = new Set<string>();
  for await (const o of store.list(dataPrefix(table))) {
    present.add(o.key);
    if (!o.key.endsWith('.parquet') || a.expectedData.has(o.key) || a.fenced.has(o.key) || a.inFlight.has(o.key)) continue;
    a.problems.push({ kind: 'stray-file', key: o.key, detail: `${o.size} bytes under the table's prefix that no committed manifest lists; Athena reads its rows` });
  }
  for (const [key, e] of a.expectedData)
    if (!present.has(key)) a.problems.push({ kind: 'lost-object', topic: e.topic, partition: e.partition, key, detail: `listed by a committed manifest with ${e.rows} rows, but missing from S3` });
}

/**
 * 4'. Iceberg: readers see the current snapshot only. Its files must exist; committed batches
 * beyond the published offsets are staged (counted, not expected in the table yet, a problem
 * once older than `staleMs`); files the loader wrote that the table no longer lists were
 * rewritten by compaction (their rows are in the rewrite: the row check counts them).
 */
async function checkIceberg(a: AuditState, deps: AuditDeps, pipeline: Pipeline, manifests: { manifest: Manifest }[], staleMs: number): Promise<void> {
  if (!deps.catalog || !deps.bucket) throw new AuditConfigError(`auditing the Iceberg table ${pipeline.name} needs the Glue catalog and the bucket (AuditDeps.catalog, .bucket)`);
  const ice = { store: deps.store, catalog: deps.catalog, bucket: deps.bucket, database: deps.database, pipeline };
  const table = await deps.catalog.getTable(deps.database, pipeline.name);
  const current = table ? await readTableMetadata(ice, table) : null;
  const published = current ? publishedOffsets(current.metadata) : {};
  const live = new Set(current ? (await tableFiles(ice, current.metadata)).map((e) => keyOf(ice, e.data_file.file_path)) : []);
  a.live = live;
  const present = new Set<string>();
  for await (const o of deps.store.list(dataPrefix(pipeline.name))) present.add(o.key);
  for (const key of live) if (!present.has(key)) a.problems.push({ kind: 'lost-object', key, detail: 'a data file of the current snapshot is missing from S3; readers of the table fail on it' });
  const now = (deps.now ?? Date.now)();
  for (const { manifest: m } of manifests) {
    const p = a.part(m.topic, m.partition);
    const last = published[`${m.topic}/${m.partition}`];
    p.publishedOffset = last ?? null;
    if (last !== undefined && m.toOffset <= last) continue;
    const rows = m.files.reduce((n, f) => n + f.rows, 0);
    p.stagedRows = (p.stagedRows ?? 0) + rows;
    p.expectedRows -= rows;
    for (const f of m.files) {
      a.expectedData.delete(f.key);
      if (!present.has(f.key)) a.problems.push({ kind: 'lost-object', topic: m.topic, partition: m.partition, key: f.key, detail: `a staged file (${f.rows} rows, committed, not yet published) is missing from S3` });
    }
    const age = now - Date.parse(m.committedAt);
    if (rows > 0 && age > staleMs) {
      a.problems.push({ kind: 'unpublished', topic: m.topic, partition: m.partition, detail: `offsets ${m.fromOffset}..${m.toOffset} (${rows} rows) were committed ${Math.round(age / 1000)} s ago and no snapshot publishes them; check the scheduled committer (EventBridge rule), the function's errors and its IcebergCommitFailures metric` });
    }
  }
}

/** The audit needs more than it was given. */
export class AuditConfigError extends LakeloaderError {
  readonly code = 'AUDIT_CONFIG';
}

/** 5. Quarantine objects: lost, stray, line counts, unfinished replays. */
async function checkQuarantine(a: AuditState, store: AuditDeps['store'], table: string): Promise<void> {
  const qObjects = await listQuarantine(store, table);
  const qPresent = new Set(qObjects.map((o) => o.key));
  const qRead = await mapLimited(
    qObjects.filter((o) => a.expectedQuarantine.has(o.key) || (!a.fenced.has(o.key) && !a.inFlight.has(o.key))),
    16,
    async (o) => ({ key: o.key, obj: await readQuarantineObject(store, o.key) }),
  );
  for (const { key, obj } of qRead) {
    const lines = obj?.lines.length ?? 0;
    const exp = a.expectedQuarantine.get(key);
    if (!exp) {
      if (lines > 0) a.problems.push({ kind: 'stray-file', key, detail: `quarantine object with ${lines} records that no committed manifest lists` });
      continue;
    }
    a.part(exp.topic, exp.partition).quarantined += lines;
    if (lines !== exp.records)
      a.problems.push({ kind: 'quarantine-mismatch', topic: exp.topic, partition: exp.partition, key, detail: `${lines} records, the manifests account for ${exp.records}` });
    const unfinished = a.committedReplays.find((r) => r.quarantineKey === key && r.sourceEtag === obj?.etag);
    if (unfinished)
      a.problems.push({ kind: 'incomplete-replay', topic: exp.topic, partition: exp.partition, key, detail: 'a committed replay has not rewritten this quarantine object yet; run lakeloader replay again to finish it' });
  }
  for (const [key, e] of a.expectedQuarantine)
    if (!qPresent.has(key)) a.problems.push({ kind: 'lost-object', topic: e.topic, partition: e.partition, key, detail: `quarantine object with ${e.records} records listed by a committed manifest, but missing from S3` });
}

/** 7. Rows from the data, per Kafka partition (one SQL query): counts, duplicates, latest event time. */
async function checkRows(a: AuditState, deps: AuditDeps, pipeline: Pipeline): Promise<{ totalRows: number | null; dataScannedBytes: number; costUsd: number }> {
  if (!pipeline.keepKafkaCoordinates) return { totalRows: null, dataScannedBytes: 0, costUsd: 0 };
  const src = pipeline.partitioning.by === 'eventTime' && 'column' in pipeline.partitioning.source ? pipeline.partitioning.source.column : '_kafka_ts';
  const r = await deps.sql(
    `SELECT _topic, _partition, count(*) AS row_count, count(DISTINCT _offset) AS offsets, CAST(max(${quoteIdent(src)}) AS varchar) AS latest ` +
      `FROM ${quoteIdent(deps.database)}.${quoteIdent(pipeline.name)} GROUP BY _topic, _partition`,
  );
  let totalRows = 0;
  for (const row of r.rows) {
    const p = a.part(row[0] ?? '', Number(row[1]));
    p.rows = Number(row[2]);
    p.distinctOffsets = Number(row[3]);
    p.latestEventTime = row[4] ?? null;
    totalRows += p.rows;
  }
  for (const p of a.parts.values()) {
    p.rows ??= 0;
    p.distinctOffsets ??= 0;
    // With a transform a record may fan out into several rows, so rows > offsets is no proof of a duplicate there.
    p.duplicates = pipeline.transform ? Math.max(0, p.rows - p.expectedRows) : p.rows - p.distinctOffsets;
    if (p.duplicates > 0)
      a.problems.push({ kind: 'duplicates', topic: p.topic, partition: p.partition, detail: `${p.duplicates} rows repeat an offset (${p.rows} rows, ${p.distinctOffsets} distinct _offset values)` });
    if (p.rows !== p.expectedRows) a.problems.push({ kind: 'row-mismatch', topic: p.topic, partition: p.partition, detail: `${p.rows} rows in the table, the manifests logged ${p.expectedRows}` });
  }
  return { totalRows, dataScannedBytes: r.dataScannedBytes, costUsd: r.costUsd };
}

/**
 * Audits one table.
 * @returns the report; `ok` is false on any duplicate, gap, overlap, lost or stray object or count mismatch
 */
export async function auditTable(deps: AuditDeps, pipeline: Pipeline): Promise<AuditReport> {
  const { store } = deps;
  const table = pipeline.name;
  const [manifests, replays, states] = await Promise.all([readCommitManifests(store, table), readReplayManifests(store, table), readCommitStates(store, table)]);
  const a = new AuditState();
  checkOffsets(a, manifests);
  checkStates(a, states);
  collectExpectedObjects(a, manifests, replays);
  if (pipeline.format === 'iceberg') await checkIceberg(a, deps, pipeline, manifests, Math.max(10 * 60_000, 3 * pipeline.iceberg.commitIntervalSeconds * 1000));
  else await checkDataObjects(a, store, table);
  await checkQuarantine(a, store, table);
  // 6. Batches the ESM discarded (on-failure records) that were not re-driven: their records may be missing.
  for (const u of await unresolvedFailureRecords(store, pipeline))
    a.problems.push({ kind: 'unresolved-esm-failure', key: u.key, detail: `the ESM discarded ${u.ranges.join(', ')}; run lakeloader replay --table ${table} to re-drive it` });
  const { totalRows, dataScannedBytes, costUsd } = await checkRows(a, deps, pipeline);

  const partitions = [...a.parts.values()].sort((x, y) => (x.topic !== y.topic ? (x.topic < y.topic ? -1 : 1) : x.partition - y.partition));
  return {
    table,
    ok: a.problems.length === 0,
    partitions,
    problems: a.problems,
    totals: {
      manifests: manifests.length,
      files: a.expectedData.size,
      rows: totalRows,
      expectedRows: partitions.reduce((n, p) => n + p.expectedRows, 0),
      quarantined: partitions.reduce((n, p) => n + p.quarantined, 0),
      expectedQuarantined: partitions.reduce((n, p) => n + p.expectedQuarantined, 0),
      dataScannedBytes,
      costUsd,
    },
  };
}

