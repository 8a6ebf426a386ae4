/**
 * The pure half of the loader: one Kafka partition's records → Parquet files (one per table
 * partition) + quarantine entries + counts. No I/O.
 *
 * ```
 * record ─decode→ JSON ─transform→ rows ─conform→ typed values ─partition→ file builder ─encode→ Parquet
 *            └──────────── any failure: the whole record → quarantine (stage, reason) ─────────┘
 * ```
 * A record's rows are appended only when all of them conformed and partitioned, so a record is
 * either entirely in the table or entirely in the quarantine.
 */
import { DEFAULT_MAX_NESTING_DEPTH, DEFAULT_MAX_VALUE_BYTES, DecodeError, InexactNumberError, decodeJsonValue, decodeJsonValueRounded, expectObject, type DecodeLimits } from './decode';
import { ConformError, createRowConformer, type Conformed, type RowConformer } from './conform';
import { PartitionError, createPartitioner, type PartitionTarget } from './partition';
import { ParquetFileBuilder, encodeEmptyFile } from './parquet';
import { TransformError, applyTransform } from './transform';
import { quarantineEntry } from './quarantine';
import { fastParserFor } from './fastpath';
import type { MskRecord, PreparedBatch, PreparedFile, QuarantineEntry } from './model';
import type { Pipeline, RecordMeta, Row } from './pipeline';
import { LakeloaderError } from './errors';
import { SchemaMismatchError } from './formats/errors';
import { FormatRuntime, needsRuntime } from './formats/runtime';
import { setUnknownFieldSink } from './conform';
import { icebergPartition } from './iceberg/partition';
import { fileStats } from './iceberg/stats';

export { serializeQuarantine } from './quarantine';

/** Whether prepareBatch reads this pipeline's records with the fast path (fastpath.ts), falling back per record. */
export function usesFastPath(pipeline: Pipeline): boolean {
  return !pipeline.transform && fastParserFor(pipeline, machineryFor(pipeline).limits) !== null;
}

/** The input of prepareBatch breaks its contract (a caller bug, not a bad record). */
export class PrepareInputError extends LakeloaderError {
  readonly code = 'PREPARE_INPUT';
  constructor(message: string) {
    super(message);
  }
}

/** One file of a batch: its partition, its column builders and the offsets and event times of its rows. */
export interface Group {
  target: PartitionTarget;
  builder: ParquetFileBuilder;
  firstOffset: number;
  lastOffset: number;
  maxEventTime: number | null;
}

/** Per-pipeline machinery, built once per container. */
interface Prepared {
  conform: ReturnType<typeof createRowConformer>;
  partition: ReturnType<typeof createPartitioner>;
  limits: DecodeLimits;
}
const machinery = new WeakMap<Pipeline, Prepared>();
function machineryFor(pipeline: Pipeline): Prepared {
  let m = machinery.get(pipeline);
  if (!m) {
    m = {
      conform: createRowConformer(pipeline),
      partition: createPartitioner(pipeline),
      limits: { maxValueBytes: pipeline.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES, maxNestingDepth: pipeline.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH },
    };
    machinery.set(pipeline, m);
  }
  return m;
}

/** The transform's view of a record: raw key and header bytes decoded from the ESM's shape. */
function recordMeta(r: MskRecord): RecordMeta {
  const headers: RecordMeta['headers'] = [];
  for (const h of r.headers ?? []) for (const key of Object.keys(h)) headers.push({ key, value: Uint8Array.from(h[key]) });
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    timestampType: r.timestampType,
    key: r.key === undefined || r.key === null ? null : new Uint8Array(Buffer.from(r.key, 'base64')),
    headers,
  };
}

/**
 * Decodes, transforms, conforms, partitions and encodes one Kafka partition's records.
 *
 * @param records ONE topic-partition, ascending offsets, duplicates already removed (so
 *   `counts.duplicates` is 0). An empty list gives an empty batch with offsets −1.
 * @returns one PreparedFile per table partition (rows in offset order), the quarantine entries
 *   (record order) and counts with `in = written + quarantined + filtered`.
 * Never throws for a bad record: the record is quarantined with its stage and reason.
 * @throws PrepareInputError when the records break the contract above; other errors are bugs.
 */
