/**
 * The replay engine's protocol over the in-memory S3 and Glue doubles (the same engine runs against
 * the local endpoint in ops-local.test.ts): what moves, what stays, idempotence, crash resumption.
 */
import { describe, expect, it } from 'vitest';
import { PartitionRegistrar } from '../../lambdas/core/catalog';
import { quarantinePrefix } from '../../lambdas/core/layout';
import type { ObjectStore } from '../../lambdas/core/store';
import { generateClickstreamRecords } from '../../lib/gen/records';
import { readReplayManifests, replaysPrefix } from '../../lib/ops/lake';
import { listQuarantine, matchesFilter, readQuarantineObject } from '../../lib/ops/quarantine';
import { parseTime, TimeFormatError } from '../../lib/ops/format';
import type { QuarantineEntry } from '../../lambdas/core/model';
import { replayLockKey, ReplayLockedError, replayQuarantine, withReplayLock, type ReplayDeps } from '../../lib/ops/replay';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';
import { BUG_MESSAGE, buggyClickstream, codec, fixedClickstream, loadRecords, withTs } from './ops-fixtures';

const BUCKET = 'lake';
const DB = 'lakeloader';

async function quarantined(store: ObjectStore) {
  const out = [];
  for (const o of await listQuarantine(store, 'clickstream')) out.push(...((await readQuarantineObject(store, o.key))?.lines ?? []).map((l) => l.entry));
  return out;
}

async function setup() {
  const store = new MemoryStore(100);
  const catalog = new MemoryCatalog();
  const gen = generateClickstreamRecords({ seed: 7, count: 600, malformed: 24, partitions: 2 });
  await loadRecords({ store, catalog, bucket: BUCKET, database: DB }, buggyClickstream, gen.records, 150);
  const deps: ReplayDeps = { store, codec, registrar: new PartitionRegistrar(catalog), bucket: BUCKET, database: DB, now: () => Date.UTC(2026, 0, 20) };
  return { store, catalog, gen, deps };
}

/** Row count of the table, read back from the Parquet files themselves. */
async function parquetRows(store: MemoryStore): Promise<number> {
  const { parquetMetadata } = await import('./ops-parquet');
  let n = 0;
  for (const key of store.keys('tables/clickstream/')) n += parquetMetadata(store.objects.get(key)!.body);
  return n;
}

/** The lake as if the fixed pipeline had loaded everything in the first place. */
async function reference() {
  const store = new MemoryStore(100);
  const gen = generateClickstreamRecords({ seed: 7, count: 600, malformed: 24, partitions: 2 });
  await loadRecords({ store, catalog: new MemoryCatalog(), bucket: BUCKET, database: DB }, fixedClickstream, gen.records, 150);
  const q = await quarantined(store);
  return { rows: await parquetRows(store), quarantine: q.map((e) => `${e.kafka_partition}:${e.kafka_offset}:${e.stage}`).sort() };
}

