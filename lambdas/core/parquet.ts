/**
 * Encode stage: conformed rows → one Parquet file (one row group) with the table's schema.
 *
 * Rows are appended column by column into growable typed arrays (Float64Array, Int32Array,
 * 64-bit words, validity bitmaps, UTF-8 offsets + bytes); at encode those buffers are written as
 * one Arrow IPC stream (ipc.ts, no apache-arrow `Data`/`Table` in between) and parquet-wasm
 * (arrow-rs) writes the Parquet file from it, with a dictionary and min/max statistics only on
 * the columns where they pay (see `mostlyDistinctColumns`, `statisticsColumns`).
 *
 * Type mapping (Glue → Arrow → Parquet): string → Utf8 → BYTE_ARRAY STRING; boolean → Bool;
 * int → Int32 → INT32; bigint → Int64 → INT64; float → Float32; double → Float64;
 * decimal(p,s) → Decimal128 → DECIMAL(p,s); date → Date32 → INT32 DATE;
 * timestamp → Timestamp(ms, 'UTC') → INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=true); binary → Binary → BYTE_ARRAY;
 * array<T> → List → LIST; map<string,T> → Map → MAP; struct<…> → Struct → group.
 */
import type * as ArrowTypeModule from 'apache-arrow/type';
import type * as ArrowSchemaModule from 'apache-arrow/schema';
import type * as ParquetWasmModule from 'parquet-wasm';
import type { DataType, Schema } from 'apache-arrow';
import type { Conformed, MapValue } from './conform';
import type { ColumnType } from './types';
import type { Pipeline } from './pipeline';
import { LOADER_VERSION } from './version';
import { IpcBatchParts, encodeIpcStream, schemaMessage } from './ipc';
import { writeUtf8 } from './raw-buffer';
import { icebergLayout } from './iceberg/schema';

/*
 * apache-arrow and parquet-wasm are loaded on first use, not at import: parquet-wasm compiles its
 * 5 MB wasm synchronously when required, and together they are most of the handler's cold-start
 * import time, which the first batch pays. Nothing calls {@link loadParquetLibraries} at init
 * today; with provisioned concurrency, calling it in the init phase would move that cost there.
 */
let A: typeof ArrowTypeModule;
let S: typeof ArrowSchemaModule;
let PW: typeof ParquetWasmModule;

/** Loads apache-arrow and parquet-wasm now (idempotent); otherwise the first encode does. */
export function loadParquetLibraries(): void {
  if (A === undefined) {
    // Deep imports: only the type and schema classes (ipc.ts adds the message encoder), not the
    // package index — its 355 KB of minified text cost ≈ 7 ms of the handler's cold import even
    // unevaluated (130 KB with these entry points).
    A = require('apache-arrow/type') as typeof ArrowTypeModule;
    S = require('apache-arrow/schema') as typeof ArrowSchemaModule;
    PW = require('parquet-wasm') as typeof ParquetWasmModule;
  }
}

/** Field ids by column path (Iceberg tables' files carry them, see iceberg/schema.ts); absent for Hive tables. */
type FieldIds = ReadonlyMap<string, number> | undefined;

/** A field, with its Iceberg field id as Arrow metadata (`PARQUET:field_id`, which parquet-wasm writes as the Parquet field id). */
function field(name: string, type: DataType, nullable: boolean, ids: FieldIds, path: string): ArrowSchemaModule.Field {
  const id = ids?.get(path);
  return new S.Field(name, type, nullable, id === undefined ? null : new Map([['PARQUET:field_id', String(id)]]));
}

