/**
 * Protobuf: `.proto` schema text → columns, and message payloads → rows, with protobufjs (the
 * JavaScript Protobuf runtime that parses `.proto` text at run time, which a registry hands out;
 * @bufbuild/protobuf needs descriptors compiled ahead of time). Loaded on first use.
 *
 * Mapping (see docs/schema-registry.md): 64-bit integers stay exact (never through a JS number:
 * protobufjs reads them as `Long`, converted here to a bigint when beyond 2^53), uint64/fixed64 as
 * decimal(20,0) (beyond int64), enums by name, `google.protobuf.Timestamp` as timestamp, the
 * wrapper types as their nullable scalar, `Struct`/`Value`/`ListValue` as JSON text, oneof
 * members as nullable columns, maps as map<string,T>, repeated as array<T>, other messages as
 * struct. Fields with presence (messages, oneof members, `optional`) are null when absent;
 * proto3 scalars without presence read as their zero value, as Protobuf defines.
 */
import type * as ProtobufModule from 'protobufjs';
import type { ColumnType } from '../types';
import type { Row } from '../pipeline';
import { DecodeError } from '../decode';
import { columnNames, type DerivedColumn } from './columns';
import { SchemaDefinitionError } from './errors';

let pb: typeof ProtobufModule | undefined;
function lib(): typeof ProtobufModule {
  return (pb ??= require('protobufjs') as typeof ProtobufModule);
}

type PType = ProtobufModule.Type;
type PField = ProtobufModule.Field;
interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}

/** One message type of a schema, compiled for decoding. */
export interface CompiledMessage {
  /** Full name without the leading dot (`shop.Order`). */
  name: string;
  columns: DerivedColumn[];
  /** @throws DecodeError when the bytes are not a valid encoding of the message */
  decode(payload: Uint8Array): Row;
}

/** A parsed `.proto` schema: its message types, addressable the ways the wire formats address them. */
export interface CompiledProto {
  /** By Confluent message indexes (a path through top-level then nested messages, in declaration order). */
  byIndexes(indexes: number[]): CompiledMessage;
  /** By the Glue Schema Registry index (all message types, level order, sorted by full name). */
  byGlueIndex(index: number): CompiledMessage;
  /** By full name (`shop.Order`); the first top-level message when name is undefined. */
  byName(name?: string): CompiledMessage;
  /** Full names of the top-level messages, in declaration order. */
  readonly topLevel: string[];
}

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `google.protobuf.${n}`));
const JSON_TYPES = new Set(['google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue']);
const fullName = (t: { fullName: string }) => t.fullName.replace(/^\./, '');

/**
 * Parses `.proto` text (proto2 or proto3) with its imports: Google's well-known types are built
 * in; other imports come from `imports` (file name → text; a Confluent schema's references).
 * @throws SchemaDefinitionError when the text does not parse or an import is missing
 */
