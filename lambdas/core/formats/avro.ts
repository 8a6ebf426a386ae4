/**
 * Avro: writer schemas → columns, and record payloads → rows, with avsc (the most complete and
 * fastest Avro implementation for JavaScript; ≈ 70 KB minified, loaded on first use so that JSON
 * pipelines never pay for it).
 *
 * Decoding always uses the record's own writer schema (the bytes mean nothing without it). Its
 * fields are renamed to their column names before avsc compiles it (Avro binary data carries no
 * names, so this changes nothing in the bytes), unions are wrapped so a value of a union of several
 * types keeps its branch, longs come back exact (a number when safe, a bigint beyond 2^53), and
 * logical types come back in the form the conformer reads: see the mapping table in
 * docs/schema-registry.md and {@link avroColumnType}.
 *
 * When the pipeline has a reader schema (a schema file), Avro's resolution rules decide whether a
 * writer schema can be read at all (avsc's `createResolver`; otherwise the records of that schema
 * are quarantined with avsc's reason), and reader fields the writer lacks get the reader's default.
 */
import type * as AvscModule from 'avsc';
import type { ColumnType } from '../types';
import type { Row } from '../pipeline';
import { DecodeError } from '../decode';
import { columnName, columnNames, decimalText, floorDiv, twosComplement, type DerivedColumn } from './columns';
import { formatDay } from '../partition';
import { SchemaDefinitionError } from './errors';

let avsc: typeof AvscModule | undefined;
/** avsc, required on first use. */
function lib(): typeof AvscModule {
  return (avsc ??= require('avsc') as typeof AvscModule);
}

// avsc's typings do not describe its type tree; this is the part the mapping reads.
interface AvscType {
  typeName: string;
  branchName?: string;
  name?: string;
  fields?: { name: string; type: AvscType; defaultValue(): unknown; aliases?: string[] }[];
  itemsType?: AvscType;
  valuesType?: AvscType;
  types?: AvscType[];
  size?: number;
  underlyingType?: AvscType;
  fromBuffer(buf: Buffer, resolver?: unknown, noCheck?: boolean): unknown;
  toBuffer(v: unknown): Buffer;
  createResolver(writer: AvscType): unknown;
  schema(opts?: unknown): unknown;
}

/** A compiled writer (or reader) schema. */
export interface CompiledAvro {
  /** The columns the schema's top-level record maps to (a non-record schema is one column `value`). */
  columns: DerivedColumn[];
  /** Decodes one payload into a row keyed by column names. @throws DecodeError when the bytes do not match */
  decode(payload: Uint8Array): Row;
  /** @internal the avsc type (for resolution checks) */
  readonly type: AvscType;
  /** @internal the record's fields by column name (for defaults) */
  readonly fieldsByColumn: Map<string, { aliases: string[]; defaultValue: () => unknown; hasDefault: boolean }>;
}

