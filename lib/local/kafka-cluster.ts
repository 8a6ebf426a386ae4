/**
 * A local Kafka broker for tests and the demo: librdkafka's built-in mock cluster, started through
 * Debian's `kcat` (`-X test.mock.num.brokers=1`). It speaks the real Kafka protocol, so kafkajs
 * (producer, consumer groups, offset commits) runs against it unchanged.
 *
 * How it is kept alive: `kcat -P` (producer mode) reads messages from stdin until EOF. We start it
 * with a pipe on stdin and never write to it, so the process (and with it the mock cluster) lives
 * exactly as long as the pipe: {@link MockKafkaCluster.stop} closes stdin, and if this Node process
 * dies, even by SIGKILL, the pipe closes and kcat exits by itself. librdkafka prints the mock
 * cluster's bootstrap address at notice level on stderr ("Mock cluster enabled: ... replaced with
 * 127.0.0.1:PORT"), which is how we learn it.
 *
 * Known limits of librdkafka 2.0's mock cluster (Debian bookworm), and the workarounds used here:
 * - It has no CreateTopics API (kafkajs `admin.createTopics` fails with "Broker 0 not found in the
 *   cached metadata"). Topics are auto-created on their first metadata request, always with
 *   {@link MOCK_DEFAULT_PARTITIONS} partitions; {@link MockKafkaCluster.ensureTopics} does that.
 * - State lives in memory only: stopping the cluster loses every topic and committed offset.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { ProducedRecord } from './msk-event';

/** Partitions of every topic the mock cluster auto-creates (librdkafka's fixed default). */
export const MOCK_DEFAULT_PARTITIONS = 4;

/** Thrown when the `kcat` binary is not installed. */
export class KcatMissingError extends Error {
  constructor(binary: string) {
    super(
      `"${binary}" was not found: the local Kafka broker is librdkafka's mock cluster, started through kcat. ` +
        `Install it with: sudo apt-get install kcat   (Debian/Ubuntu; macOS: brew install kcat), or set LAKELOADER_KCAT to its path.`,
    );
    this.name = 'KcatMissingError';
  }
}

/** Thrown when kcat started but no bootstrap address appeared, or a topic could not be created. */
export class MockClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MockClusterError';
  }
}

export interface MockKafkaClusterOptions {
  /** Number of mock brokers. @default 1 */
  brokers?: number;
  /** The kcat binary. @default process.env.LAKELOADER_KCAT ?? 'kcat' */
  kcatPath?: string;
  /** How long to wait for the bootstrap address. @default 10000 */
  startTimeoutMs?: number;
  /** Topics to create right away (each with {@link MOCK_DEFAULT_PARTITIONS} partitions). */
  topics?: string[];
}

export interface MockKafkaCluster {
  /** `host:port[,host:port]` of the mock brokers. */
  bootstrapServers: string;
  /** The same, as a list (what kafkajs's `brokers` wants). */
  brokers: string[];
  /** The kcat process id. */
  pid: number;
  /**
   * Makes sure the topics exist (auto-creating them) and returns each one's partition count.
   * @throws MockClusterError when `minPartitions` exceeds what the mock cluster created.
   */
  ensureTopics(topics: string[], minPartitions?: number): Promise<Record<string, number>>;
  /** Stops kcat (closes its stdin, then SIGKILL after 3 s). Idempotent. */
  stop(): Promise<void>;
}

