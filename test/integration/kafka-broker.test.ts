/**
 * Conformance of the embedded Kafka broker (lib/local/kafka/) with clients this project did not
 * write: kafkajs and @platformatic/kafka (two independent pure-JS implementations of the
 * protocol, using different API versions: kafkajs non-flexible ones such as Fetch v11 and
 * Produce v7, @platformatic/kafka flexible ones such as Fetch v17 with topic ids), and
 * librdkafka through kcat when it is installed. Plus hand-made frames for what real clients
 * never send: hostile sizes, unknown APIs, bad CRCs, replayed and out-of-order idempotent batches.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin, Consumer, MessagesStreamModes, Producer, type Message } from '@platformatic/kafka';
import { CompressionTypes, Kafka, logLevel, type Consumer as KafkajsConsumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaBroker, type KafkaBroker } from '../../lib/local/kafka/broker';
import { ErrorCode } from '../../lib/local/kafka/errors';
import { handMadeBatch, hasKcat, produceV3Body, RawKafka, readProduceV3, registerKafkajsCodecs } from '../support/kafka';

let broker: KafkaBroker;
let kafkajs: Kafka;
const opts = (id: string) => ({ clientId: id, bootstrapBrokers: [broker.bootstrap], retries: 3, retryDelay: 100 });

beforeAll(async () => {
  await registerKafkajsCodecs();
  broker = await startKafkaBroker({ port: 0, partitions: 2, initialRebalanceDelayMs: 50 });
  kafkajs = new Kafka({ clientId: 'conformance', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
});
afterAll(async () => {
  await broker?.stop();
});

/** The messages every round trip sends: keys, values, headers, a null key, a null value, an empty value. */
function sample(n: number, tag: string) {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 5 === 0 ? null : `key-${tag}-${i}`,
    value: i % 7 === 3 ? null : i % 11 === 4 ? '' : JSON.stringify({ tag, i, text: 'é€😀'.repeat(i % 3) }),
    headers: i % 2 ? { h1: `v${i}`, empty: '' } : {},
  }));
}
type Sample = ReturnType<typeof sample>[number];

/** What a consumer got, normalized: key/value as strings (null kept), headers as [k, v] pairs. */
interface Got {
  offset: number;
  key: string | null;
  value: string | null;
  headers: [string, string][];
}
const expected = (s: Sample[]): Omit<Got, 'offset'>[] => s.map((m) => ({ key: m.key, value: m.value, headers: Object.entries(m.headers) }));

