/**
 * The commit protocol's steps, one at a time, with the in-memory S3/Glue doubles and a small
 * fake prepare codec (files are JSON lists of offsets, so visibility is easy to read back).
 */
import { describe, expect, it } from 'vitest';
import { PartitionRegistrar } from '../../lambdas/core/catalog';
import {
  CommitStateError,
  ConflictingWriterError,
  commitPartition,
  readState,
  skipDuplicates,
  type CommitDeps,
  type Manifest,
  type PrepareCodec,
} from '../../lambdas/core/commit';
import { stateKey } from '../../lambdas/core/layout';
import type { MskRecord, PreparedBatch, PreparedFile, QuarantineEntry } from '../../lambdas/core/model';
import { definePipeline, type Pipeline } from '../../lambdas/core/pipeline';
import { toMskRecord } from '../../lib/local/msk-event';
import { FaultInjector } from '../support/faults';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';

const pipeline = definePipeline({
  format: 'hive',
  name: 'events',
  topics: ['t'],
  valueFormat: 'json',
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'day', type: 'string', required: true },
  ],
  partitioning: { by: 'columns', columns: ['day'] },
});

const enc = new TextEncoder();
const TOMBSTONE_PARQUET = enc.encode('EMPTY-PARQUET');

/** Fake prepare: value `{"id","day"}` → a row in file `day=<day>` (body = JSON list of offsets); anything else is quarantined. */
const fakeCodec: PrepareCodec = {
  async prepareBatch(p: Pipeline, records: MskRecord[]): Promise<PreparedBatch> {
    const byDay = new Map<string, number[]>();
    const quarantine: QuarantineEntry[] = [];
    let filtered = 0;
    for (const r of records) {
      let v: { id?: string; day?: string; filter?: boolean } | null = null;
      try {
        v = JSON.parse(Buffer.from(r.value ?? '', 'base64').toString('utf8'));
      } catch {
        v = null;
      }
      if (v && v.filter) {
        filtered++;
        continue;
      }
      if (!v || typeof v.day !== 'string') {
        quarantine.push({
          pipeline: p.name,
          topic: r.topic,
          kafka_partition: r.partition,
          kafka_offset: r.offset,
          kafka_timestamp: r.timestamp,
          timestamp_type: r.timestampType,
          key_base64: r.key ?? null,
          value_base64: r.value ?? null,
          headers: [],
          stage: 'decode',
          error: 'bad',
          loader_version: 'test',
        });
        continue;
      }
      const list = byDay.get(v.day) ?? [];
      list.push(r.offset);
      byDay.set(v.day, list);
    }
    const files: PreparedFile[] = [...byDay].map(([day, offsets]) => ({
      partitionValues: [day],
      hivePath: `day=${day}`,
      rows: offsets.length,
      firstOffset: offsets[0]!,
      lastOffset: offsets[offsets.length - 1]!,
      maxEventTime: 1000 + offsets[offsets.length - 1]!,
      body: enc.encode(JSON.stringify(offsets)),
    }));
    const written = files.reduce((n, f) => n + f.rows, 0);
    return {
      topic: records[0]!.topic,
      partition: records[0]!.partition,
      firstOffset: records[0]!.offset,
      lastOffset: records[records.length - 1]!.offset,
      files,
      quarantine,
      counts: { in: records.length, written, rows: written, quarantined: quarantine.length, filtered, duplicates: 0 },
    };
  },
  encodeEmptyParquet: () => TOMBSTONE_PARQUET,
  serializeQuarantine: (entries) => enc.encode(entries.map((e) => JSON.stringify(e)).join('\n') + '\n'),
};

const rec = (offset: number, value: object | string, partition = 0): MskRecord =>
  toMskRecord({ topic: 't', partition, offset, timestamp: 1_700_000_000_000 + offset, value: typeof value === 'string' ? value : JSON.stringify(value) });
const good = (offset: number, day = 'a', partition = 0) => rec(offset, { id: `e${offset}`, day }, partition);

function setup(store = new MemoryStore(), catalog = new MemoryCatalog()) {
  const deps: CommitDeps = { store, codec: fakeCodec, bucket: 'lake', database: 'db', registrar: new PartitionRegistrar(catalog), now: () => 0 };
  return { store, catalog, deps };
}

