/**
 * The replay engine behind `lakeloader replay`: selects quarantined records, optionally passes
 * each through the operator's fix function, and loads them through the loader's own pipeline code
 * (prepareBatch with the original Kafka coordinates, so `_offset` and friends stay the original
 * ones).
 *
 * The loader's commit path would skip these offsets as duplicates (they are ≤ the committed
 * offset), so a replay commits on its own, per quarantine object Q read with its ETag E:
 *
 * ```
 * plan ─ (an earlier pending replay of (Q, E)? delete its files) ─ PUT replay manifest {pending}
 *   ─ PUT replayed Parquet files at keys derived from (Q, E) ─ register Glue partitions
 *   ─ PUT replay manifest {committed, next quarantine body} ─ PUT Q (If-Match: E) with what remains
 * ```
 * At the end each selected record is in the table once or in the quarantine once (with its new
 * reason and stage if it still fails, and its original key, value and headers: a fix is always
 * applied to the bytes Kafka delivered). A crash before the manifest is committed leaves files that
 * the rerun (which reads the same Q and E) deletes or overwrites; a crash after it leaves a
 * committed manifest whose quarantine rewrite the rerun applies. Once Q is rewritten its replayed
 * lines are gone, so replaying again cannot load them twice.
 */
import type { PartitionInput } from '@aws-sdk/client-glue';
import type { PartitionRegistrar, TableCatalog } from '../../lambdas/core/catalog';
import { appendFiles } from '../../lambdas/core/iceberg/commit';
import type { ManifestFile, PrepareCodec } from '../../lambdas/core/commit';
import { mapLimited } from '../../lambdas/core/concurrency';
import { partitionInput } from '../../lambdas/core/glue-table';
import { CONTENT_TYPE } from '../../lambdas/core/layout';
import type { PreparedBatch, PreparedFile, QuarantineEntry } from '../../lambdas/core/model';
import type { Pipeline } from '../../lambdas/core/pipeline';
import { PreconditionFailedError, type ObjectStore } from '../../lambdas/core/store';
import { LOADER_VERSION } from '../../lambdas/core/version';
import { etagId, quarantineName, readCommitManifests, readJson, readReplayManifests, replayDataKey, replayManifestKey, replaysPrefix, type ReplayManifest } from './lake';
import {
  entryToRecord,
  listQuarantine,
  matchesFilter,
  parseQuarantine,
  readQuarantineObject,
  type QuarantineFilter,
  type QuarantineLine,
  type QuarantineObject,
  type RecordPatch,
} from './quarantine';
import { LakeloaderError } from '../../lambdas/core/errors';

/**
 * The operator's fix: gets a quarantined entry, returns what to change in the record
 * (`{ value }`, `{ key }`, `{ headers }`), `{}` to replay it unchanged, or null to skip it
 * (it stays quarantined).
 */
export type FixFunction = (entry: QuarantineEntry) => RecordPatch | null | undefined | Promise<RecordPatch | null | undefined>;

export interface ReplayDeps {
  store: ObjectStore;
  /** The loader's pure half (prepare.ts): the same code the Lambda runs. */
  codec: PrepareCodec;
  registrar: PartitionRegistrar;
  /** The Glue catalog, for publishing into Iceberg tables. */
  catalog?: TableCatalog;
  bucket: string;
  database: string;
  now?: () => number;
}

export interface ReplayOptions {
  filter?: QuarantineFilter;
  fix?: FixFunction;
  /** Compute and report what would happen; write nothing. */
  dryRun?: boolean;
  /** Called after each quarantine object with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Quarantine objects processed at once. @default 4 */
  concurrency?: number;
}