/** The Arrow type a column type is written as. */
export function arrowType(t: ColumnType, ids?: FieldIds, path = ''): DataType {
  loadParquetLibraries();
  switch (t.kind) {
    case 'string':
      return new A.Utf8();
    case 'boolean':
      return new A.Bool();
    case 'int':
      return new A.Int32();
    case 'bigint':
      return new A.Int64();
    case 'float':
      return new A.Float32();
    case 'double':
      return new A.Float64();
    case 'decimal':
      return new A.Decimal(t.scale, t.precision, 128);
    case 'date':
      return new A.DateDay();
    case 'timestamp':
      return new A.TimestampMillisecond('UTC');
    case 'binary':
      return new A.Binary();
    case 'array':
      return new A.List(field('element', arrowType(t.element, ids, `${path}.element`), true, ids, `${path}.element`));
    case 'map':
      return new A.Map_(
        new S.Field(
          'key_value',
          new A.Struct<{ key: ArrowTypeModule.Utf8; value: DataType }>([
            field('key', new A.Utf8(), false, ids, `${path}.key_value.key`),
            field('value', arrowType(t.value, ids, `${path}.key_value.value`), true, ids, `${path}.key_value.value`),
          ]),
          false,
        ),
        false,
      );
    case 'struct':
      return new A.Struct(t.fields.map((f) => field(f.name, arrowType(f.type, ids, `${path}.${f.name}`), true, ids, `${path}.${f.name}`)));
  }
}

/** The Arrow schema of a pipeline's Parquet files (every column nullable; Iceberg tables' fields carry their field ids). */
export function arrowSchema(pipeline: Pipeline): Schema {
  loadParquetLibraries();
  const ids = pipeline.format === 'iceberg' ? icebergLayout(pipeline).fieldIds : undefined;
  return new S.Schema(pipeline.columns.map((c) => field(c.name, arrowType(c.type, ids, c.name), true, ids, c.name)));
}

/** Appends values of one column and hands its Arrow arrays (field nodes + buffers) to the IPC writer. */
interface ColumnBuilder {
  length: number;
  append(v: Conformed): void;
  /** Adds this column's arrays to `parts` in IPC order (does not consume the builder). */
  collect(parts: IpcBatchParts): void;
  /** Drops the values from index `n` on (the fast path's rollback of a half-appended record). */
  truncate(n: number): void;
}

/**
 * Validity bitmap; a bit is set for each non-null value. Allocated at the first null (a column
 * without nulls, the common case, writes no bitmap and spends nothing on one). The null count is
 * not kept while appending but counted at encode, so truncating a column needs nothing here:
 * every index below the length was written by {@link set}, and bits beyond it are ignored.
 */
class Validity {
  bits: Uint8Array | null = null;
  constructor(private readonly capacity: number) {}
  set(i: number, valid: boolean) {
    const bits = this.bits;
    if (valid) {
      if (bits !== null) {
        if (i >> 3 >= bits.length) this.grow(i);
        this.bits![i >> 3] |= 1 << (i & 7);
      }
    } else if (bits === null) this.firstNull(i);
    else {
      if (i >> 3 >= bits.length) this.grow(i);
      this.bits![i >> 3] &= ~(1 << (i & 7));
    }
  }
  /**
   * The column keeps only its first `n` values. Nothing to do for n > 0 (see the class comment);
   * an emptied column forgets its bitmap, as a new one, so a reused builder whose last file had
   * nulls does not keep setting bits for a file without any.
   */
  truncate(n: number) {
    if (n === 0) this.bits = null;
  }
  /** The values before index `i` were all valid. */
  private firstNull(i: number) {
    const bits = new Uint8Array(Math.max(this.capacity, i + 1, 8) >> 2);
    bits.fill(0xff, 0, i >> 3);
    bits[i >> 3] = (1 << (i & 7)) - 1;
    this.bits = bits;
  }
  private grow(i: number) {
    const next = new Uint8Array(Math.max(this.bits!.length * 2, (i >> 3) + 1));
    next.set(this.bits!);
    this.bits = next;
  }
  /** Whether value `i` is not null. */
  isValid(i: number): boolean {
    const bits = this.bits;
    return bits === null || (bits[i >> 3]! & (1 << (i & 7))) !== 0;
  }
  /** Nulls among the first `length` values. */
  nullCount(length: number): number {
    const bits = this.bits;
    if (bits === null || length === 0) return 0;
    const full = length >> 3;
    let set = 0;
    for (let k = 0; k < full; k++) set += POPCOUNT[bits[k]];
    const rest = length & 7;
    if (rest !== 0) set += POPCOUNT[bits[full] & ((1 << rest) - 1)];
    return length - set;
  }
  /**
   * Adds the array's field node and validity buffer (none when no value is null) to `parts`, as
   * every array starts in IPC order. Bits beyond `length` in the last byte (left by truncated
   * values) are cleared first, so the bytes do not depend on what was rolled back.
   */
  collect(parts: IpcBatchParts, length: number): void {
    const nulls = this.nullCount(length);
    parts.node(length, nulls);
    if (nulls === 0) {
      parts.buffer(undefined);
      return;
    }
    const bits = this.bits!;
    if ((length & 7) !== 0) bits[length >> 3] &= (1 << (length & 7)) - 1;
    parts.buffer(bits.subarray(0, (length + 7) >> 3));
  }
}
const POPCOUNT = new Uint8Array(256);
for (let b = 1; b < 256; b++) POPCOUNT[b] = (b & 1) + POPCOUNT[b >> 1];

