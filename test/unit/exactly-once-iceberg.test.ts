/**
 * Read-committed, proven (issue 12): the exactly-once property for an Iceberg table, with the
 * REAL loader (loadEvent: decode … Parquet, the per-partition commit protocol), the REAL Iceberg
 * commit (publishStaged) and the REAL compaction commit (replaceFiles).
 *
 * Random Kafka logs (valid and invalid records) are delivered by the event source mapping model
 * of test/support/delivery.ts — at least once, retried with other boundaries — while a random
 * schedule interleaves three kinds of actions, each in its own process (fault injector):
 *
 * - load: one invocation of the loader on a batch, optionally followed, as the handler does it,
 *   by publishing what is staged;
 * - publish: a scheduled committer (publishStaged);
 * - compact: a compactor reads the current snapshot's live files, rewrites a bin of one
 *   partition's files into one Parquet file and commits the rewrite (replaceFiles).
 *
 * An action either runs alone, crashing before or after a chosen S3 or Glue call (the n-th call,
 * or the n-th Glue GetTable / UpdateTable, metadata PUT, Avro PUT, state PUT, commit manifest
 * PUT, data PUT or GET) — the process dies, or only that call fails — or it is paused at such a
 * call (before or after it took effect) while a second action runs to completion, and then
 * resumed: two committers interleaved mid-commit, a compaction commit racing a publish, a stale
 * loader; or it runs at the same time as a second one, unpaused. Before the schedule, a second
 * (history) topic may leave a row of small snapshots, so that publishes merge manifests too.
 *
 * After EVERY operation (each S3 write and each Glue table update, one at a time) the current
 * snapshot is read the way an Iceberg engine reads it — metadata_location from the catalog →
 * metadata → manifest list → manifests → live data files → rows — and checked: no record twice;
 * every file is a data file of a committed attempt (its commit manifest was committed by a state
 * PUT) or a compactor's rewrite, and every record is at or below its partition's committed offset
 * and valid; every file shows the rows its manifest entry counts; the snapshot's totals match;
 * and no record that was visible has disappeared (appends survive a concurrent compaction). The
 * quarantine (read-uncommitted, as for Hive tables) never shows a record twice.
 *
 * When the schedule ends (batches may still be staged) and at the end, orphan-file deletion would
 * spare every live file and every committed batch's files. At the end, after the ESM drained the
 * logs without faults and a scheduled commit: every valid record is in the table exactly once,
 * every invalid one in the quarantine exactly once, no state is pending, and the published
 * offsets cover every row.
 *
 * Runs: LAKELOADER_PROPERTY_RUNS (in-memory S3/Glue doubles, default 100) and
 * LAKELOADER_PROPERTY_ENDPOINT_RUNS (the local endpoint, or LAKELOADER_TEST_ENDPOINT, through the
 * real SDK clients; default 6); LAKELOADER_PROPERTY_SEED reproduces a run,
 * LAKELOADER_ICEBERG_PROPERTY_REPLAY=<file> replays one scenario (JSON, or the counterexample as
 * fast-check prints it), and LAKELOADER_PROPERTY_STATS=1 prints what the schedules exercised.
 */
import { CreateDatabaseCommand, GlueClient } from '@aws-sdk/client-glue';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { RecordBatch, Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { readParquet, writeParquet, Table as WasmTable } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogError, CommitConflictError, GlueCatalog, PartitionRegistrar, type Catalog, type TableCatalog } from '../../lambdas/core/catalog';
import type { CommitState, Manifest } from '../../lambdas/core/commit';
import { readManifest, readManifestList } from '../../lambdas/core/iceberg/avro';
import { MERGE_MANIFESTS_AT, publishedOffsets, publishStaged } from '../../lambdas/core/iceberg/commit';
import { orphanFiles, replaceFiles, RewriteConflictError, type ReplaceResult } from '../../lambdas/core/iceberg/maintenance';
import { currentSnapshot, parseMetadata, type TableMetadata } from '../../lambdas/core/iceberg/metadata';
import { mergeFileStats } from '../../lambdas/core/iceberg/stats';
import { ensureIcebergTable, keyOf, readTableMetadata, tableFiles, type IcebergDeps } from '../../lambdas/core/iceberg/table';
import { CONTENT_TYPE, MANIFESTS_PREFIX, quarantinePrefix, STATE_PREFIX, stateKey } from '../../lambdas/core/layout';
import { loadEvent } from '../../lambdas/core/loader';
import type { QuarantineEntry } from '../../lambdas/core/model';
import { definePipeline } from '../../lambdas/core/pipeline';
import { ObjectStoreError, S3ObjectStore, type ObjectStore } from '../../lambdas/core/store';
import { defaultCodec } from '../../lambdas/loader/handler';
import { buildMskEvent } from '../../lib/local/msk-event';
import { startLocalEndpoint } from '../../lib/local/server';
import { EsmModel, expectRetryable, logsArbOf, produce, propertySeed, runs, serializer, VALID_KINDS, type LogSpec } from '../support/delivery';
import { CrashError, FaultInjector, type CallRecord } from '../support/faults';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';