/** Returns true when the kcat binary can be run. */
export function kcatAvailable(kcatPath = process.env.LAKELOADER_KCAT ?? 'kcat'): boolean {
  const r = spawnSync(kcatPath, ['-V'], { stdio: 'ignore' });
  return !r.error;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort: 'exit' handlers cannot await, but kill() is synchronous.
  process.on('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

/** A quiet kafkajs client for the mock cluster. */
export function mockKafkaClient(brokers: string[], config: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({ clientId: 'lakeloader-local', brokers, logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 }, ...config });
}

/**
 * Starts librdkafka's mock cluster through kcat and resolves once its bootstrap address is known.
 * @throws KcatMissingError when kcat is not installed; MockClusterError when it does not start.
 */
export async function startMockKafkaCluster(options: MockKafkaClusterOptions = {}): Promise<MockKafkaCluster> {
  const kcat = options.kcatPath ?? process.env.LAKELOADER_KCAT ?? 'kcat';
  const brokerCount = options.brokers ?? 1;
  const args = ['-b', 'localhost:0', '-X', `test.mock.num.brokers=${brokerCount}`, '-P', '-t', '__lakeloader_keepalive'];
  const child = spawn(kcat, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  installExitHook();
  live.add(child);
  child.once('exit', () => live.delete(child));

  const address = await new Promise<string>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new MockClusterError(`kcat did not print the mock cluster's bootstrap address within ${options.startTimeoutMs ?? 10_000} ms; its output: ${log.slice(0, 500)}`));
    }, options.startTimeoutMs ?? 10_000);
    const onData = (d: Buffer) => {
      log += d.toString('utf8');
      const m = /replaced with (\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        child.stderr!.resume(); // keep draining so kcat never blocks on a full pipe
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new KcatMissingError(kcat) : new MockClusterError(`could not start kcat: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new MockClusterError(`kcat exited (code ${code}, signal ${signal}) before the mock cluster was ready; its output: ${log.slice(0, 500)}`));
    });
  });
  // A closed stdin pipe must not crash us with EPIPE.
  child.stdin!.on('error', () => undefined);

  const brokers = address.split(',');
  let stopped: Promise<void> | null = null;
  const cluster: MockKafkaCluster = {
    bootstrapServers: address,
    brokers,
    pid: child.pid!,
    async ensureTopics(topics, minPartitions = 1) {
      const admin = mockKafkaClient(brokers).admin();
      await admin.connect();
      try {
        const out: Record<string, number> = {};
        for (const topic of topics) {
          // kafkajs sends allowAutoTopicCreation=true; the mock creates the topic on this request.
          const md = await admin.fetchTopicMetadata({ topics: [topic] });
          const n = md.topics[0]?.partitions.length ?? 0;
          if (n < minPartitions) {
            throw new MockClusterError(
              `topic "${topic}" has ${n} partitions but ${minPartitions} were asked for: librdkafka's mock cluster creates every topic with ${MOCK_DEFAULT_PARTITIONS} partitions and cannot create more`,
            );
          }
          out[topic] = n;
        }
        return out;
      } finally {
        await admin.disconnect();
      }
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.stdin!.end();
      });
      return stopped;
    },
  };
  if (options.topics?.length) await cluster.ensureTopics(options.topics);
  return cluster;
}

/** Thrown when the broker assigned other offsets than the records expected (the topic was not empty). */
export class OffsetMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffsetMismatchError';
  }
}

export interface ProduceOptions {
  /** Records per produce request. @default 1000 */
  chunk?: number;
  /** Fail when the broker's offsets differ from the records' `offset` fields. @default false */
  expectOffsets?: boolean;
  /** Called after each acknowledged chunk with the number of records acknowledged so far. */
  onProgress?: (acked: number) => void;
}

/**
 * Produces records (in the {@link ProducedRecord} shape the generators and `buildMskEvent` use) to
 * their explicit partitions, in order, keeping key, value (null = tombstone), timestamp and headers.
 * @returns per `topic-partition`, the offset after the last record produced.
 */
export async function produceRecords(brokers: string[], records: readonly ProducedRecord[], options: ProduceOptions = {}): Promise<Record<string, number>> {
  const producer = mockKafkaClient(brokers).producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const next: Record<string, number> = {};
  const chunk = options.chunk ?? 1000;
  const toBuf = (v: Uint8Array | string) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  try {
    for (let i = 0; i < records.length; i += chunk) {
      const slice = records.slice(i, i + chunk);
      const byTopic = new Map<string, ProducedRecord[]>();
      for (const r of slice) (byTopic.get(r.topic) ?? byTopic.set(r.topic, []).get(r.topic)!).push(r);
      const meta = await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, recs]) => ({
          topic,
          messages: recs.map((r) => ({
            partition: r.partition,
            key: r.key === undefined || r.key === null ? null : toBuf(r.key),
            value: r.value === undefined || r.value === null ? null : toBuf(r.value),
            timestamp: String(r.timestamp),
            headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, toBuf(h.value)])),
          })),
        })),
      });
      const counts = new Map<string, number>();
      for (const r of slice) counts.set(`${r.topic}-${r.partition}`, (counts.get(`${r.topic}-${r.partition}`) ?? 0) + 1);
      for (const m of meta) {
        const key = `${m.topicName}-${m.partition}`;
        const base = Number(m.baseOffset ?? m.offset);
        if (options.expectOffsets) {
          const first = slice.find((r) => r.topic === m.topicName && r.partition === m.partition);
          if (first && first.offset !== base) {
            throw new OffsetMismatchError(`${key}: the broker assigned offset ${base} but the record expected ${first.offset}; produce to a fresh topic (or a fresh mock cluster)`);
          }
        }
        next[key] = base + (counts.get(key) ?? 0);
      }
      options.onProgress?.(Math.min(records.length, i + chunk));
    }
  } finally {
    await producer.disconnect();
  }
  return next;
}