/** Wraps a logical type's value conversion; `_toValue` is used when encoding (produce, tests). */
function logicalTypes(): Record<string, unknown> {
  const { types } = lib();
  const Logical = types.LogicalType as unknown as new (schema: unknown, opts: unknown) => object;
  const num = (v: unknown) => (typeof v === 'bigint' ? v : Number(v));
  class TimestampType extends Logical {
    constructor(
      schema: { logicalType: string },
      opts: unknown,
      readonly unit = /micros/.test(schema.logicalType) ? 1000 : /nanos/.test(schema.logicalType) ? 1_000_000 : 1,
    ) {
      super(schema, opts);
      const u = (this as unknown as AvscType).underlyingType!;
      if (u.typeName !== 'long' && u.typeName !== 'abstract:long') throw new Error(`${schema.logicalType} must annotate a long`);
    }
    _fromValue(v: number | bigint) {
      return this.unit === 1 ? v : floorDiv(v, this.unit);
    }
    _toValue(v: unknown) {
      const ms = v instanceof Date ? v.getTime() : typeof v === 'string' && !/^-?\d+$/.test(v) ? Date.parse(v) : num(v);
      return typeof ms === 'bigint' ? ms * BigInt(this.unit) : ms * this.unit;
    }
    _resolve(t: AvscType) {
      return t instanceof TimestampType && t.unit === this.unit ? (x: unknown) => x : undefined;
    }
  }
  class DateType extends Logical {
    constructor(schema: unknown, opts: unknown) {
      super(schema, opts);
      if ((this as unknown as AvscType).underlyingType!.typeName !== 'int') throw new Error('date must annotate an int');
    }
    _fromValue(days: number) {
      return formatDay(days);
    }
    _toValue(v: unknown) {
      if (typeof v === 'number') return v;
      const ms = v instanceof Date ? v.getTime() : Date.parse(`${String(v)}T00:00:00Z`);
      return Math.floor(ms / 86_400_000);
    }
    _resolve(t: AvscType) {
      return t instanceof DateType ? (x: unknown) => x : undefined;
    }
  }
  class DecimalType extends Logical {
    readonly precision: number;
    readonly scale: number;
    constructor(schema: { precision?: unknown; scale?: unknown }, opts: unknown) {
      super(schema, opts);
      const u = (this as unknown as AvscType).underlyingType!;
      if (u.typeName !== 'bytes' && u.typeName !== 'fixed') throw new Error('decimal must annotate bytes or fixed');
      this.precision = Number(schema.precision);
      this.scale = schema.scale === undefined ? 0 : Number(schema.scale);
      if (!Number.isInteger(this.precision) || this.precision < 1 || !Number.isInteger(this.scale) || this.scale < 0 || this.scale > this.precision) {
        throw new Error('decimal needs 1 <= precision and 0 <= scale <= precision');
      }
    }
    _fromValue(b: Buffer) {
      return decimalText(twosComplement(b), this.scale);
    }
    _toValue(v: unknown) {
      const [i, f = ''] = String(v).replace(/^-/, '').split('.');
      let n = BigInt(i + f.padEnd(this.scale, '0').slice(0, this.scale));
      if (String(v).startsWith('-')) n = -n;
      const u = (this as unknown as AvscType).underlyingType!;
      const size = u.typeName === 'fixed' ? u.size! : Math.max(1, Math.ceil((n < 0n ? -n : n).toString(16).length / 2) + 1);
      const out = Buffer.alloc(size);
      let x = BigInt.asUintN(size * 8, n);
      for (let k = size - 1; k >= 0; k--) {
        out[k] = Number(x & 0xffn);
        x >>= 8n;
      }
      return out;
    }
    _resolve(t: AvscType) {
      return t instanceof DecimalType && t.precision === this.precision && t.scale === this.scale ? (x: unknown) => x : undefined;
    }
  }
  class UuidType extends Logical {
    constructor(schema: unknown, opts: unknown) {
      super(schema, opts);
      const u = (this as unknown as AvscType).underlyingType!;
      if (u.typeName !== 'string' && !(u.typeName === 'fixed' && u.size === 16)) throw new Error('uuid must annotate a string or a fixed of 16');
    }
    _fromValue(v: string | Buffer) {
      if (typeof v === 'string') return v;
      const h = v.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    _toValue(v: string) {
      return (this as unknown as AvscType).underlyingType!.typeName === 'string' ? v : Buffer.from(v.replace(/-/g, ''), 'hex');
    }
    _resolve(t: AvscType) {
      return t instanceof UuidType ? (x: unknown) => x : undefined;
    }
  }
  class DurationType extends Logical {
    constructor(schema: unknown, opts: unknown) {
      super(schema, opts);
      const u = (this as unknown as AvscType).underlyingType!;
      if (!(u.typeName === 'fixed' && u.size === 12)) throw new Error('duration must annotate a fixed of 12');
    }
    _fromValue(b: Buffer) {
      return { months: b.readUInt32LE(0), days: b.readUInt32LE(4), milliseconds: b.readUInt32LE(8) };
    }
    _toValue(v: { months: number; days: number; milliseconds: number }) {
      const b = Buffer.alloc(12);
      b.writeUInt32LE(v.months, 0);
      b.writeUInt32LE(v.days, 4);
      b.writeUInt32LE(v.milliseconds, 8);
      return b;
    }
  }
  return {
    'timestamp-millis': TimestampType,
    'timestamp-micros': TimestampType,
    'timestamp-nanos': TimestampType,
    'local-timestamp-millis': TimestampType,
    'local-timestamp-micros': TimestampType,
    'local-timestamp-nanos': TimestampType,
    date: DateType,
    decimal: DecimalType,
    uuid: UuidType,
    duration: DurationType,
  };
}

let longType: unknown;
/** `long` decoded exactly: a number when within ±(2^53−1), a bigint beyond (avsc's default would lose digits). */
function exactLong(): unknown {
  return (longType ??= (lib().types.LongType as unknown as { __with(m: object): unknown }).__with({
    fromBuffer(buf: Buffer) {
      const hi = buf.readInt32LE(4);
      return hi >= -0x200000 && hi < 0x200000 ? hi * 4294967296 + buf.readUInt32LE(0) : buf.readBigInt64LE(0);
    },
    toBuffer(n: number | bigint) {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(n));
      return b;
    },
    fromJSON(x: unknown) {
      return typeof x === 'bigint' || Number.isSafeInteger(x) ? x : BigInt(x as string);
    },
    toJSON(n: number | bigint) {
      return typeof n === 'bigint' ? Number(n) : n;
    },
    isValid(n: unknown) {
      return typeof n === 'bigint' ? n >= -(2n ** 63n) && n < 2n ** 63n : Number.isSafeInteger(n);
    },
    compare(a: number | bigint, b: number | bigint) {
      return a < b ? -1 : a > b ? 1 : 0;
    },
  }));
}

