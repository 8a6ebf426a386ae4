/**
 * Topics and their partition logs, kept in memory and, with a data directory, persisted so that
 * a restarted broker has the same topics, records and offsets:
 *
 * ```
 * <dir>/topics.json              topics (name, id, partitions, configs) and the next producer id
 * <dir>/logs/<topic>-<p>.log     each partition's record batches, appended as stored
 * ```
 *
 * A partition log holds whole record batches; offsets are assigned at append. Idempotent
 * producers are checked here (KIP-98): per producer id, the epoch and the last sequence number,
 * and the last five batches so that a retried batch is acknowledged with its first offset instead
 * of being written twice.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ErrorCode } from './errors';
import { assignOffset, decodeRecords, InvalidBatchError, readBatchHeader, stampLogAppendTime, type BatchHeader } from './records';
import { LakeloaderError } from '../../../lambdas/core/errors';

export interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  data: Buffer;
}

interface ProducerState {
  epoch: number;
  lastSequence: number;
  /** The last batches written (for duplicate detection): first/last sequence and base offset. */
  recent: { first: number; last: number; baseOffset: number }[];
}

/** Topic names Kafka accepts. */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** The topic-level settings the broker knows, with Kafka's defaults. */
export const TOPIC_CONFIG_DEFAULTS: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'compression.type': 'producer',
  'max.message.bytes': '1048588',
  'message.timestamp.type': 'CreateTime',
  'retention.bytes': '-1',
  'retention.ms': '604800000',
  'segment.bytes': '1073741824',
  'min.insync.replicas': '1',
};

const seqAfter = (s: number, n: number) => (s + n) % 2 ** 31;

