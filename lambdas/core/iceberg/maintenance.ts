/**
 * Table maintenance as the Glue Data Catalog's optimizers and Athena's OPTIMIZE / VACUUM do it,
 * for the local loop (where no managed optimizer runs) and for tests that race it against the
 * loader's commits:
 *
 * - {@link replaceFiles}: a `replace` snapshot that swaps data files for their rewrite
 *   (compaction); the rows stay the same, so the published offsets stay the same. The caller
 *   writes the new files first; if a file it rewrote is no longer live when it commits (another
 *   compaction won), the rewrite is abandoned (its files become orphans), never applied twice.
 * - {@link expireSnapshots}: drops snapshots older than the retention, keeping the newest ones,
 *   and returns the files only they referenced, for deletion.
 * - {@link orphanFiles}: files under the table's location that no snapshot references.
 *
 * Every change goes through the same optimistic catalog swap as the loader's appends (table.ts).
 */
import type { ManifestFile } from '../commit';
import { LakeloaderError } from '../errors';
import { dataPrefix } from '../layout';
import { readManifestList, type DataFileEntry } from './avro';
import { dataFileEntry, publishedOffsets, stagedBatches, totals, writeDataManifest, writeSnapshot } from './commit';
import { currentSnapshot, type Snapshot, type TableMetadata } from './metadata';
import { currentSchema } from './schema';
import { commitMetadata, getBytes, keyOf, liveEntries, manifestsOf, newSnapshotId, type IcebergDeps } from './table';

/** A rewrite's files are no longer all live (another rewrite committed first). */
export class RewriteConflictError extends LakeloaderError {
  readonly code = 'ICEBERG_REWRITE_CONFLICT';
}

/** A data file a rewrite adds: its key in the lake bucket, rows, bytes, partition tuple and statistics. */
export type RewrittenFile = Pick<ManifestFile, 'key' | 'rows' | 'bytes'> & Required<Pick<ManifestFile, 'iceberg'>>;

export interface ReplaceResult {
  snapshotId: number;
  removed: number;
  added: number;
  attempts: number;
  metadataLocation?: string;
}

/**
 * Commits a `replace` snapshot: the files `remove` (their `s3://` paths) leave the table and
 * `add` join it, in one snapshot.
 * @throws RewriteConflictError when a file of `remove` is not live any more; the commit errors of table.ts
 */
export async function replaceFiles(deps: IcebergDeps, remove: readonly string[], add: readonly RewrittenFile[]): Promise<ReplaceResult> {
  const now = deps.now ?? Date.now;
  const gone = new Set(remove);
  return commitMetadata(deps, async ({ metadata, location, attempt }) => {
    const parent = currentSnapshot(metadata);
    const manifests = await manifestsOf(deps, parent);
    const live = await liveEntries(deps, manifests);
    const present = new Set(live.map((e) => e.data_file.file_path));
    const missing = remove.filter((p) => !present.has(p));
    if (missing.length) throw new RewriteConflictError(`${missing.length} of the ${remove.length} files to rewrite are no longer in the table (${missing[0]}); another rewrite committed first`);
    const snapshotId = newSnapshotId();
    const sequence = metadata['last-sequence-number'] + 1;
    const entries: DataFileEntry[] = [
      ...live.map((e): DataFileEntry => (gone.has(e.data_file.file_path) ? { ...e, status: 2, snapshot_id: BigInt(snapshotId) } : e)),
      ...add.map((f) => dataFileEntry(deps, { ...f, partitionValues: [], firstOffset: -1, lastOffset: -1 }, BigInt(snapshotId))),
    ];
    const manifest = await writeDataManifest(deps, entries, snapshotId, sequence, currentSchema(metadata));
    const others = manifests.filter((m) => m.content !== 0);
    const removed = live.filter((e) => gone.has(e.data_file.file_path));
    const rows = (l: { data_file: { record_count: bigint } }[]) => Number(l.reduce((n, e) => n + e.data_file.record_count, 0n));
    const size = (l: { data_file: { file_size_in_bytes: bigint } }[]) => Number(l.reduce((n, e) => n + e.data_file.file_size_in_bytes, 0n));
    const addedRows = add.reduce((n, f) => n + f.rows, 0);
    const addedSize = add.reduce((n, f) => n + f.bytes, 0);
    const snapshot = await writeSnapshot(deps, metadata, {
      snapshotId,
      sequence,
      attempt,
      manifests: [...others, manifest],
      summary: {
        operation: 'replace',
        'added-data-files': String(add.length),
        'deleted-data-files': String(removed.length),
        'added-records': String(addedRows),
        'deleted-records': String(rows(removed)),
        'added-files-size': String(addedSize),
        'removed-files-size': String(size(removed)),
        ...totals(parent, { files: add.length - removed.length, records: addedRows - rows(removed), size: addedSize - size(removed) }),
      },
    });
    const next: TableMetadata = {
      ...metadata,
      'last-sequence-number': sequence,
      'last-updated-ms': now(),
      'current-snapshot-id': snapshotId,
      refs: { ...metadata.refs, main: { 'snapshot-id': snapshotId, type: 'branch' } },
      snapshots: [...metadata.snapshots, snapshot],
      'snapshot-log': [...metadata['snapshot-log'], { 'timestamp-ms': snapshot['timestamp-ms'], 'snapshot-id': snapshotId }],
      'metadata-log': [...metadata['metadata-log'], { 'timestamp-ms': metadata['last-updated-ms'], 'metadata-file': location }].slice(-100),
    };
    return { next, result: { snapshotId, removed: removed.length, added: add.length } };
  });
}