/** avsc options shared by every compiled schema (so readers and writers resolve against each other). */
function typeOptions(wrap: 'always' | 'auto'): object {
  return { logicalTypes: logicalTypes(), registry: { long: exactLong() }, wrapUnions: wrap };
}

/** Parses schema text (JSON) with a reason on failure. */
function parseSchemaText(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    // A bare primitive name ("string") is valid Avro schema text too.
    if (/^\s*[a-z]+\s*$/.test(text)) return text.trim();
    throw new SchemaDefinitionError(`${where}: the Avro schema is not JSON: ${(e as Error).message}`);
  }
}

/** Copies a schema with every record field renamed to its column name (collisions refused). */
function renameFields(s: unknown, where: string): unknown {
  if (Array.isArray(s)) return s.map((x) => renameFields(x, where));
  if (s === null || typeof s !== 'object') return s;
  const o = { ...(s as Record<string, unknown>) };
  if ((o.type === 'record' || o.type === 'error') && Array.isArray(o.fields)) {
    const names = columnNames(
      (o.fields as { name: string }[]).map((f) => String(f?.name)),
      `${where}: record ${String(o.name)}`,
    );
    o.fields = (o.fields as Record<string, unknown>[]).map((f, i) => ({
      ...f,
      name: names[i],
      ...(Array.isArray(f.aliases) ? { aliases: (f.aliases as string[]).map(columnName) } : {}),
      type: renameFields(f.type, where),
    }));
  } else if (o.type === 'array') o.items = renameFields(o.items, where);
  else if (o.type === 'map') o.values = renameFields(o.values, where);
  else if (typeof o.type === 'object') o.type = renameFields(o.type, where);
  return o;
}

const isNull = (t: AvscType) => t.typeName === 'null';
const logicalName = (t: AvscType) => (t.typeName.startsWith('logical:') ? t.typeName.slice(8) : null);

/**
 * The column type of an Avro type (see the table in docs/schema-registry.md).
 * @throws SchemaDefinitionError for a recursive type
 */
