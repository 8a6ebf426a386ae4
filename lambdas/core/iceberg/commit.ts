/**
 * The Iceberg commit: publishes the batches the exactly-once protocol (../commit.ts) has staged
 * and committed as one Iceberg snapshot, so readers see a batch only once it is committed
 * (read-committed) and exactly once.
 *
 * 1. Read the table's current metadata (table.ts: `commitMetadata`). The table property
 *    `lakeloader.offsets` holds, per topic-partition, the last Kafka offset whose batch a snapshot
 *    has published (also in each of our snapshots' summaries).
 * 2. For each topic-partition whose committed offset (its state object) is beyond that, take the
 *    commit manifests that continue it, in order, up to the committed offset — never an aborted
 *    one, never one of an attempt in flight (its offsets are beyond the committed one).
 * 3. Write a manifest of their data files (Avro, with partition values and column statistics),
 *    the manifest list (the current snapshot's manifests plus the new one, merged into one when
 *    they pile up), and the next metadata with the new offsets.
 * 4. Swap the catalog's pointer naming the version read in 1; after a conflict, start again from
 *    1 — the offsets in the metadata make sure nothing is published twice and nothing skipped.
 */
import { randomUUID } from 'node:crypto';
import type { CommitState, Manifest, ManifestFile } from '../commit';
import { daysFromCivil } from '../conform';
import { dataPrefix, manifestsPrefix, padOffset, safeTopic, statePrefix } from '../layout';
import type { Pipeline } from '../pipeline';
import type { ObjectStore } from '../store';
import { LOADER_VERSION } from '../version';
import { writeManifest, writeManifestList, type DataFileEntry, type ManifestFileEntry } from './avro';
import { currentSnapshot, withSnapshot, type Snapshot, type TableMetadata } from './metadata';
import { currentSchema, icebergLayout, partitionFieldType, type IcebergSchema } from './schema';
import { commitMetadata, IcebergMetadataError, liveEntries, manifestsOf, metadataUri, newSnapshotId, OFFSETS_PROPERTY, putNew, summaryTotal, type IcebergDeps } from './table';

export { ensureIcebergTable, IcebergCommitError, IcebergMetadataError, IcebergTableMissingError, OFFSETS_PROPERTY, type IcebergDeps } from './table';

/** Data manifests in a snapshot beyond which the next commit merges them into one. */
export const MERGE_MANIFESTS_AT = 8;

export interface PublishResult {
  /** The snapshot committed, or null when nothing was published. */
  snapshotId: number | null;
  /** Commit manifests (staged batches) published. */
  batches: number;
  files: number;
  rows: number;
  /** Catalog commits tried (more than one after conflicts). */
  attempts: number;
  /** Why nothing was published: the last snapshot is fresh enough, or nothing was waiting. */
  skipped?: 'fresh' | 'nothing';
  /** The metadata file now current. */
  metadataLocation?: string;
}

const decoder = new TextDecoder();
const tpKey = (topic: string, partition: number) => `${topic}/${partition}`;

/** The published offsets of a table's metadata. */
export function publishedOffsets(m: TableMetadata): Record<string, number> {
  try {
    return JSON.parse(m.properties[OFFSETS_PROPERTY] ?? '{}') as Record<string, number>;
  } catch {
    throw new IcebergMetadataError(`the table property ${OFFSETS_PROPERTY} is not JSON: ${m.properties[OFFSETS_PROPERTY]}`);
  }
}

interface Staged {
  topic: string;
  partition: number;
  manifests: Manifest[];
  lastOffset: number;
}

async function readJson<T>(store: ObjectStore, key: string): Promise<T | null> {
  const got = await store.get(key);
  return got ? (JSON.parse(decoder.decode(got.body)) as T) : null;
}

