/**
 * An Iceberg table in the Glue Data Catalog, as every writer of this project changes it: read
 * the catalog's `metadata_location` (and the table's `VersionId`), build the next metadata from
 * the current one, write it under a new name (a conditional PUT, If-None-Match), and swap the
 * catalog's pointer with Glue UpdateTable naming the `VersionId` read. When another writer (a
 * Lambda, the scheduled committer, a compaction, the Glue optimizers) got there first, the swap
 * fails and the whole step runs again from the new current metadata — so no change is lost and
 * none is applied twice. A crash anywhere leaves at most unreferenced files, which the table's
 * orphan-file deletion removes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Column as GlueColumn } from '@aws-sdk/client-glue';
import type { CatalogTable, TableCatalog } from '../catalog';
import { CommitConflictError } from '../catalog';
import { LakeloaderError } from '../errors';
import { icebergLocation, icebergTableInput } from '../glue-table';
import { CONTENT_TYPE } from '../layout';
import type { Pipeline } from '../pipeline';
import type { ObjectStore } from '../store';
import { PreconditionFailedError } from '../store';
import { readManifest, readManifestList, type DataFileEntry, type ManifestFileEntry } from './avro';
import { currentSnapshot, metadataFileName, metadataVersion, newTableMetadata, parseMetadata, snapshotById, stringifyMetadata, type Snapshot, type SnapshotId, type TableMetadata } from './metadata';
import { icebergLayout } from './schema';

/** Table property (and snapshot summary key) with the published offsets: `{"topic/partition": lastOffset}`. */
export const OFFSETS_PROPERTY = 'lakeloader.offsets';
/** The data file size compaction aims at (`write.target-file-size-bytes`; Athena reads 128 MiB files well). */
export const TARGET_FILE_SIZE_BYTES = 128 * 1024 * 1024;
/** Conflicting commits in a row after which a writer gives up (the next run retries). */
export const MAX_ATTEMPTS = 12;

export interface IcebergDeps {
  store: ObjectStore;
  catalog: TableCatalog;
  bucket: string;
  database: string;
  pipeline: Pipeline;
  /** @default Date.now */
  now?: () => number;
  /** Waits between conflicting attempts. @default a jittered few tens of ms */
  backoff?: (attempt: number) => Promise<void>;
}

/** The table is not in the catalog (deploy or `lakeloader provision` creates it). */
export class IcebergTableMissingError extends LakeloaderError {
  readonly code = 'ICEBERG_TABLE_MISSING';
}

/** The table's metadata cannot be used (another bucket, a missing file, a format this loader does not write). */
export class IcebergMetadataError extends LakeloaderError {
  readonly code = 'ICEBERG_METADATA';
}

