/**
 * The exactly-once commit protocol for one (table, topic, Kafka partition): see
 * docs/exactly-once.md for the reasoning and the failure cases.
 *
 * ```
 * GET state ─ skip offsets ≤ committed ─ prepare ─ PUT state{pending: gen+1, keys, fencedKeys} (If-Match)
 *   ─ fence the earlier uncommitted attempt's keys ─ PUT data, quarantine, manifest (If-None-Match: *)
 *   ─ register Glue partitions ─ PUT state{committedOffset, pending: null} (If-Match)
 * ```
 * The claim (the pending PUT) comes BEFORE the fencing: a still-running earlier attempt could
 * otherwise commit between our fencing and our claim, and its fenced rows would be lost.
 * Every key is derived from Kafka coordinates and the state's generation, never from clocks or
 * random ids, and every write is conditional, so a stale writer that is still running is fenced
 * out and a crash anywhere leaves a state the next attempt repairs.
 */
import type { PartitionInput } from '@aws-sdk/client-glue';
import type { PartitionRegistrar } from './catalog';
import { mapLimited } from './concurrency';
import { partitionInput } from './glue-table';
import { CONTENT_TYPE, dataKey, manifestKey, quarantineKey, stateKey, type AttemptCoordinates } from './layout';
import type { BatchCounts, IcebergFileInfo, MskRecord, PreparedBatch, QuarantineEntry } from './model';
import type { Pipeline } from './pipeline';
import { PreconditionFailedError, type ObjectStore } from './store';
import { LOADER_VERSION } from './version';
import { LakeloaderError } from './errors';

/** The pure half of the loader (lambdas/core/prepare.ts), injected so the protocol can be tested alone. */
export interface PrepareCodec {
  /** Decode, transform, conform, partition and encode one Kafka partition's records (ascending, unique offsets). */
  prepareBatch(pipeline: Pipeline, records: MskRecord[]): Promise<PreparedBatch>;
  /** A 0-row Parquet file with the table's schema: the tombstone of a fenced data key. */
  encodeEmptyParquet(pipeline: Pipeline): Uint8Array;
  /** The quarantine NDJSON of one attempt. */
  serializeQuarantine(entries: QuarantineEntry[]): Uint8Array;
}

/** The attempt that wrote its keys into the state but has not committed (yet, or ever). */
export interface PendingAttempt {
  generation: number;
  firstOffset: number;
  lastOffset: number;
  /** Every key the attempt may write: data files, quarantine, manifest. */
  keys: string[];
  /** Keys of earlier uncommitted attempts, which this attempt tombstones before it writes its own (re-fenced by a successor if it dies). */
  fencedKeys?: string[];
}

/** What the state remembers of the last commit. */
export interface CommitSummary {
  generation: number;
  fromOffset: number;
  toOffset: number;
  manifestKey: string;
  files: number;
  rows: number;
  quarantined: number;
  committedAt: string;
}

/** The commit state object at `stateKey(table, topic, partition)`. */
export interface CommitState {
  formatVersion: 1;
  table: string;
  topic: string;
  partition: number;
  /** Highest Kafka offset whose record is in the lake (or the quarantine, or was filtered); null before the first commit. */
  committedOffset: number | null;
  /** Generation of the last attempt that reached the pending step; keys of attempt g carry `-g<g>`. */
  generation: number;
  pending: PendingAttempt | null;
  lastCommit: CommitSummary | null;
}

/** One data file as listed in a manifest. */
export interface ManifestFile {
  key: string;
  partitionValues: string[];
  rows: number;
  bytes: number;
  firstOffset: number;
  lastOffset: number;
  /** Iceberg tables: the partition tuple and column statistics the committer puts in the table's manifest. */
  iceberg?: IcebergFileInfo;
}

/** The manifest each commit leaves under `_lakeloader/manifests/`, for audits. */
export interface Manifest {
  table: string;
  topic: string;
  partition: number;
  /** Previous committed offset + 1 (or the first record's offset): consecutive manifests are contiguous. */
  fromOffset: number;
  toOffset: number;
  generation: number;
  files: ManifestFile[];
  quarantine: { key: string; records: number } | null;
  counts: BatchCounts;
  /** Keys of aborted attempts overwritten with tombstones before this attempt started. */
  fencedKeys: string[];
  loaderVersion: string;
  committedAt: string;
}

