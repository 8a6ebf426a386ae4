import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startLocalEndpoint } from '../../lib/local/server';
import { MAX_PAYLOAD_BYTES, startLocalEsm, type EsmFailureRecord, type LocalEventSourceMapping } from '../../lib/local/esm';
import { Kafka, logLevel } from 'kafkajs';
import { startKafkaBroker, type KafkaBroker } from '../../lib/local/kafka/broker';
import type { MskEvent } from '../../lambdas/core/model';

// The ESM consumes with the project's client (@platformatic/kafka) from the embedded broker; the
// records are produced and the group's offsets read back with another client, kafkajs.
let broker: KafkaBroker;
let kafka: Kafka;
const running: LocalEventSourceMapping[] = [];

beforeAll(async () => {
  broker = await startKafkaBroker({ port: 0, partitions: 4 });
  kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
}, 30_000);
afterAll(async () => {
  for (const e of running) await e.stop();
  await broker?.stop();
});

/** Creates a topic of 4 partitions unless it exists; its batches may reach 16 MB (the 6 MB payload case sends 5 MB ones). */
async function ensureTopic(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 4, configEntries: [{ name: 'max.message.bytes', value: String(16 * 1024 * 1024) }] }] });
  await admin.disconnect();
}

/** Produces `perPartition` records to each of `partitions`; value = {p, seq, pad}. */
async function produce(topic: string, partitions: number[], perPartition: number, padBytes = 0, base = 0): Promise<void> {
  await ensureTopic(topic);
  const producer = kafka.producer();
  await producer.connect();
  const pad = 'x'.repeat(padBytes);
  for (const p of partitions) {
    for (let i = 0; i < perPartition; i += 50) {
      const n = Math.min(50, perPartition - i);
      await producer.send({
        topic,
        messages: Array.from({ length: n }, (_, j) => ({ partition: p, key: `k${p}`, value: JSON.stringify({ p, seq: base + i + j, pad }), headers: { h: 'v' } })),
      });
    }
  }
  await producer.disconnect();
}

const decode = (v: string | undefined) => JSON.parse(Buffer.from(v!, 'base64').toString('utf8')) as { p: number; seq: number };
const countOf = (e: MskEvent) => Object.values(e.records).reduce((n, r) => n + r.length, 0);

async function groupOffsets(groupId: string, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const o = await admin.fetchOffsets({ groupId, topics: [topic] });
    return o[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  } finally {
    await admin.disconnect();
  }
}

/** Checks that, per partition, the delivered offsets are 0..n-1 in order, each exactly once, with values matching. */
function expectOrderedAndComplete(events: MskEvent[], expected: Record<number, number>): void {
  const byPartition = new Map<number, number[]>();
  for (const e of events) {
    for (const [tp, recs] of Object.entries(e.records)) {
      for (const r of recs) {
        expect(tp).toBe(`${r.topic}-${r.partition}`);
        expect(decode(r.value)).toMatchObject({ p: r.partition, seq: r.offset });
        (byPartition.get(r.partition) ?? byPartition.set(r.partition, []).get(r.partition)!).push(r.offset);
      }
    }
  }
  for (const [p, n] of Object.entries(expected)) {
    expect(byPartition.get(Number(p))).toEqual(Array.from({ length: n }, (_, i) => i));
  }
}

