/**
 * A local Lambda event source mapping (ESM) for Kafka: what AWS runs between an MSK topic and the
 * loader, rebuilt on a consumer group of the project's Kafka client (@platformatic/kafka, see
 * ./kafka-client.ts) so the loop runs offline against the embedded broker, or against any real
 * cluster (TLS, SASL).
 *
 * Rules it follows (those of the MSK / self-managed Kafka ESM):
 * - A batch is invoked when it holds `batchSize` records (max 10,000), when the next record would
 *   push the invocation payload over 6 MB, or when the batching window since the first buffered
 *   record has passed — whichever comes first. A batch may span several partitions.
 * - Records of one partition are delivered in offset order; one invocation is in flight at a time
 *   (so at most one per partition).
 * - The event is built exactly as AWS builds it ({@link buildMskEvent}, eventSource `aws:kafka`).
 * - Offsets are committed to the consumer group only after the invocation succeeded.
 * - A failed invocation is retried with exponential backoff up to `maxRetryAttempts` times; then an
 *   on-failure record (the S3 destination's shape: requestContext, responseContext, version,
 *   timestamp, KafkaBatchInfo, payload) is written under the bucket's `aws/lambda/` prefix (as AWS does) and
 *   the ESM moves on (the offsets are committed, as AWS does once a batch is discarded).
 *
 * Fetching and invoking are decoupled: the consumer's message stream only appends records to
 * per-partition queues (paused while two batches' worth wait), and one dispatcher loop forms and
 * invokes the batches. After a rebalance the stream resumes from the committed offsets, so
 * whatever was buffered is dropped (and records of an older generation still in flight are
 * ignored): they are delivered again, at least once, as by the real ESM.
 *
 * The record's `timestampType` is the topic's `message.timestamp.type` (read once at start).
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes, type Message, type MessagesStream } from '@platformatic/kafka';
import { ESM_FAILURES_PREFIX } from '../../lambdas/core/layout';
import type { MskEvent } from '../../lambdas/core/model';
import { clientOptions, committedOffsets, endOffsets, withAdmin, type KafkaConnection } from './kafka-client';
import { buildMskEvent, toMskRecord, type ProducedRecord } from './msk-event';
import { LakeloaderError } from '../../lambdas/core/errors';

/** The largest synchronous Lambda invocation payload: 6 MB. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** The largest batch size the Kafka ESM accepts. */
export const MAX_BATCH_SIZE = 10_000;

/** The function the ESM invokes; throwing (or rejecting) fails the invocation. */
export type EsmHandler = (event: MskEvent) => Promise<unknown> | unknown;

export interface OnFailureDestination {
  s3: S3Client;
  bucket: string;
  /** @default ESM_FAILURES_PREFIX ('aws/lambda/', where AWS writes them) */
  prefix?: string;
}

export interface LocalEsmOptions {
  /** Kafka bootstrap brokers (`host:port`). */
  brokers: string[];
  topics: string[];
  handler: EsmHandler;
  /** Consumer group id; stable so that a restarted ESM resumes from the committed offsets. @default 'lakeloader-local-esm' */
  groupId?: string;
  /** Records per invocation, 1..10,000. @default 10000 */
  batchSize?: number;
  /** MaximumBatchingWindowInSeconds, in ms. @default 500 */
  batchingWindowMs?: number;
  /** Invocation payload cap in bytes (the event's JSON). @default MAX_PAYLOAD_BYTES (6 MB) */
  maxPayloadBytes?: number;
  /** Retries after the first failed attempt before the batch goes to the on-failure destination. @default 3 */
  maxRetryAttempts?: number;
  /** First retry delay; doubles each attempt. @default 200 */
  retryBaseDelayMs?: number;
  /** @default 5000 */
  retryMaxDelayMs?: number;
  /** Where discarded batches are recorded. @default none: the failure is only reported in progress */
  onFailure?: OnFailureDestination;
  /** Start from the oldest record (TRIM_HORIZON) or only new ones (LATEST) when the group has no offsets. @default 'TRIM_HORIZON' */
  startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** @default 'aws:kafka' */
  eventSource?: 'aws:kafka' | 'SelfManagedKafka';
  eventSourceArn?: string;
  /** Shown in on-failure records. @default a local function ARN */
  functionArn?: string;
  /** The ESM's UUID (used in on-failure keys). @default random */
  uuid?: string;
  /** Called after every invocation (success or discard) and on every fetched batch. */
  onProgress?: (p: EsmProgress) => void;
  /** TLS and SASL settings for a real cluster. @default plaintext, as the embedded broker */
  kafka?: Omit<KafkaConnection, 'brokers'>;
}

