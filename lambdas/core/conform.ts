/**
 * Conform stage: coerce a row's JSON values to the table's column types, strictly.
 *
 * The rules (each failure has its own reason, prefixed with the column path, e.g.
 * `column "props.color": expected a string, got object`):
 *
 * | type          | accepted                                                         | result (see {@link Conformed}) |
 * |---------------|------------------------------------------------------------------|--------------------------------|
 * | string        | string; number (shortest round-trip text: 1.50 → "1.5"), bigint (exact digits) and boolean ("true") | string |
 * | boolean       | true / false only                                                | boolean                        |
 * | int           | integer number or decimal-integer string in −2^31..2^31−1          | number                         |
 * | bigint        | integer (exact, also beyond 2^53) or decimal-integer string in int64 | number (safe) or bigint     |
 * | float, double | finite number, bigint, or a JSON-number string                    | number                         |
 * | decimal(p,s)  | number (its shortest decimal text, at most 15 significant digits) or decimal string; at most s fractional digits (extra zeros are fine), at most p−s integer digits, never rounded | bigint, unscaled |
 * | date          | `YYYY-MM-DD`, a real calendar day in 0001-01-01..9999-12-31       | days since 1970-01-01          |
 * | timestamp     | ISO-8601 `YYYY-MM-DD[T ]HH:MM[:SS[.fff…]]` with `Z` or `±HH[:MM]` (sub-millisecond digits truncated), an integer number of epoch milliseconds, or a Date (from a transform); within 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z | epoch ms |
 * | binary        | bytes (a Uint8Array, from Avro/Protobuf or a transform) or a base64 string | Uint8Array          |
 * | array<T>      | JSON array, elements conformed (null elements kept)               | Conformed[]                    |
 * | map<string,T> | JSON object, values conformed (null values kept)                  | MapValue (keys, values)        |
 * | struct<…>     | JSON object, declared fields conformed, others ignored            | Conformed[] in field order     |
 *
 * A required column that is absent or null: `missing required column "user_id"`. Fields of a row
 * that are not declared are dropped, or quarantine the record when `unknownFields: 'quarantine'`.
 */
import type { ColumnType } from './types';
import { INEXACT_NUMBER, jsonTypeName, type InexactNumberError, type decodeJsonValueRounded } from './decode';
import type { Column, Pipeline, RecordMeta, Row } from './pipeline';
import { LakeloaderError } from './errors';

/** A conformed map: keys and values in parallel arrays (two allocations per map, not one per entry). */
export class MapValue {
  constructor(
    readonly keys: string[],
    readonly values: Conformed[],
  ) {}
}

/** A value conformed to its column type (the encoder's input). */
export type Conformed = null | string | number | bigint | boolean | Uint8Array | Conformed[] | MapValue;

/** A row that does not fit the table; the message is the quarantine reason. */
export class ConformError extends LakeloaderError {
  readonly code = 'CONFORM';
  readonly stage = 'conform' as const;
  constructor(message: string) {
    super(message);
  }
}

/** A value that does not fit its type; `path` collects the field path while unwinding. */
class FieldError extends LakeloaderError {
  readonly code = 'FIELD';
  readonly path: string[] = [];
  constructor(readonly detail: string) {
    super(detail);
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Earliest and latest accepted dates (days) and timestamps (epoch ms): years 0001..9999, UTC. */
export const MIN_DAY = daysFromCivil(1, 1, 1);
export const MAX_DAY = daysFromCivil(9999, 12, 31);
export const MIN_TIMESTAMP_MS = MIN_DAY * MS_PER_DAY;
export const MAX_TIMESTAMP_MS = MAX_DAY * MS_PER_DAY + MS_PER_DAY - 1;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
/** Whether y-m-d is a real proleptic Gregorian date. */
export const validDay = (y: number, m: number, d: number) => m >= 1 && m <= 12 && d >= 1 && d <= (m === 2 && !isLeap(y) ? 28 : DAYS_IN_MONTH[m - 1]);

const preview = (v: unknown): string => {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  else if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') s = String(v);
  else return jsonTypeName(v);
  return `${jsonTypeName(v)} ${s}`;
};

const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]*)$/;
const NUMBER_TEXT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const DECIMAL_TEXT = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,4}))?$/;
const BASE64_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;
const DATE_TEXT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const TIMESTAMP_TEXT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?$/;

