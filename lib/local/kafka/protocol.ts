/**
 * The Kafka wire protocol's encoding, driven by message schemas: a message is a list of fields,
 * each valid for a range of versions, and one encoder/decoder serves every version of every API
 * (the same idea as the JSON message definitions Kafka generates its own code from, and as
 * franz-go's kmsg). Schemas are written with {@link field} in the `apis/` modules.
 *
 * Encoding rules (https://kafka.apache.org/protocol):
 * - integers big-endian; `bool` one byte; `uuid` 16 bytes;
 * - non-flexible versions: strings with an int16 length (-1 = null), bytes and arrays with an
 *   int32 length (-1 = null);
 * - flexible versions (KIP-482): "compact" lengths as unsigned varint N+1 (0 = null), and every
 *   struct ends with its tagged fields: uvarint count, then (uvarint tag, uvarint size, data).
 */
import { LakeloaderError } from '../../../lambdas/core/errors';

/** Versions a field exists in, Kafka-style: `'3+'`, `'0-4'`, `'5'`. */
export type VersionRange = string;

export type Primitive = 'int8' | 'int16' | 'int32' | 'int64' | 'uint16' | 'float64' | 'bool' | 'string' | 'bytes' | 'records' | 'uuid';
export type FieldType = Primitive | { array: FieldType } | { struct: readonly Field[] };

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly versions: VersionRange;
  readonly nullable?: VersionRange;
  /** Tagged field: its tag and the versions in which it is tagged. */
  readonly tag?: number;
  readonly tagged?: VersionRange;
  /** Value when absent in a version or not set (defaults: 0, '', false, [], 0n, null for nullables). */
  readonly default?: unknown;
}

/** A message schema: its fields and the versions that are flexible. */
export interface MessageSchema {
  readonly fields: readonly Field[];
  /** First flexible version (Infinity = none). */
  readonly flexibleFrom: number;
}

/** A decoded message: field name → value (int64 as bigint, bytes/records as Buffer, uuid as a 16-byte Buffer). */
export type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A field: `field('Name', 'string', '0+', { nullable: '12+' })`. */
export function field(name: string, type: FieldType, versions: VersionRange, opts: Omit<Field, 'name' | 'type' | 'versions'> = {}): Field {
  return { name, type, versions, ...opts };
}

/** An array of structs. */
export const structs = (fields: readonly Field[]): FieldType => ({ array: { struct: fields } });
/** An array of a primitive. */
export const arrayOf = (t: Primitive): FieldType => ({ array: t });

const rangeCache = new Map<string, [number, number]>();
function parseRange(r: VersionRange): [number, number] {
  let got = rangeCache.get(r);
  if (!got) {
    const m = /^(\d+)(\+|-(\d+))?$/.exec(r);
    if (!m) throw new Error(`bad version range "${r}"`);
    got = [Number(m[1]), m[2] === '+' ? Infinity : m[3] !== undefined ? Number(m[3]) : Number(m[1])];
    rangeCache.set(r, got);
  }
  return got;
}

/** True when version `v` is in range `r`. */
export function inRange(r: VersionRange | undefined, v: number): boolean {
  if (r === undefined) return false;
  const [lo, hi] = parseRange(r);
  return v >= lo && v <= hi;
}

/** A malformed frame or message: the request cannot be read. */
export class ProtocolError extends LakeloaderError {
  readonly code = 'PROTOCOL';
  constructor(message: string) {
    super(message);
  }
}

/** Reads primitives from a buffer, advancing an offset; every read is bounds-checked. */
export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
    readonly end = buf.length,
  ) {}

  private need(n: number): number {
    const p = this.pos;
    if (n < 0 || p + n > this.end) throw new ProtocolError(`truncated message: need ${n} bytes at ${p}, have ${this.end - p}`);
    this.pos = p + n;
    return p;
  }
  remaining(): number {
    return this.end - this.pos;
  }
  int8(): number {
    return this.buf.readInt8(this.need(1));
  }
  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  uint16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  int64(): bigint {
    return this.buf.readBigInt64BE(this.need(8));
  }
  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }
  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }
  uvarint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = this.buf[this.need(1)]!;
      value += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return value;
      shift += 7;
      if (shift > 35) throw new ProtocolError('varint is too long');
    }
  }
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
  varlong(): bigint {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.buf[this.need(1)]!;
      value |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7n;
      if (shift > 63n) throw new ProtocolError('varlong is too long');
    }
    return (value >> 1n) ^ -(value & 1n);
  }
  raw(n: number): Buffer {
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }
  uuid(): Buffer {
    return this.raw(16);
  }
}

const SCRATCH = 64 * 1024;

/** Writes primitives into chunks; large byte slices are kept by reference (no copy). */
export class Writer {
  private chunks: Buffer[] = [];
  private cur = Buffer.allocUnsafe(SCRATCH);
  private pos = 0;
  private total = 0;

