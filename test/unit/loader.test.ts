/**
 * Loader orchestration: splitting the MSK event by the records' own coordinates, bounded
 * concurrency, and the aggregated error after every topic-partition has finished.
 */
import { describe, expect, it } from 'vitest';
import { PartitionRegistrar } from '../../lambdas/core/catalog';
import { settleLimited } from '../../lambdas/core/concurrency';
import { BatchLoadError, loadEvent, splitEvent, type LoaderDeps } from '../../lambdas/core/loader';
import { getPipeline } from '../../lib/pipelines';
import { defaultCodec } from '../../lambdas/loader/handler';
import { buildMskEvent } from '../../lib/local/msk-event';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';

const value = (o: number) => JSON.stringify({ event_id: `e${o}`, user_id: o, ts: '2026-03-04T05:06:07Z' });

describe('splitEvent', () => {
  it('groups by the records’ topic and partition, not by the map key (topics may contain "-")', () => {
    const event = buildMskEvent([
      { topic: 'a-1', partition: 2, offset: 5, timestamp: 0, value: '{}' },
      { topic: 'a', partition: 12, offset: 1, timestamp: 0, value: '{}' },
      { topic: 'a-1', partition: 2, offset: 6, timestamp: 0, value: '{}' },
    ]);
    // Simulate a map key that would be ambiguous if parsed.
    event.records = { 'a-1-2': event.records['a-1-2']!, 'a-12': event.records['a-12']! };
    expect(splitEvent(event).map((b) => [b.topic, b.partition, b.records.map((r) => r.offset)])).toEqual([
      ['a', 12, [1]],
      ['a-1', 2, [5, 6]],
    ]);
    expect(splitEvent({ eventSource: 'aws:kafka', records: {} })).toEqual([]);
  });
});

describe('settleLimited', () => {
  it('never runs more than the limit at once and waits for failures’ siblings', async () => {
    let active = 0;
    let peak = 0;
    const finished: number[] = [];
    const out = await settleLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setImmediate(r));
      active--;
      finished.push(n);
      if (n === 2) throw new Error('two');
      return n * 10;
    });
    expect(peak).toBe(3);
    expect(finished.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(out.map((s) => (s.ok ? s.value : 'x'))).toEqual([10, 'x', 30, 40, 50, 60, 70]);
  });
});

describe('loadEvent', () => {
  const pipeline = getPipeline('clickstream');
  const deps = (store: MemoryStore): LoaderDeps => ({
    store,
    codec: defaultCodec,
    bucket: 'lake',
    database: 'db',
    registrar: new PartitionRegistrar(new MemoryCatalog()),
    pipeline,
    concurrency: 2,
  });

  it('loads every topic-partition of the event', async () => {
    const store = new MemoryStore();
    const event = buildMskEvent([0, 1, 2].flatMap((p) => [0, 1].map((o) => ({ topic: 'clicks', partition: p, offset: o, timestamp: 0, value: value(o) }))));
    const results = await loadEvent(deps(store), event);
    expect(results.map((r) => [r.partition, r.committedOffset, r.counts.written])).toEqual([
      [0, 1, 2],
      [1, 1, 2],
      [2, 1, 2],
    ]);
    expect(store.keys('tables/')).toHaveLength(3);
  });

  it('finishes the healthy topic-partitions before throwing one BatchLoadError', async () => {
    const store = new MemoryStore();
    const event = buildMskEvent([0, 1, 2].map((p) => ({ topic: 'clicks', partition: p, offset: 0, timestamp: 0, value: value(0) })));
    const broken = { ...store, get: store.get.bind(store), list: store.list.bind(store), deleteMany: store.deleteMany.bind(store), put: (k: string, b: Uint8Array, o?: object) => (k.includes('clicks/0.json') ? Promise.reject(new Error('throttled')) : store.put(k, b, o)) };
    const err = await loadEvent({ ...deps(store), store: broken }, event).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchLoadError);
    const e = err as BatchLoadError;
    expect(e.failures.map((f) => f.partition)).toEqual([0]);
    expect(e.results.map((r) => r.partition)).toEqual([1, 2]);
    expect(store.keys('_lakeloader/state/')).toEqual(['_lakeloader/state/clickstream/clicks/1.json', '_lakeloader/state/clickstream/clicks/2.json']);
  });
});