/** The outcome of one Kafka partition's records. */
export interface PartitionResult {
  topic: string;
  partition: number;
  counts: BatchCounts;
  files: number;
  /** Bytes of data and quarantine objects written. */
  bytes: number;
  partitionsRegistered: number;
  /** Committed offset after this call (unchanged when everything was a duplicate). */
  committedOffset: number | null;
  generation: number;
  fencedKeys: number;
  manifestKey: string | null;
  /** Highest event time among the written rows (epoch ms), or null. */
  maxEventTime: number | null;
}

/** Another writer changed the state or one of this attempt's keys: this attempt must stop; the ESM retries. */
export class ConflictingWriterError extends LakeloaderError {
  readonly code = 'CONFLICTING_WRITER';
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly step: string,
    override readonly cause?: unknown,
  ) {
    super(
      `another writer is active on ${topic}-${partition} (conflict at ${step}); this attempt stopped without committing ` +
        'and the batch will be retried. Occasional conflicts are expected after a timeout; constant ones mean two loaders share a table.',
    );
  }
}

/** The state object is not one this loader can read. */
export class CommitStateError extends LakeloaderError {
  readonly code = 'COMMIT_STATE';
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`commit state "${key}" is unreadable: ${detail}; restore it from the latest manifest or delete it only if the table is empty`);
  }
}