export interface PartitionProgress {
  /** Next offset to deliver (the committed consumer-group offset). */
  committed: number;
  /** High watermark last seen for the partition. */
  highWatermark: number;
}

export interface EsmProgress {
  /** Records handed to the handler in successful invocations. */
  delivered: number;
  /** Records whose offsets are committed (delivered + discarded). */
  committed: number;
  /** Records of batches that exhausted their retries and went to the on-failure destination. */
  discarded: number;
  invocations: number;
  failedAttempts: number;
  /** Wall time spent inside the handler, ms (the rest of a run is fetching, batching and commits). */
  handlerMs: number;
  /** Offset commits that failed (the batch's records are delivered again). */
  commitFailures: number;
  /** The last handler or commit error, for diagnosis. */
  lastError: string | null;
  /** Records fetched but not yet invoked. */
  buffered: number;
  /** Σ (high watermark − committed offset) over known partitions. */
  lag: number;
  partitions: Record<string, PartitionProgress>;
  /** Keys of on-failure objects written. */
  failureRecords: string[];
}

/** Thrown for invalid ESM settings. */
export class EsmConfigError extends LakeloaderError {
  readonly code = 'ESM_CONFIG';
  constructor(message: string) {
    super(message);
  }
}

/** Thrown by {@link LocalEventSourceMapping.waitForCaughtUp} when the lag does not reach zero in time. */
export class EsmTimeoutError extends LakeloaderError {
  readonly code = 'ESM_TIMEOUT';
  constructor(message: string) {
    super(message);
  }
}

interface Pending {
  record: ProducedRecord;
  /** Bytes this record adds to the event's JSON. */
  size: number;
}