/**
 * Whether a column is mostly distinct, judged on its first {@link SAMPLE_SIZE} non-null values
 * (read back from the column buffers at encode). A column whose sample is mostly distinct (ids,
 * offsets, timestamps, URLs) gets no Parquet dictionary: it would cost CPU and bytes and save
 * nothing. True when at least 16 values were seen and more than two thirds of them were
 * distinct, i.e. a value repeats less than 1.5 times on average: its dictionary entry costs about
 * what it saves (measured on the example's page URLs, 74 % distinct: ≈ −2 CPU ms per batch for
 * +3 % bytes). From 16 values on, so that the small files of late events judge too (at 64, a
 * 47-row file dictionary-encoded its ids and URLs: 4 % more bytes and ≈ 0.2 ms more).
 */
const SAMPLE_SIZE = 256;
function mostlyDistinct(validity: Validity, length: number, key: (i: number) => unknown): boolean {
  const bits = validity.bits;
  const seen = new Set<unknown>();
  let n = 0;
  for (let i = 0; i < length && n < SAMPLE_SIZE; i++) {
    if (bits !== null && (bits[i >> 3] & (1 << (i & 7))) === 0) continue;
    seen.add(key(i));
    n++;
  }
  return n >= 16 && seen.size * 3 > n * 2;
}

function grow<T extends Int32Array | Float64Array | Float32Array | Uint32Array | Uint8Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  let cap = a.length * 2 || 16;
  while (cap < need) cap *= 2;
  const next = new (a.constructor as new (n: number) => T)(cap);
  next.set(a);
  return next;
}