/** Everything the protocol needs; the loader builds it once per container. */
export interface CommitDeps {
  store: ObjectStore;
  codec: PrepareCodec;
  /** Lake bucket name (for Glue partition locations). */
  bucket: string;
  /** Glue database of the table. */
  database: string;
  /** Glue partition registration with the warm-container cache; not used in projection mode. */
  registrar: PartitionRegistrar;
  /** Wall clock, only for `committedAt` inside manifests and state. @default Date.now */
  now?: () => number;
  /** Parallel object PUTs per partition. @default 8 */
  putConcurrency?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ABORTED = encoder.encode('{"aborted":true}');
const EMPTY = new Uint8Array(0);

const tombstoneCache = new WeakMap<Pipeline, Uint8Array>();

/** The body that replaces a fenced key: empty Parquet, empty NDJSON or an aborted manifest. */
export function tombstoneFor(key: string, pipeline: Pipeline, codec: PrepareCodec): Uint8Array {
  if (key.endsWith('.parquet')) {
    let t = tombstoneCache.get(pipeline);
    if (!t) tombstoneCache.set(pipeline, (t = codec.encodeEmptyParquet(pipeline)));
    return t;
  }
  if (key.endsWith('.ndjson')) return EMPTY;
  return ABORTED;
}

const contentTypeOf = (key: string) => (key.endsWith('.parquet') ? CONTENT_TYPE.parquet : key.endsWith('.ndjson') ? CONTENT_TYPE.ndjson : CONTENT_TYPE.json);

/** Reads and validates the state; a missing state is generation 0 with nothing committed. */
export async function readState(
  store: ObjectStore,
  table: string,
  topic: string,
  partition: number,
): Promise<{ state: CommitState; etag: string | null }> {
  const key = stateKey(table, topic, partition);
  const got = await store.get(key);
  if (!got) return { state: { formatVersion: 1, table, topic, partition, committedOffset: null, generation: 0, pending: null, lastCommit: null }, etag: null };
  let parsed: CommitState;
  try {
    parsed = JSON.parse(decoder.decode(got.body)) as CommitState;
  } catch (e) {
    throw new CommitStateError(key, `not JSON (${(e as Error).message})`);
  }
  if (parsed?.formatVersion !== 1) throw new CommitStateError(key, `formatVersion ${String(parsed?.formatVersion)} is not 1 (written by a newer loader?)`);
  if (!Number.isInteger(parsed.generation) || (parsed.committedOffset !== null && !Number.isInteger(parsed.committedOffset)))
    throw new CommitStateError(key, 'generation/committedOffset are not integers');
  return { state: parsed, etag: got.etag };
}

/**
 * Overwrites every key of an attempt that never committed with a tombstone, so its rows can never
 * be read and its writer, if still alive, fails its own `If-None-Match: *` PUTs.
 */
export async function fenceKeys(store: ObjectStore, keys: string[], pipeline: Pipeline, codec: PrepareCodec, concurrency = 8): Promise<void> {
  await mapLimited(keys, concurrency, async (key) => {
    const body = tombstoneFor(key, pipeline, codec);
    try {
      await store.put(key, body, { ifNoneMatch: '*', contentType: contentTypeOf(key) });
    } catch (e) {
      if (!(e instanceof PreconditionFailedError)) throw e;
      await store.put(key, body, { contentType: contentTypeOf(key) });
    }
  });
}

/** Sorts by offset and drops repeated offsets and offsets ≤ committed; returns the rest and the number dropped. */
export function skipDuplicates(records: MskRecord[], committedOffset: number | null): { fresh: MskRecord[]; duplicates: number } {
  const sorted = [...records].sort((a, b) => a.offset - b.offset);
  const fresh: MskRecord[] = [];
  let last = committedOffset ?? -Infinity;
  for (const r of sorted) {
    if (r.offset <= last) continue;
    fresh.push(r);
    last = r.offset;
  }
  return { fresh, duplicates: records.length - fresh.length };
}

const wrapConflict = (topic: string, partition: number, step: string) => (e: unknown) => {
  if (e instanceof PreconditionFailedError) throw new ConflictingWriterError(topic, partition, step, e);
  throw e;
};

/**
 * Loads one Kafka partition's records into the lake exactly once (steps 1–9 of the protocol).
 * @throws ConflictingWriterError when another attempt changed the state or fenced this one's keys;
 *   ObjectStoreError / CatalogError on infrastructure failure. In every case the batch can be retried.
 */
export async function commitPartition(deps: CommitDeps, pipeline: Pipeline, topic: string, partition: number, records: MskRecord[]): Promise<PartitionResult> {
  const { store, codec } = deps;
  const table = pipeline.name;
  const now = deps.now ?? Date.now;
  const putConcurrency = deps.putConcurrency ?? 8;
  const skey = stateKey(table, topic, partition);

  // 1. Read the state.
  const { state, etag } = await readState(store, table, topic, partition);

  // 2. Skip what is already committed.
  const { fresh, duplicates } = skipDuplicates(records, state.committedOffset);
  const base: PartitionResult = {
    topic,
    partition,
    counts: { in: records.length, written: 0, rows: 0, quarantined: 0, filtered: 0, duplicates },
    files: 0,
    bytes: 0,
    partitionsRegistered: 0,
    committedOffset: state.committedOffset,
    generation: state.generation,
    fencedKeys: 0,
    manifestKey: null,
    maxEventTime: null,
  };
  if (fresh.length === 0) return base;

  // 3. The pure half: decode, transform, conform, partition, encode.
  const prepared = await codec.prepareBatch(pipeline, fresh);

  // 4. Every key this attempt may write, from Kafka coordinates and the next generation.
  const generation = state.generation + 1;
  const firstOffset = fresh[0]!.offset;
  const lastOffset = fresh[fresh.length - 1]!.offset;
  const coords: AttemptCoordinates = { table, topic, partition, firstOffset, lastOffset, generation };
  const files = prepared.files.map((f) => ({ file: f, key: dataKey(coords, f.hivePath) }));
  const qKey = prepared.quarantine.length ? quarantineKey(coords) : null;
  const mKey = manifestKey(coords);
  const keys = [...files.map((f) => f.key), ...(qKey ? [qKey] : []), mKey];
  if (new Set(keys).size !== keys.length) throw new Error(`internal error: two files of ${topic}-${partition} map to the same key (duplicate hivePath from prepareBatch)`);

  // 5. Claim the generation: from here on no earlier attempt can commit (its If-Match fails).
  //    The keys of an uncommitted earlier attempt (and those an interrupted fencing may not have
  //    finished) are recorded to be fenced in step 6.
  const fencedKeys = state.pending ? [...new Set([...(state.pending.fencedKeys ?? []), ...state.pending.keys])] : [];
  const pendingState: CommitState = { ...state, generation, pending: { generation, firstOffset, lastOffset, keys, fencedKeys } };
  const { etag: pendingEtag } = await store
    .put(skey, encoder.encode(JSON.stringify(pendingState)), etag === null ? { ifNoneMatch: '*', contentType: CONTENT_TYPE.json } : { ifMatch: etag, contentType: CONTENT_TYPE.json })
    .catch(wrapConflict(topic, partition, 'pending state'));

  // 6. Fence: tombstone every key of the earlier attempt BEFORE writing ours, so its rows and ours
  //    are never visible together, and its writer, if still alive, fails its If-None-Match PUTs.
  await fenceKeys(store, fencedKeys, pipeline, codec, putConcurrency);

  // 7. Write the attempt's objects, each only if its key is free (a fenced key is not).
  await mapLimited(files, putConcurrency, ({ file, key }) =>
    store.put(key, file.body, { ifNoneMatch: '*', contentType: CONTENT_TYPE.parquet }).catch(wrapConflict(topic, partition, `data ${key}`)),
  );
  let bytes = files.reduce((n, f) => n + f.file.body.byteLength, 0);
  if (qKey) {
    const body = codec.serializeQuarantine(prepared.quarantine);
    bytes += body.byteLength;
    await store.put(qKey, body, { ifNoneMatch: '*', contentType: CONTENT_TYPE.ndjson }).catch(wrapConflict(topic, partition, `quarantine ${qKey}`));
  }
  const counts: BatchCounts = { ...prepared.counts, in: records.length, duplicates: prepared.counts.duplicates + duplicates };
  const fromOffset = state.committedOffset !== null ? state.committedOffset + 1 : firstOffset;
  const committedAt = new Date(now()).toISOString();
  const manifest: Manifest = {
    table,
    topic,
    partition,
    fromOffset,
    toOffset: lastOffset,
    generation,
    files: files.map(({ file, key }) => ({
      key,
      partitionValues: file.partitionValues,
      rows: file.rows,
      bytes: file.body.byteLength,
      firstOffset: file.firstOffset,
      lastOffset: file.lastOffset,
      ...(file.iceberg ? { iceberg: file.iceberg } : {}),
    })),
    quarantine: qKey ? { key: qKey, records: prepared.quarantine.length } : null,
    counts,
    fencedKeys,
    loaderVersion: LOADER_VERSION,
    committedAt,
  };
  await store
    .put(mKey, encoder.encode(JSON.stringify(manifest, null, 1)), { ifNoneMatch: '*', contentType: CONTENT_TYPE.json })
    .catch(wrapConflict(topic, partition, `manifest ${mKey}`));

  // 8. Register new partitions before committing, so a retry that finds everything committed never has to.
  let partitionsRegistered = 0;
  if (pipeline.partitionRegistration !== 'projection' && pipeline.partitionKeys.length > 0 && files.length > 0) {
    const inputs: PartitionInput[] = files.map(({ file }) => partitionInput(prepared.pipeline ?? pipeline, deps.bucket, file.partitionValues, file.hivePath));
    partitionsRegistered = (await deps.registrar.register(deps.database, table, inputs)).created;
  }

  // 9. Commit: advance the offset and clear pending, only if nobody touched the state since step 5.
  const committed: CommitState = {
    formatVersion: 1,
    table,
    topic,
    partition,
    committedOffset: lastOffset,
    generation,
    pending: null,
    lastCommit: { generation, fromOffset, toOffset: lastOffset, manifestKey: mKey, files: files.length, rows: counts.rows, quarantined: counts.quarantined, committedAt },
  };
  await store
    .put(skey, encoder.encode(JSON.stringify(committed)), { ifMatch: pendingEtag, contentType: CONTENT_TYPE.json })
    .catch(wrapConflict(topic, partition, 'commit state'));

  const maxEventTimes = prepared.files.map((f) => f.maxEventTime).filter((t): t is number => t !== null);
  return {
    ...base,
    counts,
    files: files.length,
    bytes,
    partitionsRegistered,
    committedOffset: lastOffset,
    generation,
    fencedKeys: fencedKeys.length,
    manifestKey: mKey,
    maxEventTime: maxEventTimes.length ? Math.max(...maxEventTimes) : null,
  };
}