interface PartitionQueue {
  topic: string;
  partition: number;
  records: Pending[];
  /** Offset expected next; records below it (a re-fetch) are dropped. */
  nextOffset: number | null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A consumed message as the record the ESM hands on (key, value and header values keep null apart from empty). */
export function recordOf(m: Message, timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME' = 'CREATE_TIME'): ProducedRecord {
  return {
    topic: m.topic,
    partition: m.partition,
    offset: Number(m.offset),
    timestamp: Number(m.timestamp),
    timestampType,
    key: m.key ?? null,
    value: m.value ?? null,
    headers: [...m.headers].map(([k, v]) => ({ key: Buffer.isBuffer(k) ? k.toString('utf8') : String(k), value: v ?? new Uint8Array(0) })),
  };
}

/** One on-failure record, in the shape the ESM's S3 on-failure destination writes. */
export interface EsmFailureRecord {
  requestContext: { requestId: string; functionArn: string; condition: 'RetryAttemptsExhausted'; approximateInvokeCount: number };
  responseContext: { statusCode: number; executedVersion: string; functionError: 'Unhandled'; errorMessage?: string };
  version: '1.0';
  timestamp: string;
  KafkaBatchInfo: {
    batchSize: number;
    batchTimestamp: string;
    bootstrapServers: string;
    payloadSize: number;
    recordsInfo: Record<string, { firstRecordOffset: string; lastRecordOffset: string; firstRecordTimestamp: string; lastRecordTimestamp: string }>;
  };
  /** The S3 destination also stores the whole invocation payload. */
  payload: MskEvent;
}

/** Builds the on-failure record for a discarded batch. */
export function buildFailureRecord(args: {
  event: MskEvent;
  payloadSize: number;
  attempts: number;
  functionArn: string;
  error: unknown;
  now?: Date;
}): EsmFailureRecord {
  const now = (args.now ?? new Date()).toISOString();
  const recordsInfo: EsmFailureRecord['KafkaBatchInfo']['recordsInfo'] = {};
  let batchSize = 0;
  for (const [tp, recs] of Object.entries(args.event.records)) {
    if (!recs.length) continue;
    batchSize += recs.length;
    const first = recs[0]!;
    const last = recs[recs.length - 1]!;
    recordsInfo[tp] = {
      firstRecordOffset: String(first.offset),
      lastRecordOffset: String(last.offset),
      firstRecordTimestamp: new Date(first.timestamp).toISOString(),
      lastRecordTimestamp: new Date(last.timestamp).toISOString(),
    };
  }
  const message = args.error instanceof Error ? `${args.error.name}: ${args.error.message}` : String(args.error);
  return {
    requestContext: { requestId: randomUUID(), functionArn: args.functionArn, condition: 'RetryAttemptsExhausted', approximateInvokeCount: args.attempts },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled', errorMessage: message },
    version: '1.0',
    timestamp: now,
    KafkaBatchInfo: { batchSize, batchTimestamp: now, bootstrapServers: args.event.bootstrapServers ?? '', payloadSize: args.payloadSize, recordsInfo },
    payload: args.event,
  };
}

/**
 * A running local event source mapping. Create it with {@link startLocalEsm}.
 */
export class LocalEventSourceMapping {
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly hw = new Map<string, number>();
  private readonly committedOffsets = new Map<string, number>();
  private buffered = 0;
  private bufferedBytes = 0;
  private firstBufferedAt = 0;
  private stopping = false;
  private wake: (() => void) | null = null;
  private dispatcher: Promise<void> | null = null;
  private consumer: Consumer | null = null;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | null = null;
  private generation = -1;
  private paused = false;
  private readonly timestampTypes = new Map<string, 'CREATE_TIME' | 'LOG_APPEND_TIME'>();
  private dispatcherError: unknown = null;
  private rr = 0;
  private readonly stats = { delivered: 0, committed: 0, discarded: 0, invocations: 0, failedAttempts: 0, handlerMs: 0, commitFailures: 0, lastError: null as string | null, failureRecords: [] as string[] };
  private readonly o: Required<Omit<LocalEsmOptions, 'onFailure' | 'onProgress' | 'kafka' | 'eventSourceArn'>> & Pick<LocalEsmOptions, 'onFailure' | 'onProgress' | 'kafka' | 'eventSourceArn'>;
  private readonly conn: KafkaConnection;
  private readonly envelopeBytes: number;

  constructor(options: LocalEsmOptions) {
    const batchSize = options.batchSize ?? MAX_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new EsmConfigError(`batchSize must be an integer in 1..${MAX_BATCH_SIZE}, got ${batchSize}`);
    }
    if (!options.topics.length) throw new EsmConfigError('topics must name at least one topic');
    if (!options.brokers.length) throw new EsmConfigError('brokers must name at least one bootstrap broker (host:port)');
    this.o = {
      brokers: options.brokers,
      topics: options.topics,
      handler: options.handler,
      groupId: options.groupId ?? 'lakeloader-local-esm',
      batchSize,
      batchingWindowMs: options.batchingWindowMs ?? 500,
      maxPayloadBytes: options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES,
      maxRetryAttempts: options.maxRetryAttempts ?? 3,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 200,
      retryMaxDelayMs: options.retryMaxDelayMs ?? 5000,
      startingPosition: options.startingPosition ?? 'TRIM_HORIZON',
      eventSource: options.eventSource ?? 'aws:kafka',
      functionArn: options.functionArn ?? 'arn:aws:lambda:us-east-1:000000000000:function:lakeloader-local',
      uuid: options.uuid ?? randomUUID(),
      onFailure: options.onFailure,
      onProgress: options.onProgress,
      kafka: options.kafka,
      eventSourceArn: options.eventSourceArn,
    };
    this.conn = { ...options.kafka, brokers: options.brokers, clientId: options.kafka?.clientId ?? 'lakeloader-local-esm' };
    this.envelopeBytes = Buffer.byteLength(JSON.stringify(this.eventOf([])));
  }

