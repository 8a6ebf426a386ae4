/**
 * Per-stage time of the loader core on one Kafka partition's records. The headline throughput
 * comes from prepareBatch itself (loader.ts); this only says where its time goes.
 *
 * For a pipeline the fast path serves (fastpath.ts: no transform, flat JSON, the example
 * pipeline), its stages are the ones prepareBatch runs: `decode` (base64 of every value, timed on
 * its own), `scan` (appendBatch: the fused parse + conform + partition + column append, minus the
 * decode time it includes) and `encode` (encodeBatch: columns → Arrow IPC → parquet-wasm →
 * Parquet bytes); `conform` and `columns` are 0 there, being part of `scan`.
 *
 * For any other pipeline, the core's own stage functions (decode.ts, conform.ts, partition.ts,
 * parquet.ts) run in sequence the way prepareBatch's old path chains them, each timed over the
 * whole batch: decode (base64 → UTF-8 → JSON), transform (the pipeline's function), conform
 * (coerce to column types + compute the partition), columns (`ParquetFileBuilder.append`),
 * encode; `scan` is 0.
 */
import { DEFAULT_MAX_NESTING_DEPTH, DEFAULT_MAX_VALUE_BYTES, InexactNumberError, base64ByteLength, decodeJsonValue, decodeJsonValueRounded } from '../../lambdas/core/decode';
import { createRowConformer, type Conformed } from '../../lambdas/core/conform';
import { createPartitioner } from '../../lambdas/core/partition';
import { ParquetFileBuilder } from '../../lambdas/core/parquet';
import { appendBatch, encodeBatch, usesFastPath } from '../../lambdas/core/prepare';
import { writeBase64 } from '../../lambdas/core/raw-buffer';
import type { MskRecord } from '../../lambdas/core/model';
import type { Pipeline, Row } from '../../lambdas/core/pipeline';

export const STAGES = ['decode', 'transform', 'scan', 'conform', 'columns', 'encode'] as const;

/**
 * Process CPU time (user + system, all threads), ms. Stages are timed in CPU time, not wall time,
 * so that other load on the machine does not blur the split (GC helper threads count, as they
 * would on the Lambda's vCPU).
 */
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
export type Stage = (typeof STAGES)[number];
export type StageTimes = Record<Stage, number>;

/**
 * Runs the stages over `records` (one topic-partition) and returns each stage's CPU milliseconds.
 * Bad records are skipped (counted in `skipped`); the bench feeds valid records only.
 */
export function measureStages(pipeline: Pipeline, records: MskRecord[]): { ms: StageTimes; rows: number; skipped: number; outputBytes: number } {
  const limits = { maxValueBytes: DEFAULT_MAX_VALUE_BYTES, maxNestingDepth: DEFAULT_MAX_NESTING_DEPTH };
  if (usesFastPath(pipeline)) return measureFastStages(pipeline, records);
  let skipped = 0;

  // As prepareBatch: without a transform, decode rounded and re-decode a record exactly when the
  // conformer meets a number beyond 2^53 (that re-decode counts in `conform`).
  const rounded = !pipeline.transform;
  let t = cpuNow();
  const values: unknown[] = [];
  const metas: MskRecord[] = [];
  for (const r of records) {
    try {
      values.push(rounded ? decodeJsonValueRounded(r.value, limits) : decodeJsonValue(r.value, limits));
      metas.push(r);
    } catch {
      skipped++;
    }
  }
  const decode = cpuNow() - t;

  t = cpuNow();
  const rows: Row[] = [];
  const rowMeta: MskRecord[] = [];
  const transform = pipeline.transform;
  for (let i = 0; i < values.length; i++) {
    const m = metas[i];
    if (!transform) {
      rows.push(values[i] as Row);
      rowMeta.push(m);
      continue;
    }
    const out = transform(values[i], {
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      timestamp: m.timestamp,
      timestampType: m.timestampType,
      key: m.key ? Buffer.from(m.key, 'base64') : null,
      headers: [],
    });
    for (const row of out == null ? [] : Array.isArray(out) ? out : [out]) {
      rows.push(row);
      rowMeta.push(m);
    }
  }
  const transformMs = cpuNow() - t;

  t = cpuNow();
  const conformer = createRowConformer(pipeline);
  const partitioner = createPartitioner(pipeline);
  const groups = new Map<string, Conformed[][]>();
  for (let i = 0; i < rows.length; i++) {
    const m = rowMeta[i];
    try {
      let v: Conformed[];
      try {
        v = conformer(rows[i], m, rounded);
      } catch (e) {
        if (!(e instanceof InexactNumberError)) throw e;
        v = conformer(decodeJsonValue(m.value, limits) as Row, m);
      }
      const target = partitioner(v, m.timestamp);
      let g = groups.get(target.hivePath);
      if (!g) groups.set(target.hivePath, (g = []));
      g.push(v);
    } catch {
      skipped++;
    }
  }
  const conform = cpuNow() - t;

  t = cpuNow();
  const builders: ParquetFileBuilder[] = [];
  let n = 0;
  for (const g of groups.values()) {
    const b = new ParquetFileBuilder(pipeline);
    for (const v of g) b.append(v);
    builders.push(b);
    n += g.length;
  }
  const columns = cpuNow() - t;

  t = cpuNow();
  let outputBytes = 0;
  const first = records[0];
  for (const b of builders) {
    outputBytes += b.encode({ pipeline: pipeline.name, topic: first?.topic ?? '', partition: first?.partition ?? 0, firstOffset: first?.offset ?? 0, lastOffset: records[records.length - 1]?.offset ?? 0 }).length;
  }
  const encode = cpuNow() - t;

  return { ms: { decode, transform: transformMs, scan: 0, conform, columns, encode }, rows: n, skipped, outputBytes };
}

/** The fast path's stages (see the header): base64 alone, then appendBatch and encodeBatch as prepareBatch runs them. */
function measureFastStages(pipeline: Pipeline, records: MskRecord[]): { ms: StageTimes; rows: number; skipped: number; outputBytes: number } {
  let scratch = Buffer.allocUnsafe(64 * 1024);
  let t = cpuNow();
  for (const r of records) {
    if (!r.value) continue;
    const size = base64ByteLength(r.value);
    if (scratch.length < size) scratch = Buffer.allocUnsafe(size * 2);
    writeBase64(scratch, r.value);
  }
  const decode = cpuNow() - t;
  t = cpuNow();
  const appended = appendBatch(pipeline, records);
  const scan = Math.max(0, cpuNow() - t - decode);
  t = cpuNow();
  const prepared = encodeBatch(pipeline, appended);
  const encode = cpuNow() - t;
  const outputBytes = prepared.files.reduce((s, f) => s + f.body.length, 0);
  return { ms: { decode, transform: 0, scan, conform: 0, columns: 0, encode }, rows: prepared.counts.rows, skipped: prepared.counts.quarantined, outputBytes };
}