/** Fixed-width numbers kept in a 32-bit word array: int/date (1 word), float (Float32), double, int64/timestamp (2 words), decimal (4 words). */
export class FixedBuilder implements ColumnBuilder {
  length = 0;
  private words: Uint32Array;
  private f64: Float64Array | null = null;
  private f32: Float32Array | null = null;
  private i32: Int32Array | null = null;
  private readonly validity: Validity;
  /** 32-bit words per value. */
  private readonly width: number;
  constructor(
    private readonly kind: 'int32' | 'float32' | 'float64' | 'int64' | 'decimal',
    capacity: number,
  ) {
    this.width = kind === 'int64' || kind === 'float64' ? 2 : kind === 'decimal' ? 4 : 1;
    this.words = new Uint32Array(this.width * Math.max(capacity, 1));
    this.views();
    this.validity = new Validity(capacity);
  }
  private views() {
    const buf = this.words.buffer;
    if (this.kind === 'float64') this.f64 = new Float64Array(buf);
    else if (this.kind === 'float32') this.f32 = new Float32Array(buf);
    else if (this.kind === 'int32') this.i32 = new Int32Array(buf);
  }
  append(v: Conformed) {
    const i = this.length++;
    const w = this.width;
    if ((i + 1) * w > this.words.length) {
      this.words = grow(this.words, (i + 1) * w);
      this.views();
    }
    this.validity.set(i, v !== null);
    if (v === null) {
      // Zero the slot: it may hold a rolled-back value, and the bytes should not depend on that.
      for (let k = i * w; k < (i + 1) * w; k++) this.words[k] = 0;
      return;
    }
    switch (this.kind) {
      case 'int32':
        this.i32![i] = v as number;
        break;
      case 'float32':
        this.f32![i] = v as number;
        break;
      case 'float64':
        this.f64![i] = v as number;
        break;
      case 'int64':
        if (typeof v === 'number') {
          const hi = Math.floor(v / 4294967296);
          this.words[2 * i] = v - hi * 4294967296;
          this.words[2 * i + 1] = hi;
        } else {
          let x = BigInt.asUintN(64, v as bigint);
          this.words[2 * i] = Number(x & 0xffffffffn);
          x >>= 32n;
          this.words[2 * i + 1] = Number(x);
        }
        break;
      case 'decimal': {
        let x = BigInt.asUintN(128, v as bigint);
        for (let k = 0; k < 4; k++) {
          this.words[4 * i + k] = Number(x & 0xffffffffn);
          x >>= 32n;
        }
        break;
      }
    }
  }
  truncate(n: number) {
    this.validity.truncate(n);
    this.length = n;
  }
  /** The smallest and largest non-null value (int64 as bigint; NaN skipped), or null when there is none or for decimals. */
  range(): { min: number | bigint; max: number | bigint } | null {
    const n = this.length;
    const v = this.validity;
    if (this.kind === 'decimal') return null;
    if (this.kind === 'int64') {
      const w = this.words;
      let min: bigint | null = null;
      let max: bigint | null = null;
      for (let i = 0; i < n; i++) {
        if (!v.isValid(i)) continue;
        const x = (BigInt(w[2 * i + 1]! | 0) << 32n) | BigInt(w[2 * i]!);
        if (min === null || x < min) min = x;
        if (max === null || x > max) max = x;
      }
      return min === null ? null : { min, max: max! };
    }
    const a: ArrayLike<number> = this.kind === 'int32' ? this.i32! : this.kind === 'float32' ? this.f32! : this.f64!;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      if (!v.isValid(i)) continue;
      const x = a[i]!;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    return min === Infinity ? null : { min, max };
  }
  nulls(): number {
    return this.validity.nullCount(this.length);
  }
  /** See {@link mostlyDistinct}; values compared by their bits (int64 and decimal as exact words). */
  mostlyDistinct(): boolean {
    const words = this.words;
    switch (this.kind) {
      case 'int32':
        return mostlyDistinct(this.validity, this.length, (i) => this.i32![i]);
      case 'float32':
        return mostlyDistinct(this.validity, this.length, (i) => this.f32![i]);
      case 'float64':
        return mostlyDistinct(this.validity, this.length, (i) => this.f64![i]);
      case 'int64':
        // Below 2^53 (as unsigned) the number is exact; above, the two words as text.
        return mostlyDistinct(this.validity, this.length, (i) => (words[2 * i + 1] < 0x200000 ? words[2 * i + 1] * 4294967296 + words[2 * i] : `${words[2 * i + 1]}:${words[2 * i]}`));
      case 'decimal':
        return mostlyDistinct(this.validity, this.length, (i) => `${words[4 * i]}:${words[4 * i + 1]}:${words[4 * i + 2]}:${words[4 * i + 3]}`);
    }
  }
  collect(parts: IpcBatchParts) {
    const n = this.length;
    this.validity.collect(parts, n);
    parts.buffer(new Uint8Array(this.words.buffer, 0, n * this.width * 4));
  }
}

class BoolBuilder implements ColumnBuilder {
  length = 0;
  private values: Uint8Array;
  private readonly validity: Validity;
  constructor(capacity: number) {
    this.values = new Uint8Array((capacity >> 3) + 1);
    this.validity = new Validity(capacity);
  }
  append(v: Conformed) {
    const i = this.length++;
    if ((i >> 3) + 1 > this.values.length) this.values = grow(this.values, (i >> 3) + 1);
    this.validity.set(i, v !== null);
    if (v === true) this.values[i >> 3] |= 1 << (i & 7);
    else this.values[i >> 3] &= ~(1 << (i & 7));
  }
  truncate(n: number) {
    this.validity.truncate(n);
    this.length = n;
  }
  collect(parts: IpcBatchParts) {
    const n = this.length;
    this.validity.collect(parts, n);
    if ((n & 7) !== 0) this.values[n >> 3] &= (1 << (n & 7)) - 1; // bits of truncated values
    parts.buffer(this.values.subarray(0, (n + 7) >> 3));
  }
}

/**
 * UTF-8 strings: offsets + bytes. Besides append(string), the fast path (fastpath.ts) writes a
 * value's bytes straight into {@link bytes} at {@link pos} after {@link reserve}, then calls
 * {@link push} with the new end.
 */