function toInt64(v: unknown): number | bigint {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    if (!Number.isFinite(v) || !Number.isInteger(v)) throw new FieldError(`expected an integer, got ${preview(v)}`);
    throw new FieldError(`number ${v} is beyond 2^53 and not exact: send it as a JSON integer literal or a string of digits`);
  }
  if (typeof v === 'bigint') {
    if (v < INT64_MIN || v > INT64_MAX) throw new FieldError(`bigint out of range: ${v} is outside the int64 range ${INT64_MIN}..${INT64_MAX}`);
    return v;
  }
  if (typeof v === 'string' && INTEGER_TEXT.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : toInt64(BigInt(v));
  }
  throw new FieldError(`expected an integer, got ${preview(v)}`);
}

function toInt32(v: unknown): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'string' && INTEGER_TEXT.test(v)) n = Number(v);
  else throw new FieldError(`expected an integer, got ${preview(v)}`);
  if (!Number.isInteger(n)) throw new FieldError(`expected an integer, got ${preview(v)}`);
  if (n < INT32_MIN || n > INT32_MAX) throw new FieldError(`int overflow: ${String(v)} is outside the int32 range ${INT32_MIN}..${INT32_MAX}`);
  return n;
}

function toFloating(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && NUMBER_TEXT.test(v)) return Number(v);
  throw new FieldError(`expected a number, got ${preview(v)}`);
}

/** Exact decimal text → unscaled bigint at `scale`; never rounds. */
export function parseDecimal(v: unknown, precision: number, scale: number): bigint {
  let text: string;
  if (typeof v === 'string') text = v.trim();
  else if (typeof v === 'number' && Number.isFinite(v)) {
    text = String(v);
    // A double holds any decimal of ≤ 15 significant digits exactly enough that its shortest text
    // gives the digits back; with more, the JSON literal may already have been rounded.
    const mantissa = text.replace(/e.*$/i, '').replace(/[-.]/g, '').replace(/^0+/, '');
    if (mantissa.length > 15) throw new FieldError(`decimal(${precision},${scale}) value number ${text} has more than 15 significant digits and may have been rounded as a JSON number: send it as a string`);
  }
  else if (typeof v === 'bigint') text = String(v);
  else throw new FieldError(`expected a decimal number or string, got ${preview(v)}`);
  const m = DECIMAL_TEXT.exec(text);
  if (!m || (m[2] === '' && (m[3] === undefined || m[3] === ''))) throw new FieldError(`expected a decimal number, got ${preview(v)}`);
  let intDigits = m[2];
  let frac = m[3] ?? '';
  const exp = m[4] ? Number(m[4]) : 0;
  if (exp > 0) {
    const shift = frac.slice(0, exp).padEnd(exp, '0');
    intDigits += shift;
    frac = frac.slice(exp);
  } else if (exp < 0) {
    const k = -exp;
    const padded = intDigits.padStart(k, '0');
    frac = padded.slice(padded.length - k) + frac;
    intDigits = padded.slice(0, padded.length - k);
  }
  intDigits = intDigits.replace(/^0+/, '');
  if (frac.length > scale) {
    if (!/^0*$/.test(frac.slice(scale))) throw new FieldError(`decimal(${precision},${scale}) value ${preview(v)} has more than ${scale} fractional digits (values are never rounded)`);
    frac = frac.slice(0, scale);
  }
  if (intDigits.length > precision - scale) throw new FieldError(`decimal(${precision},${scale}) value ${preview(v)} has more than ${precision - scale} integer digits`);
  const unscaled = BigInt((intDigits || '0') + frac.padEnd(scale, '0'));
  return m[1] === '-' ? -unscaled : unscaled;
}