describe('replay engine', () => {
  it('moves exactly the records the fixed transform now accepts, keeps the rest with their reasons, and a second replay changes nothing', async () => {
    const { store, gen, deps } = await setup();
    const ref = await reference();
    const before = await quarantined(store);
    const bugged = before.filter((e) => e.stage === 'transform' && e.error.includes(BUG_MESSAGE));
    expect(bugged.length).toBeGreaterThan(20);
    const rowsBefore = await parquetRows(store);
    expect(rowsBefore).toBeLessThan(ref.rows);

    const first = await replayQuarantine(deps, fixedClickstream, { filter: { stage: 'transform', match: BUG_MESSAGE } });
    expect(first.selected).toBe(bugged.length);
    expect(first.rows).toBe(ref.rows - rowsBefore);
    expect(first.replayed + first.stillFailing + first.filtered).toBe(bugged.length);
    expect(first.stillFailing).toBeGreaterThan(0); // malformed search events now fail at conform instead
    // The lake now holds what the fixed pipeline would have loaded in the first place.
    expect(await parquetRows(store)).toBe(ref.rows);
    const after = await quarantined(store);
    expect(after.map((e) => `${e.kafka_partition}:${e.kafka_offset}:${e.stage}`).sort()).toEqual(ref.quarantine);
    expect(after.some((e) => e.error.includes(BUG_MESSAGE))).toBe(false);

    // Everything again, without a filter: the malformed records fail again with the same reasons, so nothing is written.
    const snapshot = new Map([...store.objects].map(([k, v]) => [k, v.etag]));
    const second = await replayQuarantine(deps, fixedClickstream, {});
    expect(second).toMatchObject({ selected: ref.quarantine.length, replayed: 0, rows: 0, stillFailing: ref.quarantine.length, objectsChanged: 0 });
    expect(new Map([...store.objects].map(([k, v]) => [k, v.etag]))).toEqual(snapshot);
    void gen;
  });

  it('applies a fix function to the selected records only; null skips a record', async () => {
    const { store, deps } = await setup();
    const MISSING_TS = 'missing required column "ts"';
    const before = await quarantined(store);
    const missingTs = before.filter((e) => e.error.includes(MISSING_TS));
    expect(missingTs.length).toBeGreaterThan(0);
    const rowsBefore = await parquetRows(store);
    const summary = await replayQuarantine(deps, buggyClickstream, {
      filter: { stage: 'conform', match: MISSING_TS },
      fix: (entry) => ({ value: withTs(Buffer.from(entry.value_base64!, 'base64').toString('utf8'), new Date(entry.kafka_timestamp).toISOString()) }),
    });
    expect(summary).toMatchObject({ selected: missingTs.length, replayed: missingTs.length, rows: missingTs.length, stillFailing: 0 });
    expect(await parquetRows(store)).toBe(rowsBefore + missingTs.length);
    const left = await quarantined(store);
    expect(left.some((e) => e.error.includes(MISSING_TS))).toBe(false);
    expect(left).toHaveLength(before.length - missingTs.length);

    const decodeCount = left.filter((e) => e.stage === 'decode').length;
    const skipped = await replayQuarantine(deps, buggyClickstream, { filter: { stage: 'decode' }, fix: () => null });
    expect(skipped).toMatchObject({ selected: decodeCount, skipped: decodeCount, objectsChanged: 0 });
  });

  it('keeps a record that still fails in the quarantine once, with its new stage and reason', async () => {
    const { store, deps } = await setup();
    const before = await quarantined(store);
    const bugged = before.filter((e) => e.error.includes(BUG_MESSAGE)).length;
    // A "fix" that breaks the value: the records now fail at decode instead of transform.
    const s = await replayQuarantine(deps, fixedClickstream, { filter: { match: BUG_MESSAGE }, fix: () => ({ value: '{not json' }) });
    expect(s).toMatchObject({ selected: bugged, replayed: 0, stillFailing: bugged, stillFailingByStage: { decode: bugged } });
    const q = await quarantined(store);
    expect(q).toHaveLength(before.length);
    expect(q.filter((e) => e.error.includes(BUG_MESSAGE))).toHaveLength(0);
    expect(q.filter((e) => e.stage === 'decode' && e.error.includes('invalid JSON'))).toHaveLength(bugged + before.filter((e) => e.stage === 'decode' && e.error.includes('invalid JSON')).length);
    // The original value stays in the quarantine (a failed fix never loses the record's bytes).
    expect(q.filter((e) => e.value_base64 === Buffer.from('{not json').toString('base64'))).toHaveLength(0);
  });

  it('a dry run writes nothing', async () => {
    const { store, deps } = await setup();
    const snapshot = new Map([...store.objects].map(([k, v]) => [k, v.etag]));
    const s = await replayQuarantine(deps, fixedClickstream, { filter: { stage: 'transform' }, dryRun: true });
    expect(s.replayed).toBeGreaterThan(0);
    expect(new Map([...store.objects].map(([k, v]) => [k, v.etag]))).toEqual(snapshot);
  });

  it('a replay that crashed after its manifest committed is finished by the rerun, never loaded twice', async () => {
    const { store, deps } = await setup();
    const ref = await reference();
    // Crash: fail every quarantine rewrite (the last step).
    const crashing: ObjectStore = {
      get: (k) => store.get(k),
      list: (p) => store.list(p),
      deleteMany: (k) => store.deleteMany(k),
      put: (k, b, o) => (k.startsWith(quarantinePrefix('clickstream')) ? Promise.reject(new Error('crash')) : store.put(k, b, o)),
    };
    const filter = { stage: 'transform', match: BUG_MESSAGE };
    await expect(replayQuarantine({ ...deps, store: crashing }, fixedClickstream, { filter })).rejects.toThrow('crash');
    const manifests = await readReplayManifests(store, 'clickstream');
    expect(manifests.length).toBeGreaterThan(0);
    expect(manifests.every((m) => m.manifest.status === 'committed')).toBe(true);
    const rerun = await replayQuarantine(deps, fixedClickstream, { filter });
    expect(rerun.resumed).toBeGreaterThan(0);
    expect(await parquetRows(store)).toBe(ref.rows);
    const third = await replayQuarantine(deps, fixedClickstream, { filter });
    expect(third.selected).toBe(0);
    expect(await parquetRows(store)).toBe(ref.rows);
    expect((await quarantined(store)).map((e) => `${e.kafka_partition}:${e.kafka_offset}:${e.stage}`).sort()).toEqual(ref.quarantine);
    expect(store.keys(replaysPrefix('clickstream')).length).toBeGreaterThan(0);
  });

  it('a replay that crashed before committing leaves files that the rerun with another fix replaces', async () => {
    const { store, deps } = await setup();
    const ref = await reference();
    let puts = 0;
    const crashing: ObjectStore = {
      get: (k) => store.get(k),
      list: (p) => store.list(p),
      deleteMany: (k) => store.deleteMany(k),
      // Let the pending manifest and one data file through, then crash.
      put: (k, b, o) => (++puts > 2 ? Promise.reject(new Error('crash')) : store.put(k, b, o)),
    };
    const filter = { stage: 'transform', match: BUG_MESSAGE };
    // The crashed run used a fix that moved every record to 2026-01-01 (another partition than the real one).
    const moveTs = (entry: { value_base64: string | null }) => ({ value: Buffer.from(entry.value_base64!, 'base64').toString('utf8').replace(/"ts":"[^"]*"/, '"ts":"2026-01-01T00:00:00.000Z"') });
    await expect(replayQuarantine({ ...deps, store: crashing }, fixedClickstream, { filter, concurrency: 1, fix: moveTs })).rejects.toThrow('crash');
    expect(store.keys('tables/clickstream/dt=2026-01-01/').length).toBe(1);
    const rerun = await replayQuarantine(deps, fixedClickstream, { filter });
    expect(rerun.resumed).toBeGreaterThan(0);
    expect(store.keys('tables/clickstream/dt=2026-01-01/')).toEqual([]);
    expect(await parquetRows(store)).toBe(ref.rows);
  });

  it('leaves alone a quarantine object of an attempt that has not committed (the ESM retry owns it)', async () => {
    const { store, deps } = await setup();
    const [committedKey] = store.keys(quarantinePrefix('clickstream'));
    const orphan = quarantinePrefix('clickstream') + 'clicks-0-00000000000000099000-00000000000000099001-g99.ndjson';
    const body = store.objects.get(committedKey!)!.body;
    await store.put(orphan, body);
    const s = await replayQuarantine(deps, fixedClickstream, { filter: { stage: 'transform' } });
    expect(s.uncommitted).toBe(1);
    expect(store.objects.get(orphan)!.body).toEqual(body);
  });

  it('holds a per-table lock: a second replay is refused until the first ends; --break-lock takes over', async () => {
    const store = new MemoryStore();
    let inner: unknown;
    await withReplayLock(store, 'clickstream', async () => {
      inner = await withReplayLock(store, 'clickstream', async () => 'ran').catch((e: unknown) => e);
      expect(store.keys(replayLockKey('clickstream'))).toHaveLength(1);
    });
    expect(inner).toBeInstanceOf(ReplayLockedError);
    expect(store.keys(replayLockKey('clickstream'))).toHaveLength(0);
    await store.put(replayLockKey('clickstream'), new TextEncoder().encode('{"owner":"pid 1","since":"2026-01-01T00:00:00Z"}'));
    await expect(withReplayLock(store, 'clickstream', async () => 'x')).rejects.toThrow(/pid 1 since 2026-01-01/);
    expect(await withReplayLock(store, 'clickstream', async () => 'took over', { breakLock: true })).toBe('took over');
  });
});

describe('replay selection', () => {
  const entry: QuarantineEntry = {
    pipeline: 'clickstream', topic: 'clicks', kafka_partition: 1, kafka_offset: 7, kafka_timestamp: Date.UTC(2026, 0, 15, 10), timestamp_type: 'CREATE_TIME',
    key_base64: null, value_base64: Buffer.from('{"ts":"yesterday"}').toString('base64'), headers: [], stage: 'conform', error: 'column "ts": unparseable timestamp string', loader_version: '0.1.0',
  };
  it('parses ISO-8601, epoch ms and durations ago, and rejects anything else', () => {
    const now = Date.UTC(2026, 0, 16);
    expect(parseTime('2026-01-15T10:00:00Z', now)).toBe(Date.UTC(2026, 0, 15, 10));
    expect(parseTime('2026-01-15', now)).toBe(Date.UTC(2026, 0, 15));
    expect(parseTime('1768471200000', now)).toBe(1768471200000);
    expect(parseTime('6h', now)).toBe(now - 6 * 3600_000);
    expect(parseTime('3d', now)).toBe(now - 3 * 86_400_000);
    expect(() => parseTime('last tuesday', now)).toThrow(TimeFormatError);
  });
  it('selects by time window, stage, and text in the error or the value', () => {
    expect(matchesFilter(entry, { since: Date.UTC(2026, 0, 15, 10), until: Date.UTC(2026, 0, 15, 11) })).toBe(true);
    expect(matchesFilter(entry, { until: Date.UTC(2026, 0, 15, 10) })).toBe(false);
    expect(matchesFilter(entry, { stage: 'conform', match: 'UNPARSEABLE' })).toBe(true);
    expect(matchesFilter(entry, { match: 'yesterday' })).toBe(true);
    expect(matchesFilter(entry, { stage: 'decode' })).toBe(false);
    expect(matchesFilter(entry, { match: 'tomorrow' })).toBe(false);
  });
});