export class StringBuilder implements ColumnBuilder {
  length = 0;
  private offsets: Int32Array;
  /** The UTF-8 bytes of the values; valid up to {@link pos}. */
  bytes: Buffer;
  /** A DataView of {@link bytes} (the fast path copies four bytes at a time). */
  view: DataView;
  pos = 0;
  private readonly validity: Validity;
  constructor(capacity: number) {
    this.offsets = new Int32Array(capacity + 1);
    this.bytes = Buffer.allocUnsafe(Math.max(capacity * 16, 64));
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length);
    this.validity = new Validity(capacity);
  }
  /** Mean UTF-8 bytes of the non-null values. */
  averageBytes(): number {
    const n = this.length - this.validity.nullCount(this.length);
    return n === 0 ? 0 : this.pos / n;
  }
  /** Makes room for `extra` more bytes after {@link pos} (may replace {@link bytes}). */
  reserve(extra: number) {
    if (this.pos + extra > this.bytes.length) {
      const next = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.pos + extra));
      next.set(this.bytes.subarray(0, this.pos)); // TypedArray#set: no Buffer#copy argument checks
      this.bytes = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.length);
    }
  }
  /** Ends one non-null value whose bytes were written to `bytes[pos, end)`. */
  push(end: number) {
    const i = this.length++;
    if (i + 2 > this.offsets.length) this.offsets = grow(this.offsets, i + 2);
    this.validity.set(i, true);
    if (end > 0x7fffffff) throw new RangeError('a string column of one file exceeds 2 GiB');
    this.pos = end;
    this.offsets[i + 1] = end;
  }
  append(v: Conformed) {
    const i = this.length++;
    if (i + 2 > this.offsets.length) this.offsets = grow(this.offsets, i + 2);
    this.validity.set(i, v !== null);
    if (v instanceof Uint8Array) {
      // A binary column's value (same layout as a string: offsets + bytes).
      this.reserve(v.length);
      this.bytes.set(v, this.pos);
      this.pos += v.length;
      if (this.pos > 0x7fffffff) throw new RangeError('a binary column of one file exceeds 2 GiB');
    } else if (v !== null) {
      const s = v as string;
      this.reserve(s.length * 3);
      // Short ASCII strings are copied in JS (cheaper than a native call); the rest via writeUtf8.
      const bytes = this.bytes;
      let p = this.pos;
      let k = 0;
      const n = s.length;
      if (n <= 64) {
        for (; k < n; k++) {
          const c = s.charCodeAt(k);
          if (c >= 0x80) break;
          bytes[p + k] = c;
        }
      }
      p += k;
      this.pos = k === n ? p : p + writeUtf8(bytes, k === 0 ? s : s.slice(k), p);
      if (this.pos > 0x7fffffff) throw new RangeError('a string column of one file exceeds 2 GiB');
    }
    this.offsets[i + 1] = this.pos;
  }
  truncate(n: number) {
    this.validity.truncate(n);
    this.length = n;
    this.pos = this.offsets[n];
  }
  /** The smallest and largest non-null value by their UTF-8 bytes (as Iceberg orders strings), or null when there is none. */
  range(): { min: Buffer; max: Buffer } | null {
    const o = this.offsets;
    let min: Buffer | null = null;
    let max: Buffer | null = null;
    for (let i = 0; i < this.length; i++) {
      if (!this.validity.isValid(i)) continue;
      const x = this.bytes.subarray(o[i], o[i + 1]);
      if (min === null || Buffer.compare(x, min) < 0) min = x;
      if (max === null || Buffer.compare(x, max) > 0) max = x;
    }
    return min === null ? null : { min: Buffer.from(min), max: Buffer.from(max!) };
  }
  nulls(): number {
    return this.validity.nullCount(this.length);
  }
  /** See {@link mostlyDistinct}; values compared by their bytes. */
  mostlyDistinct(): boolean {
    const o = this.offsets;
    return mostlyDistinct(this.validity, this.length, (i) => this.bytes.toString('latin1', o[i], o[i + 1]));
  }
  collect(parts: IpcBatchParts) {
    const n = this.length;
    this.validity.collect(parts, n);
    parts.buffer(new Uint8Array(this.offsets.buffer, 0, (n + 1) * 4));
    parts.buffer(new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.pos));
  }
}