describe.concurrent('local event source mapping (against the embedded broker)', () => {
  it('caps batches at batchSize, keeps per-partition order and builds the MSK event shape', async () => {
    await produce('esm-size', [0, 1, 2, 3], 130);
    const events: MskEvent[] = [];
    const esm = await startLocalEsm({ brokers: [broker.bootstrap], topics: ['esm-size'], groupId: 'g-size', batchSize: 100, batchingWindowMs: 2000, handler: (e) => void events.push(e) });
    running.push(esm);
    const progress = await esm.waitForCaughtUp(60_000);
    await esm.stop();
    expect(progress.delivered).toBe(520);
    expect(progress.lag).toBe(0);
    for (const e of events) {
      expect(e.eventSource).toBe('aws:kafka');
      expect(e.bootstrapServers).toBe(broker.bootstrap);
      expect(countOf(e)).toBeLessThanOrEqual(100);
    }
    expect(events.filter((e) => countOf(e) === 100).length).toBeGreaterThanOrEqual(4);
    const r = Object.values(events[0]!.records)[0]![0]!;
    expect(r).toMatchObject({ topic: 'esm-size', timestampType: 'CREATE_TIME', headers: [{ h: [...Buffer.from('v')] }] });
    expect(Buffer.from(r.key!, 'base64').toString()).toBe(`k${r.partition}`);
    expectOrderedAndComplete(events, { 0: 130, 1: 130, 2: 130, 3: 130 });
    expect(await groupOffsets('g-size', 'esm-size')).toEqual([130, 130, 130, 130]);
  }, 60_000);

  it('splits batches at the 6 MB payload cap', async () => {
    // 90 records of ~100 KB (≈ 133 KB each once base64'd): ≈ 12 MB of event JSON in all.
    await produce('esm-bytes', [0, 1], 45, 100_000);
    const sizes: number[] = [];
    const events: MskEvent[] = [];
    const esm = await startLocalEsm({
      brokers: [broker.bootstrap],
      topics: ['esm-bytes'],
      groupId: 'g-bytes',
      batchingWindowMs: 3000,
      handler: (e) => {
        sizes.push(Buffer.byteLength(JSON.stringify(e)));
        events.push(e);
      },
    });
    running.push(esm);
    await esm.waitForCaughtUp(60_000);
    await esm.stop();
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    for (const s of sizes) expect(s).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    // Full batches are close to the cap: the cap, not the window, cut them.
    expect(Math.max(...sizes)).toBeGreaterThan(MAX_PAYLOAD_BYTES - 200_000);
    expectOrderedAndComplete(events, { 0: 45, 1: 45 });
  }, 60_000);

  it('waits for the batching window to collect records that arrive apart, then invokes without a full batch', async () => {
    await ensureTopic('esm-window');
    const events: MskEvent[] = [];
    const esm = await startLocalEsm({ brokers: [broker.bootstrap], topics: ['esm-window'], groupId: 'g-window', batchingWindowMs: 4000, handler: (e) => void events.push(e) });
    running.push(esm);
    // Two produce calls a moment apart, both well inside one 4 s window: one invocation.
    await produce('esm-window', [0], 3);
    await new Promise((r) => setTimeout(r, 400));
    await produce('esm-window', [0], 4, 0, 3);
    await esm.waitForCaughtUp(30_000);
    expect(events.map(countOf)).toEqual([7]);
    // Later records form the next batch (the window did not wait for 10,000).
    await produce('esm-window', [0], 3, 0, 7);
    await esm.waitForCaughtUp(30_000);
    await esm.stop();
    expect(events.map(countOf)).toEqual([7, 3]);
    expectOrderedAndComplete(events, { 0: 10 });
  }, 60_000);

  it('commits offsets only after the handler succeeded', async () => {
    await produce('esm-commit', [0, 1], 20);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    const esm = await startLocalEsm({
      brokers: [broker.bootstrap],
      topics: ['esm-commit'],
      groupId: 'g-commit',
      batchingWindowMs: 300,
      handler: async () => {
        entered();
        await gate;
      },
    });
    running.push(esm);
    await inHandler;
    // The handler is running: nothing may be committed yet.
    expect(await groupOffsets('g-commit', 'esm-commit')).toEqual([-1, -1, -1, -1]);
    expect(esm.progress().committed).toBe(0);
    release();
    await esm.waitForCaughtUp(30_000);
    await esm.stop();
    expect((await groupOffsets('g-commit', 'esm-commit')).slice(0, 2)).toEqual([20, 20]);
  }, 60_000);

  it('a restarted ESM with the same group resumes after the committed offsets; an uncommitted batch is redelivered', async () => {
    await produce('esm-resume', [0], 30);
    const first: MskEvent[] = [];
    let failing = true;
    const esm1 = await startLocalEsm({
      brokers: [broker.bootstrap],
      topics: ['esm-resume'],
      groupId: 'g-resume',
      batchSize: 10,
      batchingWindowMs: 100,
      maxRetryAttempts: 1000,
      retryBaseDelayMs: 20,
      retryMaxDelayMs: 20,
      handler: (e) => {
        const offsets = Object.values(e.records).flat().map((r) => r.offset);
        if (offsets[0] === 20 && failing) throw new Error('stuck');
        first.push(e);
      },
    });
    running.push(esm1);
    // Wait until it is stuck on the third batch, then stop it: offsets 20.. are not committed.
    while (esm1.progress().failedAttempts < 3) await new Promise((r) => setTimeout(r, 20));
    await esm1.stop(); // stopped while retrying: the failing batch stays uncommitted
    failing = false;
    const committedAfterStop = (await groupOffsets('g-resume', 'esm-resume'))[0]!;
    expect(committedAfterStop).toBe(20);
    const second: MskEvent[] = [];
    const esm2 = await startLocalEsm({ brokers: [broker.bootstrap], topics: ['esm-resume'], groupId: 'g-resume', batchingWindowMs: 100, handler: (e) => void second.push(e) });
    running.push(esm2);
    await esm2.waitForCaughtUp(30_000);
    await esm2.stop();
    const secondOffsets = second.flatMap((e) => Object.values(e.records).flat().map((r) => r.offset));
    expect(secondOffsets[0]).toBe(committedAfterStop);
    expect(secondOffsets.at(-1)).toBe(29);
    expect(new Set([...first.flatMap((e) => Object.values(e.records).flat().map((r) => r.offset)), ...secondOffsets]).size).toBe(30);
  }, 60_000);

  it('retries with backoff, then writes the on-failure record to S3 and moves on', async () => {
    await produce('esm-fail', [0, 1], 5);
    // The on-failure destination is the local S3 endpoint, through the real SDK client.
    const dir = await mkdtemp(join(tmpdir(), 'esm-fail-'));
    const ep = await startLocalEndpoint({ port: 0, dataDir: dir });
    const s3 = new S3Client({ endpoint: ep.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await s3.send(new CreateBucketCommand({ Bucket: 'lake' }));
    const calls: number[] = [];
    const esm = await startLocalEsm({
      brokers: [broker.bootstrap],
      topics: ['esm-fail'],
      groupId: 'g-fail',
      batchingWindowMs: 500,
      maxRetryAttempts: 2,
      retryBaseDelayMs: 10,
      uuid: 'esm-uuid-1',
      onFailure: { s3, bucket: 'lake' },
      handler: (e) => {
        calls.push(countOf(e));
        throw new Error('loader exploded');
      },
    });
    running.push(esm);
    const progress = await esm.waitForCaughtUp(30_000);
    await esm.stop();
    const invocations = calls.length;
    expect(invocations % 3).toBe(0); // 1 attempt + 2 retries per batch
    expect(progress.discarded).toBe(10);
    expect(progress.delivered).toBe(0);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'lake', Prefix: 'aws/lambda/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    expect(keys.length).toBe(invocations / 3);
    expect([...progress.failureRecords].sort()).toEqual([...keys].sort());
    const puts: { Key: string; Body: string }[] = [];
    for (const Key of keys) puts.push({ Key, Body: await (await s3.send(new GetObjectCommand({ Bucket: 'lake', Key }))).Body!.transformToString() });
    await ep.close();
    await rm(dir, { recursive: true, force: true });
    const seen = new Map<string, { first: number; last: number }>();
    for (const put of puts) {
      expect(put.Key).toMatch(/^aws\/lambda\/esm-uuid-1\/esm-fail-\d\/\d{4}\/\d{2}\/\d{2}\/\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}-[0-9a-f-]{36}$/);
      const rec = JSON.parse(String(put.Body)) as EsmFailureRecord;
      expect(rec.version).toBe('1.0');
      expect(rec.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 });
      expect(rec.responseContext).toMatchObject({ functionError: 'Unhandled', statusCode: 200 });
      expect(rec.responseContext.errorMessage).toContain('loader exploded');
      expect(rec.KafkaBatchInfo.bootstrapServers).toBe(broker.bootstrap);
      expect(rec.KafkaBatchInfo.payloadSize).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(rec.payload)));
      expect(rec.KafkaBatchInfo.batchSize).toBe(countOf(rec.payload));
      for (const [tp, info] of Object.entries(rec.KafkaBatchInfo.recordsInfo)) {
        expect(info.firstRecordTimestamp).toMatch(/^\d{4}-\d{2}-\d{2}T/);
        const prev = seen.get(tp);
        expect(Number(info.lastRecordOffset) - Number(info.firstRecordOffset) + 1).toBe(rec.payload.records[tp]!.length);
        seen.set(tp, { first: Math.min(prev?.first ?? Infinity, Number(info.firstRecordOffset)), last: Math.max(prev?.last ?? -1, Number(info.lastRecordOffset)) });
      }
    }
    expect(Object.fromEntries(seen)).toEqual({ 'esm-fail-0': { first: 0, last: 4 }, 'esm-fail-1': { first: 0, last: 4 } });
    expect((await groupOffsets('g-fail', 'esm-fail')).slice(0, 2)).toEqual([5, 5]);
  }, 60_000);
});