export interface ExpireResult {
  expired: number;
  kept: number;
  /** Keys (in the lake bucket) of files only the expired snapshots referenced: delete them after the commit. */
  unreferenced: string[];
  attempts: number;
  metadataLocation?: string;
}

/** Every file a snapshot references: its manifest list, manifests and data files (as `s3://` URIs). */
async function referencedBy(deps: IcebergDeps, s: Snapshot): Promise<Set<string>> {
  const out = new Set<string>([s['manifest-list']]);
  const manifests = await readManifestList(await getBytes(deps, s['manifest-list']));
  for (const m of manifests) out.add(m.manifest_path);
  for (const e of await liveEntries(deps, manifests)) out.add(e.data_file.file_path);
  return out;
}

/**
 * Expires snapshots older than `olderThanMs` (by their commit time), keeping the newest
 * `retainLast` and the current one, as Glue's snapshot retention optimizer and Athena's VACUUM do.
 */
export async function expireSnapshots(deps: IcebergDeps, opts: { olderThanMs: number; retainLast: number }): Promise<ExpireResult> {
  const now = deps.now ?? Date.now;
  return commitMetadata(deps, async ({ metadata }) => {
    const current = currentSnapshot(metadata);
    const byAge = [...metadata.snapshots].sort((a, b) => b['timestamp-ms'] - a['timestamp-ms']);
    const keep = new Set(byAge.slice(0, Math.max(1, opts.retainLast)).map((s) => String(s['snapshot-id'])));
    if (current) keep.add(String(current['snapshot-id']));
    for (const s of metadata.snapshots) if (s['timestamp-ms'] >= opts.olderThanMs) keep.add(String(s['snapshot-id']));
    const expired = metadata.snapshots.filter((s) => !keep.has(String(s['snapshot-id'])));
    if (expired.length === 0) return { done: { expired: 0, kept: metadata.snapshots.length, unreferenced: [] } };
    const kept = metadata.snapshots.filter((s) => keep.has(String(s['snapshot-id'])));
    const live = new Set<string>();
    for (const s of kept) for (const f of await referencedBy(deps, s)) live.add(f);
    const dead = new Set<string>();
    for (const s of expired) for (const f of await referencedBy(deps, s)) if (!live.has(f)) dead.add(f);
    const next: TableMetadata = {
      ...metadata,
      'last-updated-ms': now(),
      snapshots: kept,
      'snapshot-log': metadata['snapshot-log'].filter((l) => keep.has(String(l['snapshot-id']))),
    };
    return { next, result: { expired: expired.length, kept: kept.length, unreferenced: [...dead].map((u) => keyOf(deps, u)) } };
  });
}

/**
 * Keys under the table's location that the table does not reference (no snapshot's data files,
 * manifests or manifest lists, no metadata file in its log) and that are older than `olderThanMs`
 * — files of aborted attempts, abandoned rewrites and expired snapshots — for deletion. Files of
 * committed batches that no snapshot has published yet are referenced too (by their commit
 * manifests). Glue's managed orphan-file deletion does not know those; its retention (3 days by
 * default) must exceed the longest time a batch can wait to be published.
 */
export async function orphanFiles(deps: IcebergDeps, metadata: TableMetadata, metadataLocation: string, olderThanMs: number): Promise<string[]> {
  const referenced = new Set<string>([keyOf(deps, metadataLocation)]);
  for (const l of metadata['metadata-log']) if (l['metadata-file'].startsWith(`s3://${deps.bucket}/`)) referenced.add(keyOf(deps, l['metadata-file']));
  for (const s of metadata.snapshots) for (const f of await referencedBy(deps, s)) if (f.startsWith(`s3://${deps.bucket}/`)) referenced.add(keyOf(deps, f));
  for (const s of await stagedBatches(deps, publishedOffsets(metadata))) for (const m of s.manifests) for (const f of m.files) referenced.add(f.key);
  const out: string[] = [];
  for await (const o of deps.store.list(dataPrefix(deps.pipeline.name))) {
    if (referenced.has(o.key)) continue;
    if (o.lastModified !== undefined && o.lastModified >= olderThanMs) continue;
    out.push(o.key);
  }
  return out;
}