/** Too many conflicting commits in a row. */
export class IcebergCommitError extends LakeloaderError {
  readonly code = 'ICEBERG_COMMIT';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A 53-bit positive snapshot id (exact as a JSON number). */
export const newSnapshotId = () => Number(randomBytes(8).readBigUInt64LE() & ((1n << 53n) - 1n)) || 1;

/** The object key of an `s3://` URI in the lake bucket. */
export function keyOf(deps: Pick<IcebergDeps, 'bucket'>, uri: string): string {
  const prefix = `s3://${deps.bucket}/`;
  if (!uri.startsWith(prefix)) throw new IcebergMetadataError(`${uri} is not in the lake bucket ${deps.bucket}`);
  return uri.slice(prefix.length);
}

/** The bytes of a file the metadata refers to. */
export async function getBytes(deps: Pick<IcebergDeps, 'bucket' | 'store'>, uri: string): Promise<Uint8Array> {
  const got = await deps.store.get(keyOf(deps, uri));
  if (!got) throw new IcebergMetadataError(`${uri} does not exist (the table's metadata refers to it)`);
  return got.body;
}

/** Writes a new file (never overwriting one: its name is fresh, and If-None-Match makes sure). */
export async function putNew(deps: Pick<IcebergDeps, 'bucket' | 'store'>, uri: string, body: Uint8Array, contentType: string): Promise<void> {
  await deps.store.put(keyOf(deps, uri), body, { ifNoneMatch: '*', contentType });
}

/** `s3://…/tables/<table>/metadata/<name>`. */
export function metadataUri(deps: Pick<IcebergDeps, 'bucket' | 'pipeline'>, name: string): string {
  return `${icebergLocation(deps.pipeline, deps.bucket)}/metadata/${name}`;
}

/** The table's current metadata, or null when the catalog table has no `metadata_location` yet. */
export async function readTableMetadata(deps: IcebergDeps, table: CatalogTable): Promise<{ metadata: TableMetadata; location: string } | null> {
  const location = table.input.Parameters?.metadata_location;
  if (!location) return null;
  const metadata = parseMetadata(decoder.decode(await getBytes(deps, location)));
  if (metadata['format-version'] !== 2) throw new IcebergMetadataError(`${location} is Iceberg format v${String(metadata['format-version'])}; the loader writes v2 tables`);
  return { metadata, location };
}

/** The metadata of the pipeline's table as it is created: schema, partition spec, no snapshot. */
export function initialMetadata(deps: IcebergDeps): TableMetadata {
  const l = icebergLayout(deps.pipeline);
  const p = deps.pipeline;
  const retention = p.iceberg.optimizers.snapshotRetention;
  return newTableMetadata({
    uuid: randomUUID(),
    location: icebergLocation(p, deps.bucket),
    schema: l.schema,
    spec: l.spec,
    lastColumnId: l.lastColumnId,
    lastPartitionId: l.lastPartitionId,
    properties: {
      'write.format.default': 'parquet',
      'write.parquet.compression-codec': p.compression,
      'write.target-file-size-bytes': String(TARGET_FILE_SIZE_BYTES),
      ...(retention
        ? {
            'history.expire.max-snapshot-age-ms': String(retention.snapshotRetentionPeriodInDays * 86_400_000),
            'history.expire.min-snapshots-to-keep': String(retention.numberOfSnapshotsToRetain),
          }
        : {}),
      'lakeloader.pipeline': p.name,
      [OFFSETS_PROPERTY]: '{}',
    },
    now: (deps.now ?? Date.now)(),
  });
}

/**
 * Makes sure the pipeline's Iceberg table exists in the catalog with a metadata file: creates
 * both when the table is missing, writes the first metadata when the table has none, and leaves
 * a table with metadata as it is. Idempotent; safe to run from several places at once.
 * @returns whether it created anything, and the current metadata location
 */
export async function ensureIcebergTable(deps: IcebergDeps): Promise<{ created: boolean; metadataLocation: string }> {
  const { pipeline, database } = deps;
  for (let attempt = 1; ; attempt++) {
    const t = await deps.catalog.getTable(database, pipeline.name);
    const current = t?.input.Parameters?.metadata_location;
    if (t && current) return { created: false, metadataLocation: current };
    const meta = initialMetadata(deps);
    const location = metadataUri(deps, metadataFileName(0, randomUUID()));
    await putNew(deps, location, encoder.encode(stringifyMetadata(meta)), CONTENT_TYPE.json);
    const input = icebergTableInput(pipeline, deps.bucket, location);
    try {
      if (!t) await deps.catalog.createTable(database, input);
      else await deps.catalog.updateTable(database, { ...t.input, Parameters: { ...t.input.Parameters, ...input.Parameters }, StorageDescriptor: input.StorageDescriptor }, t.versionId);
      return { created: true, metadataLocation: location };
    } catch (e) {
      // Someone else created or initialized it meanwhile: use theirs.
      if (attempt >= MAX_ATTEMPTS || !(e instanceof CommitConflictError || (e as { code?: string }).code === 'TABLE_EXISTS')) throw e;
    }
  }
}

/** What one step of {@link commitMetadata} read: the catalog table and its current metadata. */
export interface CommitBase {
  table: CatalogTable;
  metadata: TableMetadata;
  location: string;
  /** 1 for the first try, more after conflicts. */
  attempt: number;
}

/**
 * Runs one optimistic change of the table's metadata (see the module comment): `build` gets the
 * current metadata and returns the next one with a result (and the Glue table's new columns when
 * the schema changed), or `{ done }` when there is nothing to change; it runs again, from the new
 * current metadata, after every conflict.
 * @throws IcebergTableMissingError, IcebergCommitError (after too many conflicts), whatever `build` throws
 */
export async function commitMetadata<R>(
  deps: IcebergDeps,
  build: (base: CommitBase) => Promise<{ next: TableMetadata; result: R; columns?: GlueColumn[] } | { done: R }>,
): Promise<R & { attempts: number; metadataLocation?: string }> {
  const { pipeline, database } = deps;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const table = await deps.catalog.getTable(database, pipeline.name);
    if (!table) throw new IcebergTableMissingError(`the Iceberg table ${database}.${pipeline.name} is not in the catalog; deploy the stack or run lakeloader provision`);
    const current = await readTableMetadata(deps, table);
    if (!current) {
      await ensureIcebergTable(deps);
      continue;
    }
    const built = await build({ table, metadata: current.metadata, location: current.location, attempt });
    if ('done' in built) return { ...built.done, attempts: attempt - 1 };
    const nextLocation = metadataUri(deps, metadataFileName(metadataVersion(current.location) + 1, randomUUID()));
    await putNew(deps, nextLocation, encoder.encode(stringifyMetadata(built.next)), CONTENT_TYPE.json);
    try {
      await deps.catalog.updateTable(
        database,
        {
          ...table.input,
          Parameters: { ...table.input.Parameters, metadata_location: nextLocation, previous_metadata_location: current.location },
          // A schema change also changes the Glue table's columns, as Athena's ALTER TABLE ADD COLUMNS does.
          ...(built.columns ? { StorageDescriptor: { ...table.input.StorageDescriptor, Columns: built.columns } } : {}),
        },
        table.versionId,
      );
    } catch (e) {
      if (e instanceof CommitConflictError || e instanceof PreconditionFailedError) {
        await (deps.backoff ?? jitter)(attempt);
        continue;
      }
      throw e;
    }
    return { ...built.result, attempts: attempt, metadataLocation: nextLocation };
  }
  throw new IcebergCommitError(`gave up committing to ${database}.${pipeline.name} after ${MAX_ATTEMPTS} conflicting attempts; the next invocation or the scheduled committer retries`);
}