const TOPIC = 'clicks';
/** A second topic whose batches were published, clean, before the schedule starts (see Scenario.warmup). */
const HISTORY = 'clicks-history';

/** The fixture: an Iceberg table of clickstream-like events, hidden hourly partitions, Kafka coordinates kept (the checks read them). */
const pipeline = definePipeline({
  name: 'iceprop',
  description: 'Exactly-once property fixture (Iceberg).',
  topics: [TOPIC, HISTORY],
  valueFormat: 'json',
  columns: [
    { name: 'event_id', type: 'string', required: true },
    { name: 'user_id', type: 'bigint', required: true },
    { name: 'ts', type: 'timestamp', required: true },
    { name: 'country', type: 'string' },
  ],
  partitioning: { by: 'eventTime', source: 'ts', granularity: 'hour' },
  keepKafkaCoordinates: true,
  format: 'iceberg',
  compression: 'snappy',
});

// ─── The schedule ───────────────────────────────────────────────────────────────────────────────

type Action =
  /** One loader invocation on a batch (ESM model), then — if it wrote files and `publish` — the handler's publish. */
  | { kind: 'load'; mask: number; back: number; len: number; publish: boolean }
  /** A scheduled committer. */
  | { kind: 'publish' }
  /** A compactor: the `pick`-th partition with live files, its first `width` files rewritten as one. */
  | { kind: 'compact'; pick: number; width: number };

/** Which calls a fault counts: every call, or one kind of them. */
type CallKind = 'any' | 'glue.getTable' | 'glue.updateTable' | 'put.metadata' | 'put.avro' | 'put.state' | 'put.manifest' | 'put.data' | 'get';

interface Fault {
  /**
   * crash: the action fails at the call; pause: the action waits there while `other` runs to
   * completion; together: `main` and `other` run at once, unpaused.
   */
  type: 'none' | 'crash' | 'pause' | 'together';
  on: CallKind;
  /** The n-th call of that kind (1-based). */
  nth: number;
  phase: 'before' | 'after';
  /** Crash: the process dies (every later call fails too), or only this call fails. */
  die: boolean;
}

interface Step {
  /** A clean load without publish first (batches pile up for the committers to race over), or none. */
  stage: { mask: number; len: number } | null;
  main: Action;
  fault: Fault;
  /** Runs while `main` is paused, or at the same time (fault types pause and together). */
  other: Action;
}

interface Scenario {
  logs: LogSpec;
  /**
   * One-record batches of the history topic, each loaded and published before the schedule: a
   * table with a history of small snapshots, whose manifests the next publish merges.
   */
  warmup: number;
  steps: Step[];
}

// Loads publish now and then (as the handler does when the commit interval has passed), so that
// batches also pile up for the committers.
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('load' as const),
      mask: fc.integer({ min: 0, max: 7 }),
      back: fc.integer({ min: 0, max: 3 }),
      len: fc.integer({ min: 1, max: 5 }),
      publish: fc.constantFrom(true, false, false),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('publish' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), pick: fc.nat(5), width: fc.integer({ min: 1, max: 4 }) }) },
);

// The calls where a commit takes effect most often: the catalog swap and the metadata PUT (Iceberg
// commits; mostly their first, as most come once per commit attempt), the state PUTs (a loader's
// claim and commit) and commit manifest PUTs (the window between a batch's last write and its commit).
const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ on: fc.constant<CallKind>('any'), nth: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 3, arbitrary: fc.record({ on: fc.constant<CallKind>('glue.updateTable'), nth: fc.constantFrom(1, 1, 1, 2) }) },
  { weight: 2, arbitrary: fc.record({ on: fc.constant<CallKind>('put.metadata'), nth: fc.constantFrom(1, 1, 1, 2) }) },
  { weight: 2, arbitrary: fc.record({ on: fc.constantFrom<CallKind>('put.state', 'put.manifest'), nth: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ on: fc.constantFrom<CallKind>('glue.getTable', 'put.avro', 'put.data', 'get'), nth: fc.constantFrom(1, 1, 1, 2, 3) }) },
).chain((where) =>
  fc.record({
    type: fc.constantFrom<Fault['type']>('none', 'crash', 'crash', 'pause', 'pause', 'pause', 'together'),
    on: fc.constant(where.on),
    nth: fc.constant(where.nth),
    phase: fc.constantFrom<'before' | 'after'>('before', 'after'),
    die: fc.boolean(),
  }),
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  logs: logsArbOf(16),
  warmup: fc.constantFrom(0, 0, 3, MERGE_MANIFESTS_AT),
  steps: fc.array(
    fc.record({ stage: fc.option(fc.record({ mask: fc.constantFrom(1, 2, 4, 7), len: fc.integer({ min: 1, max: 3 }) })), main: actionArb, fault: faultArb, other: actionArb }),
    { minLength: 1, maxLength: 14 },
  ),
});