/** Offsets visible in data files of the table (tombstones contribute nothing). */
function visible(store: MemoryStore): number[] {
  const out: number[] = [];
  for (const k of store.keys('tables/events/')) {
    const t = store.text(k)!;
    if (t.startsWith('[')) out.push(...(JSON.parse(t) as number[]));
  }
  return out.sort((a, b) => a - b);
}
const quarantined = (store: MemoryStore) =>
  store
    .keys('quarantine/events/')
    .flatMap((k) => store.text(k)!.split('\n').filter(Boolean))
    .map((l) => (JSON.parse(l) as QuarantineEntry).kafka_offset)
    .sort((a, b) => a - b);

describe('skipDuplicates', () => {
  it('sorts, drops repeated offsets and offsets at or below the committed one', () => {
    const r = skipDuplicates([good(5), good(3), good(4), good(4), good(2)], 3);
    expect(r.fresh.map((x) => x.offset)).toEqual([4, 5]);
    expect(r.duplicates).toBe(3);
    expect(skipDuplicates([good(0)], null).fresh).toHaveLength(1);
  });
});

describe('commitPartition', () => {
  it('writes data files, quarantine, manifest and state, and registers partitions', async () => {
    const { store, catalog, deps } = setup();
    const r = await commitPartition(deps, pipeline, 't', 0, [good(0, 'a'), good(1, 'b'), rec(2, 'not json'), good(3, 'a'), rec(4, { filter: true })]);
    expect(r.counts).toEqual({ in: 5, written: 3, rows: 3, quarantined: 1, filtered: 1, duplicates: 0 });
    expect(r.committedOffset).toBe(4);
    expect(r.generation).toBe(1);
    expect(r.files).toBe(2);
    expect(r.partitionsRegistered).toBe(2);
    expect(store.keys('tables/')).toEqual([
      'tables/events/day=a/part-t-0-00000000000000000000-00000000000000000004-g1.parquet',
      'tables/events/day=b/part-t-0-00000000000000000000-00000000000000000004-g1.parquet',
    ]);
    expect(visible(store)).toEqual([0, 1, 3]);
    expect(quarantined(store)).toEqual([2]);
    expect(catalog.list('db', 'events')).toEqual([['a'], ['b']]);
    expect(catalog.locations('db', 'events')).toEqual(['s3://lake/tables/events/day=a/', 's3://lake/tables/events/day=b/']);
    const { state } = await readState(store, 'events', 't', 0);
    expect(state).toMatchObject({ committedOffset: 4, generation: 1, pending: null, lastCommit: { fromOffset: 0, toOffset: 4, files: 2, rows: 3, quarantined: 1 } });
    const manifest = JSON.parse(store.text(r.manifestKey!)!) as Manifest;
    expect(manifest).toMatchObject({ table: 'events', topic: 't', partition: 0, fromOffset: 0, toOffset: 4, generation: 1, fencedKeys: [] });
    expect(manifest.files.map((f) => [f.partitionValues, f.rows, f.firstOffset, f.lastOffset])).toEqual([
      [['a'], 2, 0, 3],
      [['b'], 1, 1, 1],
    ]);
    expect(manifest.quarantine).toEqual({ key: 'quarantine/events/t-0-00000000000000000000-00000000000000000004-g1.ndjson', records: 1 });
    expect(manifest.counts.in).toBe(manifest.counts.written + manifest.counts.quarantined + manifest.counts.filtered + manifest.counts.duplicates);
  });

  it('skips a fully committed redelivery without writing anything', async () => {
    const { store, deps } = setup();
    await commitPartition(deps, pipeline, 't', 0, [good(0), good(1)]);
    const puts = store.calls.put;
    const r = await commitPartition(deps, pipeline, 't', 0, [good(1), good(0)]);
    expect(r.counts).toEqual({ in: 2, written: 0, rows: 0, quarantined: 0, filtered: 0, duplicates: 2 });
    expect(store.calls.put).toBe(puts);
    expect(visible(store)).toEqual([0, 1]);
  });

  it('loads only the new tail of an overlapping redelivery; manifests stay contiguous across offset gaps', async () => {
    const { store, deps } = setup();
    await commitPartition(deps, pipeline, 't', 0, [good(0), good(1), good(2)]);
    const r = await commitPartition(deps, pipeline, 't', 0, [good(1), good(2), good(5), good(6)]); // 3-4 compacted away
    expect(r.counts.duplicates).toBe(2);
    expect(r.counts.written).toBe(2);
    expect(visible(store)).toEqual([0, 1, 2, 5, 6]);
    const m = JSON.parse(store.text(r.manifestKey!)!) as Manifest;
    expect([m.fromOffset, m.toOffset, m.generation]).toEqual([3, 6, 2]);
    expect(r.manifestKey).toBe('_lakeloader/manifests/events/t/0/00000000000000000005-00000000000000000006-g2.json');
  });

  it('fences the keys of an attempt that crashed after writing data, and lists them in the next manifest', async () => {
    const store = new MemoryStore();
    const faults = new FaultInjector({ crashAt: 4, phase: 'after' }); // get, pending put, data a, data b ← crash after
    const crashed = setup(faults.wrapStore(store) as MemoryStore);
    await expect(commitPartition(crashed.deps, pipeline, 't', 0, [good(0, 'a'), good(1, 'b'), rec(2, 'bad')])).rejects.toThrow(/injected crash after call #4/);
    expect(visible(store)).toEqual([0, 1]); // the crashed attempt's rows are visible (once) until fenced
    const pending = (await readState(store, 'events', 't', 0)).state.pending!;
    expect(pending.generation).toBe(1);
    expect(pending.keys).toHaveLength(4);

    const { deps } = setup(store);
    const r = await commitPartition(deps, pipeline, 't', 0, [good(0, 'a'), good(1, 'b'), rec(2, 'bad'), good(3, 'b')]);
    expect(r.generation).toBe(2);
    expect(r.fencedKeys).toBe(4);
    expect(visible(store)).toEqual([0, 1, 3]);
    expect(quarantined(store)).toEqual([2]);
    for (const k of pending.keys) {
      const body = store.text(k)!;
      if (k.endsWith('.parquet')) expect(body).toBe('EMPTY-PARQUET');
      else if (k.endsWith('.ndjson')) expect(body).toBe('');
      else expect(JSON.parse(body)).toEqual({ aborted: true });
    }
    const m = JSON.parse(store.text(r.manifestKey!)!) as Manifest;
    expect(m.fencedKeys).toEqual(pending.keys);
    expect((await readState(store, 'events', 't', 0)).state.pending).toBeNull();
  });

  it('fences out a stale writer that resumes after a newer attempt committed', async () => {
    const store = new MemoryStore();
    const faults = new FaultInjector();
    const pause = faults.pauseAt(3, 'before'); // stale attempt: get, pending put, ‖ data put
    const stale = setup(faults.wrapStore(store) as MemoryStore);
    const staleRun = commitPartition(stale.deps, pipeline, 't', 0, [good(0, 'a'), good(1, 'b')]);
    await pause.reached;

    const { deps } = setup(store);
    const r = await commitPartition(deps, pipeline, 't', 0, [good(0, 'a'), good(1, 'b'), good(2, 'a')]);
    expect(r.generation).toBe(2);
    pause.release();
    const err = await staleRun.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictingWriterError);
    expect((err as ConflictingWriterError).step).toMatch(/^data /);
    expect(visible(store)).toEqual([0, 1, 2]);
    expect((await readState(store, 'events', 't', 0)).state).toMatchObject({ committedOffset: 2, generation: 2, pending: null });
  });

  it('claims the generation before fencing, so a live earlier attempt commits intact or not at all', async () => {
    const store = new MemoryStore();
    // A: paused right before its commit PUT (state put with If-Match), everything else written.
    const a = new FaultInjector();
    const aPause = a.pauseAt((c) => c.operation === 's3.put' && c.key === stateKey('events', 't', 0) && c.n > 2);
    const aRun = commitPartition(setup(a.wrapStore(store) as MemoryStore).deps, pipeline, 't', 0, [good(0), good(1)]);
    await aPause.reached;
    // B: sees A's pending attempt; paused right before its own first state PUT (its claim).
    const b = new FaultInjector();
    const bPause = b.pauseAt((c) => c.operation === 's3.put' && c.key === stateKey('events', 't', 0));
    const bRun = commitPartition(setup(b.wrapStore(store) as MemoryStore).deps, pipeline, 't', 0, [good(0), good(1), good(2)]);
    await bPause.reached;
    expect(visible(store)).toEqual([0, 1]); // B has fenced nothing before claiming
    aPause.release();
    expect((await aRun).committedOffset).toBe(1); // A commits: nobody claimed yet
    bPause.release();
    await expect(bRun).rejects.toMatchObject({ name: 'ConflictingWriterError', step: 'pending state' });
    expect(visible(store)).toEqual([0, 1]); // A's rows survive
    const r = await commitPartition(setup(store).deps, pipeline, 't', 0, [good(0), good(1), good(2)]);
    expect(r.counts.duplicates).toBe(2);
    expect(visible(store)).toEqual([0, 1, 2]);
  });

  it('lets only one of two concurrent attempts claim the next generation', async () => {
    const store = new MemoryStore();
    const faults = new FaultInjector();
    const pause = faults.pauseAt(2, 'before'); // paused after its GET, before its pending PUT
    const a = setup(faults.wrapStore(store) as MemoryStore);
    const runA = commitPartition(a.deps, pipeline, 't', 0, [good(0)]);
    await pause.reached;
    await commitPartition(setup(store).deps, pipeline, 't', 0, [good(0), good(1)]);
    pause.release();
    await expect(runA).rejects.toMatchObject({ name: 'ConflictingWriterError', step: 'pending state' });
    expect(visible(store)).toEqual([0, 1]);
  });

  it('does not commit when Glue fails, and the retry registers and commits', async () => {
    const catalog = new MemoryCatalog();
    catalog.rejectEntry = (v) => (v[0] === 'b' ? 'InvalidInputException: nope' : undefined);
    const { store, deps } = setup(new MemoryStore(), catalog);
    await expect(commitPartition(deps, pipeline, 't', 0, [good(0, 'a'), good(1, 'b')])).rejects.toThrow(/rejected partition \[b\]/);
    expect((await readState(store, 'events', 't', 0)).state.committedOffset).toBeNull();
    catalog.rejectEntry = undefined;
    const r = await commitPartition(deps, pipeline, 't', 0, [good(0, 'a'), good(1, 'b')]);
    expect(r.committedOffset).toBe(1);
    expect(catalog.list('db', 'events')).toEqual([['a'], ['b']]);
    expect(visible(store)).toEqual([0, 1]);
  });

  it('registers nothing in partition projection mode', async () => {
    const projected = definePipeline({
  format: 'hive',
      name: 'events',
      topics: ['t'],
      valueFormat: 'json',
      columns: [
        { name: 'id', type: 'string', required: true },
        { name: 'day', type: 'string', required: true },
      ],
      partitioning: { by: 'columns', columns: ['day'] },
      partitionRegistration: 'projection',
    });
    const { catalog, deps } = setup();
    const r = await commitPartition(deps, projected, 't', 0, [good(0, 'a')]);
    expect(r.partitionsRegistered).toBe(0);
    expect(catalog.calls).toEqual([]);
  });

  it('uses the warm-container cache: known partitions are not registered again', async () => {
    const { catalog, deps } = setup();
    await commitPartition(deps, pipeline, 't', 0, [good(0, 'a'), good(1, 'b')]);
    await commitPartition(deps, pipeline, 't', 0, [good(2, 'a'), good(3, 'c')]);
    expect(catalog.calls).toEqual([2, 1]);
  });

  it('refuses a state object it cannot read, naming the key', async () => {
    const { store, deps } = setup();
    await store.put(stateKey('events', 't', 0), enc.encode('{"formatVersion":7}'));
    await expect(commitPartition(deps, pipeline, 't', 0, [good(0)])).rejects.toThrow(CommitStateError);
    await store.put(stateKey('events', 't', 0), enc.encode('garbage'));
    await expect(commitPartition(deps, pipeline, 't', 0, [good(0)])).rejects.toThrow(/_lakeloader\/state\/events\/t\/0\.json" is unreadable/);
  });
});