export async function prepareBatch(pipeline: Pipeline, records: MskRecord[], options: PrepareOptions = {}): Promise<PreparedBatch> {
  const runtime = options.runtime ?? defaultRuntime(pipeline);
  if (runtime === null) return encodeBatch(pipeline, appendBatch(pipeline, records, options));
  // Avro, Protobuf, registry frames, decoded keys, evolving tables (formats/runtime.ts): writer
  // schemas fetched and the table grown first (I/O), then the same pure append and encode.
  const resolved = await runtime.resolve(records);
  let effective = resolved.pipeline;
  const evolveJson = effective.unknownFields === 'evolve' && (effective.valueFormat === 'json' || effective.transform !== undefined);
  for (let pass = 0; ; pass++) {
    const unknown = evolveJson && pass < 3 ? new Map<string, unknown>() : undefined;
    const appended = appendBatch(effective, records, { ...options, decodeValue: resolved.decode, unknownFields: unknown });
    if (unknown && unknown.size > 0) {
      const grown = await runtime.evolveFields(unknown);
      if (grown !== null && grown !== effective) {
        // The table grew: append the batch again with its new columns.
        releaseBuilders(effective, appended);
        effective = grown;
        continue;
      }
    }
    const out = encodeBatch(effective, appended);
    return effective === pipeline ? out : { ...out, pipeline: effective };
  }
}

/** Format runtimes of the pipelines prepared without one given (ops tools, tests, the bench): registry clients from the environment, the table evolving in memory. */
const runtimes = new WeakMap<Pipeline, FormatRuntime | null>();
function defaultRuntime(pipeline: Pipeline): FormatRuntime | null {
  let r = runtimes.get(pipeline);
  if (r === undefined) {
    r = needsRuntime(pipeline) ? new FormatRuntime(pipeline, { aws: { region: process.env.AWS_REGION, endpoint: process.env.AWS_ENDPOINT_URL } }) : null;
    runtimes.set(pipeline, r);
  }
  return r;
}

export interface PrepareOptions {
  /** Read records with the schema-directed fast path where it applies (fastpath.ts); false takes the general path only, the reference the fast path is tested against. @default true */
  fastPath?: boolean;
  /** The pipeline's format runtime (registry clients, the evolving table); the handler passes the container's. @default one per pipeline from the environment, evolving in memory */
  runtime?: FormatRuntime;
}

/** Options of {@link appendBatch} set by prepareBatch for formats other than plain JSON. */
export interface AppendOptions extends PrepareOptions {
  /** Decodes a record's value to what the transform or conformer reads (replaces JSON decoding; the fast path is off). */
  decodeValue?: (rec: MskRecord) => unknown;
  /** Collects fields of rows that are not columns (first non-null value each), for `unknownFields: 'evolve'`. */
  unknownFields?: Map<string, unknown>;
}

/** A batch whose rows are appended to their files' column builders but not yet encoded (see {@link appendBatch}). */
export interface AppendedBatch {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  /** One per table partition, in the order of their first row. */
  groups: Group[];
  quarantine: QuarantineEntry[];
  counts: PreparedBatch['counts'];
}

/**
 * The first half of {@link prepareBatch}: decodes, transforms, conforms and partitions the
 * records and appends each row to its file's column builders. Hand the result to
 * {@link encodeBatch} (which also returns the builders for reuse). Exported for the bench's stage
 * split; same contract as prepareBatch.
 */
export function appendBatch(pipeline: Pipeline, records: MskRecord[], options: AppendOptions = {}): AppendedBatch {
  setUnknownFieldSink(options.unknownFields ?? null);
  try {
    return appendRecords(pipeline, records, options);
  } finally {
    setUnknownFieldSink(null);
  }
}