/** The summary `lakeloader replay` prints. */
export interface ReplaySummary {
  /** Quarantine objects read (non-empty). */
  objects: number;
  /** Objects that were rewritten (or would be, in a dry run). */
  objectsChanged: number;
  selected: number;
  /** Records that left the quarantine as rows. */
  replayed: number;
  rows: number;
  /** Records the transform now filters out (they leave the quarantine without a row). */
  filtered: number;
  /** Records that failed again; they stay quarantined with their new reason. */
  stillFailing: number;
  /** Selected records the fix function skipped (returned null); they stay as they were. */
  skipped: number;
  /** Quarantined records not selected by the filter. */
  notSelected: number;
  files: number;
  partitionsRegistered: number;
  /** Still-failing records by their (new) stage. */
  stillFailingByStage: Record<string, number>;
  /** Replays of earlier crashed runs that this run completed. */
  resumed: number;
  /** Non-empty quarantine objects of attempts that have not committed (left alone: the ESM's retry owns them). */
  uncommitted: number;
  dryRun: boolean;
}

/** A quarantine object changed while it was being replayed (another replay, or a loader retry). */
export class ReplayConflictError extends LakeloaderError {
  readonly code = 'REPLAY_CONFLICT';
  constructor(readonly key: string) {
    super(
      `quarantine object "${key}" changed while it was being replayed (is another replay running?); its replayed rows are committed ` +
        'in the replay manifest; run the replay again to finish it once the other one is done',
    );
  }
}