/** `YYYY-MM-DD` → days since the epoch. */
export function parseDate(v: unknown): number {
  if (typeof v !== 'string') throw new FieldError(`expected a date string YYYY-MM-DD, got ${preview(v)}`);
  const m = DATE_TEXT.exec(v);
  if (!m) throw new FieldError(`unparseable date ${preview(v)}: expected YYYY-MM-DD`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (!validDay(y, mo, d)) throw new FieldError(`invalid date ${preview(v)}: no such calendar day`);
  if (y < 1) throw new FieldError(`date out of range: ${preview(v)} is outside 0001-01-01..9999-12-31`);
  return daysFromCivil(y, mo, d);
}

/** Value of the decimal digit at `i`, or -1000 (so any sum with it stays negative). */
const digit = (s: string, i: number) => {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1000;
};

/**
 * The fast form of a timestamp, shared by this module (strings) and fastpath.ts (bytes):
 * `YYYY-MM-DDTHH:MM:SSZ` (20 characters) or `YYYY-MM-DDTHH:MM:SS.sssZ` (24), years 1970..9999.
 * Each reader checks the layout (`-` at 4 and 7, `T` at 10, `:` at 13 and 16, `.` at 19, `Z` last)
 * in its own representation and hands the digit values (negative for a non-digit) to
 * {@link utcDayMs} and {@link timeOfDayMs}, which hold the value rules; anything else takes the
 * general path, which explains the error.
 */
export const ISO_UTC_SHORT = 20;
export const ISO_UTC_LONG = 24;

/** Epoch ms of the UTC day y-mo-d, or -1 outside 1970..9999 or for no such calendar day. */
export function utcDayMs(y: number, mo: number, d: number): number {
  return y < 1970 || !validDay(y, mo, d) ? -1 : daysFromCivil(y, mo, d) * MS_PER_DAY;
}

/** Milliseconds into the day, or -1 for a field out of range (or negative: not a digit). */
export function timeOfDayMs(h: number, mi: number, sec: number, frac: number): number {
  return frac < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 ? -1 : h * 3_600_000 + mi * 60_000 + sec * 1000 + frac;
}

/** The fast form ({@link ISO_UTC_SHORT}) of a string → epoch ms, or -1. */
function fastIsoUtc(s: string): number {
  const n = s.length;
  if ((n !== ISO_UTC_SHORT && n !== ISO_UTC_LONG) || s.charCodeAt(n - 1) !== 0x5a || s.charCodeAt(4) !== 0x2d || s.charCodeAt(7) !== 0x2d || s.charCodeAt(10) !== 0x54 || s.charCodeAt(13) !== 0x3a || s.charCodeAt(16) !== 0x3a) return -1;
  let frac = 0;
  if (n === ISO_UTC_LONG) {
    if (s.charCodeAt(19) !== 0x2e) return -1;
    frac = digit(s, 20) * 100 + digit(s, 21) * 10 + digit(s, 22);
  }
  const day = utcDayMs(digit(s, 0) * 1000 + digit(s, 1) * 100 + digit(s, 2) * 10 + digit(s, 3), digit(s, 5) * 10 + digit(s, 6), digit(s, 8) * 10 + digit(s, 9));
  const time = timeOfDayMs(digit(s, 11) * 10 + digit(s, 12), digit(s, 14) * 10 + digit(s, 15), digit(s, 17) * 10 + digit(s, 18), frac);
  return day < 0 || time < 0 ? -1 : day + time;
}

/** An ISO-8601 string with a zone, or epoch milliseconds → epoch milliseconds (UTC). */
export function parseTimestamp(v: unknown): number {
  let ms: number;
  if (v instanceof Date) {
    ms = v.getTime();
    if (Number.isNaN(ms)) throw new FieldError('invalid Date object (from the transform)');
  } else if (typeof v === 'number' || typeof v === 'bigint') {
    ms = Number(v);
    if (!Number.isInteger(ms)) throw new FieldError(`epoch-millisecond timestamp must be an integer, got ${preview(v)}`);
  } else if (typeof v === 'string' && (ms = fastIsoUtc(v)) >= 0) {
    // the common YYYY-MM-DDTHH:MM:SS(.sss)Z form, parsed without a regex
  } else if (typeof v === 'string') {
    const m = TIMESTAMP_TEXT.exec(v);
    if (!m) throw new FieldError(`unparseable timestamp ${preview(v)}: expected ISO-8601 such as 2026-11-21T07:15:00.123Z`);
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    const h = Number(m[4]);
    const mi = Number(m[5]);
    const s = m[6] ? Number(m[6]) : 0;
    if (!validDay(y, mo, d) || h > 23 || mi > 59 || s > 59) throw new FieldError(`invalid timestamp ${preview(v)}: a field is out of its range`);
    if (m[8] === undefined && m[9] === undefined) throw new FieldError(`timestamp ${preview(v)} has no time zone: add Z or an offset such as +02:00`);
    const frac = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
    let offsetMin = 0;
    if (m[9] !== undefined) {
      const oh = Number(m[10]);
      const om = m[11] ? Number(m[11]) : 0;
      if (oh > 18 || om > 59) throw new FieldError(`invalid timestamp ${preview(v)}: bad zone offset`);
      offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
    }
    ms = daysFromCivil(y, mo, d) * MS_PER_DAY + h * 3_600_000 + mi * 60_000 + s * 1000 + frac - offsetMin * 60_000;
  } else {
    throw new FieldError(`expected an ISO-8601 timestamp string or epoch milliseconds, got ${preview(v)}`);
  }
  if (ms < MIN_TIMESTAMP_MS || ms > MAX_TIMESTAMP_MS) {
    throw new FieldError(`timestamp out of range: ${preview(v)} is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z`);
  }
  return ms;
}

const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
/** Where fields that are not columns go while a batch of an evolving pipeline is appended (see {@link setUnknownFieldSink}). */
let unknownSink: Map<string, unknown> | null = null;
/**
 * While set, conformers of pipelines with `unknownFields: 'evolve'` record each field of a row that
 * is not a column (with its first non-null value) here, for prepareBatch to grow the table by.
 */
export function setUnknownFieldSink(sink: Map<string, unknown> | null): void {
  unknownSink = sink;
}

/** Set while a row conformer runs in `roundedNumbers` mode (see {@link RowConformer}). */
let roundedNumbers = false;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const hasOwn = Object.prototype.hasOwnProperty;
/** `row[name]`, but never a value inherited from Object.prototype (a field named `constructor` or `toString`). */
const ownField = (row: Record<string, unknown>, name: string): unknown => (name in Object.prototype && !hasOwn.call(row, name) ? undefined : row[name]);

/**
 * Conforms one non-null JSON value to `type`.
 * @throws FieldError (internal) — callers use {@link createRowConformer}, which turns it into a ConformError.
 */
export function conformValue(v: unknown, type: ColumnType): Conformed {
  if (roundedNumbers && typeof v === 'number' && !(v <= MAX_SAFE_INTEGER && v >= -MAX_SAFE_INTEGER)) throw INEXACT_NUMBER;
  switch (type.kind) {
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
      throw new FieldError(`expected a string, got ${preview(v)}`);
    case 'boolean':
      if (typeof v === 'boolean') return v;
      throw new FieldError(`expected a boolean (true or false), got ${preview(v)}`);
    case 'int':
      return toInt32(v);
    case 'bigint':
      return toInt64(v);
    case 'float':
    case 'double': {
      const n = toFloating(v);
      if (!Number.isFinite(n)) throw new FieldError(`value ${preview(v)} is out of range for ${type.kind}`);
      if (type.kind === 'float' && Math.abs(n) > 3.4028234663852886e38) throw new FieldError(`value ${preview(v)} is out of range for float`);
      return n;
    }
    case 'decimal':
      return parseDecimal(v, type.precision, type.scale);
    case 'date':
      return parseDate(v);
    case 'timestamp':
      return parseTimestamp(v);
    case 'binary':
      if (v instanceof Uint8Array) return v;
      if (typeof v === 'string' && BASE64_TEXT.test(v) && v.length % 4 === 0) return new Uint8Array(Buffer.from(v, 'base64'));
      throw new FieldError(`expected bytes or a base64 string, got ${preview(v)}`);
    case 'array': {
      if (!Array.isArray(v)) throw new FieldError(`expected an array, got ${preview(v)}`);
      const out: Conformed[] = new Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const e = v[i];
        try {
          out[i] = e === null || e === undefined ? null : conformValue(e, type.element);
        } catch (err) {
          if (err instanceof FieldError) err.path.unshift(`[${i}]`);
          throw err;
        }
      }
      return out;
    }
    case 'map': {
      if (!isObject(v)) throw new FieldError(`expected an object (map), got ${preview(v)}`);
      const keys = Object.keys(v);
      const values: Conformed[] = new Array(keys.length);
      const vt = type.value;
      for (let i = 0; i < keys.length; i++) {
        const e = v[keys[i]];
        if (e === null || e === undefined) values[i] = null;
        else if (vt.kind === 'string' && typeof e === 'string') values[i] = e;
        else {
          try {
            values[i] = conformValue(e, vt);
          } catch (err) {
            if (err instanceof FieldError) err.path.unshift(`.${keys[i]}`);
            throw err;
          }
        }
      }
      return new MapValue(keys, values);
    }
    case 'struct': {
      if (!isObject(v)) throw new FieldError(`expected an object (struct), got ${preview(v)}`);
      const fields = type.fields;
      const out: Conformed[] = new Array(fields.length);
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i];
        const e = ownField(v, f.name);
        try {
          out[i] = e === null || e === undefined ? null : conformValue(e, f.type);
        } catch (err) {
          if (err instanceof FieldError) err.path.unshift(`.${f.name}`);
          throw err;
        }
      }
      return out;
    }
  }
}