const jitter = (attempt: number) => new Promise<void>((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt) * (0.5 + Math.random() / 2)));

/** Numbers of a snapshot summary, 0 when absent. */
export const summaryTotal = (s: Snapshot | null | undefined, k: string) => Number(s?.summary[k] ?? 0) || 0;

/** The manifest list of a snapshot (empty for none). */
export async function manifestsOf(deps: Pick<IcebergDeps, 'bucket' | 'store'>, s: Snapshot | null | undefined): Promise<ManifestFileEntry[]> {
  return s ? readManifestList(await getBytes(deps, s['manifest-list'])) : [];
}

/**
 * The live data files of a snapshot (status added or existing), each with its data sequence
 * number and the snapshot that added it made explicit — as a rewrite carries them on as EXISTING.
 */
export async function liveEntries(deps: Pick<IcebergDeps, 'bucket' | 'store'>, manifests: ManifestFileEntry[]): Promise<DataFileEntry[]> {
  const out: DataFileEntry[] = [];
  for (const mf of manifests) {
    if (mf.content !== 0) continue;
    const { entries } = await readManifest(await getBytes(deps, mf.manifest_path));
    for (const e of entries) {
      if (e.status === 2) continue;
      out.push({
        ...e,
        status: 0,
        snapshot_id: e.snapshot_id ?? mf.added_snapshot_id,
        sequence_number: e.sequence_number ?? mf.sequence_number,
        file_sequence_number: e.file_sequence_number ?? mf.sequence_number,
      });
    }
  }
  return out;
}

/** The live data files of the table's current snapshot, or of `snapshotId`. */
export async function tableFiles(deps: Pick<IcebergDeps, 'bucket' | 'store'>, metadata: TableMetadata, snapshotId?: SnapshotId): Promise<DataFileEntry[]> {
  const s = snapshotId === undefined ? currentSnapshot(metadata) : snapshotById(metadata, snapshotId);
  return liveEntries(deps, await manifestsOf(deps, s));
}