export function compileProtobuf(text: string, where: string, imports: Record<string, string> = {}): CompiledProto {
  const P = lib();
  const root = new P.Root();
  let topLevel: PType[];
  try {
    const parsed = P.parse(text, root, { keepCase: true });
    const pkg = parsed.package ? root.lookup(parsed.package) : root;
    topLevel = ((pkg as ProtobufModule.Namespace | null)?.nestedArray ?? []).filter((x): x is PType => x instanceof P.Type);
    const pending = [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])];
    const done = new Set<string>();
    while (pending.length) {
      const file = pending.shift()!;
      if (done.has(file)) continue;
      done.add(file);
      const common = P.common.get(file) as { nested?: Record<string, unknown> } | null;
      if (common?.nested) root.addJSON(common.nested as never);
      else if (imports[file] !== undefined) {
        const sub = P.parse(imports[file], root, { keepCase: true });
        pending.push(...(sub.imports ?? []));
      } else throw new SchemaDefinitionError(`${where}: import "${file}" is neither a well-known type nor among the schema's references`);
    }
    root.resolveAll();
  } catch (e) {
    if (e instanceof SchemaDefinitionError) throw e;
    throw new SchemaDefinitionError(`${where}: invalid Protobuf schema: ${(e as Error).message}`);
  }
  if (topLevel.length === 0) throw new SchemaDefinitionError(`${where}: the Protobuf schema declares no message`);

  const compiled = new Map<PType, CompiledMessage>();
  const compile = (t: PType): CompiledMessage => {
    let c = compiled.get(t);
    if (!c) compiled.set(t, (c = compileMessage(t, `${where}: ${fullName(t)}`)));
    return c;
  };
  // Glue's order: every message type of the file, level order, sorted by full name.
  let glueOrder: PType[] | undefined;
  const nestedTypes = (t: PType) => t.nestedArray.filter((x): x is PType => x instanceof P.Type);
  return {
    topLevel: topLevel.map(fullName),
    byIndexes(indexes) {
      let list = topLevel;
      let t: PType | undefined;
      for (const i of indexes) {
        t = list[i];
        if (!t) throw new DecodeError(`message indexes [${indexes.join(', ')}] point to no message of the Protobuf schema (${where})`);
        list = nestedTypes(t);
      }
      if (!t) throw new DecodeError(`empty message-index path for the Protobuf schema (${where})`);
      return compile(t);
    },
    byGlueIndex(index) {
      if (!glueOrder) {
        const all: PType[] = [];
        const queue = [...topLevel];
        while (queue.length) {
          const t = queue.shift()!;
          all.push(t);
          queue.push(...nestedTypes(t));
        }
        glueOrder = all.sort((a, b) => (fullName(a) < fullName(b) ? -1 : fullName(a) > fullName(b) ? 1 : 0));
      }
      const t = glueOrder[index];
      if (!t) throw new DecodeError(`message index ${index} points to no message of the Protobuf schema (${where}: ${glueOrder.length} message types)`);
      return compile(t);
    },
    byName(name) {
      if (name === undefined) return compile(topLevel[0]);
      let t: ProtobufModule.ReflectionObject | null = null;
      try {
        t = root.lookup(name);
      } catch {
        t = null;
      }
      if (!(t instanceof P.Type)) throw new SchemaDefinitionError(`${where}: no message type "${name}" (messages: ${topLevel.map(fullName).join(', ')})`);
      return compile(t);
    },
  };
}

const is64 = (type: string) => type === 'int64' || type === 'sint64' || type === 'sfixed64' || type === 'uint64' || type === 'fixed64';

/** The column type of one (non-repeated, non-map) field value. */
function valueType(f: PField, path: string, stack: PType[]): ColumnType {
  const P = lib();
  const rt = f.resolvedType;
  if (rt instanceof P.Enum) return { kind: 'string' };
  if (rt instanceof P.Type) return messageType(rt, path, stack);
  switch (f.type) {
    case 'double':
      return { kind: 'double' };
    case 'float':
      return { kind: 'float' };
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return { kind: 'int' };
    case 'uint32':
    case 'fixed32':
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return { kind: 'bigint' };
    case 'uint64':
    case 'fixed64':
      return { kind: 'decimal', precision: 20, scale: 0 };
    case 'bool':
      return { kind: 'boolean' };
    case 'string':
      return { kind: 'string' };
    case 'bytes':
      return { kind: 'binary' };
  }
  throw new SchemaDefinitionError(`${path}: unsupported Protobuf field type ${f.type}`);
}

function messageType(t: PType, path: string, stack: PType[]): ColumnType {
  const name = fullName(t);
  if (name === 'google.protobuf.Timestamp') return { kind: 'timestamp' };
  if (WRAPPERS.has(name)) return valueType(t.fieldsArray[0], path, stack);
  if (JSON_TYPES.has(name)) return { kind: 'string' };
  if (stack.includes(t)) throw new SchemaDefinitionError(`${path}: the recursive Protobuf message ${name} cannot be a column type (a table has a fixed depth)`);
  if (t.fieldsArray.length === 0) return { kind: 'boolean' };
  const names = columnNames(t.fieldsArray.map((f) => f.name), path);
  return { kind: 'struct', fields: t.fieldsArray.map((f, i) => ({ name: names[i], type: fieldType(f, `${path}.${f.name}`, [...stack, t]) })) };
}

function fieldType(f: PField, path: string, stack: PType[]): ColumnType {
  const v = valueType(f, path, stack);
  if (f.map) return { kind: 'map', value: v };
  if (f.repeated) return { kind: 'array', element: v };
  return v;
}

type Convert = (v: unknown) => unknown;

/** A Long (or number, for 32-bit fields) → number when safe, else bigint; uint64 as decimal text. */
function longConverter(type: string): Convert {
  const unsigned = type === 'uint64' || type === 'fixed64';
  return (v) => {
    if (typeof v === 'number') return unsigned ? String(v) : v;
    const l = v as LongLike;
    const big = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
    if (unsigned) return big.toString();
    const s = BigInt.asIntN(64, big);
    return s >= -9007199254740991n && s <= 9007199254740991n ? Number(s) : s;
  };
}

