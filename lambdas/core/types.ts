/**
 * The column type model: Glue/Athena (Hive DDL) type strings parsed into a small tree that the
 * conformer, the Parquet encoder, the Glue table builder and the local Athena endpoint all read.
 *
 * Supported: string, boolean, int, bigint, float, double, decimal(p,s), date, timestamp, binary,
 * array<T>, map<string,T>, struct<name:T,...>.
 */
import { LakeloaderError } from './errors';

export type ColumnType =
  | { kind: 'string' }
  | { kind: 'boolean' }
  | { kind: 'int' }
  | { kind: 'bigint' }
  | { kind: 'float' }
  | { kind: 'double' }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'date' }
  | { kind: 'timestamp' }
  | { kind: 'binary' }
  | { kind: 'array'; element: ColumnType }
  | { kind: 'map'; value: ColumnType }
  | { kind: 'struct'; fields: StructField[] };

export interface StructField {
  name: string;
  type: ColumnType;
}

/** Thrown when a type string is not a supported Glue/Athena type. */
export class ColumnTypeError extends LakeloaderError {
  readonly code = 'COLUMN_TYPE';
  constructor(message: string) {
    super(message);
  }
}

const PRIMITIVES = new Set(['string', 'boolean', 'int', 'bigint', 'float', 'double', 'date', 'timestamp', 'binary']);
const ALIASES: Record<string, string> = { integer: 'int', long: 'bigint', real: 'float', bool: 'boolean' };

/** Names usable as columns and struct fields: lower-case, Athena-safe, no quoting needed. */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,127}$/;

/**
 * Parses a Glue/Athena type string such as `map<string,array<bigint>>` or `decimal(12,2)`.
 * @throws ColumnTypeError with the offending position and the list of supported types.
 */
export function parseColumnType(text: string): ColumnType {
  const src = text.trim().toLowerCase();
  let pos = 0;
  const fail = (what: string): never => {
    throw new ColumnTypeError(
      `invalid column type "${text}": ${what} at position ${pos}; supported: string, boolean, int, bigint, float, ` +
        `double, decimal(p,s), date, timestamp, binary, array<T>, map<string,T>, struct<name:T,...>`,
    );
  };
  const ws = () => {
    while (pos < src.length && src[pos] === ' ') pos++;
  };
  const word = (): string => {
    ws();
    const m = /^[a-z_][a-z0-9_]*/.exec(src.slice(pos));
    if (!m) fail('expected a type name');
    pos += m![0].length;
    return m![0];
  };
  const expect = (ch: string) => {
    ws();
    if (src[pos] !== ch) fail(`expected "${ch}"`);
    pos++;
  };
  const int = (): number => {
    ws();
    const m = /^\d+/.exec(src.slice(pos));
    if (!m) fail('expected a number');
    pos += m![0].length;
    return Number(m![0]);
  };
  const type = (): ColumnType => {
    let name = word();
    name = ALIASES[name] ?? name;
    if (PRIMITIVES.has(name)) return { kind: name } as ColumnType;
    if (name === 'decimal') {
      ws();
      if (src[pos] !== '(') return { kind: 'decimal', precision: 10, scale: 0 };
      expect('(');
      const precision = int();
      expect(',');
      const scale = int();
      expect(')');
      if (precision < 1 || precision > 38) fail('decimal precision must be 1..38');
      if (scale > precision) fail('decimal scale must not exceed its precision');
      return { kind: 'decimal', precision, scale };
    }
    if (name === 'array') {
      expect('<');
      const element = type();
      expect('>');
      return { kind: 'array', element };
    }
    if (name === 'map') {
      expect('<');
      const key = type();
      if (key.kind !== 'string') fail('map keys must be string');
      expect(',');
      const value = type();
      expect('>');
      return { kind: 'map', value };
    }
    if (name === 'struct') {
      expect('<');
      const fields: StructField[] = [];
      const seen = new Set<string>();
      for (;;) {
        const fname = word();
        if (seen.has(fname)) fail(`duplicate struct field "${fname}"`);
        seen.add(fname);
        expect(':');
        fields.push({ name: fname, type: type() });
        ws();
        if (src[pos] === ',') {
          pos++;
          continue;
        }
        expect('>');
        break;
      }
      return { kind: 'struct', fields };
    }
    return fail(`unknown type "${name}"`);
  };
  const result = type();
  ws();
  if (pos !== src.length) fail('unexpected trailing text');
  return result;
}

/** Formats a type back to the canonical Glue/Athena string (`map<string,bigint>`). */
export function formatColumnType(t: ColumnType): string {
  switch (t.kind) {
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'array':
      return `array<${formatColumnType(t.element)}>`;
    case 'map':
      return `map<string,${formatColumnType(t.value)}>`;
    case 'struct':
      return `struct<${t.fields.map((f) => `${f.name}:${formatColumnType(f.type)}`).join(',')}>`;
    default:
      return t.kind;
  }
}