/**
 * Conforms one row: the values of `pipeline.columns` in order, then those of the partition columns.
 * With `roundedNumbers` (a row from {@link decodeJsonValueRounded}), any number beyond ±(2^53−1)
 * throws {@link InexactNumberError} instead of being conformed: its digits may have been rounded.
 */
export type RowConformer = (row: Row, meta: Pick<RecordMeta, 'topic' | 'partition' | 'offset' | 'timestamp'>, roundedNumbers?: boolean) => Conformed[];

/** The columns a row is conformed into: file columns, then a Hive table's column partition keys (an Iceberg table keeps them in the files). */
export function conformedColumns(pipeline: Pipeline): Column[] {
  return pipeline.partitioning.by === 'columns' && pipeline.format === 'hive' ? [...pipeline.columns, ...pipeline.partitioning.columns] : pipeline.columns;
}

/**
 * Builds the row conformer of a pipeline.
 * @returns a function that throws {@link ConformError} with the reason when a row does not fit.
 */
export function createRowConformer(pipeline: Pipeline): RowConformer {
  const cols = conformedColumns(pipeline);
  const n = cols.length;
  const fields = cols.map((c) => c.field);
  const types = cols.map((c) => c.type);
  const kinds = cols.map((c) => c.kafka ?? null);
  const required = cols.map((c) => c.required);
  const inherited = fields.map((f) => f in Object.prototype);
  const known = pipeline.unknownFields !== 'ignore' ? new Set(['$key', ...cols.filter((c) => !c.kafka).map((c) => c.field)]) : null;
  const evolve = pipeline.unknownFields === 'evolve';
  return (row, meta, rounded = false) => {
    roundedNumbers = rounded;
    try {
      return conformRow(row, meta);
    } finally {
      roundedNumbers = false;
    }
  };

  function conformRow(row: Row, meta: Pick<RecordMeta, 'topic' | 'partition' | 'offset' | 'timestamp'>): Conformed[] {
    if (known) {
      for (const k of Object.keys(row)) {
        if (known.has(k)) continue;
        if (!evolve) throw new ConformError(`unknown field "${k}": it is not a declared column and unknownFields is 'quarantine'`);
        const v = row[k];
        if (unknownSink !== null && v !== null && v !== undefined && !unknownSink.has(k)) unknownSink.set(k, v);
      }
    }
    const out: Conformed[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const kafka = kinds[i];
      if (kafka !== null) {
        out[i] = kafka === 'topic' ? meta.topic : kafka === 'partition' ? meta.partition : kafka === 'offset' ? meta.offset : meta.timestamp;
        continue;
      }
      const raw = inherited[i] ? ownField(row, fields[i]) : row[fields[i]];
      if (raw === undefined || raw === null) {
        if (required[i]) throw new ConformError(`missing required column "${cols[i].name}"`);
        out[i] = null;
        continue;
      }
      const t = types[i];
      if (t.kind === 'string' && typeof raw === 'string') {
        out[i] = raw;
        continue;
      }
      try {
        out[i] = conformValue(raw, t);
      } catch (err) {
        if (err instanceof FieldError) throw new ConformError(`column "${cols[i].name}${err.path.join('')}": ${err.detail}`);
        throw err;
      }
    }
    return out;
  }
}