  private room(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.flush();
    if (n > this.cur.length) this.cur = Buffer.allocUnsafe(Math.max(n, SCRATCH));
  }
  private flush(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.cur.subarray(0, this.pos));
    // Keep writing into the rest of the scratch buffer while there is a useful amount left.
    this.cur = this.cur.length - this.pos >= 256 ? this.cur.subarray(this.pos) : Buffer.allocUnsafe(SCRATCH);
    this.pos = 0;
  }
  get length(): number {
    return this.total;
  }
  int8(v: number): this {
    this.room(1);
    this.cur.writeInt8(v, this.pos);
    this.pos += 1;
    this.total += 1;
    return this;
  }
  int16(v: number): this {
    this.room(2);
    this.cur.writeInt16BE(v, this.pos);
    this.pos += 2;
    this.total += 2;
    return this;
  }
  uint16(v: number): this {
    this.room(2);
    this.cur.writeUInt16BE(v, this.pos);
    this.pos += 2;
    this.total += 2;
    return this;
  }
  int32(v: number): this {
    this.room(4);
    this.cur.writeInt32BE(v, this.pos);
    this.pos += 4;
    this.total += 4;
    return this;
  }
  int64(v: bigint | number): this {
    this.room(8);
    this.cur.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    this.total += 8;
    return this;
  }
  float64(v: number): this {
    this.room(8);
    this.cur.writeDoubleBE(v, this.pos);
    this.pos += 8;
    this.total += 8;
    return this;
  }
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  uvarint(v: number): this {
    this.room(5);
    let n = v >>> 0;
    if (n !== v) throw new RangeError(`uvarint out of range: ${v}`);
    while (n >= 0x80) {
      this.cur[this.pos++] = (n & 0x7f) | 0x80;
      this.total++;
      n >>>= 7;
    }
    this.cur[this.pos++] = n;
    this.total++;
    return this;
  }
  varint(v: number): this {
    return this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  raw(b: Uint8Array): this {
    if (b.length > 1024) {
      this.flush();
      this.chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    } else {
      this.room(b.length);
      this.cur.set(b, this.pos);
      this.pos += b.length;
    }
    this.total += b.length;
    return this;
  }
  /** The written bytes as one buffer. */
  toBuffer(): Buffer {
    this.flush();
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.total);
  }
  /** The written bytes as chunks (for a socket write without concatenation). */
  toChunks(): Buffer[] {
    this.flush();
    return this.chunks;
  }
}

function defaultOf(f: Field, version: number): unknown {
  if (f.default !== undefined) return f.default;
  if (inRange(f.nullable, version)) return null;
  const t = f.type;
  if (typeof t === 'object') return 'array' in t ? [] : decodeStruct(new Reader(Buffer.alloc(0)), t.struct, version, false, true);
  switch (t) {
    case 'int64':
      return 0n;
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
    case 'records':
      return Buffer.alloc(0);
    case 'uuid':
      return Buffer.alloc(16);
    default:
      return 0;
  }
}

function readLength(r: Reader, flexible: boolean, int16: boolean): number {
  if (flexible) return r.uvarint() - 1;
  return int16 ? r.int16() : r.int32();
}

function decodeValue(r: Reader, t: FieldType, version: number, flexible: boolean): unknown {
  if (typeof t === 'object') {
    if ('struct' in t) return decodeStruct(r, t.struct, version, flexible);
    const n = readLength(r, flexible, false);
    if (n < 0) return null;
    if (n > r.remaining()) throw new ProtocolError(`array of ${n} elements in ${r.remaining()} bytes`);
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = decodeValue(r, t.array, version, flexible);
    return out;
  }
  switch (t) {
    case 'int8':
      return r.int8();
    case 'int16':
      return r.int16();
    case 'uint16':
      return r.uint16();
    case 'int32':
      return r.int32();
    case 'int64':
      return r.int64();
    case 'float64':
      return r.float64();
    case 'bool':
      return r.bool();
    case 'uuid':
      return r.uuid();
    case 'string': {
      const n = readLength(r, flexible, true);
      return n < 0 ? null : r.raw(n).toString('utf8');
    }
    case 'bytes':
    case 'records': {
      const n = readLength(r, flexible, false);
      return n < 0 ? null : r.raw(n);
    }
  }
}

function decodeStruct(r: Reader, fields: readonly Field[], version: number, flexible: boolean, defaultsOnly = false): Message {
  const out: Message = {};
  const tagged = new Map<number, Field>();
  for (const f of fields) {
    if (!defaultsOnly && inRange(f.versions, version) && !(flexible && inRange(f.tagged, version))) out[f.name] = decodeValue(r, f.type, version, flexible);
    else {
      out[f.name] = defaultOf(f, version);
      if (flexible && f.tag !== undefined && inRange(f.tagged, version) && inRange(f.versions, version)) tagged.set(f.tag, f);
    }
  }
  if (flexible && !defaultsOnly) {
    const n = r.uvarint();
    for (let i = 0; i < n; i++) {
      const tag = r.uvarint();
      const size = r.uvarint();
      const f = tagged.get(tag);
      if (!f) {
        r.raw(size); // unknown tags are skipped, as the protocol requires
        continue;
      }
      const sub = new Reader(r.buf, r.pos, r.pos + size);
      out[f.name] = decodeValue(sub, f.type, version, true);
      r.raw(size);
    }
  }
  return out;
}