/** Per topic-partition, the committed batches (commit manifests) that continue after the published offsets. */
export async function stagedBatches(deps: IcebergDeps, published: Record<string, number>): Promise<Staged[]> {
  const { store, pipeline } = deps;
  const out: Staged[] = [];
  for await (const o of store.list(statePrefix(pipeline.name))) {
    if (!o.key.endsWith('.json')) continue;
    const state = await readJson<CommitState>(store, o.key);
    if (!state || state.committedOffset === null) continue;
    const last = published[tpKey(state.topic, state.partition)] ?? -1;
    if (state.committedOffset <= last) continue;
    const prefix = `${manifestsPrefix(pipeline.name)}${safeTopic(state.topic)}/${state.partition}/`;
    const manifests: Manifest[] = [];
    let cursor = last;
    for await (const m of store.list(prefix, last >= 0 ? `${prefix}${padOffset(last + 1)}` : undefined)) {
      if (!m.key.endsWith('.json')) continue;
      const man = await readJson<Manifest & { aborted?: boolean }>(store, m.key);
      if (!man || man.aborted || !Array.isArray(man.files)) continue;
      if (man.toOffset > state.committedOffset) break; // an attempt in flight, or newer than the state read
      if (man.toOffset <= cursor) continue;
      if (cursor >= 0 && man.fromOffset !== cursor + 1) {
        throw new IcebergMetadataError(`${state.topic}-${state.partition}: the commit manifests jump from offset ${cursor} to ${man.fromOffset} (${m.key}); lakeloader audit shows the gap`);
      }
      manifests.push(man);
      cursor = man.toOffset;
      if (cursor === state.committedOffset) break;
    }
    if (manifests.length) out.push({ topic: state.topic, partition: state.partition, manifests, lastOffset: cursor });
  }
  return out;
}

/** A file's partition tuple: from the loader's Iceberg info, or (files written before it) from its Hive partition values. */
function partitionOf(pipeline: Pipeline, f: ManifestFile): (number | string | boolean | null)[] {
  if (f.iceberg) return f.iceberg.partition;
  const p = pipeline.partitioning;
  if (p.by === 'none') return [];
  const [dt, hour] = f.partitionValues;
  if (p.by === 'eventTime') {
    const [y, m, d] = (dt ?? '1970-01-01').split('-').map(Number);
    const day = daysFromCivil(y!, m!, d!);
    return [p.granularity === 'hour' ? day * 24 + Number(hour ?? 0) : day];
  }
  return f.partitionValues.map((v) => v);
}

const counts = (stats: Record<string, { values: number; nulls: number; lower?: string; upper?: string }>, k: 'values' | 'nulls') =>
  Object.entries(stats).map(([id, s]) => ({ key: Number(id), value: BigInt(s[k]) }));
const bounds = (stats: Record<string, { lower?: string; upper?: string }>, k: 'lower' | 'upper') =>
  Object.entries(stats)
    .filter(([, s]) => s[k] !== undefined)
    .map(([id, s]) => ({ key: Number(id), value: Buffer.from(s[k]!, 'base64') }));

export function dataFileEntry(deps: IcebergDeps, f: ManifestFile, snapshotId: bigint): DataFileEntry {
  const spec = icebergLayout(deps.pipeline).spec;
  const values = partitionOf(deps.pipeline, f);
  const stats = f.iceberg?.stats ?? {};
  return {
    status: 1,
    snapshot_id: snapshotId,
    sequence_number: null, // inherited from the manifest list (this snapshot's sequence number)
    file_sequence_number: null,
    data_file: {
      content: 0,
      file_path: `s3://${deps.bucket}/${f.key}`,
      file_format: 'PARQUET',
      partition: Object.fromEntries(spec.fields.map((pf, i) => [pf.name, values[i] ?? null])),
      record_count: BigInt(f.rows),
      file_size_in_bytes: BigInt(f.bytes),
      column_sizes: null,
      value_counts: f.iceberg ? counts(stats, 'values') : null,
      null_value_counts: f.iceberg ? counts(stats, 'nulls') : null,
      nan_value_counts: null,
      lower_bounds: f.iceberg ? bounds(stats, 'lower') : null,
      upper_bounds: f.iceberg ? bounds(stats, 'upper') : null,
      key_metadata: null,
      split_offsets: null,
      equality_ids: null,
      sort_order_id: null,
    },
  };
}

/** The manifest list's partition summaries of a manifest's entries (bounds for int and date partitions). */
export function partitionSummaries(deps: IcebergDeps, entries: DataFileEntry[]): ManifestFileEntry['partitions'] {
  const spec = icebergLayout(deps.pipeline).spec;
  return spec.fields.map((pf) => {
    const type = partitionFieldType(deps.pipeline, pf);
    const vals = entries.map((e) => e.data_file.partition[pf.name] ?? null);
    const nums = vals.filter((v): v is number => typeof v === 'number');
    const asInt = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32LE(n);
      return b;
    };
    const numeric = (type === 'int' || type === 'date') && nums.length > 0;
    return {
      contains_null: vals.some((v) => v === null),
      contains_nan: false,
      lower_bound: numeric ? asInt(Math.min(...nums)) : null,
      upper_bound: numeric ? asInt(Math.max(...nums)) : null,
    };
  });
}