const isKind = (on: CallKind, c: CallRecord): boolean => {
  const put = c.operation === 's3.put';
  const key = c.key ?? '';
  switch (on) {
    case 'any':
      return true;
    case 'glue.getTable':
    case 'glue.updateTable':
      return c.operation === on;
    case 'put.metadata':
      return put && key.endsWith('.metadata.json');
    case 'put.avro':
      return put && key.endsWith('.avro');
    case 'put.state':
      return put && key.startsWith(STATE_PREFIX);
    case 'put.manifest':
      return put && key.startsWith(MANIFESTS_PREFIX);
    case 'put.data':
      return put && key.endsWith('.parquet');
    case 'get':
      return c.operation === 's3.get';
  }
};

/** A predicate picking the fault's call (it sees each call once, in order). */
function picker(f: Fault): (c: CallRecord) => boolean {
  let seen = 0;
  return (c) => isKind(f.on, c) && ++seen === f.nth;
}

/** What the schedules exercised (LAKELOADER_PROPERTY_STATS=1 prints it): events by name. */
const coverage = new Map<string, number>();
const count = (event: string) => coverage.set(event, (coverage.get(event) ?? 0) + 1);

// ─── Lake targets ───────────────────────────────────────────────────────────────────────────────

interface Lake {
  store: ObjectStore;
  catalog: Catalog & TableCatalog;
  bucket: string;
  database: string;
  /** S3/Glue transport errors can happen (a real endpoint). */
  transport: boolean;
  /**
   * Observe incrementally: after an operation, re-read the table only when it changed the catalog
   * or an object the last read read, and the quarantine only when it wrote there (exact, since
   * every write goes through the observer; it saves the endpoint's HTTP round trips). Otherwise
   * everything is re-read after every operation.
   */
  incremental: boolean;
}

const memoryLake = (): Lake => ({ store: new MemoryStore(5), catalog: new MemoryCatalog(), bucket: 'lake', database: 'db', transport: false, incremental: false });