function appendRecords(pipeline: Pipeline, records: MskRecord[], options: AppendOptions): AppendedBatch {
  const decodeValue = options.decodeValue;
  const { conform, partition, limits } = machineryFor(pipeline);
  const transform = pipeline.transform;
  const first = records[0];
  const topic = first?.topic ?? '';
  const kafkaPartition = first?.partition ?? -1;
  const groups = new Map<string, Group>();
  const quarantine: QuarantineEntry[] = [];
  let written = 0;
  let rowsWritten = 0;
  let filtered = 0;
  let prevOffset = -Infinity;
  const capacity = Math.min(Math.max(records.length, 16), 2048);
  // Scratch for records that fan out into several rows.
  const pendingValues: Conformed[][] = [];
  const pendingTargets: PartitionTarget[] = [];

  const meta = { topic, partition: kafkaPartition, offset: 0, timestamp: 0 };
  // The schema-directed byte parser (fastpath.ts) for the common record; null = old path only.
  const fast = transform || decodeValue || options.fastPath === false ? null : fastParserFor(pipeline, limits);
  /** The file the last row went to (where the fast path appends the next one first). */
  let last: Group | null = null;
  /** The file of the last row that did not go to `last` (it becomes `last` when the next row goes there too). */
  let pending: Group | null = null;
  for (let r = 0; r < records.length; r++) {
    const rec = records[r];
    if (rec.topic !== topic || rec.partition !== kafkaPartition) {
      throw new PrepareInputError(`prepareBatch takes one topic-partition; got ${rec.topic}-${rec.partition} after ${topic}-${kafkaPartition}`);
    }
    if (!(rec.offset > prevOffset)) throw new PrepareInputError(`offsets must ascend without duplicates; got ${rec.offset} after ${prevOffset} in ${topic}-${kafkaPartition}`);
    prevOffset = rec.offset;
    meta.offset = rec.offset;
    meta.timestamp = rec.timestamp;
    // True while conforming rows a transform returned: those are arbitrary JS objects (getters,
    // proxies), so anything they throw is the record's fault, not the loader's.
    let readingTransformRows = false;
    // The fast path appends straight into a file's columns, so it needs the file before it knows
    // the row's partition: it takes the file of the recent rows (`last`) and, when the row belongs
    // elsewhere (a late event, the next hour), rolls back and appends again into the right one.
    if (fast !== null && last !== null && fast.append(rec.value, meta, last.builder)) {
      let target: PartitionTarget | null;
      try {
        target = partition(fast.values, rec.timestamp);
      } catch {
        target = null; // the old path gives the reason
      }
      if (target === null) last.builder.rollback();
      else {
        let g: Group = last;
        if (target.hivePath !== last.target.hivePath) {
          last.builder.rollback();
          g = groupFor(groups, target, rec.offset, pipeline, capacity);
          // Deterministic: the same record parses the same way into any file.
          if (!fast.append(rec.value, meta, g.builder)) throw new Error(`fast path: record ${topic}-${kafkaPartition}@${rec.offset} parsed once but not twice`);
        } else noteRow(g, target, rec.offset);
        g.builder.commitRow();
        if (g !== last) {
          // A row elsewhere: switch only when the next row goes there too (a late event is
          // usually followed by on-time ones; a new hour by more of the new hour).
          if (g === pending) {
            last = g;
            pending = null;
          } else pending = g;
        } else pending = null;
        rowsWritten++;
        written++;
        continue;
      }
    }
    try {
      // Without a transform only the conformer reads the value, and it notices a number beyond
      // 2^53 (InexactNumberError below), so the digit scan of decodeJsonValue is skipped.
      const value = decodeValue ? decodeValue(rec) : transform ? decodeJsonValue(rec.value, limits) : decodeJsonValueRounded(rec.value, limits);
      let rows: Row[] | null;
      if (transform) {
        rows = applyTransform(transform, value, recordMeta(rec));
        if (rows === null) {
          filtered++;
          continue;
        }
      } else {
        rows = null;
      }
      readingTransformRows = rows !== null;
      if (rows === null || rows.length === 1) {
        const values = rows === null ? (decodeValue ? conform(expectObject(value), meta) : conformRounded(conform, rec, value, meta, limits)) : conform(rows[0], meta);
        const target = partition(values, rec.timestamp);
        readingTransformRows = false;
        last = groupFor(groups, target, rec.offset, pipeline, capacity);
        last.builder.append(values);
        rowsWritten++;
      } else {
        pendingValues.length = 0;
        pendingTargets.length = 0;
        for (const row of rows) {
          const values = conform(row, meta);
          pendingValues.push(values);
          pendingTargets.push(partition(values, rec.timestamp));
        }
        readingTransformRows = false;
        for (let i = 0; i < pendingValues.length; i++) groupFor(groups, pendingTargets[i], rec.offset, pipeline, capacity).builder.append(pendingValues[i]);
        rowsWritten += pendingValues.length;
      }
      written++;
    } catch (e) {
      if (e instanceof DecodeError || e instanceof TransformError || e instanceof ConformError || e instanceof PartitionError || e instanceof SchemaMismatchError) {
        quarantine.push(quarantineEntry(pipeline.name, rec, e.stage, e.message));
      } else if (readingTransformRows) {
        quarantine.push(quarantineEntry(pipeline.name, rec, 'conform', `a row returned by the transform cannot be read: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`));
      } else {
        throw e;
      }
    }
  }

  return {
    topic,
    partition: kafkaPartition,
    firstOffset: first ? first.offset : -1,
    lastOffset: records.length ? records[records.length - 1].offset : -1,
    groups: [...groups.values()],
    quarantine,
    counts: { in: records.length, written, rows: rowsWritten, quarantined: quarantine.length, filtered, duplicates: 0 },
  };
}

