/**
 * The project's Kafka client: @platformatic/kafka (maintained, pure TypeScript, no native addon),
 * for the embedded broker (lib/local/kafka/) and for real clusters alike — the local event source
 * mapping, `lakeloader produce` and `topics`, the demo, and the replay of ESM failure records.
 * This module holds the connection settings (TLS, SASL) and the few admin and produce helpers
 * those share.
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Admin, Producer, ProduceAcks, type BaseOptions } from '@platformatic/kafka';
import type { ProducedRecord } from './msk-event';
import { LakeloaderError } from '../../lambdas/core/errors';

/** How to reach a Kafka cluster. */
export interface KafkaConnection {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  /** TLS (`true` for the system CAs, or Node TLS options). @default plaintext */
  tls?: boolean | TlsOptions;
  /** SASL authentication (MSK: SCRAM-SHA-512 over TLS). */
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string };
  /** @default 'lakeloader' */
  clientId?: string;
}

/** Thrown when a connection setting is invalid. */
export class KafkaConnectionError extends LakeloaderError {
  readonly code = 'KAFKA_CONNECTION';
  constructor(message: string) {
    super(message);
  }
}

/** The client options of a connection (for Producer, Consumer and Admin). */
export function clientOptions(conn: KafkaConnection, clientId = conn.clientId ?? 'lakeloader'): BaseOptions {
  if (!conn.brokers.length) throw new KafkaConnectionError('name at least one bootstrap broker (host:port)');
  for (const b of conn.brokers) if (!/^[^\s:]+:\d{1,5}$/.test(b)) throw new KafkaConnectionError(`a bootstrap broker is host:port, got "${b}"`);
  return {
    clientId,
    bootstrapBrokers: conn.brokers,
    retries: 5,
    retryDelay: 100,
    ...(conn.tls ? { tls: conn.tls === true ? {} : conn.tls } : {}),
    ...(conn.sasl ? { sasl: { mechanism: conn.sasl.mechanism, username: conn.sasl.username, password: conn.sasl.password } } : {}),
  };
}

/**
 * Reads the connection flags the Kafka commands share: `--bootstrap host:port[,…]`, `--tls`,
 * `--sasl-mechanism`, `--sasl-username`, and the password from `--sasl-password` or, better,
 * `LAKELOADER_KAFKA_PASSWORD` (so it stays out of the shell history).
 */
export function connectionFromFlags(flags: { bootstrap?: string; tls?: boolean; saslMechanism?: string; saslUsername?: string; saslPassword?: string }, env = process.env): KafkaConnection {
  const brokers = (flags.bootstrap ?? '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const conn: KafkaConnection = { brokers, ...(flags.tls ? { tls: true } : {}) };
  if (flags.saslMechanism) {
    const mechanism = flags.saslMechanism.toUpperCase();
    if (mechanism !== 'PLAIN' && mechanism !== 'SCRAM-SHA-256' && mechanism !== 'SCRAM-SHA-512') {
      throw new KafkaConnectionError(`--sasl-mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got "${flags.saslMechanism}"`);
    }
    const password = flags.saslPassword ?? env.LAKELOADER_KAFKA_PASSWORD;
    if (!flags.saslUsername || password === undefined) throw new KafkaConnectionError('SASL needs --sasl-username and a password (LAKELOADER_KAFKA_PASSWORD or --sasl-password)');
    conn.sasl = { mechanism, username: flags.saslUsername, password };
  }
  return conn;
}

/** Runs `fn` with an admin client, closing it afterwards. */
export async function withAdmin<T>(conn: KafkaConnection, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(clientOptions(conn, `${conn.clientId ?? 'lakeloader'}-admin`));
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/** Partition counts of the topics that exist (missing ones are left out; nothing is created). */
export async function partitionCounts(admin: Admin, topics: string[]): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics());
  const wanted = topics.filter((t) => existing.has(t));
  if (!wanted.length) return new Map();
  const md = await admin.metadata({ topics: wanted, autocreateTopics: false, forceUpdate: true });
  return new Map([...md.topics].map(([name, t]) => [name, t.partitionsCount]));
}

/** Thrown when a topic does not exist and the cluster does not create topics on first use. */
export class TopicMissingError extends LakeloaderError {
  readonly code = 'TOPIC_MISSING';
  constructor(topic: string) {
    super(`topic "${topic}" does not exist and the cluster does not create topics on first use; create it (lakeloader produce --partitions N, or your cluster's tools)`);
  }
}

/**
 * A topic's partition count, asking the cluster to create it on first use as producers do (the
 * embedded broker and Kafka's default `auto.create.topics.enable` do).
 * @throws TopicMissingError when it does not exist afterwards
 */
export async function topicPartitions(admin: Admin, topic: string): Promise<number> {
  const md = await admin.metadata({ topics: [topic], autocreateTopics: true, forceUpdate: true }).catch(() => null);
  const n = md?.topics.get(topic)?.partitionsCount;
  if (!n) throw new TopicMissingError(topic);
  return n;
}