async function consumeKafkajs(topic: string, n: number, groupId = `kjs-${topic}`): Promise<Got[]> {
  const consumer = kafkajs.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: Got[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafkajs consumed ${got.length} of ${n}`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        got.push({
          offset: Number(message.offset),
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
          headers: Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        });
        if (got.length === n) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return got.sort((a, b) => a.offset - b.offset);
}

async function consumePlatformatic(topic: string, n: number, groupId = `plt-${topic}`): Promise<Got[]> {
  const consumer = new Consumer({ ...opts('plt-consumer'), groupId, maxWaitTime: 200 });
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: true });
  const got: Got[] = [];
  const timer = setTimeout(() => void stream.close(), 30_000);
  for await (const m of stream as AsyncIterable<Message>) {
    got.push({
      offset: Number(m.offset),
      key: m.key === undefined || m.key === null ? null : m.key.toString(),
      value: m.value === undefined || m.value === null ? null : m.value.toString(),
      headers: [...m.headers].map(([k, v]) => [k.toString(), v.toString()]),
    });
    if (got.length === n) break;
  }
  clearTimeout(timer);
  await stream.close();
  await consumer.close(true);
  expect(got.length).toBe(n);
  return got.sort((a, b) => a.offset - b.offset);
}

async function produceKafkajs(topic: string, messages: Sample[], compression: CompressionTypes): Promise<void> {
  const producer = kafkajs.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic, compression, acks: -1, messages: messages.map((m) => ({ ...m, partition: 0 })) });
  await producer.disconnect();
}

async function producePlatformatic(topic: string, messages: Sample[], compression: 'none' | 'gzip' | 'snappy' | 'lz4'): Promise<void> {
  const producer = new Producer({ ...opts('plt-producer'), idempotent: true, autocreateTopics: true });
  await producer.send({
    compression,
    messages: messages.map((m) => ({
      topic,
      partition: 0,
      key: m.key === null ? undefined : Buffer.from(m.key),
      value: m.value === null ? undefined : Buffer.from(m.value),
      headers: new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
    })),
  });
  await producer.close();
}

const kafkajsCodecs = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD } as const;
// @platformatic/kafka compresses zstd with node:zlib, which has zstd from Node 22.15 on.
const platformaticZstd = typeof (await import('node:zlib') as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';

describe('round trips: keys, headers, null and empty values intact with every codec, read back by both clients', () => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`kafkajs produces ${codec} → kafkajs and @platformatic/kafka consume`, async () => {
      const topic = `rt-kjs-${codec}`;
      const messages = sample(60, `kjs-${codec}`);
      await produceKafkajs(topic, messages, kafkajsCodecs[codec]);
      const a = await consumeKafkajs(topic, messages.length);
      expect(a.map((g) => g.offset)).toEqual(messages.map((_, i) => i));
      expect(a.map(({ offset: _, ...r }) => r)).toEqual(expected(messages));
      if (codec !== 'zstd' || platformaticZstd) {
        const b = await consumePlatformatic(topic, messages.length);
        expect(b.map(({ offset: _, ...r }) => r)).toEqual(expected(messages).map((m) => ({ ...m, value: m.value === '' ? '' : m.value })));
      }
    });
  }
  for (const codec of ['none', 'gzip', 'snappy', 'lz4'] as const) {
    it(`@platformatic/kafka produces ${codec} → kafkajs consumes`, async () => {
      const topic = `rt-plt-${codec}`;
      const messages = sample(60, `plt-${codec}`);
      await producePlatformatic(topic, messages, codec);
      const got = await consumeKafkajs(topic, messages.length);
      expect(got.map(({ offset: _, ...r }) => r)).toEqual(expected(messages));
    });
  }
  it.skipIf(!platformaticZstd)('@platformatic/kafka produces zstd (needs node:zlib zstd, Node ≥ 22.15)', async () => {
    const messages = sample(20, 'plt-zstd');
    await producePlatformatic('rt-plt-zstd', messages, 'zstd' as 'gzip');
    expect((await consumeKafkajs('rt-plt-zstd', messages.length)).length).toBe(20);
  });
});

describe('volume', () => {
  it('100,000 messages produced by @platformatic/kafka are consumed complete and in order by kafkajs', async () => {
    const topic = 'volume';
    const admin = kafkajs.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    await admin.disconnect();
    const producer = new Producer({ ...opts('volume'), idempotent: true });
    const N = 100_000;
    for (let i = 0; i < N; i += 2000) {
      await producer.send({ compression: 'lz4', messages: Array.from({ length: 2000 }, (_, j) => ({ topic, partition: (i + j) % 4, value: Buffer.from(`m${i + j}`) })) });
    }
    await producer.close();
    const consumer = kafkajs.consumer({ groupId: 'volume', maxWaitTimeInMs: 200, maxBytes: 10 * 1024 * 1024 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const last = new Map<number, number>();
    let count = 0;
    let inOrder = true;
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const seq = Number(m.value!.toString().slice(1));
            if (seq % 4 !== batch.partition || (last.get(batch.partition) ?? -1) >= seq) inOrder = false;
            last.set(batch.partition, seq);
            count++;
          }
          if (count >= N) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(count).toBe(N);
    expect(inOrder).toBe(true);
    expect([...last.values()].sort((a, b) => a - b)).toEqual([N - 4, N - 3, N - 2, N - 1]);
  }, 120_000);
});

describe('consumer groups', () => {
  /** Waits until `cond` holds, polling. */
  async function until(cond: () => boolean, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('kafkajs: two members split the partitions, and the survivor takes them all when one leaves', async () => {
    const topic = 'group-kjs';
    const admin = kafkajs.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    const members: { consumer: KafkajsConsumer; partitions: number[] }[] = [];
    for (let i = 0; i < 2; i++) {
      const consumer = kafkajs.consumer({ groupId: 'g-kjs', sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 200 });
      const m = { consumer, partitions: [] as number[] };
      consumer.on(consumer.events.GROUP_JOIN, (e) => (m.partitions = (e.payload.memberAssignment[topic] ?? []).slice().sort()));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      void consumer.run({ eachMessage: async () => undefined });
      members.push(m);
    }
    await until(() => members[0]!.partitions.length + members[1]!.partitions.length === 4 && members.every((m) => m.partitions.length === 2));
    const described = await admin.describeGroups(['g-kjs']);
    expect(described.groups[0]).toMatchObject({ state: 'Stable', protocolType: 'consumer' });
    expect(described.groups[0]!.members).toHaveLength(2);
    await members[1]!.consumer.disconnect(); // LeaveGroup
    await until(() => members[0]!.partitions.length === 4);
    expect((await admin.describeGroups(['g-kjs'])).groups[0]!.members).toHaveLength(1);
    await members[0]!.consumer.disconnect();
    expect((await admin.describeGroups(['g-kjs'])).groups[0]!.state).toBe('Empty');
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain('g-kjs');
    await admin.disconnect();
  }, 60_000);

  it('@platformatic/kafka: two members split the partitions and rebalance when one leaves', async () => {
    const topic = 'group-plt';
    const admin = new Admin(opts('plt-admin'));
    await admin.createTopics({ topics: [topic], partitions: 4, replicas: 1 });
    const c1 = new Consumer({ ...opts('plt-g1'), groupId: 'g-plt', sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTime: 200 });
    const c2 = new Consumer({ ...opts('plt-g2'), groupId: 'g-plt', sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTime: 200 });
    const s1 = await c1.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    const s2 = await c2.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    s1.resume();
    s2.resume();
    const owned = (c: Consumer) => (c.assignments ?? []).flatMap((a) => a.partitions).length;
    await until(() => owned(c1) === 2 && owned(c2) === 2);
    await s2.close();
    await c2.close(true);
    await until(() => owned(c1) === 4);
    const groups = await admin.describeGroups({ groups: ['g-plt'] });
    expect(groups.get('g-plt')!.members.size).toBe(1);
    await s1.close();
    await c1.close(true);
    await admin.close();
  }, 60_000);

  it('a member that stops sending heartbeats is removed after its session timeout', async () => {
    // A hand-made JoinGroup v0 (session timeout 1 s) for a member that never heartbeats, then SyncGroup.
    const raw = await RawKafka.open(broker.bootstrap);
    const str = (s: string) => {
      const b = Buffer.from(s);
      const l = Buffer.alloc(2);
      l.writeInt16BE(b.length);
      return Buffer.concat([l, b]);
    };
    const int32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    };
    const join = await raw.request(11, 0, 1, Buffer.concat([str('g-silent'), int32(1000), str(''), str('consumer'), int32(1), str('range'), int32(0)]));
    expect(join.readInt16BE(4)).toBe(0);
    const generation = join.readInt32BE(6);
    const memberIdAt = 10 + 2 + join.readInt16BE(10); // protocol name, then leader
    const leader = join.subarray(memberIdAt + 2, memberIdAt + 2 + join.readInt16BE(memberIdAt)).toString();
    const sync = await raw.request(14, 0, 2, Buffer.concat([str('g-silent'), int32(generation), str(leader), int32(0)]));
    expect(sync.readInt16BE(4)).toBe(0);
    const admin = kafkajs.admin();
    await admin.connect();
    expect((await admin.describeGroups(['g-silent'])).groups[0]!.members).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1800));
    const after = (await admin.describeGroups(['g-silent'])).groups[0]!;
    expect(after.members).toHaveLength(0);
    expect(after.state).toBe('Empty');
    // Its heartbeat is now refused with UNKNOWN_MEMBER_ID.
    const hb = await raw.request(12, 0, 3, Buffer.concat([str('g-silent'), int32(generation), str(leader)]));
    expect(hb.readInt16BE(4)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    await admin.disconnect();
    raw.close();
  }, 30_000);
});

describe('persistence', () => {
  it('topics, records and committed offsets survive a broker restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kafka-persist-'));
    try {
      let b = await startKafkaBroker({ port: 0, dataDir: dir });
      let k = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
      const admin = k.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
      const p = k.producer({ idempotent: true });
      await p.connect();
      await p.send({ topic: 'kept', compression: CompressionTypes.GZIP, messages: Array.from({ length: 30 }, (_, i) => ({ partition: i % 3, key: `k${i}`, value: `v${i}` })) });
      await p.disconnect();
      await admin.setOffsets({ groupId: 'kept-group', topic: 'kept', partitions: [{ partition: 0, offset: '7' }, { partition: 2, offset: '3' }] });
      await admin.disconnect();
      await b.stop();

      b = await startKafkaBroker({ port: 0, dataDir: dir });
      k = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
      const admin2 = k.admin();
      await admin2.connect();
      expect((await admin2.fetchTopicOffsets('kept')).map((o) => [o.partition, o.high]).sort()).toEqual([[0, '10'], [1, '10'], [2, '10']]);
      const offsets = await admin2.fetchOffsets({ groupId: 'kept-group', topics: ['kept'] });
      expect(offsets[0]!.partitions.sort((a, b) => a.partition - b.partition).map((x) => x.offset)).toEqual(['7', '-1', '3']);
      const configs = await admin2.describeConfigs({ resources: [{ type: 2, name: 'kept', configNames: ['retention.ms'] }], includeSynonyms: false });
      expect(configs.resources[0]!.configEntries[0]).toMatchObject({ configName: 'retention.ms', configValue: '3600000', isDefault: false });
      await admin2.disconnect();
      // The records are intact, and a consumer of the group resumes at the committed offsets.
      const c = k.consumer({ groupId: 'kept-group', maxWaitTimeInMs: 200 });
      await c.connect();
      await c.subscribe({ topic: 'kept', fromBeginning: true });
      const got: string[] = [];
      await new Promise<void>((resolve) => void c.run({ eachMessage: async ({ partition, message }) => void (got.push(`${partition}:${message.offset}:${message.value}`), got.length === 20 && resolve()) }));
      await c.disconnect();
      expect(got.filter((g) => g.startsWith('0:')).map((g) => g.split(':')[1])).toEqual(['7', '8', '9']);
      expect(got.filter((g) => g.startsWith('2:')).length).toBe(7);
      expect(got).toContain('1:0:v1');
      await b.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('offsets, admin and idle consumers', () => {
  it('ListOffsets: earliest, latest and by timestamp, also inside a compressed batch', async () => {
    const topic = 'by-time';
    const p = kafkajs.producer();
    await p.connect();
    const t0 = 1_800_000_000_000;
    await p.send({ topic, compression: CompressionTypes.GZIP, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}`, timestamp: String(t0 + i * 1000) })) });
    await p.send({ topic, messages: [{ partition: 0, value: 'late', timestamp: String(t0 + 60_000) }] });
    await p.disconnect();
    const admin = kafkajs.admin();
    await admin.connect();
    const at = async (ts: number) => (await admin.fetchTopicOffsetsByTimestamp(topic, ts)).find((o) => o.partition === 0)!.offset;
    expect(await at(t0 + 3500)).toBe('4');
    expect(await at(t0)).toBe('0');
    expect(await at(t0 + 30_000)).toBe('10');
    expect(await at(t0 + 120_000)).toBe('11'); // none at or after: the end
    const offsets = (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === 0)!;
    expect(offsets).toMatchObject({ low: '0', high: '11' });
    await admin.disconnect();
  });

  it('CreateTopics, CreatePartitions, DescribeConfigs and DeleteTopics through both admin clients', async () => {
    const plt = new Admin(opts('plt-admin2'));
    const created = await plt.createTopics({ topics: ['adm'], partitions: 2, replicas: 1, configs: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] });
    expect(created[0]).toMatchObject({ name: 'adm', partitions: 2 });
    await expect(plt.createTopics({ topics: ['adm'], partitions: 2, replicas: 1 })).rejects.toThrow();
    await plt.createPartitions({ topics: [{ name: 'adm', count: 5, assignments: [] }] });
    const admin = kafkajs.admin();
    await admin.connect();
    expect((await admin.fetchTopicMetadata({ topics: ['adm'] })).topics[0]!.partitions).toHaveLength(5);
    const refusal = async (topic: { topic: string; replicationFactor?: number }) =>
      ((await admin.createTopics({ topics: [topic] }).catch((e: { errors?: { type: string }[] }) => e)) as { errors?: { type: string }[] }).errors?.map((x) => x.type);
    expect(await refusal({ topic: 'bad/name' })).toEqual(['INVALID_TOPIC_EXCEPTION']);
    expect(await refusal({ topic: 'rf3', replicationFactor: 3 })).toEqual(['INVALID_REPLICATION_FACTOR']);
    const d = await admin.describeConfigs({ resources: [{ type: 2, name: 'adm' }], includeSynonyms: false });
    expect(d.resources[0]!.configEntries.find((c) => c.configName === 'message.timestamp.type')).toMatchObject({ configValue: 'LogAppendTime', isDefault: false });
    // LogAppendTime: the broker's clock replaces the producer's timestamp.
    const p = kafkajs.producer();
    await p.connect();
    const before = Date.now();
    await p.send({ topic: 'adm', messages: [{ partition: 0, value: 'x', timestamp: '1000' }] });
    await p.disconnect();
    const c = kafkajs.consumer({ groupId: 'adm-ts', maxWaitTimeInMs: 200 });
    await c.connect();
    await c.subscribe({ topic: 'adm', fromBeginning: true });
    const got = await new Promise<number>((resolve) => void c.run({ eachMessage: async ({ message }) => resolve(Number(message.timestamp)) }));
    await c.disconnect();
    expect(got).toBeGreaterThanOrEqual(before - 1000);
    await plt.deleteTopics({ topics: ['adm'] });
    expect(await admin.listTopics()).not.toContain('adm');
    await admin.disconnect();
    await plt.close();
  }, 30_000);

  it('an idle consumer long-polls: Fetch requests wait for max-wait instead of spinning', async () => {
    const topic = 'idle';
    const idle = new Kafka({ clientId: 'idle-consumer', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const c = idle.consumer({ groupId: 'idle', maxWaitTimeInMs: 1000 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    void c.run({ eachMessage: async () => undefined });
    await new Promise((r) => setTimeout(r, 1500)); // joined and fetching
    const before = broker.requests['Fetch@idle-consumer'] ?? 0;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const fetches = (broker.requests['Fetch@idle-consumer'] ?? 0) - before;
    const seconds = (Date.now() - t0) / 1000;
    await c.disconnect();
    // One fetch per max-wait (1 s), give or take: a broker that answered at once would see hundreds.
    expect(fetches).toBeGreaterThan(0);
    expect(fetches).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
  }, 30_000);

  it('a long poll returns as soon as a record arrives', async () => {
    const topic = 'wake';
    const c = kafkajs.consumer({ groupId: 'wake', maxWaitTimeInMs: 10_000 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    let receivedAt = 0;
    void c.run({ eachMessage: async () => void (receivedAt = Date.now()) });
    await new Promise((r) => setTimeout(r, 1500));
    const p = kafkajs.producer();
    await p.connect();
    const sentAt = Date.now();
    await p.send({ topic, messages: [{ value: 'now' }] });
    await p.disconnect();
    while (!receivedAt && Date.now() - sentAt < 9000) await new Promise((r) => setTimeout(r, 20));
    await c.disconnect();
    expect(receivedAt).toBeGreaterThan(0);
    expect(receivedAt - sentAt).toBeLessThan(5000); // well before the 10 s max-wait
  }, 30_000);
});

describe('idempotent producers and transactions', () => {
  it('a retried batch (same producer id and sequence) is acknowledged with its first offset and written once; a gap is refused', async () => {
    const init = await kafkajs.producer({ idempotent: true });
    await init.connect();
    await init.send({ topic: 'idem', messages: [{ partition: 0, value: 'warm-up' }] }); // creates the topic
    await init.disconnect();
    const raw = await RawKafka.open(broker.bootstrap);
    const pid = 424_242n;
    const send = async (id: number, seq: number, values: string[]) => readProduceV3(await raw.request(0, 3, id, produceV3Body('idem', 0, handMadeBatch(values, { producerId: pid, producerEpoch: 0, baseSequence: seq }))));
    const first = await send(1, 0, ['a', 'b']);
    expect(first.errorCode).toBe(0);
    const again = await send(2, 0, ['a', 'b']);
    expect(again).toMatchObject({ errorCode: 0, baseOffset: first.baseOffset });
    const next = await send(3, 2, ['c']);
    expect(next).toMatchObject({ errorCode: 0, baseOffset: first.baseOffset + 2n });
    const gap = await send(4, 9, ['z']);
    expect(gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    raw.close();
    const admin = kafkajs.admin();
    await admin.connect();
    expect((await admin.fetchTopicOffsets('idem')).find((o) => o.partition === 0)!.high).toBe(String(Number(first.baseOffset) + 3));
    await admin.disconnect();
  });

  it('transactions are refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, at once', async () => {
    const p = kafkajs.producer({ transactionalId: 'tx-1', maxInFlightRequests: 1, idempotent: true, retry: { retries: 2, initialRetryTime: 50 } });
    await p.connect();
    const t0 = Date.now();
    const err = await p.transaction().catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/authoriz/i);
    expect(Date.now() - t0).toBeLessThan(5000);
    await p.disconnect();
  });

  it('read_committed consumers (the @platformatic/kafka default) see every record: without transactions the stable offset is the high watermark', async () => {
    await produceKafkajs('rc', sample(5, 'rc'), CompressionTypes.None);
    const got = await consumePlatformatic('rc', 5);
    expect(got).toHaveLength(5);
  });
});

describe('hostile frames: answered with errors while the broker keeps serving', () => {
  it('an unknown API key gets UNSUPPORTED_VERSION and the connection stays usable', async () => {
    const raw = await RawKafka.open(broker.bootstrap);
    const r = await raw.request(999, 0, 77);
    expect(r.readInt32BE(0)).toBe(77);
    expect(r.readInt16BE(4)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const ok = await raw.request(18, 0, 78);
    expect(ok.readInt32BE(0)).toBe(78);
    expect(ok.readInt16BE(4)).toBe(0);
    raw.close();
  });

  it('ApiVersions at a version the broker lacks is answered in v0 form with the supported list (KIP-511)', async () => {
    const raw = await RawKafka.open(broker.bootstrap);
    const r = await raw.request(18, 99, 5);
    expect(r.readInt16BE(4)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const n = r.readInt32BE(6);
    const keys = Array.from({ length: n }, (_, i) => r.readInt16BE(10 + i * 6));
    expect(keys).toEqual(expect.arrayContaining([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 22, 32, 37]));
    // Transactions (AddPartitionsToTxn 24, EndTxn 26) and SASL (17, 36) are not offered.
    expect(keys).not.toContain(24);
    expect(keys).not.toContain(17);
    raw.close();
  });

  it('a truncated request body gets INVALID_REQUEST; a produce with a bad CRC gets CORRUPT_MESSAGE', async () => {
    const raw = await RawKafka.open(broker.bootstrap);
    const body = Buffer.alloc(6);
    body.writeInt32BE(3, 0); // Metadata v1: three topics follow … but the body ends
    const r = await raw.request(3, 1, 9, body);
    expect(r.readInt16BE(4)).toBe(ErrorCode.INVALID_REQUEST);
    const bad = readProduceV3(await raw.request(0, 3, 10, produceV3Body('crc', 0, handMadeBatch(['x'], { corruptCrc: true }))));
    expect(bad.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const good = readProduceV3(await raw.request(0, 3, 11, produceV3Body('crc', 0, handMadeBatch(['x']))));
    expect(good).toMatchObject({ errorCode: 0, baseOffset: 0n });
    raw.close();
  });

  it('a negative or oversized frame size closes that connection only; others are served', async () => {
    for (const size of [-5, 200 * 1024 * 1024]) {
      const raw = await RawKafka.open(broker.bootstrap);
      const b = Buffer.alloc(4);
      b.writeInt32BE(size);
      raw.write(b);
      expect(await raw.closedWithin(3000)).toBe(true);
    }
    const admin = kafkajs.admin();
    await admin.connect();
    expect(Array.isArray(await admin.listTopics())).toBe(true);
    await admin.disconnect();
  });
});

const KCAT_REASON = 'kcat (librdkafka) is not installed; on Debian: apt-get install kcat';
describe.skipIf(!hasKcat())(`librdkafka (kcat) — ${hasKcat() ? 'installed' : KCAT_REASON}`, () => {
  /** Runs kcat asynchronously (the broker lives in this process: a synchronous spawn would block it). */
  const kcat = (args: string[], input?: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('kcat', ['-b', broker.bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
      child.stdin.end(input ?? '');
    });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`kcat produces ${codec} with keys and headers; kcat and kafkajs consume`, async () => {
      const topic = `kcat-${codec}`;
      const lines = Array.from({ length: 50 }, (_, i) => `k${i}:value-${i}`).join('\n');
      const produced = await kcat(['-P', '-t', topic, '-p', '0', '-K', ':', '-z', codec, '-H', 'h=1'], lines);
      expect(produced.status, produced.stderr).toBe(0);
      const consumed = await kcat(['-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-f', '%k=%s;%h\\n']);
      expect(consumed.status, consumed.stderr).toBe(0);
      expect(consumed.stdout.trim().split('\n')).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}=value-${i};h=1`));
      const got = await consumeKafkajs(topic, 50);
      expect(got.map((g) => `${g.key}=${g.value}`)).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}=value-${i}`));
    });
  }

  it('a kcat consumer group (-G) reads what kafkajs produced and commits its offsets', async () => {
    await produceKafkajs('kcat-group', sample(30, 'kg'), CompressionTypes.GZIP);
    const child = spawn('kcat', ['-b', broker.bootstrap, '-G', 'kcat-g', '-o', 'beginning', '-e', '-f', '%o\\n', 'kcat-group'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve) => child.once('close', () => resolve()));
    expect(out.trim().split('\n').length).toBe(30);
    const admin = kafkajs.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: 'kcat-g', topics: ['kcat-group'] });
    expect(offsets[0]!.partitions.find((p) => p.partition === 0)!.offset).toBe('30');
    await admin.disconnect();
  }, 60_000);
});