/** One partition: its batches, offsets and the consumers waiting for new data. */
export class PartitionLog {
  readonly batches: StoredBatch[] = [];
  logStartOffset = 0;
  /** The next offset to be written (also the high watermark and, without transactions, the last stable offset). */
  highWatermark = 0;
  private readonly producers = new Map<number, ProducerState>();
  private readonly waiters = new Set<() => void>();
  private fd: number | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly file: string | null,
  ) {}

  /** Appends a validated batch, assigning offsets. @returns its base offset (the original one for a duplicate). */
  append(batch: Buffer, h: BatchHeader, now: number, logAppendTime: boolean): { baseOffset: number; duplicate: boolean } {
    if (h.producerId >= 0) {
      const st = this.producers.get(h.producerId);
      const last = seqAfter(h.baseSequence, h.count - 1);
      if (st) {
        if (h.producerEpoch < st.epoch) throw new InvalidBatchError(ErrorCode.INVALID_PRODUCER_EPOCH, `producer ${h.producerId} epoch ${h.producerEpoch} is older than ${st.epoch}`);
        if (h.producerEpoch === st.epoch) {
          const dup = st.recent.find((r) => r.first === h.baseSequence && r.last === last);
          if (dup) return { baseOffset: dup.baseOffset, duplicate: true };
          if (h.baseSequence !== seqAfter(st.lastSequence, 1)) {
            throw new InvalidBatchError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `producer ${h.producerId}: expected sequence ${seqAfter(st.lastSequence, 1)}, got ${h.baseSequence}`);
          }
        } else if (h.baseSequence !== 0) {
          throw new InvalidBatchError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `producer ${h.producerId}: a new epoch must start at sequence 0, got ${h.baseSequence}`);
        }
      }
    }
    const data = Buffer.from(batch); // detach from the request frame
    const baseOffset = this.highWatermark;
    assignOffset(data, baseOffset);
    if (logAppendTime) stampLogAppendTime(data, now);
    this.store(data, h, baseOffset);
    if (this.file) {
      this.fd ??= openSync(this.file, 'a');
      writeSync(this.fd, data);
    }
    for (const w of [...this.waiters]) w();
    return { baseOffset, duplicate: false };
  }

  private store(data: Buffer, h: BatchHeader, baseOffset: number): void {
    this.batches.push({ baseOffset, lastOffset: baseOffset + h.lastOffsetDelta, maxTimestamp: readBatchHeader(data).maxTimestamp, data });
    this.highWatermark = baseOffset + h.lastOffsetDelta + 1;
    if (h.producerId >= 0) {
      let st = this.producers.get(h.producerId);
      if (!st || st.epoch !== h.producerEpoch) this.producers.set(h.producerId, (st = { epoch: h.producerEpoch, lastSequence: -1, recent: [] }));
      const last = seqAfter(h.baseSequence, h.count - 1);
      st.lastSequence = last;
      st.recent.push({ first: h.baseSequence, last, baseOffset });
      if (st.recent.length > 5) st.recent.shift();
    }
  }

  /** Loads the batches of a persisted log file (written by {@link append}). */
  load(): void {
    if (!this.file || !existsSync(this.file)) return;
    const buf = readFileSync(this.file);
    let pos = 0;
    while (pos + 61 <= buf.length) {
      const len = buf.readInt32BE(pos + 8) + 12;
      if (pos + len > buf.length) break; // a torn last write: drop it
      const data = buf.subarray(pos, pos + len);
      const h = readBatchHeader(data);
      this.store(data, h, h.baseOffset);
      pos += len;
    }
  }

  /** Index of the first batch holding an offset ≥ `offset`. */
  private indexFor(offset: number): number {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.batches[mid]!.lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes` (at least one batch when
   * `atLeastOne`, as Kafka does so that a large batch never blocks a consumer).
   */
  read(offset: number, maxBytes: number, atLeastOne: boolean): { batches: Buffer[]; bytes: number } {
    const out: Buffer[] = [];
    let bytes = 0;
    for (let i = this.indexFor(offset); i < this.batches.length; i++) {
      const b = this.batches[i]!.data;
      if (bytes + b.length > maxBytes && !(atLeastOne && out.length === 0)) break;
      out.push(b);
      bytes += b.length;
    }
    return { batches: out, bytes };
  }

  /** The first offset whose record timestamp is ≥ `ts` (ListOffsets by time), or null. */
  offsetForTimestamp(ts: number): { offset: number; timestamp: number } | null {
    for (const b of this.batches) {
      if (b.maxTimestamp < ts) continue;
      for (const r of decodeRecords(b.data)) if (r.timestamp >= ts) return { offset: r.offset, timestamp: r.timestamp };
    }
    return null;
  }

  /** The offset and timestamp of the record with the largest timestamp (ListOffsets -3), or null. */
  maxTimestampRecord(): { offset: number; timestamp: number } | null {
    let best: StoredBatch | null = null;
    for (const b of this.batches) if (!best || b.maxTimestamp > best.maxTimestamp) best = b;
    if (!best) return null;
    let hit: { offset: number; timestamp: number } | null = null;
    for (const r of decodeRecords(best.data)) if (!hit || r.timestamp > hit.timestamp) hit = { offset: r.offset, timestamp: r.timestamp };
    return hit;
  }

  /** Calls `fn` once after the next append (or never, if `cancel` is called first). */
  onAppend(fn: () => void): () => void {
    const w = () => {
      this.waiters.delete(w);
      fn();
    };
    this.waiters.add(w);
    return () => this.waiters.delete(w);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export interface Topic {
  name: string;
  /** The topic id (16 bytes), as Metadata v10+ and Fetch v13+ use it. */
  id: Buffer;
  partitions: PartitionLog[];
  /** Settings set on the topic (the rest are {@link TOPIC_CONFIG_DEFAULTS}). */
  configs: Record<string, string>;
}

/** A topic operation the broker refuses, with the error code to answer. */
export class TopicError extends LakeloaderError {
  readonly code = 'TOPIC';
  constructor(
    /** The Kafka protocol error code to answer with. */
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

interface PersistedState {
  topics: { name: string; id: string; partitions: number; configs: Record<string, string> }[];
  nextProducerId: number;
}

/** Every topic of the broker, persisted under `dir` when given. */
export class TopicStore {
  readonly topics = new Map<string, Topic>();
  private readonly byId = new Map<string, Topic>();
  private nextProducerId = 1000;

  constructor(private readonly dir: string | null) {
    if (!dir) return;
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const file = join(dir, 'topics.json');
    if (!existsSync(file)) return;
    const state = JSON.parse(readFileSync(file, 'utf8')) as PersistedState;
    this.nextProducerId = state.nextProducerId;
    for (const t of state.topics) {
      const topic: Topic = { name: t.name, id: Buffer.from(t.id, 'hex'), partitions: [], configs: t.configs };
      for (let p = 0; p < t.partitions; p++) {
        const log = new PartitionLog(t.name, p, this.logFile(t.name, p));
        log.load();
        topic.partitions.push(log);
      }
      this.add(topic);
    }
  }

  private logFile(topic: string, partition: number): string | null {
    return this.dir ? join(this.dir, 'logs', `${topic}-${partition}.log`) : null;
  }

  private add(t: Topic): void {
    this.topics.set(t.name, t);
    this.byId.set(t.id.toString('hex'), t);
  }

  private save(): void {
    if (!this.dir) return;
    const state: PersistedState = {
      topics: [...this.topics.values()].map((t) => ({ name: t.name, id: t.id.toString('hex'), partitions: t.partitions.length, configs: t.configs })),
      nextProducerId: this.nextProducerId,
    };
    const file = join(this.dir, 'topics.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
    renameSync(`${file}.tmp`, file);
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  getById(id: Buffer): Topic | undefined {
    return this.byId.get(id.toString('hex'));
  }

  /**
   * Creates a topic.
   * @throws TopicError INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_CONFIG
   */
  create(name: string, partitions: number, configs: Record<string, string> = {}, validateOnly = false): Topic | null {
    if (!TOPIC_NAME.test(name) || name === '.' || name === '..') {
      throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, `topic name "${name}" is illegal: use 1 to 249 of the characters [a-zA-Z0-9._-]`);
    }
    if (this.topics.has(name)) throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic "${name}" already exists`);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) throw new TopicError(ErrorCode.INVALID_PARTITIONS, `number of partitions must be 1..10000, got ${partitions}`);
    for (const k of Object.keys(configs)) if (!(k in TOPIC_CONFIG_DEFAULTS)) throw new TopicError(ErrorCode.INVALID_CONFIG, `unknown topic config "${k}"; known: ${Object.keys(TOPIC_CONFIG_DEFAULTS).join(', ')}`);
    const ts = configs['message.timestamp.type'];
    if (ts !== undefined && ts !== 'CreateTime' && ts !== 'LogAppendTime') throw new TopicError(ErrorCode.INVALID_CONFIG, `message.timestamp.type must be CreateTime or LogAppendTime, got "${ts}"`);
    if (validateOnly) return null;
    const topic: Topic = { name, id: randomBytes(16), partitions: [], configs: { ...configs } };
    for (let p = 0; p < partitions; p++) topic.partitions.push(new PartitionLog(name, p, this.logFile(name, p)));
    this.add(topic);
    this.save();
    return topic;
  }

  /** Grows a topic to `count` partitions. @throws TopicError */
  addPartitions(name: string, count: number, validateOnly = false): void {
    const t = this.topics.get(name);
    if (!t) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
    if (!Number.isInteger(count) || count <= t.partitions.length) throw new TopicError(ErrorCode.INVALID_PARTITIONS, `topic "${name}" has ${t.partitions.length} partitions; the new count must be larger, got ${count}`);
    if (count > 10_000) throw new TopicError(ErrorCode.INVALID_PARTITIONS, `number of partitions must be at most 10000, got ${count}`);
    if (validateOnly) return;
    for (let p = t.partitions.length; p < count; p++) t.partitions.push(new PartitionLog(name, p, this.logFile(name, p)));
    this.save();
  }

  /** Deletes a topic and its logs. @throws TopicError when it does not exist */
  delete(name: string): void {
    const t = this.topics.get(name);
    if (!t) throw new TopicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic "${name}" does not exist`);
    for (const p of t.partitions) {
      p.close();
      const f = this.logFile(name, p.partition);
      if (f) rmSync(f, { force: true });
    }
    this.topics.delete(name);
    this.byId.delete(t.id.toString('hex'));
    this.save();
  }

  /** A new producer id (InitProducerId). */
  allocateProducerId(): number {
    const id = this.nextProducerId++;
    this.save();
    return id;
  }

  /** A topic setting: its own value or Kafka's default. */
  config(t: Topic, key: string): string | undefined {
    return t.configs[key] ?? TOPIC_CONFIG_DEFAULTS[key];
  }

  close(): void {
    for (const t of this.topics.values()) for (const p of t.partitions) p.close();
  }

  /** Logs on disk with no topic in topics.json (left by a crash between delete steps) are removed. */
  sweep(): void {
    if (!this.dir) return;
    for (const f of readdirSync(join(this.dir, 'logs'))) {
      const m = /^(.*)-(\d+)\.log$/.exec(f);
      const t = m ? this.topics.get(m[1]!) : undefined;
      if (!t || Number(m![2]) >= t.partitions.length) rmSync(join(this.dir, 'logs', f), { force: true });
    }
  }
}