/**
 * Publishes the committed, unpublished batches as one snapshot (see the module comment).
 * @param minAgeMs publish only when the table's last snapshot is at least this old (the loader's
 *   commit interval: a busy table gets one snapshot per interval, not one per invocation)
 * @throws IcebergTableMissingError, IcebergMetadataError, IcebergCommitError (after too many conflicts); store/catalog errors
 */
export async function publishStaged(deps: IcebergDeps, opts: { minAgeMs?: number } = {}): Promise<PublishResult> {
  const { pipeline } = deps;
  const now = deps.now ?? Date.now;
  const layout = icebergLayout(pipeline);
  type Out = Omit<PublishResult, 'attempts' | 'metadataLocation'>;
  const none = (skipped: PublishResult['skipped']): { done: Out } => ({ done: { snapshotId: null, batches: 0, files: 0, rows: 0, skipped } });
  return commitMetadata<Out>(deps, async ({ metadata, location, attempt }) => {
    // The interval runs from the last snapshot (any writer's); a table without one publishes at once.
    const last = currentSnapshot(metadata)?.['timestamp-ms'];
    if (opts.minAgeMs && last !== undefined && now() - last < opts.minAgeMs) return none('fresh');
    const published = publishedOffsets(metadata);
    const staged = await stagedBatches(deps, published);
    const files = staged.flatMap((s) => s.manifests.flatMap((m) => m.files.filter((f) => f.rows > 0)));
    if (files.length === 0) return none('nothing');

    const parent = currentSnapshot(metadata);
    const snapshotId = newSnapshotId();
    const sequence = metadata['last-sequence-number'] + 1;
    const added = files.map((f) => dataFileEntry(deps, f, BigInt(snapshotId)));
    const previous = await manifestsOf(deps, parent);
    const previousData = previous.filter((m) => m.content === 0 && m.partition_spec_id === layout.spec['spec-id']);
    const kept = previous.filter((m) => !previousData.includes(m));
    const merge = previousData.length + 1 > MERGE_MANIFESTS_AT;
    const existing = merge ? await liveEntries(deps, previousData) : [];
    const newManifest = await writeDataManifest(deps, [...existing, ...added], snapshotId, sequence, currentSchema(metadata));
    const list = [...kept, ...(merge ? [] : previousData), newManifest];
    const offsets = { ...published };
    for (const s of staged) offsets[tpKey(s.topic, s.partition)] = s.lastOffset;
    const offsetsJson = JSON.stringify(offsets);
    const batches = staged.reduce((n, s) => n + s.manifests.length, 0);
    const snapshot = await writeSnapshot(deps, metadata, {
      snapshotId,
      sequence,
      attempt,
      manifests: list,
      summary: {
        ...appendSummary(parent, files),
        [OFFSETS_PROPERTY]: offsetsJson,
        'lakeloader.batches': String(batches),
        'lakeloader.version': LOADER_VERSION,
      },
    });
    return {
      next: withSnapshot(metadata, snapshot, location, { [OFFSETS_PROPERTY]: offsetsJson }, now()),
      result: { snapshotId, batches, files: added.length, rows: Number(snapshot.summary['added-records']) },
    };
  });
}

/** Snapshot summary key naming what an {@link appendFiles} added (a replay manifest's key). */
export const SOURCE_PROPERTY = 'lakeloader.source';

/**
 * Appends files outside the Kafka offset chain (a replay or re-drive of quarantined or discarded
 * records, committed by its own manifest `source`) as one snapshot, once: a snapshot whose summary
 * names `source` already exists → nothing to do. The published offsets stay as they are.
 */
export async function appendFiles(deps: IcebergDeps, source: string, files: ManifestFile[]): Promise<PublishResult> {
  const now = deps.now ?? Date.now;
  const live = files.filter((f) => f.rows > 0);
  type Out = Omit<PublishResult, 'attempts' | 'metadataLocation'>;
  return commitMetadata<Out>(deps, async ({ metadata, location, attempt }) => {
    if (live.length === 0 || metadata.snapshots.some((s) => s.summary[SOURCE_PROPERTY] === source)) return { done: { snapshotId: null, batches: 0, files: 0, rows: 0, skipped: 'nothing' } };
    const parent = currentSnapshot(metadata);
    const snapshotId = newSnapshotId();
    const sequence = metadata['last-sequence-number'] + 1;
    const previous = await manifestsOf(deps, parent);
    const added = live.map((f) => dataFileEntry(deps, f, BigInt(snapshotId)));
    const manifest = await writeDataManifest(deps, added, snapshotId, sequence, currentSchema(metadata));
    const list = [...previous, manifest];
    const snapshot = await writeSnapshot(deps, metadata, {
      snapshotId,
      sequence,
      attempt,
      manifests: list,
      summary: {
        ...appendSummary(parent, live),
        [SOURCE_PROPERTY]: source,
        'lakeloader.version': LOADER_VERSION,
      },
    });
    return { next: withSnapshot(metadata, snapshot, location, {}, now()), result: { snapshotId, batches: 1, files: live.length, rows: Number(snapshot.summary['added-records']) } };
  });
}