  private eventOf(records: ProducedRecord[]): MskEvent {
    return buildMskEvent(records, { eventSource: this.o.eventSource, eventSourceArn: this.o.eventSourceArn, bootstrapServers: this.o.brokers.join(',') });
  }

  /** Joins the consumer group and starts fetching and invoking. */
  async start(): Promise<void> {
    // Seed committed offsets and high watermarks so that lag is known before the first fetch.
    await withAdmin(this.conn, async (admin) => {
      const [ends, committed] = await Promise.all([endOffsets(admin, this.o.topics), committedOffsets(admin, this.o.groupId, this.o.topics)]);
      for (const [key, { low, high }] of ends) {
        this.hw.set(key, high);
        this.committedOffsets.set(key, committed.get(key) ?? (this.o.startingPosition === 'LATEST' ? high : low));
      }
      const configs = await admin.describeConfigs({ resources: this.o.topics.filter((t) => ends.has(`${t}-0`)).map((t) => ({ resourceType: 2, resourceName: t, configurationKeys: ['message.timestamp.type'] })) });
      for (const c of configs) this.timestampTypes.set(c.resourceName, c.configs.find((x) => x.name === 'message.timestamp.type')?.value === 'LogAppendTime' ? 'LOG_APPEND_TIME' : 'CREATE_TIME');
    });
    const consumer = new Consumer({ ...clientOptions(this.conn), groupId: this.o.groupId, maxWaitTime: 200, sessionTimeout: 10_000, rebalanceTimeout: 10_000, heartbeatInterval: 1000, autocommit: false });
    this.consumer = consumer;
    consumer.on('consumer:group:join', (p: { generationId?: number }) => {
      // After a rebalance the stream resumes from the committed offsets: drop what is buffered.
      this.generation = p.generationId ?? this.generation;
      for (const q of this.queues.values()) {
        for (const r of q.records) this.bufferedBytes -= r.size;
        this.buffered -= q.records.length;
        q.records = [];
        q.nextOffset = null;
      }
      this.resumeIfDrained();
    });
    const stream = await consumer.consume({
      topics: this.o.topics,
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: this.o.startingPosition === 'LATEST' ? MessagesStreamFallbackModes.LATEST : MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
    });
    this.stream = stream;
    stream.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => this.onMessage(m));
    stream.on('error', (err: Error) => {
      if (!this.stopping) this.stats.lastError = `consumer: ${err.message}`;
    });
    this.dispatcher = this.dispatch().catch((err) => {
      this.dispatcherError = err;
    });
  }

  private onMessage(m: Message<Buffer, Buffer, Buffer, Buffer>): void {
    const gen = (m.metadata as { consumer?: { generationId?: number } } | undefined)?.consumer?.generationId;
    if (gen !== undefined && this.generation >= 0 && gen < this.generation) return; // fetched before the last rebalance
    const key = `${m.topic}-${m.partition}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = { topic: m.topic, partition: m.partition, records: [], nextOffset: null }));
    const offset = Number(m.offset);
    if (q.nextOffset !== null && offset < q.nextOffset) return;
    if (offset + 1 > (this.hw.get(key) ?? 0)) this.hw.set(key, offset + 1);
    const record = recordOf(m, this.timestampTypes.get(m.topic));
    const size = Buffer.byteLength(JSON.stringify(toMskRecord(record))) + 1;
    q.records.push({ record, size });
    q.nextOffset = offset + 1;
    if (this.buffered === 0) this.firstBufferedAt = Date.now();
    this.buffered++;
    this.bufferedBytes += size;
    this.wake?.();
    this.emit();
    // Backpressure: stop reading while two batches' worth are waiting.
    if (!this.paused && (this.buffered >= 2 * this.o.batchSize || this.bufferedBytes >= 2 * this.o.maxPayloadBytes)) {
      this.paused = true;
      this.stream?.pause();
    }
  }

  private resumeIfDrained(): void {
    if (this.paused && !this.stopping && this.buffered < 2 * this.o.batchSize && this.bufferedBytes < 2 * this.o.maxPayloadBytes) {
      this.paused = false;
      this.stream?.resume();
    }
  }

  /** Takes the next batch from the queues: per-partition order, ≤ batchSize records, ≤ payload cap. */
  private takeBatch(): { records: ProducedRecord[]; payloadSize: number } {
    const queues = [...this.queues.values()].filter((q) => q.records.length);
    const records: ProducedRecord[] = [];
    let bytes = this.envelopeBytes;
    const start = this.rr++ % Math.max(1, queues.length);
    outer: for (let i = 0; i < queues.length; i++) {
      const q = queues[(start + i) % queues.length]!;
      const groupBytes = Buffer.byteLength(JSON.stringify(`${q.topic}-${q.partition}`)) + 3; // "k":[...],
      let taken = 0;
      while (q.records.length && records.length < this.o.batchSize) {
        const p = q.records[0]!;
        const add = p.size + (taken === 0 ? groupBytes : 0);
        if (records.length > 0 && bytes + add > this.o.maxPayloadBytes) break outer;
        q.records.shift();
        records.push(p.record);
        bytes += add;
        taken++;
        this.buffered--;
        this.bufferedBytes -= p.size;
      }
      if (records.length >= this.o.batchSize) break;
    }
    if (this.buffered === 0) this.firstBufferedAt = 0;
    else this.firstBufferedAt = Date.now();
    this.resumeIfDrained();
    return { records, payloadSize: bytes };
  }

  private batchReady(): boolean {
    if (this.buffered === 0) return false;
    if (this.buffered >= this.o.batchSize || this.bufferedBytes + this.envelopeBytes >= this.o.maxPayloadBytes) return true;
    return Date.now() - this.firstBufferedAt >= this.o.batchingWindowMs;
  }

  private async dispatch(): Promise<void> {
    while (!this.stopping) {
      if (!this.batchReady()) {
        const waitMs = this.buffered ? Math.max(1, this.firstBufferedAt + this.o.batchingWindowMs - Date.now()) : 1000;
        await Promise.race([new Promise<void>((r) => (this.wake = r)), sleep(waitMs)]);
        this.wake = null;
        continue;
      }
      const { records, payloadSize } = this.takeBatch();
      if (!records.length) continue;
      await this.invoke(records, payloadSize);
    }
  }

  private async invoke(records: ProducedRecord[], payloadSize: number): Promise<void> {
    const event = this.eventOf(records);
    let lastError: unknown = null;
    let ok = false;
    let attempts = 0;
    for (let attempt = 0; attempt <= this.o.maxRetryAttempts; attempt++) {
      attempts++;
      this.stats.invocations++;
      const payload = structuredClone(event); // the handler gets its own copy, as a real invocation deserializes the payload
      const t0 = performance.now();
      try {
        await this.o.handler(payload);
        this.stats.handlerMs += performance.now() - t0;
        ok = true;
        break;
      } catch (err) {
        this.stats.handlerMs += performance.now() - t0;
        lastError = err;
        this.stats.lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        this.stats.failedAttempts++;
        // Stopped while retrying: leave the batch uncommitted, it is redelivered on the next start.
        if (this.stopping) return;
        if (attempt < this.o.maxRetryAttempts) {
          await sleep(Math.min(this.o.retryMaxDelayMs, this.o.retryBaseDelayMs * 2 ** attempt));
        }
      }
    }
    if (ok) this.stats.delivered += records.length;
    else {
      this.stats.discarded += records.length;
      await this.writeFailure(event, payloadSize, attempts, lastError);
    }
    // Commit the next offset of every partition in the batch.
    const last = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const r of records) last.set(`${r.topic}-${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset });
    try {
      await this.consumer!.commit({ offsets: [...last.values()].map((x) => ({ topic: x.topic, partition: x.partition, offset: BigInt(x.offset + 1), leaderEpoch: 0 })) });
    } catch (err) {
      // Typically a rebalance (the member's session expired): the stream resumes from the last
      // committed offsets, so these records are delivered again — at least once, as the real ESM.
      this.stats.commitFailures++;
      this.stats.lastError = `offset commit failed: ${(err as Error).message}`;
      this.emit();
      return;
    }
    for (const [key, x] of last) this.committedOffsets.set(key, x.offset + 1);
    this.stats.committed += records.length;
    this.emit();
  }

  private async writeFailure(event: MskEvent, payloadSize: number, attempts: number, error: unknown): Promise<void> {
    const dest = this.o.onFailure;
    if (!dest) return;
    const record = buildFailureRecord({ event, payloadSize, attempts, functionArn: this.o.functionArn, error });
    const d = new Date(record.timestamp);
    const pad = (n: number) => String(n).padStart(2, '0');
    const stamp = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}.${pad(d.getUTCMinutes())}.${pad(d.getUTCSeconds())}`;
    const firstPartition = Object.keys(event.records)[0] ?? 'unknown';
    const key =
      `${dest.prefix ?? ESM_FAILURES_PREFIX}${this.o.uuid}/${firstPartition}/` +
      `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${stamp}-${randomUUID()}`;
    await dest.s3.send(new PutObjectCommand({ Bucket: dest.bucket, Key: key, Body: JSON.stringify(record), ContentType: 'application/json' }));
    this.stats.failureRecords.push(key);
  }

  private emit(): void {
    this.o.onProgress?.(this.progress());
  }

  /** A snapshot of the counters and per-partition offsets. */
  progress(): EsmProgress {
    const partitions: Record<string, PartitionProgress> = {};
    let lag = 0;
    for (const [key, highWatermark] of this.hw) {
      const committed = this.committedOffsets.get(key) ?? 0;
      partitions[key] = { committed, highWatermark };
      lag += Math.max(0, highWatermark - committed);
    }
    return { ...this.stats, failureRecords: [...this.stats.failureRecords], buffered: this.buffered, lag, partitions };
  }

  /**
   * Resolves once every partition of the subscribed topics is committed up to its current high
   * watermark (fetched now), i.e. everything produced so far is loaded.
   * @throws EsmTimeoutError after `timeoutMs`, with the partitions still behind.
   */
  async waitForCaughtUp(timeoutMs = 120_000): Promise<EsmProgress> {
    const targets = new Map<string, number>();
    await withAdmin(this.conn, async (admin) => {
      for (const [key, { high }] of await endOffsets(admin, this.o.topics)) {
        targets.set(key, high);
        this.hw.set(key, Math.max(this.hw.get(key) ?? 0, high));
      }
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.dispatcherError) throw this.dispatcherError;
      const behind = [...targets].filter(([key, high]) => (this.committedOffsets.get(key) ?? 0) < high);
      if (!behind.length) return this.progress();
      if (Date.now() > deadline) {
        throw new EsmTimeoutError(
          `the local ESM did not catch up within ${timeoutMs} ms; behind: ${behind.map(([k, h]) => `${k} committed ${this.committedOffsets.get(k) ?? 0} of ${h}`).join(', ')}` +
            (this.stats.lastError ? `; last error: ${this.stats.lastError}` : ''),
        );
      }
      await sleep(50);
    }
  }

  /**
   * Stops fetching, lets the invocation in flight finish (a failing batch is not retried further
   * and stays uncommitted), and leaves the group. Buffered records are not committed.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake?.();
    await this.dispatcher;
    try {
      await this.stream?.close();
      await this.consumer?.close(true);
    } catch {
      // the group is left on a best-effort basis, as a crashed Lambda poller would
    }
  }
}

/** Creates and starts a local event source mapping. */
export async function startLocalEsm(options: LocalEsmOptions): Promise<LocalEventSourceMapping> {
  const esm = new LocalEventSourceMapping(options);
  await esm.start();
  return esm;
}