function writeLength(w: Writer, n: number, flexible: boolean, int16: boolean): void {
  if (flexible) w.uvarint(n + 1);
  else if (int16) w.int16(n);
  else w.int32(n);
}

function encodeValue(w: Writer, t: FieldType, v: unknown, version: number, flexible: boolean, name: string): void {
  if (typeof t === 'object') {
    if ('struct' in t) return encodeStruct(w, t.struct, (v ?? {}) as Message, version, flexible);
    if (v === null || v === undefined) return writeLength(w, -1, flexible, false);
    const arr = v as unknown[];
    writeLength(w, arr.length, flexible, false);
    for (const x of arr) encodeValue(w, t.array, x, version, flexible, name);
    return;
  }
  switch (t) {
    case 'int8':
      w.int8(Number(v ?? 0));
      return;
    case 'int16':
      w.int16(Number(v ?? 0));
      return;
    case 'uint16':
      w.uint16(Number(v ?? 0));
      return;
    case 'int32':
      w.int32(Number(v ?? 0));
      return;
    case 'int64':
      w.int64((v as bigint | number | undefined) ?? 0n);
      return;
    case 'float64':
      w.float64(Number(v ?? 0));
      return;
    case 'bool':
      w.bool(!!v);
      return;
    case 'uuid': {
      const b = (v as Buffer | undefined) ?? Buffer.alloc(16);
      if (b.length !== 16) throw new Error(`${name}: a uuid is 16 bytes, got ${b.length}`);
      w.raw(b);
      return;
    }
    case 'string': {
      if (v === null || v === undefined) return writeLength(w, -1, flexible, true);
      const b = Buffer.from(String(v), 'utf8');
      writeLength(w, b.length, flexible, true);
      w.raw(b);
      return;
    }
    case 'bytes':
    case 'records': {
      if (v === null || v === undefined) return writeLength(w, -1, flexible, false);
      const parts = Array.isArray(v) ? (v as Uint8Array[]) : [v as Uint8Array];
      writeLength(
        w,
        parts.reduce((n, p) => n + p.length, 0),
        flexible,
        false,
      );
      for (const p of parts) w.raw(p);
      return;
    }
  }
}

function isDefault(f: Field, v: unknown, version: number): boolean {
  if (v === undefined) return true;
  const d = defaultOf(f, version);
  if (v === d) return true;
  if (typeof v === 'bigint' && typeof d === 'bigint') return v === d;
  if (Array.isArray(v) && Array.isArray(d)) return v.length === 0 && d.length === 0;
  return false;
}

function encodeStruct(w: Writer, fields: readonly Field[], msg: Message, version: number, flexible: boolean): void {
  const tagged: Field[] = [];
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    if (flexible && inRange(f.tagged, version)) {
      if (!isDefault(f, msg[f.name], version)) tagged.push(f);
      continue;
    }
    const v = msg[f.name] === undefined ? defaultOf(f, version) : msg[f.name];
    encodeValue(w, f.type, v, version, flexible, f.name);
  }
  if (!flexible) return;
  tagged.sort((a, b) => a.tag! - b.tag!);
  w.uvarint(tagged.length);
  for (const f of tagged) {
    const sub = new Writer();
    encodeValue(sub, f.type, msg[f.name], version, true, f.name);
    w.uvarint(f.tag!);
    w.uvarint(sub.length);
    for (const c of sub.toChunks()) w.raw(c);
  }
}

/** Decodes a message body of `version` from the reader. */
export function decodeMessage(r: Reader, schema: MessageSchema, version: number): Message {
  return decodeStruct(r, schema.fields, version, version >= schema.flexibleFrom);
}

/** Encodes a message body of `version` into the writer (absent fields take their defaults). */
export function encodeMessage(w: Writer, schema: MessageSchema, msg: Message, version: number): void {
  encodeStruct(w, schema.fields, msg, version, version >= schema.flexibleFrom);
}

/** A request header (v1, or v2 with tagged fields for flexible requests). */
export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Reads the fixed part of a request header (api key, version, correlation id, client id). */
export function readRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const n = r.int16();
  const clientId = n < 0 ? null : r.raw(n).toString('utf8');
  return { apiKey, apiVersion, correlationId, clientId };
}

/** Skips a request header's tagged fields (header v2). */
export function skipTaggedFields(r: Reader): void {
  const n = r.uvarint();
  for (let i = 0; i < n; i++) {
    r.uvarint();
    r.raw(r.uvarint());
  }
}