/**
 * Writes the manifest list of a new snapshot on top of `metadata`'s current one and returns the
 * snapshot: how every writer's commit (publish, replay append, compaction) ends.
 */
export async function writeSnapshot(
  deps: IcebergDeps,
  metadata: TableMetadata,
  o: { snapshotId: number; sequence: number; attempt: number; manifests: ManifestFileEntry[]; summary: Snapshot['summary'] },
): Promise<Snapshot> {
  const parent = currentSnapshot(metadata);
  const listUri = metadataUri(deps, `snap-${o.snapshotId}-${o.attempt}-${randomUUID()}.avro`);
  await putNew(deps, listUri, await writeManifestList(o.manifests, BigInt(o.snapshotId), parent ? BigInt(parent['snapshot-id']) : null, BigInt(o.sequence)), 'application/avro');
  return {
    'snapshot-id': o.snapshotId,
    ...(parent ? { 'parent-snapshot-id': parent['snapshot-id'] } : {}),
    'sequence-number': o.sequence,
    'timestamp-ms': (deps.now ?? Date.now)(),
    'manifest-list': listUri,
    summary: o.summary,
    'schema-id': metadata['current-schema-id'],
  };
}

/** The summary of an `append` snapshot that adds `files` on top of `parent`. */
function appendSummary(parent: Snapshot | null, files: readonly ManifestFile[]): Snapshot['summary'] {
  const records = files.reduce((n, f) => n + f.rows, 0);
  const size = files.reduce((n, f) => n + f.bytes, 0);
  return {
    operation: 'append',
    'added-data-files': String(files.length),
    'added-records': String(records),
    'added-files-size': String(size),
    ...totals(parent, { files: files.length, records, size }),
  };
}

/** A snapshot summary's running totals: the parent's plus `delta`. */
export function totals(parent: Snapshot | null, delta: { files: number; records: number; size: number }): Record<string, string> {
  return {
    'total-data-files': String(summaryTotal(parent, 'total-data-files') + delta.files),
    'total-records': String(summaryTotal(parent, 'total-records') + delta.records),
    'total-files-size': String(summaryTotal(parent, 'total-files-size') + delta.size),
    'total-delete-files': String(summaryTotal(parent, 'total-delete-files')),
    'total-position-deletes': String(summaryTotal(parent, 'total-position-deletes')),
    'total-equality-deletes': String(summaryTotal(parent, 'total-equality-deletes')),
  };
}

/** Writes a data manifest of `entries` for snapshot `snapshotId` (its header: `schema`, the table's current schema) and returns its manifest-list entry. */
export async function writeDataManifest(deps: IcebergDeps, entries: DataFileEntry[], snapshotId: number, sequence: number, schema: IcebergSchema): Promise<ManifestFileEntry> {
  const layout = icebergLayout(deps.pipeline);
  const uri = metadataUri(deps, `${randomUUID()}-m0.avro`);
  const bytes = await writeManifest(deps.pipeline, schema, layout.spec, entries);
  await putNew(deps, uri, bytes, 'application/avro');
  const of = (status: number) => entries.filter((e) => e.status === status);
  const rows = (list: DataFileEntry[]) => list.reduce((n, e) => n + e.data_file.record_count, 0n);
  const seq = BigInt(sequence);
  return {
    manifest_path: uri,
    manifest_length: BigInt(bytes.length),
    partition_spec_id: layout.spec['spec-id'],
    content: 0,
    sequence_number: seq,
    min_sequence_number: entries.reduce((m, e) => (e.sequence_number !== null && e.sequence_number < m ? e.sequence_number : m), seq),
    added_snapshot_id: BigInt(snapshotId),
    added_files_count: of(1).length,
    existing_files_count: of(0).length,
    deleted_files_count: of(2).length,
    added_rows_count: rows(of(1)),
    existing_rows_count: rows(of(0)),
    deleted_rows_count: rows(of(2)),
    partitions: partitionSummaries(deps, entries.filter((e) => e.status !== 2)),
    key_metadata: null,
  };
}

/** The table's prefix for data files (for audits and orphan checks). */
export const icebergDataPrefix = (p: Pipeline) => dataPrefix(p.name);