/**
 * Makes sure a topic exists with at least `partitions` partitions (creating it, or adding
 * partitions as `kafka-topics --alter` does). @returns its partition count
 */
export async function ensureTopic(conn: KafkaConnection, topic: string, partitions: number): Promise<number> {
  return withAdmin(conn, async (admin) => {
    const have = (await partitionCounts(admin, [topic])).get(topic);
    if (have === undefined) {
      await admin.createTopics({ topics: [topic], partitions, replicas: -1 });
      return partitions;
    }
    if (have < partitions) await admin.createPartitions({ topics: [{ name: topic, count: partitions, assignments: [] }] });
    return Math.max(have, partitions);
  });
}

/** Per `topic-partition`: the log start offset (`low`) and the next offset to be written (`high`). */
export async function endOffsets(admin: Admin, topics: string[]): Promise<Map<string, { low: number; high: number }>> {
  const counts = await partitionCounts(admin, topics);
  const out = new Map<string, { low: number; high: number }>();
  if (!counts.size) return out;
  const ask = (timestamp: bigint) =>
    admin.listOffsets({ topics: [...counts].map(([name, n]) => ({ name, partitions: Array.from({ length: n }, (_, p) => ({ partitionIndex: p, timestamp })) })) });
  const [lows, highs] = await Promise.all([ask(-2n), ask(-1n)]);
  for (const t of highs) for (const p of t.partitions) out.set(`${t.name}-${p.partitionIndex}`, { low: 0, high: Number(p.offset) });
  for (const t of lows) for (const p of t.partitions) out.get(`${t.name}-${p.partitionIndex}`)!.low = Number(p.offset);
  return out;
}

/** A group's committed offsets per `topic-partition` (partitions without one are left out). */
export async function committedOffsets(admin: Admin, groupId: string, topics: string[]): Promise<Map<string, number>> {
  const [group] = await admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: null }] });
  const out = new Map<string, number>();
  for (const t of group?.topics ?? []) {
    if (!topics.includes(t.name)) continue;
    for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(`${t.name}-${p.partitionIndex}`, Number(p.committedOffset));
  }
  return out;
}

/** Thrown when the broker assigned other offsets than the records expected (the topic was not empty). */
export class OffsetMismatchError extends LakeloaderError {
  readonly code = 'OFFSET_MISMATCH';
  constructor(message: string) {
    super(message);
  }
}

export interface ProduceOptions {
  /** Records per produce request. @default 1000 */
  chunk?: number;
  /** Fail when the broker's offsets differ from the records' `offset` fields. @default false */
  expectOffsets?: boolean;
  /** Called after each acknowledged chunk with the number of records acknowledged so far. */
  onProgress?: (acked: number) => void;
  /** @default 'none' */
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4';
}

const toBuf = (v: Uint8Array | string) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

/**
 * Produces records (in the {@link ProducedRecord} shape the generators and `buildMskEvent` use) to
 * their explicit partitions, in order, with an idempotent producer and acks=all, keeping key,
 * value (null = tombstone), timestamp and headers.
 * @returns per `topic-partition`, the offset after the last record produced.
 */
export async function produceRecords(conn: KafkaConnection, records: readonly ProducedRecord[], options: ProduceOptions = {}): Promise<Record<string, number>> {
  const producer = new Producer({ ...clientOptions(conn, `${conn.clientId ?? 'lakeloader'}-producer`), idempotent: true, acks: ProduceAcks.ALL, autocreateTopics: true });
  const next: Record<string, number> = {};
  const chunk = options.chunk ?? 1000;
  try {
    for (let i = 0; i < records.length; i += chunk) {
      const slice = records.slice(i, i + chunk);
      const result = await producer.send({
        compression: options.compression ?? 'none',
        messages: slice.map((r) => ({
          topic: r.topic,
          partition: r.partition,
          key: r.key === undefined || r.key === null ? undefined : toBuf(r.key),
          value: r.value === undefined || r.value === null ? undefined : toBuf(r.value),
          timestamp: BigInt(r.timestamp),
          headers: new Map((r.headers ?? []).map((h) => [toBuf(h.key), toBuf(h.value)] as [Buffer, Buffer])),
        })),
      });
      const counts = new Map<string, number>();
      for (const r of slice) counts.set(`${r.topic}-${r.partition}`, (counts.get(`${r.topic}-${r.partition}`) ?? 0) + 1);
      for (const o of result.offsets ?? []) {
        const key = `${o.topic}-${o.partition}`;
        const base = Number(o.offset);
        if (options.expectOffsets) {
          const first = slice.find((r) => r.topic === o.topic && r.partition === o.partition);
          if (first && first.offset !== base) throw new OffsetMismatchError(`${key}: the broker assigned offset ${base} but the record expected ${first.offset}; produce to a fresh topic`);
        }
        next[key] = base + (counts.get(key) ?? 0);
      }
      options.onProgress?.(Math.min(records.length, i + chunk));
    }
  } finally {
    await producer.close();
  }
  return next;
}