let lakeCounter = 0;
async function endpointLake(s3: S3Client, glue: GlueClient): Promise<Lake> {
  const n = ++lakeCounter;
  const bucket = `lake-iceprop-${process.pid}-${n}`;
  const database = `iceprop_${process.pid}_${n}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
  return { store: new S3ObjectStore(s3, bucket), catalog: new GlueCatalog(glue), bucket, database, transport: true, incremental: true };
}

// ─── Reading the table as an Iceberg engine does, after every operation ────────────────────────

const dec = new TextDecoder();
/** `p:offset` of the schedule's topic, `clicks-history/p:offset` of the history topic. */
const recordId = (topic: string, p: number, offset: number | bigint) => `${topic === TOPIC ? '' : `${topic}/`}${p}:${offset}`;
const parseId = (id: string) => {
  const m = /^(?:(.+)\/)?(\d+):(\d+)$/.exec(id)!;
  return { topic: m[1] ?? TOPIC, p: Number(m[2]), offset: Number(m[3]) };
};

/** What a reader of the current snapshot sees. */
interface TableView {
  metadata: TableMetadata | null;
  location: string | null;
  /** Live data files: key, the rows their manifest entry counts, and the records they hold. */
  files: Array<{ key: string; recordCount: number; records: string[] }>;
  /** Record id → times visible. */
  records: Map<string, number>;
  /** Every object read for the view (metadata, manifest list, manifests, data files). */
  keys: Set<string>;
}

/** What one operation changed: object keys written or deleted, or the catalog's table. */
interface Touched {
  keys: string[];
  catalog?: boolean;
}

/**
 * The invariants, checked after every operation, and the oracle of what is committed: it sees
 * every write, so it learns of each commit (a state PUT with no pending attempt) the moment it
 * takes effect, independently of what the publisher makes of it.
 */
class Observer {
  readonly violations: string[] = [];
  /** Per topic/partition: the committed offset, from the state PUTs seen. */
  private readonly committedOffset = new Map<string, number>();
  /** Data files of committed attempts (from their commit manifests). */
  readonly committedFiles = new Set<string>();
  /** Files written by the compactors. */
  readonly compacted = new Set<string>();
  /** Records visible at the previous observation. */
  private visible = new Set<string>();
  private readonly decoded = new Map<string, { etag: string; value: unknown }>();
  checks = 0;
  /** Manifests of the snapshot last read, and whether an append merged them. */
  private manifests = 0;
  merged = false;

  constructor(
    private readonly lake: Lake,
    private readonly esm: EsmModel,
  ) {}

  /** GET, retried on a transport error (a retry reads the same or a newer version, as any later reader would). */
  private async get(key: string) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.lake.store.get(key);
      } catch (e) {
        if (!(e instanceof ObjectStoreError) || attempt >= 5) throw e;
      }
    }
  }

  /** An object decoded once per (key, ETag); null when it does not exist. */
  private async decode<T>(key: string, fn: (body: Uint8Array) => T | Promise<T>): Promise<T | null> {
    const got = await this.get(key);
    if (!got) return null;
    const hit = this.decoded.get(key);
    if (hit && hit.etag === got.etag) return hit.value as T;
    const value = await fn(got.body);
    this.decoded.set(key, { etag: got.etag, value });
    return value;
  }

  /** A successful write: a state PUT without a pending attempt is a commit. */
  async wrote(key: string, body: Uint8Array): Promise<void> {
    if (!key.startsWith(STATE_PREFIX)) return;
    const state = JSON.parse(dec.decode(body)) as CommitState;
    if (state.pending !== null || state.committedOffset === null || !state.lastCommit) return;
    this.committedOffset.set(`${state.topic}/${state.partition}`, state.committedOffset);
    const got = await this.get(state.lastCommit.manifestKey);
    const manifest = got ? (JSON.parse(dec.decode(got.body)) as Manifest | { aborted: true }) : null;
    if (!manifest || 'aborted' in manifest) {
      this.violations.push(`commit of ${key} names ${state.lastCommit.manifestKey}, which is ${manifest ? 'aborted' : 'missing'}`);
      return;
    }
    for (const f of manifest.files) this.committedFiles.add(f.key);
  }

  /** The current snapshot: catalog → metadata → manifest list → manifests → data files → rows. */
  async readTable(): Promise<TableView> {
    const { lake } = this;
    const view: TableView = { metadata: null, location: null, files: [], records: new Map(), keys: new Set() };
    const read = <T>(uri: string, fn: (body: Uint8Array) => T | Promise<T>) => {
      const key = keyOf(lake, uri);
      view.keys.add(key);
      return this.decode(key, fn);
    };
    const t = await lake.catalog.getTable(lake.database, pipeline.name);
    const location = t?.input.Parameters?.metadata_location;
    if (!location) return view;
    const metadata = await read(location, (b) => parseMetadata(dec.decode(b)));
    if (!metadata) throw new Error(`the catalog points at ${location}, which does not exist`);
    view.metadata = metadata;
    view.location = location;
    const snapshot = currentSnapshot(metadata);
    if (!snapshot) return view;
    const list = await read(snapshot['manifest-list'], readManifestList);
    if (!list) throw new Error(`snapshot ${snapshot['snapshot-id']}: manifest list ${snapshot['manifest-list']} does not exist`);
    if (snapshot.summary.operation === 'append' && list.length < this.manifests && this.manifests >= MERGE_MANIFESTS_AT) this.merged = true;
    this.manifests = list.length;
    for (const m of list) {
      if (m.content !== 0) throw new Error(`snapshot ${snapshot['snapshot-id']} has a delete manifest (${m.manifest_path}); nothing here writes deletes`);
      const manifest = await read(m.manifest_path, readManifest);
      if (!manifest) throw new Error(`manifest ${m.manifest_path} does not exist`);
      for (const e of manifest.entries) {
        if (e.status === 2) continue; // deleted
        const key = keyOf(lake, e.data_file.file_path);
        const records = await read(e.data_file.file_path, (body) => {
          const table = tableFromIPC(readParquet(body, { columns: ['_topic', '_partition', '_offset'] }).intoIPCStream());
          const topics = table.getChild('_topic')!;
          const parts = table.getChild('_partition')!.toArray() as Int32Array;
          const offsets = table.getChild('_offset')!.toArray() as BigInt64Array;
          return Array.from({ length: table.numRows }, (_, i) => recordId(String(topics.get(i)), parts[i]!, offsets[i]!));
        });
        if (!records) throw new Error(`the live data file ${key} does not exist`);
        view.files.push({ key, recordCount: Number(e.data_file.record_count), records });
        for (const r of records) view.records.set(r, (view.records.get(r) ?? 0) + 1);
      }
    }
    return view;
  }

  /** Quarantined record id → times visible (every quarantine object: read-uncommitted). */
  async readQuarantine(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for await (const o of this.lake.store.list(quarantinePrefix(pipeline.name))) {
      const ids = await this.decode(o.key, (body) =>
        dec
          .decode(body)
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as QuarantineEntry)
          .map((q) => recordId(q.topic, q.kafka_partition, q.kafka_offset)),
      );
      for (const r of ids ?? []) out.set(r, (out.get(r) ?? 0) + 1);
    }
    return out;
  }

  private lastView?: TableView;
  private lastQuarantine?: Map<string, number>;

  /** The invariants after one operation. */
  async check(after: string, touched: Touched): Promise<void> {
    if (this.violations.length) return;
    this.checks++;
    const fail = (what: string) => this.violations.push(`after ${after}: ${what}`);
    const incremental = this.lake.incremental;
    let view: TableView;
    try {
      view = incremental && this.lastView && !touched.catalog && !touched.keys.some((k) => this.lastView!.keys.has(k)) ? this.lastView : await this.readTable();
    } catch (e) {
      fail(`the table cannot be read: ${(e as Error).message}`);
      return;
    }
    this.lastView = view;
    for (const [r, n] of view.records) {
      if (n > 1) fail(`record ${r} visible ${n} times`);
      const { topic, p, offset } = parseId(r);
      if (!(offset <= (this.committedOffset.get(`${topic}/${p}`) ?? -Infinity))) fail(`record ${r} is visible but not committed`);
      else if (topic === TOPIC && !VALID_KINDS.has(this.esm.kindOf(p, offset))) fail(`invalid record ${r} (${this.esm.kindOf(p, offset)}) is in the table`);
    }
    for (const f of view.files) {
      if (!this.committedFiles.has(f.key) && !this.compacted.has(f.key)) fail(`live file ${f.key} is not a data file of a committed attempt`);
      if (f.records.length !== f.recordCount) fail(`live file ${f.key} holds ${f.records.length} rows, its manifest entry ${f.recordCount}`);
    }
    const snapshot = view.metadata && currentSnapshot(view.metadata);
    if (snapshot) {
      const rows = view.files.reduce((n, f) => n + f.recordCount, 0);
      if (Number(snapshot.summary['total-records']) !== rows) fail(`snapshot summary says ${snapshot.summary['total-records']} records, its files hold ${rows}`);
      if (Number(snapshot.summary['total-data-files']) !== view.files.length) fail(`snapshot summary says ${snapshot.summary['total-data-files']} files, it has ${view.files.length}`);
    }
    for (const r of this.visible) if (!view.records.has(r)) fail(`record ${r} was visible and is gone`);
    this.visible = new Set(view.records.keys());
    const qPrefix = quarantinePrefix(pipeline.name);
    if (!incremental || !this.lastQuarantine || touched.keys.some((k) => k.startsWith(qPrefix))) this.lastQuarantine = await this.readQuarantine();
    for (const [r, n] of this.lastQuarantine) if (n > 1) fail(`record ${r} quarantined ${n} times`);
  }
}

/** The store, observed: operations one at a time, each write followed by the checks. */
function observedStore(store: ObjectStore, serial: ReturnType<typeof serializer>, obs: Observer): ObjectStore {
  const observe = <R>(what: string, keys: string[], op: () => Promise<R>, then?: () => Promise<void>): Promise<R> =>
    serial(async () => {
      try {
        const r = await op();
        await then?.();
        return r;
      } finally {
        await obs.check(what, { keys });
      }
    });
  return {
    get: (k) => serial(() => store.get(k)),
    list: (p, after) => ({
      async *[Symbol.asyncIterator]() {
        const all = await serial(async () => {
          const out = [];
          for await (const o of store.list(p, after)) out.push(o);
          return out;
        });
        yield* all;
      },
    }),
    put: (k, b, o) => observe(`put ${k}`, [k], () => store.put(k, b, o), () => obs.wrote(k, b)),
    deleteMany: (ks) => observe(`delete ${ks.join(',')}`, ks, () => store.deleteMany(ks)),
  };
}

/** The catalog, observed the same way: every table change is followed by the checks. */
function observedCatalog(catalog: Catalog & TableCatalog, serial: ReturnType<typeof serializer>, obs: Observer): Catalog & TableCatalog {
  const observe = <R>(what: string, op: () => Promise<R>): Promise<R> =>
    serial(async () => {
      try {
        return await op();
      } finally {
        await obs.check(what, { keys: [], catalog: true });
      }
    });
  return {
    getTable: (d, t) => serial(() => catalog.getTable(d, t)),
    createTable: (d, input) => observe(`Glue CreateTable ${input.Name}`, () => catalog.createTable(d, input)),
    updateTable: (d, input, v) =>
      observe(`Glue UpdateTable ${input.Name} (${input.Parameters?.metadata_location})`, () =>
        catalog.updateTable(d, input, v).then(
          () => void count('Glue UpdateTable swapped the metadata'),
          (e: unknown) => {
            if (e instanceof CommitConflictError) count('Glue UpdateTable refused: another commit came first (VersionId)');
            throw e;
          },
        ),
      ),
    registerPartitions: (d, t, ps) => observe(`Glue BatchCreatePartition ${t}`, () => catalog.registerPartitions(d, t, ps)),
  };
}

// ─── The compactor ──────────────────────────────────────────────────────────────────────────────

/** One Parquet file with the rows of `bodies` (same schema, field ids kept; the inputs' key-value metadata dropped). */
function concatParquet(bodies: Uint8Array[]): Uint8Array {
  const tables = bodies.map((b) => tableFromIPC(readParquet(b).intoIPCStream()));
  const schema = new Schema(tables[0]!.schema.fields);
  const batches = tables.flatMap((t) => t.batches.map((b) => new RecordBatch(schema, b.data)));
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(new Table(schema, batches), 'stream')));
}

/**
 * What a compaction optimizer does: read the current snapshot, pick one partition's files,
 * write their rows as one new file, commit the rewrite. A rewrite whose files another rewrite
 * replaced first is refused (RewriteConflictError), which is fine.
 */
async function compact(deps: IcebergDeps, a: Extract<Action, { kind: 'compact' }>, obs: Observer, name: string): Promise<ReplaceResult | null> {
  const t = await deps.catalog.getTable(deps.database, pipeline.name);
  const current = t ? await readTableMetadata(deps, t) : null;
  if (!current) return null;
  const byPartition = new Map<string, Awaited<ReturnType<typeof tableFiles>>>();
  for (const f of await tableFiles(deps, current.metadata)) {
    const k = JSON.stringify(f.data_file.partition);
    byPartition.set(k, [...(byPartition.get(k) ?? []), f]);
  }
  const groups = [...byPartition.keys()].sort();
  if (groups.length === 0) return null;
  const bin = byPartition.get(groups[a.pick % groups.length]!)!.slice(0, a.width);
  const bodies: Uint8Array[] = [];
  for (const f of bin) {
    const got = await deps.store.get(keyOf(deps, f.data_file.file_path));
    if (!got) throw new Error(`compaction: the live file ${f.data_file.file_path} does not exist`);
    bodies.push(got.body);
  }
  const body = concatParquet(bodies);
  const key = `${posix.dirname(keyOf(deps, bin[0]!.data_file.file_path))}/${name}.parquet`;
  obs.compacted.add(key);
  await deps.store.put(key, body, { ifNoneMatch: '*', contentType: CONTENT_TYPE.parquet });
  const rows = bin.reduce((n, f) => n + Number(f.data_file.record_count), 0);
  const iceberg = { partition: Object.values(bin[0]!.data_file.partition), stats: mergeFileStats(pipeline, bin.map((f) => f.data_file)) };
  return replaceFiles(
    deps,
    bin.map((f) => f.data_file.file_path),
    [{ key, rows, bytes: body.byteLength, iceberg }],
  );
}

// ─── Running a scenario ─────────────────────────────────────────────────────────────────────────

const callName = (c: CallRecord) => (c.operation === 's3.put' ? `s3.put ${(['put.metadata', 'put.avro', 'put.state', 'put.manifest', 'put.data'] as const).find((k) => isKind(k, c)) ?? 'other'}` : c.operation);
const tally = (f: FaultInjector, action: Action, fault: Fault) => {
  const crash = f.calls.find((c) => c.n === f.crashedAtCall);
  if (crash) count(`${action.kind} crashed ${fault.phase} ${callName(crash)}${fault.die ? '' : ' (call only)'}`);
  if (f.pausedAt) count(`${action.kind} paused ${fault.phase} ${callName(f.pausedAt)}`);
};

/** An Iceberg commit (publish or compaction) may only fail because of a crash, an infrastructure error or, for a rewrite, a lost race. */
function expectIcebergRetryable(e: unknown, lake: Lake, rewrite: boolean): void {
  if (e instanceof CrashError) return;
  if (lake.transport && (e instanceof ObjectStoreError || e instanceof CatalogError)) return;
  if (rewrite && e instanceof RewriteConflictError) return;
  throw e;
}

async function runScenario(s: Scenario, lake: Lake): Promise<void> {
  const esm = new EsmModel(s.logs, TOPIC);
  const obs = new Observer(lake, esm);
  const serial = serializer();
  const store = observedStore(lake.store, serial, obs);
  const catalog = observedCatalog(lake.catalog, serial, obs);
  const icebergDeps = (f: FaultInjector): IcebergDeps => ({
    store: f.wrapStore(store),
    catalog: f.wrapTableCatalog(catalog),
    bucket: lake.bucket,
    database: lake.database,
    pipeline,
    backoff: async () => {},
  });
  const publish = (f: FaultInjector) =>
    publishStaged(icebergDeps(f)).then(
      (r) => {
        count(r.snapshotId !== null ? 'publish committed a snapshot' : `publish: ${r.skipped}`);
        if (r.attempts > 1) count('publish re-applied after a conflict');
      },
      (e: unknown) => {
        expectIcebergRetryable(e, lake, false);
        count('publish failed');
      },
    );
  let rewrites = 0;

  /** Runs one action in the process of `f`; returns false when a loader invocation failed (the ESM retries). */
  const act = async (a: Action, f: FaultInjector): Promise<boolean> => {
    switch (a.kind) {
      case 'load': {
        const { ranges, event } = esm.batch(a.mask, a.back, a.len);
        const deps = { store: f.wrapStore(store), codec: defaultCodec, bucket: lake.bucket, database: lake.database, registrar: new PartitionRegistrar(f.wrapCatalog(catalog)), pipeline, concurrency: 2 };
        let results;
        try {
          results = await loadEvent(deps, event);
        } catch (e) {
          expectRetryable(e, lake.transport);
          return false;
        }
        // The handler publishes after a batch that wrote files; a failed publish does not fail the batch (it is committed)…
        if (a.publish && results.some((r) => r.files > 0)) await publish(f);
        // …but a process that died during it never answered the ESM, which then retries.
        if (f.died) return false;
        esm.succeeded(ranges);
        return true;
      }
      case 'publish':
        await publish(f);
        return true;
      case 'compact':
        await compact(icebergDeps(f), a, obs, `compacted-${++rewrites}`).then(
          (r) => {
            count(r ? 'compaction committed' : 'compaction: nothing to rewrite');
            if (r && r.attempts > 1) count('compaction re-applied after a conflict');
          },
          (e: unknown) => {
            expectIcebergRetryable(e, lake, true);
            count(e instanceof RewriteConflictError ? 'compaction lost the race (RewriteConflictError)' : 'compaction failed');
          },
        );
        return true;
    }
  };

  await ensureIcebergTable(icebergDeps(new FaultInjector())); // deploy
  for (let i = 0; i < s.warmup; i++) {
    const deps = { store, codec: defaultCodec, bucket: lake.bucket, database: lake.database, registrar: new PartitionRegistrar(catalog), pipeline };
    await loadEvent(deps, buildMskEvent([produce(HISTORY, 0, i, 'valid', i % 3)]));
    expect(await publishStaged(icebergDeps(new FaultInjector()))).toMatchObject({ batches: 1 });
  }
  for (const step of s.steps) {
    if (step.stage && !esm.done) await act({ kind: 'load', mask: step.stage.mask, back: 0, len: step.stage.len, publish: false }, new FaultInjector());
    if (esm.done && step.main.kind === 'load') continue;
    const f = step.fault;
    if (f.type === 'pause') {
      const a = new FaultInjector();
      const pause = a.pauseAt(picker(f), f.phase);
      const aRun = act(step.main, a).then(
        () => null,
        (e: unknown) => e,
      );
      await Promise.race([pause.reached, aRun]);
      if (a.pausedAt) count(`race: ${step.main.kind} paused while ${step.other.kind} ran`);
      await act(step.other, new FaultInjector());
      pause.release();
      const error = await aRun;
      if (error) throw error;
      tally(a, step.main, f);
    } else if (f.type === 'together') {
      // No pause: the two interleave wherever the event loop takes them.
      count(`race: ${step.main.kind} and ${step.other.kind} at once`);
      await Promise.all([act(step.main, new FaultInjector()), act(step.other, new FaultInjector())]);
    } else {
      const injector = new FaultInjector(f.type === 'crash' ? { crashAt: picker(f), phase: f.phase, die: f.die } : {});
      await act(step.main, injector);
      tally(injector, step.main, f);
    }
    expect(obs.violations).toEqual([]);
  }

  // Orphan-file deletion, whenever it runs, spares every live file and every committed batch's
  // files, whether published yet or not (as the schedule ends, batches may still be staged).
  const spared = async (what: string) => {
    const view = await obs.readTable();
    const orphans = new Set(await orphanFiles(icebergDeps(new FaultInjector()), view.metadata!, view.location!, Number.MAX_SAFE_INTEGER));
    for (const f of view.files) expect(orphans.has(f.key), `${what}: live file ${f.key} is not an orphan`).toBe(false);
    for (const k of obs.committedFiles) expect(orphans.has(k), `${what}: committed file ${k} is not an orphan`).toBe(false);
  };
  await spared('after the schedule');

  // Drain: the ESM keeps delivering until every offset is processed, then the scheduled commit runs; nothing fails any more.
  for (let guard = 0; !esm.done; guard++) {
    expect(guard).toBeLessThan(20);
    expect(await act({ kind: 'load', mask: 0, back: 0, len: 8, publish: true }, new FaultInjector())).toBe(true);
  }
  await publishStaged(icebergDeps(new FaultInjector()));
  expect(obs.violations).toEqual([]);
  expect(obs.checks).toBeGreaterThan(0);
  count('scenarios');
  if (obs.merged) count('publish merged the manifests');
  coverage.set('observations', (coverage.get('observations') ?? 0) + obs.checks);

  // Exactly once: every valid record in the current snapshot, every invalid one in the quarantine.
  const view = await obs.readTable();
  const quarantine = await obs.readQuarantine();
  let expected = 0;
  for (const [p, log] of esm.logs.entries()) {
    for (const [i, r] of log.entries()) {
      const id = recordId(TOPIC, p, s.logs[p]!.base + i);
      expected++;
      if (VALID_KINDS.has(r.kind)) {
        expect(view.records.get(id), `valid record ${id} in the table`).toBe(1);
        expect(quarantine.has(id), `valid record ${id} not quarantined`).toBe(false);
      } else {
        expect(quarantine.get(id), `invalid record ${id} (${r.kind}) in the quarantine`).toBe(1);
        expect(view.records.has(id), `invalid record ${id} not in the table`).toBe(false);
      }
    }
  }
  for (let i = 0; i < s.warmup; i++) expect(view.records.get(recordId(HISTORY, 0, i)), `history record ${i} in the table`).toBe(1);
  expect(view.records.size + quarantine.size).toBe(expected + s.warmup);

  // Nothing pending; the published offsets cover every row; orphan-file deletion spares every live file.
  const offsets = publishedOffsets(view.metadata!);
  for (const [p, log] of esm.logs.entries()) {
    const got = await lake.store.get(stateKey(pipeline.name, TOPIC, p));
    const state = JSON.parse(dec.decode(got!.body)) as CommitState;
    expect(state.pending).toBeNull();
    expect(state.committedOffset).toBe(esm.end[p]! - 1);
    const lastValid = log.findLastIndex((r) => VALID_KINDS.has(r.kind));
    if (lastValid >= 0) expect(offsets[`${TOPIC}/${p}`]).toBeGreaterThanOrEqual(s.logs[p]!.base + lastValid);
    expect(offsets[`${TOPIC}/${p}`] ?? -1).toBeLessThanOrEqual(esm.end[p]! - 1);
  }
  expect(offsets[`${HISTORY}/0`]).toBe(s.warmup ? s.warmup - 1 : undefined);
  await spared('at the end');
}

// ─── The property, per target ───────────────────────────────────────────────────────────────────

const replay = process.env.LAKELOADER_ICEBERG_PROPERTY_REPLAY;
/** Why the replay cases are skipped in a normal run; with a replay file, the property is skipped instead. */
const NO_REPLAY = 'no scenario file in LAKELOADER_ICEBERG_PROPERTY_REPLAY';
afterAll(() => {
  if (process.env.LAKELOADER_PROPERTY_STATS) console.log([...coverage].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${String(n).padStart(6)}  ${k}`).join('\n'));
});
/** The scenario in the replay file: JSON, or fast-check's printed counterexample (its `__proto__:null` marks dropped). */
const replayed = (): Scenario => {
  const text = readFileSync(replay!, 'utf8').trim().replace(/__proto__:null,?/g, '');
  const parsed = JSON.parse(text) as Scenario | [Scenario];
  return Array.isArray(parsed) ? parsed[0] : parsed;
};