class ListBuilder implements ColumnBuilder {
  length = 0;
  private offsets: Int32Array;
  private readonly validity: Validity;
  constructor(
    private readonly child: ColumnBuilder,
    capacity: number,
  ) {
    this.offsets = new Int32Array(capacity + 1);
    this.validity = new Validity(capacity);
  }
  append(v: Conformed) {
    const i = this.length++;
    if (i + 2 > this.offsets.length) this.offsets = grow(this.offsets, i + 2);
    this.validity.set(i, v !== null);
    if (v !== null) for (const e of v as Conformed[]) this.child.append(e);
    this.offsets[i + 1] = this.child.length;
  }
  truncate(n: number) {
    this.validity.truncate(n);
    this.length = n;
    this.child.truncate(this.offsets[n]);
  }
  collect(parts: IpcBatchParts) {
    const n = this.length;
    this.validity.collect(parts, n);
    parts.buffer(new Uint8Array(this.offsets.buffer, 0, (n + 1) * 4));
    this.child.collect(parts);
  }
}

/**
 * map<string,T>: offsets into key and value children. The fast path writes a map<string,string>
 * value's entries into {@link keys} and {@link values} (StringBuilders) and then calls {@link push}.
 */
export class MapBuilder implements ColumnBuilder {
  length = 0;
  private offsets: Int32Array;
  private readonly validity: Validity;
  readonly keys: StringBuilder;
  constructor(
    readonly values: ColumnBuilder,
    capacity: number,
  ) {
    this.offsets = new Int32Array(capacity + 1);
    this.validity = new Validity(capacity);
    this.keys = new StringBuilder(capacity * 2);
  }
  append(v: Conformed) {
    const i = this.length++;
    if (i + 2 > this.offsets.length) this.offsets = grow(this.offsets, i + 2);
    this.validity.set(i, v !== null);
    if (v !== null) {
      const m = v as MapValue;
      for (let k = 0; k < m.keys.length; k++) {
        this.keys.append(m.keys[k]);
        this.values.append(m.values[k]);
      }
    }
    this.offsets[i + 1] = this.keys.length;
  }
  /** Ends one non-null map value whose entries were appended to {@link keys} and {@link values}. */
  push() {
    const i = this.length++;
    if (i + 2 > this.offsets.length) this.offsets = grow(this.offsets, i + 2);
    this.validity.set(i, true);
    this.offsets[i + 1] = this.keys.length;
  }
  truncate(n: number) {
    this.validity.truncate(n);
    this.length = n;
    const entries = this.offsets[n];
    this.keys.truncate(entries);
    this.values.truncate(entries);
  }
  collect(parts: IpcBatchParts) {
    const n = this.length;
    this.validity.collect(parts, n);
    parts.buffer(new Uint8Array(this.offsets.buffer, 0, (n + 1) * 4));
    // The entries struct (never null), then its key and value children.
    parts.node(this.keys.length, 0);
    parts.buffer(undefined);
    this.keys.collect(parts);
    this.values.collect(parts);
  }
}

class StructBuilder implements ColumnBuilder {
  length = 0;
  private readonly validity: Validity;
  constructor(
    private readonly children: ColumnBuilder[],
    capacity: number,
  ) {
    this.validity = new Validity(capacity);
  }
  append(v: Conformed) {
    const i = this.length++;
    this.validity.set(i, v !== null);
    const vals = v as Conformed[] | null;
    for (let k = 0; k < this.children.length; k++) this.children[k].append(vals === null ? null : vals[k]);
  }
  truncate(n: number) {
    this.validity.truncate(n);
    this.length = n;
    for (const c of this.children) c.truncate(n);
  }
  collect(parts: IpcBatchParts) {
    const n = this.length;
    this.validity.collect(parts, n);
    for (const c of this.children) c.collect(parts);
  }
}