/** The second half of {@link prepareBatch}: encodes each file of an {@link AppendedBatch} (once). */
export function encodeBatch(pipeline: Pipeline, batch: AppendedBatch): PreparedBatch {
  const { topic, partition, groups } = batch;
  const files: PreparedFile[] = [];
  for (const g of groups) {
    files.push({
      partitionValues: g.target.values,
      hivePath: g.target.hivePath,
      rows: g.builder.rows,
      firstOffset: g.firstOffset,
      lastOffset: g.lastOffset,
      maxEventTime: g.maxEventTime,
      body: g.builder.encode({ pipeline: pipeline.name, topic, partition, firstOffset: g.firstOffset, lastOffset: g.lastOffset }),
      ...(pipeline.format === 'iceberg' ? { iceberg: { partition: icebergPartition(pipeline, g.target), stats: fileStats(pipeline, g.builder) } } : {}),
    });
  }
  // The encoded bodies are copies (out of wasm memory): the builders can serve the next batch.
  const spare = spareBuilders(pipeline);
  for (const g of groups) {
    if (spare.length >= MAX_SPARE_BUILDERS) break;
    g.builder.reset();
    spare.push(g.builder);
  }
  return { topic, partition, firstOffset: batch.firstOffset, lastOffset: batch.lastOffset, files, quarantine: batch.quarantine, counts: batch.counts };
}

/** Returns the builders of an appended batch that will not be encoded (the table grew: it is appended again). */
function releaseBuilders(pipeline: Pipeline, batch: AppendedBatch): void {
  const spare = spareBuilders(pipeline);
  for (const g of batch.groups) {
    if (spare.length >= MAX_SPARE_BUILDERS) break;
    g.builder.reset();
    spare.push(g.builder);
  }
}

/** Conforms a value from decodeJsonValueRounded; a record with a number beyond 2^53 is decoded exactly and conformed again. */
function conformRounded(conform: RowConformer, rec: MskRecord, value: unknown, meta: Parameters<RowConformer>[1], limits: DecodeLimits): Conformed[] {
  try {
    return conform(expectObject(value), meta, true);
  } catch (e) {
    if (!(e instanceof InexactNumberError)) throw e;
    return conform(expectObject(decodeJsonValue(rec.value, limits)), meta);
  }
}

/**
 * File builders of finished batches, per pipeline, taken by the next batch: a warm container
 * appends into buffers that already have the size of a batch instead of allocating and growing
 * new ones (and collecting the old) for every file. A builder is in this list only while no batch
 * uses it.
 */
const spares = new WeakMap<Pipeline, ParquetFileBuilder[]>();
/** At most this many builders are kept per pipeline (each holds about one file's column buffers). */
const MAX_SPARE_BUILDERS = 8;
function spareBuilders(pipeline: Pipeline): ParquetFileBuilder[] {
  let s = spares.get(pipeline);
  if (s === undefined) {
    s = [];
    spares.set(pipeline, s);
  }
  return s;
}

/** The file group of `target` (created on first use), with the record at `offset` added to its range. */
function groupFor(groups: Map<string, Group>, target: PartitionTarget, offset: number, pipeline: Pipeline, capacity: number): Group {
  let g = groups.get(target.hivePath);
  if (!g) {
    g = { target, builder: spareBuilders(pipeline).pop() ?? new ParquetFileBuilder(pipeline, capacity), firstOffset: offset, lastOffset: offset, maxEventTime: target.eventTime };
    groups.set(target.hivePath, g);
  }
  noteRow(g, target, offset);
  return g;
}

/** Adds the record at `offset` (row target `target`) to the group's offset range and event time. */
function noteRow(g: Group, target: PartitionTarget, offset: number): void {
  g.lastOffset = offset;
  if (target.eventTime !== null && (g.maxEventTime === null || target.eventTime > g.maxEventTime)) g.maxEventTime = target.eventTime;
}

/** A valid Parquet file with the table's schema and zero rows (used as a fencing tombstone by the commit protocol). */
export function encodeEmptyParquet(pipeline: Pipeline): Uint8Array {
  return encodeEmptyFile(pipeline);
}