function valueConverter(f: PField, stack: PType[]): Convert | null {
  const P = lib();
  const rt = f.resolvedType;
  if (rt instanceof P.Enum) {
    const byId = rt.valuesById;
    return (v) => byId[v as number] ?? String(v);
  }
  if (rt instanceof P.Type) return messageConverter(rt, stack);
  if (is64(f.type)) return longConverter(f.type);
  if (f.type === 'uint32' || f.type === 'fixed32') return null;
  return null;
}

/** google.protobuf.Value/Struct/ListValue (as decoded by protobufjs) → plain JSON. */
function structJson(name: string, v: unknown): unknown {
  const o = v as Record<string, unknown>;
  if (name === 'google.protobuf.Struct') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries((o.fields as Record<string, unknown>) ?? {})) out[k] = structJson('google.protobuf.Value', x);
    return out;
  }
  if (name === 'google.protobuf.ListValue') return ((o.values as unknown[]) ?? []).map((x) => structJson('google.protobuf.Value', x));
  if (o.structValue !== undefined && o.structValue !== null) return structJson('google.protobuf.Struct', o.structValue);
  if (o.listValue !== undefined && o.listValue !== null) return structJson('google.protobuf.ListValue', o.listValue);
  if (Object.prototype.hasOwnProperty.call(o, 'numberValue')) return o.numberValue;
  if (Object.prototype.hasOwnProperty.call(o, 'stringValue')) return o.stringValue;
  if (Object.prototype.hasOwnProperty.call(o, 'boolValue')) return o.boolValue;
  return null;
}

function messageConverter(t: PType, stack: PType[]): Convert {
  const name = fullName(t);
  if (name === 'google.protobuf.Timestamp') {
    const sec = longConverter('int64');
    return (v) => {
      const m = v as { seconds?: unknown; nanos?: number };
      const s = m.seconds === undefined ? 0 : (sec(m.seconds) as number | bigint);
      const ms = Math.floor((m.nanos ?? 0) / 1e6);
      return typeof s === 'bigint' ? s * 1000n + BigInt(ms) : s * 1000 + ms;
    };
  }
  if (WRAPPERS.has(name)) {
    const f = t.fieldsArray[0];
    const inner = valueConverter(f, stack);
    const zero = f.typeDefault;
    return (v) => {
      const x = Object.prototype.hasOwnProperty.call(v, 'value') ? (v as { value: unknown }).value : zero;
      return inner === null ? x : inner(x);
    };
  }
  if (JSON_TYPES.has(name)) return (v) => JSON.stringify(structJson(name, v));
  if (t.fieldsArray.length === 0) return () => true;
  if (stack.includes(t)) throw new SchemaDefinitionError(`the recursive Protobuf message ${name} cannot be a column type`);
  const next = [...stack, t];
  const fields = t.fieldsArray;
  const names = columnNames(fields.map((f) => f.name), name);
  const P = lib();
  const plan = fields.map((f) => {
    const inner = valueConverter(f, next);
    const isMessage = f.resolvedType instanceof P.Type;
    const presence = isMessage || (!f.repeated && !f.map && f.hasPresence);
    let conv: Convert | null = inner;
    if (f.repeated && inner !== null) conv = (v) => (v as unknown[]).map(inner);
    else if (f.map && inner !== null) {
      conv = (v) => {
        const m = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(m)) out[k] = inner(m[k]);
        return out;
      };
    }
    // The value of an absent field: null with presence, else Protobuf's zero value.
    const zero = f.type === 'bytes' ? new Uint8Array(0) : f.typeDefault;
    const absent = f.repeated ? [] : f.map ? {} : presence ? null : inner === null ? zero : inner(zero);
    return { key: f.name, conv, absent };
  });
  const hasOwn = Object.prototype.hasOwnProperty;
  return (v) => {
    const m = v as Record<string, unknown>;
    const out: Row = {};
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i];
      const x = hasOwn.call(m, p.key) ? m[p.key] : undefined;
      out[names[i]] = x === undefined || x === null ? p.absent : p.conv === null ? x : p.conv(x);
    }
    return out;
  };
}