function createBuilder(t: ColumnType, capacity: number): ColumnBuilder {
  switch (t.kind) {
    case 'string':
    case 'binary':
      return new StringBuilder(capacity);
    case 'boolean':
      return new BoolBuilder(capacity);
    case 'int':
    case 'date':
      return new FixedBuilder('int32', capacity);
    case 'bigint':
    case 'timestamp':
      return new FixedBuilder('int64', capacity);
    case 'float':
      return new FixedBuilder('float32', capacity);
    case 'double':
      return new FixedBuilder('float64', capacity);
    case 'decimal':
      return new FixedBuilder('decimal', capacity);
    case 'array':
      return new ListBuilder(createBuilder(t.element, capacity), capacity);
    case 'map':
      return new MapBuilder(createBuilder(t.value, capacity * 2), capacity);
    case 'struct':
      return new StructBuilder(t.fields.map((f) => createBuilder(f.type, capacity)), capacity);
  }
}

/** Longest mean value (UTF-8 bytes) of a string column that still gets min/max statistics. */
const MAX_STATISTICS_STRING_BYTES = 32;

/** Key-value metadata written into every file. */
export interface FileMetadata {
  pipeline: string;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

/**
 * The rows of one Parquet file, appended column by column as they are conformed (measured: holding
 * the conformed rows until encode and building column by column was ~15% slower, as the rows then
 * outlive the young generation).
 *
 * Two ways in: {@link append} takes a conformed row; the fast path (fastpath.ts) appends one value
 * to each of {@link columns} itself and then calls {@link commitRow}, or {@link rollback} to drop
 * a half-appended record.
 */
export class ParquetFileBuilder {
  /** One builder per column of `pipeline.columns`. */
  readonly columns: ColumnBuilder[];
  /** Complete rows appended. */
  rows = 0;
  constructor(
    private readonly pipeline: Pipeline,
    capacity = 1024,
  ) {
    this.columns = pipeline.columns.map((c) => createBuilder(c.type, capacity));
    this.kinds = Uint8Array.from(this.columns, (b) => (b instanceof StringBuilder ? 0 : b instanceof FixedBuilder ? 1 : 2));
  }

  /** Per column: 0 = StringBuilder, 1 = FixedBuilder, 2 = other. */
  private readonly kinds: Uint8Array;

  /** Per column: mostly distinct (see {@link mostlyDistinct}; false for other than top-level string and fixed-width columns). */
  private distinct(): boolean[] {
    return this.columns.map((b) => (b instanceof StringBuilder || b instanceof FixedBuilder) && b.mostlyDistinct());
  }

  /** Top-level string and fixed-width columns whose values are mostly distinct (written without a dictionary). */
  mostlyDistinctColumns(distinct = this.distinct()): string[] {
    return this.pipeline.columns.filter((_, i) => distinct[i]).map((c) => c.name);
  }

  /**
   * Top-level columns written with (column-chunk) min/max statistics: every fixed-width scalar
   * (numbers, decimals, dates, timestamps; Athena prunes row groups on range predicates over them,
   * above all the event time), booleans, and strings that are short and not mostly distinct
   * (codes such as a country or an event type). Not: ids, URLs and other long or unique strings,
   * nor nested columns — their min/max spans nearly the whole domain in every file, so it prunes
   * nothing, and computing it was a third of parquet-wasm's time on the example pipeline.
   */
  statisticsColumns(distinct = this.distinct()): string[] {
    const out: string[] = [];
    this.columns.forEach((b, i) => {
      const keep = b instanceof FixedBuilder || b instanceof BoolBuilder || (b instanceof StringBuilder && !distinct[i] && b.averageBytes() <= MAX_STATISTICS_STRING_BYTES);
      if (keep) out.push(this.pipeline.columns[i].name);
    });
    return out;
  }

  /** Appends one conformed row (values in `pipeline.columns` order; extra trailing values are ignored). */
  append(values: Conformed[]): void {
    // One call site per builder class keeps each call monomorphic (a single `b[i].append` site
    // sees six classes and goes megamorphic).
    const b = this.columns;
    const kinds = this.kinds;
    for (let i = 0; i < b.length; i++) {
      const k = kinds[i];
      if (k === 0) (b[i] as StringBuilder).append(values[i]);
      else if (k === 1) (b[i] as FixedBuilder).append(values[i]);
      else b[i].append(values[i]);
    }
    this.rows++;
  }

  /** Completes the row whose values the fast path appended to every column. */
  commitRow(): void {
    this.rows++;
  }