/** The fix module cannot be used. */
export class FixModuleError extends LakeloaderError {
  readonly code = 'FIX_MODULE';
  constructor(message: string) {
    super(message);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const emptySummary = (dryRun: boolean): ReplaySummary => ({
  objects: 0,
  objectsChanged: 0,
  selected: 0,
  replayed: 0,
  rows: 0,
  filtered: 0,
  stillFailing: 0,
  skipped: 0,
  notSelected: 0,
  files: 0,
  partitionsRegistered: 0,
  stillFailingByStage: {},
  resumed: 0,
  uncommitted: 0,
  dryRun,
});

/** Adds `b` into `a`. */
function addSummary(a: ReplaySummary, b: ReplaySummary): void {
  for (const k of ['objects', 'objectsChanged', 'selected', 'replayed', 'rows', 'filtered', 'stillFailing', 'skipped', 'notSelected', 'files', 'partitionsRegistered', 'resumed', 'uncommitted'] as const)
    a[k] += b[k];
  for (const [s, n] of Object.entries(b.stillFailingByStage)) a.stillFailingByStage[s] = (a.stillFailingByStage[s] ?? 0) + n;
}

/**
 * Replays a table's quarantine.
 * @throws ReplayConflictError when a quarantine object changed under the replay (rerun to finish)
 */
export async function replayQuarantine(deps: ReplayDeps, pipeline: Pipeline, opts: ReplayOptions = {}): Promise<ReplaySummary> {
  const total = emptySummary(!!opts.dryRun);
  // Only committed quarantine objects: one written by an attempt that has not committed (yet) will
  // be fenced and its records redelivered by the ESM's retry, so replaying it could load them twice.
  const committed = await committedQuarantineKeys(deps.store, pipeline.name);
  const listed = (await listQuarantine(deps.store, pipeline.name)).filter((o) => o.size > 0);
  const objects = listed.filter((o) => committed.has(o.key));
  total.uncommitted = listed.length - objects.length;
  let done = 0;
  await mapLimited(objects, opts.concurrency ?? 4, async (o) => {
    const s = await replayObject(deps, pipeline, o.key, opts);
    addSummary(total, s);
    opts.onProgress?.(++done, objects.length);
  });
  return total;
}

/** Replays the selected lines of one quarantine object (see the module comment for the protocol). */
export async function replayObject(deps: ReplayDeps, pipeline: Pipeline, key: string, opts: ReplayOptions = {}): Promise<ReplaySummary> {
  const { store, codec } = deps;
  const table = pipeline.name;
  const summary = emptySummary(!!opts.dryRun);
  const q = await readQuarantineObject(store, key);
  if (!q || q.lines.length === 0) return summary;
  summary.objects = 1;
  const qName = quarantineName(table, key);
  const mKey = replayManifestKey(table, qName, q.etag);

  // A replay of exactly this content already committed (crash before the quarantine rewrite): finish it.
  const earlier = await readJson<ReplayManifest>(store, mKey);
  if (earlier?.value.status === 'committed') return resumeCommitted(deps, pipeline, q, mKey, earlier.value, summary, opts);

  const selection = await selectLines(q.lines, opts, summary);
  if (selection.toReplay.length === 0) return summary;
  const prepared = await prepareSelected(codec, pipeline, selection);
  const { failing, removedOffsets, nextBody } = nextQuarantine(codec, key, selection, prepared);

  summary.stillFailing = failing.size;
  for (const l of failing.values()) summary.stillFailingByStage[l.entry.stage] = (summary.stillFailingByStage[l.entry.stage] ?? 0) + 1;
  summary.replayed = prepared.counts.written;
  summary.rows = prepared.counts.rows;
  summary.filtered = prepared.counts.filtered;
  summary.files = prepared.files.length;

  const unchanged = prepared.files.length === 0 && removedOffsets.length === 0 && nextBody === q.lines.map((l) => `${l.raw}\n`).join('');
  if (unchanged) return summary;
  summary.objectsChanged = 1;
  if (opts.dryRun) return summary;

  const files = prepared.files.map((f) => ({ f, key: replayDataKey(table, f.hivePath, qName, q.etag) }));
  const manifest = pendingManifest(deps, table, q, files, removedOffsets, nextBody, summary);
  // An earlier run of (Q, E) crashed before committing: its files may differ (another fix), so remove the extra ones.
  if (earlier?.value.status === 'pending') {
    await deleteStaleFiles(store, earlier.value, files);
    summary.resumed = 1;
  }
  summary.partitionsRegistered = await commitReplay(deps, pipeline, q, mKey, manifest, files);
  return summary;
}

/** The lines of one quarantine object sorted into those that stay as they are and those to replay. */
interface Selection {
  /** Lines not selected by the filter (or repeated offsets) and lines the fix skipped: kept verbatim. */
  keep: QuarantineLine[];
  /** Selected lines with the fix's patch (undefined without a fix, or when it threw). */
  toReplay: { line: QuarantineLine; patch?: RecordPatch }[];
  /** Offsets whose fix threw, with the error to quarantine them with. */
  fixFailures: Map<number, string>;
}

/**
 * Finishes a replay whose manifest already committed (the run crashed before the quarantine
 * rewrite): publishes its files and applies its quarantine body (unless a dry run), and reports
 * the manifest's counts.
 */
async function resumeCommitted(deps: ReplayDeps, pipeline: Pipeline, q: QuarantineObject, mKey: string, earlier: ReplayManifest, summary: ReplaySummary, opts: ReplayOptions): Promise<ReplaySummary> {
  if (!opts.dryRun) {
    await publishReplayed(deps, pipeline, mKey, earlier.files);
    await rewriteQuarantine(deps.store, q.key, q.etag, earlier.nextQuarantine);
  }
  summary.resumed = 1;
  summary.objectsChanged = 1;
  summary.replayed = earlier.counts.replayed;
  summary.rows = earlier.counts.rows;
  summary.filtered = earlier.counts.filtered;
  summary.files = earlier.files.length;
  return summary;
}

/**
 * Applies the filter (first line per offset only) and the fix function to each line, counting
 * `notSelected`, `selected` and `skipped` in `summary`.
 */
async function selectLines(lines: QuarantineLine[], opts: ReplayOptions, summary: ReplaySummary): Promise<Selection> {
  const selection: Selection = { keep: [], toReplay: [], fixFailures: new Map() };
  const { keep, toReplay, fixFailures } = selection;
  const seenOffsets = new Set<number>();
  for (const line of lines) {
    if (!matchesFilter(line.entry, opts.filter ?? {}) || seenOffsets.has(line.entry.kafka_offset)) {
      summary.notSelected++;
      keep.push(line);
      continue;
    }
    seenOffsets.add(line.entry.kafka_offset);
    summary.selected++;
    if (!opts.fix) {
      toReplay.push({ line });
      continue;
    }
    try {
      const patch = await opts.fix(structuredClone(line.entry));
      if (patch === null || patch === undefined) {
        summary.skipped++;
        keep.push(line);
      } else toReplay.push({ line, patch });
    } catch (e) {
      fixFailures.set(line.entry.kafka_offset, `fix function threw: ${e instanceof Error ? e.message : String(e)}`);
      toReplay.push({ line, patch: undefined });
    }
  }
  return selection;
}

/** Rebuilds the original Kafka records of the lines to replay (patched, in offset order) and runs them through the loader's prepareBatch. */
async function prepareSelected(codec: PrepareCodec, pipeline: Pipeline, { toReplay, fixFailures }: Selection): Promise<Pick<PreparedBatch, 'files' | 'quarantine' | 'counts'>> {
  const records = toReplay
    .filter((t) => !fixFailures.has(t.line.entry.kafka_offset))
    .map((t) => entryToRecord(t.line.entry, t.patch))
    .sort((a, b) => a.offset - b.offset);
  return records.length
    ? await codec.prepareBatch(pipeline, records)
    : { files: [], quarantine: [] as QuarantineEntry[], counts: { in: 0, written: 0, rows: 0, quarantined: 0, filtered: 0, duplicates: 0 } };
}

/**
 * The quarantine object's next body: unselected and skipped lines verbatim, still-failing ones with
 * their original bytes and their new stage and reason, in offset order; plus the offsets that left it.
 */
function nextQuarantine(codec: PrepareCodec, key: string, { keep, toReplay, fixFailures }: Selection, prepared: Pick<PreparedBatch, 'quarantine'>): { failing: Map<number, QuarantineLine>; removedOffsets: number[]; nextBody: string } {
  const byOffset = new Map(toReplay.map((t) => [t.line.entry.kafka_offset, t]));
  const failing = new Map<number, QuarantineLine>();
  for (const failed of prepared.quarantine) {
    // Keep the record's original bytes (a fix is re-applied to them next time); take the new stage and reason.
    const original = byOffset.get(failed.kafka_offset)?.line.entry;
    const entry: QuarantineEntry = original ? { ...original, stage: failed.stage, error: failed.error, loader_version: failed.loader_version } : failed;
    const raw = decoder.decode(codec.serializeQuarantine([entry])).trimEnd();
    failing.set(entry.kafka_offset, parseQuarantine(key, encoder.encode(raw))[0]!);
  }
  for (const [offset, error] of fixFailures) {
    const old = byOffset.get(offset)!.line;
    const entry = { ...old.entry, error };
    failing.set(offset, { raw: JSON.stringify(entry), entry });
  }
  const removedOffsets = toReplay.map((t) => t.line.entry.kafka_offset).filter((o) => !failing.has(o));
  const next = [...keep, ...failing.values()].sort((a, b) => a.entry.kafka_offset - b.entry.kafka_offset);
  const nextBody = next.map((l) => `${l.raw}\n`).join('');
  return { failing, removedOffsets, nextBody };
}

/** A prepared file and the replay data key it is written at. */
type PlannedFile = { f: PreparedFile; key: string };

/** The replay manifest in its `pending` state, with the files, counts and next quarantine body. */
function pendingManifest(deps: ReplayDeps, table: string, q: QuarantineObject, files: PlannedFile[], removedOffsets: number[], nextBody: string, summary: ReplaySummary): ReplayManifest {
  const first = q.lines[0]!.entry;
  return {
    kind: 'replay',
    formatVersion: 1,
    table,
    topic: first.topic,
    partition: first.kafka_partition,
    quarantineKey: q.key,
    sourceEtag: q.etag,
    status: 'pending',
    files: files.map(({ f, key: k }): ManifestFile => ({
      key: k,
      partitionValues: f.partitionValues,
      rows: f.rows,
      bytes: f.body.byteLength,
      firstOffset: f.firstOffset,
      lastOffset: f.lastOffset,
      ...(f.iceberg ? { iceberg: f.iceberg } : {}),
    })),
    removedOffsets,
    counts: {
      selected: summary.selected,
      replayed: summary.replayed,
      rows: summary.rows,
      filtered: summary.filtered,
      stillFailing: summary.stillFailing,
      skipped: summary.skipped,
    },
    nextQuarantine: nextBody,
    loaderVersion: LOADER_VERSION,
    committedAt: new Date((deps.now ?? Date.now)()).toISOString(),
  };
}

/** Deletes the files a crashed, uncommitted run of the same (Q, E) wrote that this run does not plan to write. */
async function deleteStaleFiles(store: ObjectStore, earlier: ReplayManifest, files: PlannedFile[]): Promise<void> {
  const planned = new Set(files.map((f) => f.key));
  const stale = earlier.files.map((f) => f.key).filter((k) => !planned.has(k));
  if (stale.length) await store.deleteMany(stale);
}

/**
 * The commit protocol: PUT the pending manifest, the files, register the Glue partitions, PUT the
 * committed manifest, publish to Iceberg, rewrite the quarantine object (If-Match its ETag).
 * @returns the number of partitions registered
 */
async function commitReplay(deps: ReplayDeps, pipeline: Pipeline, q: QuarantineObject, mKey: string, manifest: ReplayManifest, files: PlannedFile[]): Promise<number> {
  const { store } = deps;
  let partitionsRegistered = 0;
  await store.put(mKey, encoder.encode(JSON.stringify(manifest, null, 1)), { contentType: CONTENT_TYPE.json });
  await mapLimited(files, 8, ({ f, key: k }) => store.put(k, f.body, { contentType: CONTENT_TYPE.parquet }));
  if (pipeline.partitionRegistration !== 'projection' && pipeline.partitionKeys.length > 0 && files.length > 0) {
    const inputs: PartitionInput[] = files.map(({ f }) => partitionInput(pipeline, deps.bucket, f.partitionValues, f.hivePath));
    partitionsRegistered = (await deps.registrar.register(deps.database, pipeline.name, inputs)).created;
  }
  manifest.status = 'committed';
  await store.put(mKey, encoder.encode(JSON.stringify(manifest, null, 1)), { contentType: CONTENT_TYPE.json });
  await publishReplayed(deps, pipeline, mKey, manifest.files);
  await rewriteQuarantine(store, q.key, q.etag, manifest.nextQuarantine);
  return partitionsRegistered;
}

/** A committing replay (or re-drive) on a replay manifest the Iceberg table has not got yet. */
export class ReplayCatalogError extends LakeloaderError {
  readonly code = 'REPLAY_CATALOG';
}

/**
 * Iceberg tables: publishes a committed replay's files as a snapshot that names its manifest
 * (`source`), once — a rerun after a crash finds that snapshot and adds nothing. Hive tables
 * read the files from their partitions and need nothing more.
 */
export async function publishReplayed(deps: ReplayDeps, pipeline: Pipeline, source: string, files: ManifestFile[]): Promise<void> {
  if (pipeline.format !== 'iceberg' || !files.some((f) => f.rows > 0)) return;
  if (!deps.catalog) throw new ReplayCatalogError(`replaying into the Iceberg table ${pipeline.name} needs the Glue catalog (ReplayDeps.catalog)`);
  await appendFiles({ store: deps.store, catalog: deps.catalog, bucket: deps.bucket, database: deps.database, pipeline, ...(deps.now ? { now: deps.now } : {}) }, source, files);
}

async function rewriteQuarantine(store: ObjectStore, key: string, etag: string, body: string): Promise<void> {
  try {
    await store.put(key, encoder.encode(body), { ifMatch: etag, contentType: CONTENT_TYPE.ndjson });
  } catch (e) {
    if (e instanceof PreconditionFailedError) throw new ReplayConflictError(key);
    throw e;
  }
}

/**
 * Loads a fix module: a JavaScript or TypeScript file exporting `fix(entry)` (named or default).
 * TypeScript works when the CLI runs under tsx (as `npx lakeloader` does).
 * @throws FixModuleError when the file cannot be loaded or exports no function
 */
export async function loadFixModule(path: string): Promise<FixFunction> {
  const { resolve } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const abs = resolve(path);
  let mod: Record<string, unknown>;
  try {
    try {
      mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
    } catch (e) {
      // Plain Node cannot import TypeScript: load it through tsx (a dependency of the CLI).
      if ((e as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw e;
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(pathToFileURL(abs).href, __filename)) as Record<string, unknown>;
    }
  } catch (e) {
    throw new FixModuleError(`cannot load fix module "${abs}": ${e instanceof Error ? e.message : String(e)}`);
  }
  const dflt = mod.default as Record<string, unknown> | ((...a: unknown[]) => unknown) | undefined;
  const fn = mod.fix ?? (typeof dflt === 'function' ? dflt : dflt?.fix);
  if (typeof fn !== 'function')
    throw new FixModuleError(`fix module "${abs}" exports no function; export \`fix(entry) => ({ value }) | null\` (named "fix" or default)`);
  return fn as FixFunction;
}

/** The ETag id used in replay keys (exported for tests and audit). */
export { etagId };

/** Keys of the quarantine objects that committed attempts (commit manifests) or committed re-drives wrote. */
export async function committedQuarantineKeys(store: ObjectStore, table: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const { manifest } of await readCommitManifests(store, table)) if (manifest.quarantine) keys.add(manifest.quarantine.key);
  for (const { manifest } of await readReplayManifests(store, table)) if (manifest.status === 'committed' && manifest.quarantineWritten) keys.add(manifest.quarantineWritten.key);
  return keys;
}

/** Another replay of the table holds the lock (or one died holding it). */
export class ReplayLockedError extends LakeloaderError {
  readonly code = 'REPLAY_LOCKED';
  constructor(
    readonly key: string,
    readonly holder: string,
  ) {
    super(`another replay of this table is running (lock ${key}, held by ${holder}); wait for it, or if it died, run again with --break-lock`);
  }
}

/** The table's replay lock: one replay (and ESM re-drive) per table at a time. */
export const replayLockKey = (table: string) => `${replaysPrefix(table)}_lock.json`;

/**
 * Runs `fn` holding the table's replay lock, an object created with `If-None-Match: *` and deleted
 * afterwards, so that two replays never rewrite the same quarantine object with different plans.
 * @param breakLock take over a lock left by a replay that died
 * @throws ReplayLockedError when another replay holds the lock
 */
export async function withReplayLock<T>(store: ObjectStore, table: string, fn: () => Promise<T>, opts: { breakLock?: boolean; owner?: string; now?: () => number } = {}): Promise<T> {
  const key = replayLockKey(table);
  const owner = opts.owner ?? `pid ${process.pid}`;
  const body = encoder.encode(JSON.stringify({ owner, since: new Date((opts.now ?? Date.now)()).toISOString() }));
  try {
    await store.put(key, body, opts.breakLock ? { contentType: CONTENT_TYPE.json } : { ifNoneMatch: '*', contentType: CONTENT_TYPE.json });
  } catch (e) {
    if (!(e instanceof PreconditionFailedError)) throw e;
    const held = await readJson<{ owner?: string; since?: string }>(store, key).catch(() => null);
    throw new ReplayLockedError(key, held ? `${held.value.owner ?? '?'} since ${held.value.since ?? '?'}` : 'unknown');
  }
  try {
    return await fn();
  } finally {
    await store.deleteMany([key]);
  }
}
