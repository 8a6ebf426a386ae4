/**
 * The column statistics an Iceberg manifest keeps per data file, so that readers prune files:
 * value and null counts, and lower and upper bounds in the spec's single-value binary form
 * (https://iceberg.apache.org/spec/#binary-single-value-serialization). Computed from the column
 * builders when a file is encoded (no second read of the file), recorded in the loader's commit
 * manifest, and turned into the Avro manifest by the committer.
 *
 * Bounds are kept for top-level scalar columns (numbers, dates, timestamps, strings); strings are
 * truncated to 16 bytes (the upper bound then rounded up), as Iceberg writers do by default.
 */
import { FixedBuilder, StringBuilder, type ParquetFileBuilder } from '../parquet';
import type { Pipeline } from '../pipeline';
import { icebergLayout } from './schema';

/** One column's statistics, bounds as base64 of the Iceberg binary value. */
export interface ColumnStats {
  values: number;
  nulls: number;
  lower?: string;
  upper?: string;
}

/** Statistics of one data file, by Iceberg field id. */
export type FileStats = Record<string, ColumnStats>;

const TRUNCATE = 16;

const int32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
};
const int64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(v);
  return b;
};

/** The longest prefix of at most `max` bytes that ends on a UTF-8 character boundary. */
function utf8Prefix(b: Buffer, max: number): Buffer {
  let end = Math.min(max, b.length);
  while (end > 0 && end < b.length && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

/** String bounds, truncated: the lower bound is a prefix; the upper one a prefix with its last (ASCII) byte incremented, or none. */
function stringBounds(min: Buffer, max: Buffer): { lower: Buffer; upper?: Buffer } {
  const lower = utf8Prefix(min, TRUNCATE);
  if (max.length <= TRUNCATE) return { lower, upper: max };
  const p = Buffer.from(utf8Prefix(max, TRUNCATE));
  const last = p.length - 1;
  if (last < 0 || p[last]! >= 0x7f) return { lower };
  p[last]! += 1;
  return { lower, upper: p };
}

/** The statistics of the rows a builder holds, by the pipeline's Iceberg field ids (iceberg/schema.ts). */
export function fileStats(pipeline: Pipeline, builder: ParquetFileBuilder): FileStats {
  const out: FileStats = {};
  const ids = icebergLayout(pipeline).fieldIds;
  pipeline.columns.forEach((c, i) => {
    const b = builder.columns[i];
    const id = String(ids.get(c.name)!);
    if (b instanceof FixedBuilder) {
      const s: ColumnStats = { values: builder.rows, nulls: b.nulls() };
      const r = b.range();
      if (r) {
        let lower: Buffer | undefined;
        let upper: Buffer | undefined;
        switch (c.type.kind) {
          case 'int':
          case 'date':
            lower = int32(Number(r.min));
            upper = int32(Number(r.max));
            break;
          case 'bigint':
            lower = int64(BigInt(r.min));
            upper = int64(BigInt(r.max));
            break;
          case 'timestamp':
            // Iceberg timestamps are microseconds; the files hold milliseconds.
            lower = int64(BigInt(r.min) * 1000n);
            upper = int64(BigInt(r.max) * 1000n);
            break;
          case 'float': {
            lower = Buffer.alloc(4);
            lower.writeFloatLE(Number(r.min));
            upper = Buffer.alloc(4);
            upper.writeFloatLE(Number(r.max));
            break;
          }
          case 'double': {
            lower = Buffer.alloc(8);
            lower.writeDoubleLE(Number(r.min));
            upper = Buffer.alloc(8);
            upper.writeDoubleLE(Number(r.max));
            break;
          }
        }
        if (lower && upper) {
          s.lower = lower.toString('base64');
          s.upper = upper.toString('base64');
        }
      }
      out[id] = s;
    } else if (b instanceof StringBuilder) {
      const s: ColumnStats = { values: builder.rows, nulls: b.nulls() };
      const r = b.range();
      if (r) {
        const { lower, upper } = stringBounds(r.min, r.max);
        s.lower = lower.toString('base64');
        if (upper) s.upper = upper.toString('base64');
      }
      out[id] = s;
    }
  });
  return out;
}

/** Orders two bounds of one column's Iceberg binary form (numbers by value, strings by unsigned bytes). */
function compareBound(kind: string, a: Buffer, b: Buffer): number {
  switch (kind) {
    case 'int':
    case 'date':
      return a.readInt32LE() - b.readInt32LE();
    case 'bigint':
    case 'timestamp': {
      const x = a.readBigInt64LE();
      const y = b.readBigInt64LE();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'float':
      return a.readFloatLE() - b.readFloatLE();
    case 'double':
      return a.readDoubleLE() - b.readDoubleLE();
    default:
      return Buffer.compare(a, b);
  }
}

type Pairs<T> = { key: number; value: T }[] | null | undefined;

/**
 * The statistics of a file holding exactly the rows of `files` (a compaction's output), from
 * theirs: counts add up, the lower bound is the least lower bound and the upper the greatest
 * (none when a file has none — a bound must hold for every row).
 */
export function mergeFileStats(
  pipeline: Pipeline,
  files: { value_counts: Pairs<bigint>; null_value_counts: Pairs<bigint>; lower_bounds: Pairs<Buffer>; upper_bounds: Pairs<Buffer> }[],
): FileStats {
  const out: FileStats = {};
  const ids = icebergLayout(pipeline).fieldIds;
  pipeline.columns.forEach((c) => {
    const id = ids.get(c.name)!;
    const get = <T>(p: Pairs<T>) => p?.find((x) => x.key === id)?.value;
    const values = files.map((f) => get(f.value_counts));
    const nulls = files.map((f) => get(f.null_value_counts));
    if (values.some((v) => v === undefined) || nulls.some((v) => v === undefined)) return;
    const s: ColumnStats = { values: values.reduce((n, v) => n + Number(v), 0), nulls: nulls.reduce((n, v) => n + Number(v), 0) };
    const pick = (k: 'lower_bounds' | 'upper_bounds', sign: 1 | -1): Buffer | undefined => {
      let best: Buffer | undefined;
      for (let j = 0; j < files.length; j++) {
        if (Number(values[j]) - Number(nulls[j]) === 0) continue; // nulls only: no bound, no constraint
        const b = get(files[j]![k]);
        if (b === undefined) return undefined; // unknown for a file with values: unknown for the merge
        if (best === undefined || compareBound(c.type.kind, b, best) * sign < 0) best = b;
      }
      return best;
    };
    const lower = pick('lower_bounds', 1);
    const upper = pick('upper_bounds', -1);
    if (lower) s.lower = lower.toString('base64');
    if (upper) s.upper = upper.toString('base64');
    out[String(id)] = s;
  });
  return out;
}
