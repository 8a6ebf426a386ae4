/**
 * Exactly-once, as a property (fast-check), with the REAL prepare half (decode … Parquet):
 *
 * random Kafka logs over several partitions (valid and invalid records) are delivered the way the
 * event source mapping does it — at least once, retried after any failure with boundaries that
 * differ from the first attempt (shorter, longer, starting before the committed offset) — while
 * crashes are injected before and after S3 and Glue calls, and a stale writer is paused at a
 * chosen call while another attempt completes, then resumed.
 *
 * Invariants:
 * - at EVERY observation point (after each store operation) no record is visible twice, in the
 *   table or the quarantine, and none is in both;
 * - at the end every valid record is in the table exactly once, every invalid one in the
 *   quarantine exactly once, every non-empty data file's partition is registered, the state has
 *   no pending attempt, committed manifests chain contiguously over the whole log, and every
 *   object under the table and quarantine prefixes is accounted for by a committed manifest
 *   (written or fenced).
 *
 * The same property runs against the in-memory S3/Glue doubles and against the local AWS
 * endpoint through the real SDK clients (S3ObjectStore + GlueCatalog), or against the endpoint in
 * LAKELOADER_TEST_ENDPOINT (LocalStack/AWS). Runs: LAKELOADER_PROPERTY_RUNS (memory, default 100)
 * and LAKELOADER_PROPERTY_ENDPOINT_RUNS (endpoint, default 15).
 */
import { CreateDatabaseCommand, CreateTableCommand, GetPartitionsCommand, GlueClient } from '@aws-sdk/client-glue';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { tableFromIPC } from 'apache-arrow';
import fc from 'fast-check';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GlueCatalog, PartitionRegistrar, type Catalog } from '../../lambdas/core/catalog';
import type { Manifest, CommitState } from '../../lambdas/core/commit';
import { tableInput } from '../../lambdas/core/glue-table';
import { MANIFESTS_PREFIX, dataPrefix, quarantinePrefix, stateKey } from '../../lambdas/core/layout';
import { loadEvent } from '../../lambdas/core/loader';
import type { QuarantineEntry } from '../../lambdas/core/model';
import { ObjectStoreError, S3ObjectStore, type ObjectStore } from '../../lambdas/core/store';
import { defaultCodec } from '../../lambdas/loader/handler';
import { startLocalEndpoint } from '../../lib/local/server';
import { getPipeline } from '../../lib/pipelines';
import { EsmModel, expectRetryable, logsArb, propertySeed, runs, serializer, VALID_KINDS, type LogSpec } from '../support/delivery';
import { FaultInjector } from '../support/faults';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';

const pipeline = getPipeline('clickstream');
const TOPIC = 'clicks';

// ─── The model: Kafka logs (test/support/delivery.ts) and an adversarial delivery schedule ──────

interface Fault {
  type: 'none' | 'crash' | 'stale';
  /** Call (1-based, across S3 and Glue) to crash at / pause at. */
  at: number;
  phase: 'before' | 'after';
  /** Crash: the attempt dies (every later call fails). */
  die: boolean;
  /** Stale: the boundaries of the attempt that runs while the stale one is paused. */
  back: number;
  len: number;
}

interface Step {
  /** Which partitions the ESM includes (bit mask; 0 = all unfinished). */
  mask: number;
  /** How far before the ESM position the batch starts (redelivery of committed records). */
  back: number;
  len: number;
  fault: Fault;
}

interface Scenario {
  logs: LogSpec;
  steps: Step[];
}

const faultArb: fc.Arbitrary<Fault> = fc.record({
  type: fc.constantFrom<Fault['type']>('none', 'crash', 'crash', 'crash', 'stale', 'stale'),
  at: fc.integer({ min: 1, max: 24 }),
  phase: fc.constantFrom<'before' | 'after'>('before', 'after'),
  die: fc.boolean(),
  back: fc.integer({ min: 0, max: 3 }),
  len: fc.integer({ min: 1, max: 8 }),
});

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  logs: logsArb,
  steps: fc.array(
    fc.record({ mask: fc.integer({ min: 0, max: 7 }), back: fc.integer({ min: 0, max: 3 }), len: fc.integer({ min: 1, max: 8 }), fault: faultArb }),
    { minLength: 1, maxLength: 8 },
  ),
});

// ─── Lake targets: in-memory doubles or an S3/Glue endpoint through the real SDK ────────────────

interface Lake {
  store: ObjectStore;
  catalog: Catalog;
  bucket: string;
  database: string;
  /** Registered partitions of the table, as JSON value arrays. */
  registered(): Promise<Set<string>>;
}