export function avroColumnType(t: AvscType, path: string, stack: AvscType[] = []): ColumnType {
  const logical = logicalName(t);
  if (logical !== null) {
    switch (logical) {
      case 'timestamp-millis':
      case 'timestamp-micros':
      case 'timestamp-nanos':
      case 'local-timestamp-millis':
      case 'local-timestamp-micros':
      case 'local-timestamp-nanos':
        return { kind: 'timestamp' };
      case 'date':
        return { kind: 'date' };
      case 'decimal': {
        const d = t as unknown as { precision: number; scale: number };
        return d.precision <= 38 ? { kind: 'decimal', precision: d.precision, scale: d.scale } : { kind: 'string' };
      }
      case 'uuid':
        return { kind: 'string' };
      case 'duration':
        return { kind: 'struct', fields: [{ name: 'months', type: { kind: 'bigint' } }, { name: 'days', type: { kind: 'bigint' } }, { name: 'milliseconds', type: { kind: 'bigint' } }] };
    }
    return avroColumnType(t.underlyingType!, path, stack);
  }
  switch (t.typeName) {
    case 'null':
    case 'string':
    case 'enum':
      return { kind: 'string' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'int':
      return { kind: 'int' };
    case 'long':
    case 'abstract:long':
      return { kind: 'bigint' };
    case 'float':
      return { kind: 'float' };
    case 'double':
      return { kind: 'double' };
    case 'bytes':
    case 'fixed':
      return { kind: 'binary' };
    case 'array':
      return { kind: 'array', element: avroColumnType(t.itemsType!, `${path}[]`, stack) };
    case 'map':
      return { kind: 'map', value: avroColumnType(t.valuesType!, `${path}{}`, stack) };
    case 'record':
    case 'error': {
      if (stack.includes(t)) throw new SchemaDefinitionError(`${path}: the recursive Avro type ${t.name} cannot be a column type (a table has a fixed depth)`);
      return { kind: 'struct', fields: t.fields!.map((f) => ({ name: f.name, type: avroColumnType(f.type, `${path}.${f.name}`, [...stack, t]) })) };
    }
    case 'union:wrapped':
    case 'union:unwrapped': {
      const branches = t.types!.filter((b) => !isNull(b));
      if (branches.length === 0) return { kind: 'string' };
      if (branches.length === 1) return avroColumnType(branches[0], path, stack);
      const names = columnNames(
        branches.map((b) => b.branchName!.split('.').pop()!),
        `${path} (union)`,
      );
      return { kind: 'struct', fields: branches.map((b, i) => ({ name: names[i], type: avroColumnType(b, `${path}.${names[i]}`, stack) })) };
    }
  }
  throw new SchemaDefinitionError(`${path}: unsupported Avro type ${t.typeName}`);
}

type Convert = (v: unknown) => unknown;

/**
 * The conversion of avsc's decoded value to the row form, or null where there is nothing to do:
 * a union of null and one type is unwrapped; a union of several types becomes a struct with one
 * non-null field, named by the branch.
 */
function converter(t: AvscType, stack: AvscType[] = []): Convert | null {
  switch (t.typeName) {
    case 'union:wrapped': {
      const branches = t.types!.filter((b) => !isNull(b));
      if (branches.length === 1) {
        const key = branches[0].branchName!;
        const inner = converter(branches[0], stack);
        return inner === null ? (v) => (v === null ? null : (v as Record<string, unknown>)[key]) : (v) => (v === null ? null : inner((v as Record<string, unknown>)[key]));
      }
      const names = branches.map((b) => columnName(b.branchName!.split('.').pop()!));
      const inners = branches.map((b) => converter(b, stack));
      const keys = branches.map((b) => b.branchName!);
      return (v) => {
        if (v === null) return null;
        const w = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (let i = 0; i < keys.length; i++) {
          const x = w[keys[i]];
          if (x !== undefined) out[names[i]] = inners[i] === null ? x : inners[i]!(x);
        }
        return out;
      };
    }
    case 'array': {
      const inner = converter(t.itemsType!, stack);
      if (inner === null) return null;
      return (v) => {
        const a = v as unknown[];
        for (let i = 0; i < a.length; i++) a[i] = inner(a[i]);
        return a;
      };
    }
    case 'map': {
      const inner = converter(t.valuesType!, stack);
      if (inner === null) return null;
      return (v) => {
        const m = v as Record<string, unknown>;
        for (const k of Object.keys(m)) m[k] = inner(m[k]);
        return m;
      };
    }
    case 'record':
    case 'error': {
      if (stack.includes(t)) return null;
      const conv = t.fields!.map((f) => [f.name, converter(f.type, [...stack, t])] as const).filter((x): x is readonly [string, Convert] => x[1] !== null);
      if (conv.length === 0) return null;
      return (v) => {
        const r = v as Record<string, unknown>;
        for (let i = 0; i < conv.length; i++) r[conv[i][0]] = conv[i][1](r[conv[i][0]]);
        return r;
      };
    }
  }
  return null;
}

/**
 * Compiles Avro schema text for decoding.
 * @param where names the schema in messages (`schema id 7`, `schemas/orders.avsc`)
 * @throws SchemaDefinitionError when the text is not a valid Avro schema or cannot be mapped to columns
 */
export function compileAvro(text: string, where: string): CompiledAvro {
  const parsed = parseSchemaText(text, where);
  let type: AvscType;
  try {
    type = lib().Type.forSchema(renameFields(parsed, where) as never, typeOptions('always') as never) as unknown as AvscType;
  } catch (e) {
    if (e instanceof SchemaDefinitionError) throw e;
    throw new SchemaDefinitionError(`${where}: invalid Avro schema: ${(e as Error).message}`);
  }
  const isRecord = type.typeName === 'record' || type.typeName === 'error';
  let columns: DerivedColumn[];
  const fieldsByColumn = new Map<string, { aliases: string[]; defaultValue: () => unknown; hasDefault: boolean }>();
  if (isRecord) {
    const originals = ((parsed as { fields: { name: string; doc?: string; default?: unknown }[] }).fields ?? []);
    columns = type.fields!.map((f, i) => {
      const nullable = f.type.typeName.startsWith('union') && f.type.types!.some(isNull);
      const doc = originals[i]?.doc;
      const source = originals[i]?.name;
      fieldsByColumn.set(f.name, { aliases: f.aliases ?? [], defaultValue: () => f.defaultValue(), hasDefault: originals[i] !== undefined && 'default' in originals[i] });
      return { name: f.name, type: avroColumnType(f.type, `${where}: field ${source}`), required: !nullable && !isNull(f.type), ...(source !== f.name ? { source } : {}), ...(doc ? { comment: String(doc).slice(0, 255) } : {}) };
    });
  } else {
    columns = [{ name: 'value', type: avroColumnType(type, `${where}: value`), required: !isNull(type) }];
  }
  const convert = converter(type);
  const decode = (payload: Uint8Array): Row => {
    const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    let v: unknown;
    try {
      v = type.fromBuffer(buf);
    } catch (e) {
      throw new DecodeError(`bytes do not match the Avro writer schema (${where}): ${(e as Error).message}`);
    }
    if (convert !== null) v = convert(v);
    return isRecord ? (v as Row) : { value: v };
  };
  return { columns, decode, type, fieldsByColumn };
}

/**
 * Why records written with `writer` cannot be read with `reader` under Avro's resolution rules, or
 * null when they can (avsc's resolver: promotions, defaults for missing fields, aliases, enum
 * symbols, union branches).
 */
export function avroResolutionProblem(reader: CompiledAvro, writer: CompiledAvro): string | null {
  try {
    reader.type.createResolver(writer.type);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Reader fields the writer lacks (by name or alias) that have a default: the row gets the default,
 * as Avro resolution gives it. Aliases: a writer field named by a reader field's alias is renamed.
 * @returns a function that completes a decoded row in place, or null when nothing is to be done
 */
export function readerCompletion(reader: CompiledAvro, writer: CompiledAvro): ((row: Row) => void) | null {
  const writerNames = new Set(writer.columns.map((c) => c.name));
  const renames: [string, string][] = [];
  const defaults: [string, () => unknown][] = [];
  const convert = converter(reader.type);
  for (const [name, f] of reader.fieldsByColumn) {
    if (writerNames.has(name)) continue;
    const alias = f.aliases.find((a) => writerNames.has(a));
    if (alias !== undefined) renames.push([alias, name]);
    else if (f.hasDefault) {
      // The default through the reader's own conversion (unions unwrapped, logical types applied).
      defaults.push([
        name,
        () => {
          const rec: Record<string, unknown> = { [name]: f.defaultValue() };
          return convert === null ? rec[name] : (convert(Object.assign(Object.create(null), rec)) as Record<string, unknown>)[name];
        },
      ]);
    }
  }
  if (renames.length === 0 && defaults.length === 0) return null;
  return (row) => {
    for (const [from, to] of renames) {
      row[to] = row[from];
      delete row[from];
    }
    for (const [name, value] of defaults) if (row[name] === undefined) row[name] = value();
  };
}

/**
 * An encoder for values in the schema's own field names, for `lakeloader produce`, the demo and
 * tests: JSON-friendly input (unions unwrapped where unambiguous, timestamps as ISO text or epoch
 * ms, dates as YYYY-MM-DD, decimals as text).
 */
export function avroEncoder(text: string, where = 'schema'): (value: unknown) => Buffer {
  const parsed = parseSchemaText(text, where);
  const type = lib().Type.forSchema(parsed as never, typeOptions('auto') as never) as unknown as AvscType;
  return (value) => type.toBuffer(value);
}

/** Whether `text` is a valid Avro schema; the reason when not. */
export function avroSchemaProblem(text: string): string | null {
  try {
    compileAvro(text, 'schema');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