function compileMessage(t: PType, where: string): CompiledMessage {
  const ct = messageType(t, where, []);
  const names = columnNames(t.fieldsArray.map((f) => f.name), where);
  const columns: DerivedColumn[] =
    ct.kind === 'struct'
      ? t.fieldsArray.map((f, i) => ({
          name: names[i],
          type: ct.fields[i].type,
          required: f.required,
          ...(f.name !== names[i] ? { source: f.name } : {}),
          ...(f.comment ? { comment: f.comment.slice(0, 255) } : {}),
        }))
      : [{ name: 'value', type: ct, required: false }];
  const convert = messageConverter(t, []);
  return {
    name: fullName(t),
    columns,
    decode(payload) {
      let msg: unknown;
      try {
        msg = t.decode(payload instanceof Uint8Array ? payload : new Uint8Array(payload));
      } catch (e) {
        throw new DecodeError(`bytes do not match the Protobuf message ${fullName(t)} (${where.split(':')[0]}): ${(e as Error).message}`);
      }
      const row = convert(msg);
      return ct.kind === 'struct' ? (row as Row) : { value: row };
    },
  };
}

/** A value with ISO-8601 text (or a Date) where `t` has a google.protobuf.Timestamp, as {seconds, nanos} (what fromObject takes). */
function timestampsFromText(t: PType, value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const f of t.fieldsArray) {
    const x = (value as Record<string, unknown>)[f.name];
    const rt = f.resolvedType;
    if (x === undefined || x === null || !(rt instanceof lib().Type)) continue;
    const one = (y: unknown): unknown => {
      if (rt.fullName === '.google.protobuf.Timestamp' && (typeof y === 'string' || y instanceof Date)) {
        const ms = y instanceof Date ? y.getTime() : Date.parse(y);
        if (Number.isNaN(ms)) return y;
        const frac = typeof y === 'string' ? /\.(\d+)/.exec(y)?.[1] : undefined;
        const nanos = frac ? Number(frac.padEnd(9, '0').slice(0, 9)) : (((ms % 1000) + 1000) % 1000) * 1e6;
        return { seconds: String(Math.floor(ms / 1000)), nanos };
      }
      return timestampsFromText(rt, y);
    };
    const mapped = f.repeated && Array.isArray(x) ? x.map(one) : f.map && typeof x === 'object' ? Object.fromEntries(Object.entries(x as object).map(([k, y]) => [k, one(y)])) : one(x);
    if (mapped !== x) (out ??= { ...(value as Record<string, unknown>) })[f.name] = mapped;
  }
  return out ?? value;
}

/**
 * An encoder from plain objects (protobufjs `fromObject` conventions: 64-bit values as strings,
 * enums by name, Timestamp as `{ seconds, nanos }` or ISO-8601 text) for `lakeloader produce`, the demo and tests.
 */
export function protobufEncoder(text: string, messageName?: string, imports: Record<string, string> = {}): { encode(value: unknown): Uint8Array; name: string; indexes: number[]; glueIndex: number } {
  const P = lib();
  const root = new P.Root();
  const parsed = P.parse(text, root, { keepCase: true });
  for (const file of parsed.imports ?? []) {
    const common = P.common.get(file) as { nested?: Record<string, unknown> } | null;
    if (common?.nested) root.addJSON(common.nested as never);
    else if (imports[file] !== undefined) P.parse(imports[file], root, { keepCase: true });
  }
  root.resolveAll();
  const pkg = parsed.package ? root.lookup(parsed.package) : root;
  const top = ((pkg as ProtobufModule.Namespace).nestedArray ?? []).filter((x): x is PType => x instanceof P.Type);
  const t = messageName ? root.lookupType(messageName) : top[0]!;
  // Confluent indexes: the path from the top-level list down to t.
  const indexes: number[] = [];
  for (let cur: ProtobufModule.ReflectionObject | null = t; cur && cur instanceof P.Type; cur = cur.parent) {
    const siblings = ((cur.parent as ProtobufModule.Namespace).nestedArray ?? []).filter((x): x is PType => x instanceof P.Type);
    indexes.unshift(siblings.indexOf(cur));
  }
  const all: PType[] = [];
  const queue = [...top];
  while (queue.length) {
    const x = queue.shift()!;
    all.push(x);
    queue.push(...x.nestedArray.filter((n): n is PType => n instanceof P.Type));
  }
  all.sort((a, b) => (fullName(a) < fullName(b) ? -1 : fullName(a) > fullName(b) ? 1 : 0));
  return {
    name: fullName(t),
    indexes,
    glueIndex: all.indexOf(t),
    encode(value) {
      const v = timestampsFromText(t, value) as Record<string, unknown>;
      const problem = t.verify(t.toObject(t.fromObject(v)));
      if (problem) throw new Error(`value does not fit ${fullName(t)}: ${problem}`);
      return t.encode(t.fromObject(v)).finish();
    },
  };
}