  /** Empties the builder for reuse by another file (its buffers are kept). */
  reset(): void {
    this.rows = 0;
    this.rollback();
  }

  /** Drops whatever was appended to the columns since the last complete row. */
  rollback(): void {
    const n = this.rows;
    for (const b of this.columns) b.truncate(n);
  }

  /**
   * The rows appended so far as one Arrow IPC stream (schema + one record batch).
   * @param transient see encodeIpcStream: bytes valid only until the next transient call.
   */
  toIpcStream(transient = false): Uint8Array {
    const parts = new IpcBatchParts();
    for (const b of this.columns) b.collect(parts);
    return encodeIpcStream(schemaMessageOf(this.pipeline), this.rows, parts, transient);
  }

  /** Encodes the rows appended so far as one Parquet file with one row group. */
  encode(meta: FileMetadata): Uint8Array {
    // fromIPCStream copies the stream into wasm memory at once, so a reused buffer will do.
    const distinct = this.distinct();
    return encodeIpc(this.toIpcStream(true), this.pipeline, meta, this.rows, this.mostlyDistinctColumns(distinct), this.statisticsColumns(distinct));
  }
}

const schemaJson = new WeakMap<Pipeline, string>();
/** The Iceberg schema of a pipeline's files as JSON (once per pipeline). */
function icebergSchemaJson(pipeline: Pipeline): string {
  let j = schemaJson.get(pipeline);
  if (j === undefined) {
    j = JSON.stringify(icebergLayout(pipeline).schema);
    schemaJson.set(pipeline, j);
  }
  return j;
}

/** The framed IPC schema message of each pipeline's files, built once. */
const schemaMessages = new WeakMap<Pipeline, Uint8Array>();
function schemaMessageOf(pipeline: Pipeline): Uint8Array {
  let m = schemaMessages.get(pipeline);
  if (m === undefined) {
    m = schemaMessage(arrowSchema(pipeline));
    schemaMessages.set(pipeline, m);
  }
  return m;
}

function encodeIpc(ipc: Uint8Array, pipeline: Pipeline, meta: FileMetadata, rows: number, noDictionary: string[], statistics: string[]): Uint8Array {
  loadParquetLibraries();
  const kv = new Map<string, string>([
    ['lakeloader.version', LOADER_VERSION],
    ['lakeloader.pipeline', meta.pipeline],
    ['lakeloader.topic', meta.topic],
    ['lakeloader.partition', String(meta.partition)],
    ['lakeloader.first_offset', String(meta.firstOffset)],
    ['lakeloader.last_offset', String(meta.lastOffset)],
  ]);
  // As Iceberg's writers do: the file's schema with its field ids, by which readers such as
  // icebird map the file's columns to the table's current ones (a column added later is null).
  if (pipeline.format === 'iceberg') kv.set('iceberg.schema', icebergSchemaJson(pipeline));
  let builder = new PW.WriterPropertiesBuilder()
    .setCompression(pipeline.compression === 'zstd' ? PW.Compression.ZSTD : PW.Compression.SNAPPY)
    .setMaxRowGroupSize(Math.max(rows, 1))
    .setKeyValueMetadata(kv)
    // Row-group (chunk) statistics only, and only where they can prune (see statisticsColumns):
    // with one row group and 1 MB pages a page index would repeat the chunk's min/max.
    .setStatisticsEnabled(PW.EnabledStatistics.None);
  for (const name of statistics) builder = builder.setColumnStatisticsEnabled(name, PW.EnabledStatistics.Chunk);
  for (const name of noDictionary) builder = builder.setColumnDictionaryEnabled(name, false);
  const props = builder.build();
  const wasmTable = PW.Table.fromIPCStream(ipc);
  return PW.writeParquet(wasmTable, props);
}

/**
 * A valid Parquet file with the table's schema and zero rows (the commit protocol's fencing tombstone).
 * Its key-value metadata names the pipeline; topic is '' and partition/offsets are -1 unless `meta` is given.
 */
export function encodeEmptyFile(pipeline: Pipeline, meta?: FileMetadata): Uint8Array {
  return new ParquetFileBuilder(pipeline, 1).encode(meta ?? { pipeline: pipeline.name, topic: '', partition: -1, firstOffset: -1, lastOffset: -1 });
}