function memoryLake(): Lake {
  const store = new MemoryStore(1000);
  const catalog = new MemoryCatalog();
  return {
    store,
    catalog,
    bucket: 'lake',
    database: 'db',
    registered: async () => new Set(catalog.list('db', pipeline.name).map((v) => JSON.stringify(v))),
  };
}

let lakeCounter = 0;
async function endpointLake(s3: S3Client, glue: GlueClient): Promise<Lake> {
  const n = ++lakeCounter;
  const bucket = `lake-prop-${process.pid}-${n}`;
  const database = `prop_${process.pid}_${n}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
  await glue.send(new CreateTableCommand({ DatabaseName: database, TableInput: tableInput(pipeline, bucket) }));
  return {
    store: new S3ObjectStore(s3, bucket),
    catalog: new GlueCatalog(glue),
    bucket,
    database,
    registered: async () => {
      const out = new Set<string>();
      let token: string | undefined;
      do {
        const r = await glue.send(new GetPartitionsCommand({ DatabaseName: database, TableName: pipeline.name, NextToken: token }));
        for (const p of r.Partitions ?? []) out.add(JSON.stringify(p.Values ?? []));
        token = r.NextToken;
      } while (token);
      return out;
    },
  };
}

// ─── Looking at the lake: what a reader would see ───────────────────────────────────────────────

interface ObjectView {
  /** `partition:offset` of each row (data) or line (quarantine). */
  records: string[];
  /** Hive partition values, from the key (data files only). */
  partitionValues?: string[];
}

const dec = new TextDecoder();

/** Decodes objects once per (key, ETag) and snapshots what a reader sees under the table and quarantine prefixes. */
class Inspector {
  private cache = new Map<string, { etag: string; view: ObjectView }>();

  constructor(private readonly store: ObjectStore) {}

  /** GET, retried on a transport error (a retry reads the same or a newer version, as any later reader would). */
  private async get(key: string) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.get(key);
      } catch (e) {
        if (!(e instanceof ObjectStoreError) || attempt >= 5) throw e;
      }
    }
  }

  private async view(key: string): Promise<{ etag: string; view: ObjectView } | null> {
    const got = await this.get(key);
    if (!got) return null;
    const hit = this.cache.get(key);
    if (hit && hit.etag === got.etag) return hit;
    let view: ObjectView;
    if (key.endsWith('.parquet')) {
      const t = tableFromIPC(readParquet(got.body).intoIPCStream());
      const parts = t.getChild('_partition')!.toArray() as Int32Array;
      const offsets = t.getChild('_offset')!.toArray() as BigInt64Array;
      const topics = t.getChild('_topic')!;
      const records: string[] = [];
      for (let i = 0; i < t.numRows; i++) {
        expect(topics.get(i)).toBe(TOPIC);
        records.push(`${parts[i]}:${offsets[i]}`);
      }
      const rel = key.slice(dataPrefix(pipeline.name).length).split('/');
      view = { records, partitionValues: rel.slice(0, -1).map((kv) => decodeURIComponent(kv.slice(kv.indexOf('=') + 1))) };
    } else {
      const lines = dec.decode(got.body).split('\n').filter(Boolean);
      view = { records: lines.map((l) => JSON.parse(l) as QuarantineEntry).map((e) => `${e.kafka_partition}:${e.kafka_offset}`) };
    }
    const entry = { etag: got.etag, view };
    this.cache.set(key, entry);
    return entry;
  }

  /** Every object under the table and quarantine prefixes with what it shows. */
  async snapshot(): Promise<{ table: Map<string, number>; quarantine: Map<string, number>; objects: Map<string, ObjectView> }> {
    const table = new Map<string, number>();
    const quarantine = new Map<string, number>();
    const objects = new Map<string, ObjectView>();
    for (const [prefix, counts] of [
      [dataPrefix(pipeline.name), table],
      [quarantinePrefix(pipeline.name), quarantine],
    ] as const) {
      for await (const o of this.store.list(prefix)) {
        const v = await this.view(o.key);
        if (!v) continue;
        objects.set(o.key, v.view);
        for (const r of v.view.records) counts.set(r, (counts.get(r) ?? 0) + 1);
      }
    }
    return { table, quarantine, objects };
  }
}

/**
 * The store, observed: after every write, nothing may be visible twice. Operations (and the
 * checks after writes) run one at a time, so each observation sees exactly the state after one
 * operation — a linearization of the concurrent attempts, which still interleave between calls.
 */
function observed(store: ObjectStore, inspector: Inspector, violations: string[]): ObjectStore {
  const serial = serializer();
  const check = async (after: string) => {
    if (violations.length) return;
    const { table, quarantine } = await inspector.snapshot();
    for (const [r, n] of table) if (n > 1) violations.push(`after ${after}: record ${r} visible ${n} times in the table`);
    for (const [r, n] of quarantine) if (n > 1) violations.push(`after ${after}: record ${r} visible ${n} times in the quarantine`);
    for (const r of table.keys()) if (quarantine.has(r)) violations.push(`after ${after}: record ${r} in both the table and the quarantine`);
  };
  const observe = <R>(what: string, op: () => Promise<R>): Promise<R> =>
    serial(async () => {
      try {
        return await op();
      } finally {
        await check(what);
      }
    });
  return {
    get: (k) => serial(() => store.get(k)),
    list: (p) => ({
      async *[Symbol.asyncIterator]() {
        const all = await serial(async () => {
          const out = [];
          for await (const o of store.list(p)) out.push(o);
          return out;
        });
        yield* all;
      },
    }),
    put: (k, b, o) => observe(`put ${k}`, () => store.put(k, b, o)),
    deleteMany: (ks) => observe(`delete ${ks.join(',')}`, () => store.deleteMany(ks)),
  };
}

// ─── Running a scenario ─────────────────────────────────────────────────────────────────────────

async function runScenario(s: Scenario, lake: Lake): Promise<void> {
  if (process.env.LAKELOADER_PROPERTY_TRACE) appendFileSync(process.env.LAKELOADER_PROPERTY_TRACE, JSON.stringify(s) + '\n');
  const esm = new EsmModel(s.logs, TOPIC);
  const { logs, end } = esm;
  const violations: string[] = [];
  const inspector = new Inspector(lake.store);
  const store = observed(lake.store, inspector, violations);

  // One warm container's Glue cache, reached through the current attempt's fault injector.
  let current = new FaultInjector();
  const containerCatalog: Catalog = { registerPartitions: (d, t, ps) => current.wrapCatalog(lake.catalog).registerPartitions(d, t, ps) };
  let registrar = new PartitionRegistrar(containerCatalog);

  const batch = (mask: number, back: number, len: number) => esm.batch(mask, back, len);
  const deps = (faults: FaultInjector, reg: PartitionRegistrar) => ({
    store: faults.wrapStore(store),
    codec: defaultCodec,
    bucket: lake.bucket,
    database: lake.database,
    registrar: reg,
    pipeline,
    concurrency: 2,
  });
  const succeeded: EsmModel['succeeded'] = (ranges) => esm.succeeded(ranges);

  for (const step of s.steps) {
    if (esm.done) break;
    const { ranges, event } = batch(step.mask, step.back, step.len);
    const f = step.fault;
    if (f.type === 'stale') {
      // Attempt A (its own container) pauses at call f.at; attempt B runs; then A resumes.
      const a = new FaultInjector();
      const pause = a.pauseAt(f.at, f.phase);
      current = a;
      const aRun = loadEvent(deps(a, new PartitionRegistrar(containerCatalog)), event).then(
        () => 'ok' as const,
        (e: unknown) => e,
      );
      await Promise.race([pause.reached, aRun]);
      const b = batch(step.mask, f.back, f.len);
      current = new FaultInjector();
      // A's other topic-partitions are not paused and may still be running, so B can conflict too.
      await loadEvent(deps(current, registrar), b.event).then(
        () => succeeded(b.ranges),
        (e: unknown) => expectRetryable(e),
      );
      current = a;
      pause.release();
      const aResult = await aRun;
      if (aResult === 'ok') succeeded(ranges);
      else expectRetryable(aResult);
    } else {
      current = new FaultInjector(f.type === 'crash' ? { crashAt: f.at, phase: f.phase, die: f.die } : {});
      try {
        await loadEvent(deps(current, registrar), event);
        succeeded(ranges);
      } catch (e) {
        expectRetryable(e);
        if (current.crashed && f.die) registrar = new PartitionRegistrar(containerCatalog); // the container died
      }
    }
    expect(violations).toEqual([]);
  }

  // Drain: the ESM keeps delivering until every offset is processed; nothing fails any more.
  current = new FaultInjector();
  for (let guard = 0; !esm.done; guard++) {
    expect(guard).toBeLessThan(20);
    const { ranges, event } = batch(0, 0, 8);
    await loadEvent(deps(current, registrar), event);
    succeeded(ranges);
  }
  expect(violations).toEqual([]);

  // Final state: exactly once.
  const { table, quarantine, objects } = await inspector.snapshot();
  for (const [p, log] of logs.entries()) {
    for (const [i, r] of log.entries()) {
      const id = `${p}:${s.logs[p]!.base + i}`;
      if (VALID_KINDS.has(r.kind)) {
        expect(table.get(id), `valid record ${id} in the table`).toBe(1);
        expect(quarantine.has(id), `valid record ${id} not quarantined`).toBe(false);
      } else {
        expect(quarantine.get(id), `invalid record ${id} (${r.kind}) in the quarantine`).toBe(1);
        expect(table.has(id), `invalid record ${id} not in the table`).toBe(false);
      }
    }
  }
  const expected = logs.reduce((n, l) => n + l.length, 0);
  expect([...table.keys(), ...quarantine.keys()]).toHaveLength(expected);

  // Every non-empty data file is in a registered partition (so Athena sees it).
  const registered = await lake.registered();
  for (const [key, v] of objects) if (v.partitionValues && v.records.length) expect(registered.has(JSON.stringify(v.partitionValues)), `partition of ${key} registered`).toBe(true);

  // States are committed; committed manifests chain over the whole log and account for every object.
  const accounted = new Set<string>();
  for (const [p] of logs.entries()) {
    const got = await lake.store.get(stateKey(pipeline.name, TOPIC, p));
    const state = JSON.parse(dec.decode(got!.body)) as CommitState;
    expect(state.pending).toBeNull();
    expect(state.committedOffset).toBe(end[p]! - 1);
    const manifests: Manifest[] = [];
    for await (const o of lake.store.list(`${MANIFESTS_PREFIX}${pipeline.name}/${TOPIC}/${p}/`)) {
      const m = JSON.parse(dec.decode((await lake.store.get(o.key))!.body)) as Manifest | { aborted: true };
      if ('aborted' in m) {
        accounted.add(o.key); // must be listed as fenced by a committed manifest (checked below)
        continue;
      }
      manifests.push(m);
    }
    manifests.sort((a, b) => a.fromOffset - b.fromOffset);
    let next = s.logs[p]!.base;
    for (const m of manifests) {
      expect(m.fromOffset, `manifests of partition ${p} are contiguous`).toBe(next);
      expect(m.counts.in).toBe(m.counts.written + m.counts.quarantined + m.counts.filtered + m.counts.duplicates);
      next = m.toOffset + 1;
      for (const f of m.files) accounted.add(f.key);
      if (m.quarantine) accounted.add(m.quarantine.key);
      for (const k of m.fencedKeys) accounted.add(`fenced:${k}`);
    }
    expect(next).toBe(end[p]);
  }
  for (const [key, v] of objects) {
    if (accounted.has(key)) continue;
    expect(accounted.has(`fenced:${key}`), `${key} is listed by a committed manifest`).toBe(true);
    expect(v.records, `fenced ${key} shows nothing`).toEqual([]);
  }
}

// ─── The property, per target ───────────────────────────────────────────────────────────────────

describe('exactly-once (in-memory S3 and Glue)', () => {
  it('holds under crashes, re-split redeliveries and a stale writer', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) => runScenario(s, memoryLake())),
      { numRuns: runs('LAKELOADER_PROPERTY_RUNS', 100), seed: propertySeed() },
    );
  });
});

describe('exactly-once (S3 and Glue endpoint through the real SDK clients)', () => {
  let s3: S3Client;
  let glue: GlueClient;
  let close: (() => Promise<void>) | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    let url = process.env.LAKELOADER_TEST_ENDPOINT;
    if (!url) {
      dir = mkdtempSync(join(tmpdir(), 'lakeloader-prop-'));
      const ep = await startLocalEndpoint({
        port: 0,
        dataDir: dir,
        onRequest: process.env.LAKELOADER_PROPERTY_TRACE ? (i) => appendFileSync(process.env.LAKELOADER_PROPERTY_TRACE!, `${i.operation} ${i.key ?? ''}\n`) : undefined,
      });
      url = ep.url;
      close = () => ep.close();
    }
    // A request timeout, so that a stuck request fails the attempt as an infrastructure error
    // (retried, as the ESM would) instead of hanging the test.
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

  const replayFile = process.env.LAKELOADER_PROPERTY_REPLAY;
  it.skipIf(replayFile)('holds under crashes, re-split redeliveries and a stale writer', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => runScenario(s, await endpointLake(s3, glue))),
      // No shrinking against a server: a broken endpoint would make every shrink step fail slowly.
      { numRuns: runs('LAKELOADER_PROPERTY_ENDPOINT_RUNS', 15), endOnFailure: true, seed: propertySeed() },
    );
  });
  // Replays one scenario (a JSON line as written by LAKELOADER_PROPERTY_TRACE) instead of the property.
  it.skipIf(!replayFile)(`replays the scenario of LAKELOADER_PROPERTY_REPLAY${replayFile ? '' : ' (skipped: no scenario file in LAKELOADER_PROPERTY_REPLAY)'}`, { timeout: 300_000 }, async () => {
    const s = JSON.parse(readFileSync(replayFile!, 'utf8')) as Scenario;
    await runScenario(s, await endpointLake(s3, glue));
  });
});
