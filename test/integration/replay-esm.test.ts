/**
 * Re-driving the ESM's on-failure records (S3 destination) over the in-memory S3 and Glue
 * doubles: a discarded batch below the committed offset is recovered exactly once, records the
 * lake already holds are skipped, a batch above the committed offset goes through the loader's
 * commit path, and a record without payload needs Kafka access.
 */
import { describe, expect, it } from 'vitest';
import { PartitionRegistrar } from '../../lambdas/core/catalog';
import { readState } from '../../lambdas/core/commit';
import { ESM_FAILURES_PREFIX } from '../../lambdas/core/layout';
import { generateClickstreamRecords } from '../../lib/gen/records';
import { buildFailureRecord } from '../../lib/local/esm';
import { startKafkaBroker } from '../../lib/local/kafka/broker';
import { produceRecords } from '../../lib/local/kafka-client';
import { kafkaFetcher } from '../../lib/ops/kafka-fetch';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import { redriveEsmFailures, unresolvedFailureRecords } from '../../lib/ops/redrive';
import type { ReplayDeps } from '../../lib/ops/replay';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';
import { codec, loadRecords } from './ops-fixtures';
import { parquetMetadata } from './ops-parquet';

const BUCKET = 'lake';
const DB = 'lakeloader';

function rows(store: MemoryStore): number {
  return store.keys('tables/clickstream/').reduce((n, k) => n + parquetMetadata(store.objects.get(k)!.body), 0);
}

async function putFailure(store: MemoryStore, name: string, recs: ProducedRecord[], withPayload = true) {
  const event = buildMskEvent(recs);
  const record = buildFailureRecord({ event, payloadSize: 1, attempts: 3, functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:loader', error: new Error('boom') });
  const body = withPayload ? record : { ...record, payload: undefined };
  await store.put(`${ESM_FAILURES_PREFIX}uuid/${name}`, new TextEncoder().encode(JSON.stringify(body)));
}

describe('re-driving ESM on-failure records', () => {
  it('recovers a discarded batch below the committed offset once, skips what the lake holds, commits what is above', async () => {
    const store = new MemoryStore(100);
    const catalog = new MemoryCatalog();
    const env = { store, catalog, bucket: BUCKET, database: DB };
    const all = generateClickstreamRecords({ seed: 3, count: 300, malformed: 10, partitions: 1 }).records;
    const reference = new MemoryStore(100);
    await loadRecords({ ...env, store: reference, catalog: new MemoryCatalog() }, clickstream, all, 50);

    // The ESM discarded offsets 100..149 and moved on; the last batch (300..309) is discarded too.
    const discarded = all.slice(100, 150);
    const tail = all.slice(300);
    await loadRecords(env, clickstream, all.slice(0, 100), 50);
    await loadRecords(env, clickstream, all.slice(150, 300), 50);
    await putFailure(store, 'a', discarded);
    await putFailure(store, 'b', tail);
    // A failure record of a batch that did get committed on a later attempt: nothing to do.
    await putFailure(store, 'c', all.slice(0, 20));
    expect(rows(store)).toBeLessThan(rows(reference));
    const committedBefore = (await readState(store, 'clickstream', 'clicks', 0)).state.committedOffset;
    expect(committedBefore).toBe(299);

    const deps: ReplayDeps = { store, codec, registrar: new PartitionRegistrar(catalog), bucket: BUCKET, database: DB };
    expect((await unresolvedFailureRecords(store, clickstream)).map((u) => u.ranges).sort()).toEqual([['clicks-0@0..19'], ['clicks-0@100..149'], ['clicks-0@300..309']]);
    const dry = await redriveEsmFailures(deps, clickstream, { dryRun: true });
    expect(dry).toMatchObject({ failureRecords: 3, recovered: 50, committed: tail.length, present: 20 });
    expect(rows(store)).toBeLessThan(rows(reference));

    const s = await redriveEsmFailures(deps, clickstream);
    expect(s).toMatchObject({ failureRecords: 3, alreadyDone: 0, records: 50 + tail.length + 20, present: 20, recovered: 50, committed: tail.length });
    expect(rows(store)).toBe(rows(reference));
    expect((await readState(store, 'clickstream', 'clicks', 0)).state.committedOffset).toBe(all[all.length - 1]!.offset);

    expect(await unresolvedFailureRecords(store, clickstream)).toEqual([]);
    const again = await redriveEsmFailures(deps, clickstream);
    expect(again).toMatchObject({ alreadyDone: 3, recovered: 0, committed: 0 });
    expect(rows(store)).toBe(rows(reference));
  }, 60_000);

  it('a failure record without payload needs Kafka access (or a fetcher)', async () => {
    const store = new MemoryStore(100);
    const all = generateClickstreamRecords({ seed: 4, count: 40, partitions: 1 }).records;
    await putFailure(store, 'np', all.slice(0, 20), false);
    const deps: ReplayDeps = { store, codec, registrar: new PartitionRegistrar(new MemoryCatalog()), bucket: BUCKET, database: DB };
    const s = await redriveEsmFailures(deps, clickstream);
    expect(s.needKafka).toHaveLength(1);
    expect(rows(store)).toBe(0);
    const fetched = await redriveEsmFailures(deps, clickstream, {
      fetch: async (topic, partition, first, last) =>
        Object.values(buildMskEvent(all.filter((r) => r.topic === topic && r.partition === partition && r.offset >= first && r.offset <= last)).records).flat(),
    });
    expect(fetched).toMatchObject({ needKafka: [], committed: 20 });
    expect(rows(store)).toBe(20);
  }, 30_000);

  it('fetches the offsets of a payload-less failure record from Kafka (--brokers)', async () => {
    const broker = await startKafkaBroker({ port: 0 });
    try {
      const gen = generateClickstreamRecords({ seed: 5, count: 30, partitions: 1 }).records;
      await produceRecords({ brokers: [broker.bootstrap] }, gen, { expectOffsets: true });
      const store = new MemoryStore(100);
      await putFailure(store, 'kafka', gen.slice(5, 25), false);
      const deps: ReplayDeps = { store, codec, registrar: new PartitionRegistrar(new MemoryCatalog()), bucket: BUCKET, database: DB };
      const s = await redriveEsmFailures(deps, clickstream, { fetch: kafkaFetcher({ brokers: [broker.bootstrap] }) });
      expect(s).toMatchObject({ needKafka: [], records: 20, committed: 20 });
      expect(rows(store)).toBe(20);
      expect((await readState(store, 'clickstream', 'clicks', 0)).state.committedOffset).toBe(24);
    } finally {
      await broker.stop();
    }
  }, 60_000);
});