describe('exactly-once into an Iceberg table, read-committed (in-memory S3 and Glue)', () => {
  it.skipIf(replay)('holds under crashes around every S3 and Glue call, two committers, compactions racing appends, and stale loaders', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) => runScenario(s, memoryLake())),
      { numRuns: runs('LAKELOADER_PROPERTY_RUNS', 100), seed: propertySeed() },
    );
  });
  it.skipIf(!replay)(`replays the scenario of LAKELOADER_ICEBERG_PROPERTY_REPLAY${replay ? '' : ` (skipped: ${NO_REPLAY})`}`, { timeout: 300_000 }, () => runScenario(replayed(), memoryLake()));
});

describe('exactly-once into an Iceberg table, read-committed (S3 and Glue endpoint through the real SDK clients)', () => {
  let s3: S3Client;
  let glue: GlueClient;
  let close: (() => Promise<void>) | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    let url = process.env.LAKELOADER_TEST_ENDPOINT;
    if (!url) {
      dir = mkdtempSync(join(tmpdir(), 'lakeloader-iceprop-'));
      const ep = await startLocalEndpoint({ port: 0, dataDir: dir });
      url = ep.url;
      close = () => ep.close();
    }
    const common = {
      endpoint: url,
      region: process.env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
      requestHandler: { requestTimeout: 5_000, connectionTimeout: 5_000 },
    };
    s3 = new S3Client({ ...common, forcePathStyle: true });
    glue = new GlueClient(common);
  });
  afterAll(async () => {
    s3?.destroy();
    glue?.destroy();
    await close?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(replay)('holds under crashes around every S3 and Glue call, two committers, compactions racing appends, and stale loaders', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => runScenario(s, await endpointLake(s3, glue))),
      // No shrinking against a server: a broken endpoint would make every shrink step fail slowly.
      { numRuns: runs('LAKELOADER_PROPERTY_ENDPOINT_RUNS', 6), endOnFailure: true, seed: propertySeed() },
    );
  });
  it.skipIf(!replay)(`replays the scenario of LAKELOADER_ICEBERG_PROPERTY_REPLAY${replay ? '' : ` (skipped: ${NO_REPLAY})`}`, { timeout: 300_000 }, async () =>
    runScenario(replayed(), await endpointLake(s3, glue)),
  );
});
