/**
 * What a schema (Avro, Protobuf, JSON Schema) maps to: top-level columns with Glue types, and the
 * name rule every format shares. Decoders emit rows keyed by these column names at every level
 * (a field `userId` becomes `userid`, also inside structs), so the conformer reads them by name.
 */
import { formatColumnType, IDENTIFIER, type ColumnType } from '../types';
import { SchemaDefinitionError } from './errors';

/** One column a schema maps to. */
export interface DerivedColumn {
  /** Column name: the field name lower-cased, other characters than [a-z0-9_] as `_`. */
  name: string;
  type: ColumnType;
  /** True when the schema says the field is always present and non-null. */
  required: boolean;
  /** The field's name in the schema, when it differs from the column name. */
  source?: string;
  comment?: string;
}

/**
 * The column (or struct field) name of a schema field: lower case (Athena lower-cases names
 * anyway), characters outside [a-z0-9_] become `_`, a leading digit gets a `_` in front.
 */
export function columnName(field: string): string {
  let s = field.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!/^[a-z_]/.test(s)) s = `_${s}`;
  return s.slice(0, 128);
}

/**
 * Maps the field names of one record/message to column names, refusing two fields that map to the
 * same name (`userId` and `userid`): the table could not hold both.
 * @throws SchemaDefinitionError naming both fields
 */
export function columnNames(fields: string[], where: string): string[] {
  const seen = new Map<string, string>();
  return fields.map((f) => {
    const n = columnName(f);
    const other = seen.get(n);
    if (other !== undefined) throw new SchemaDefinitionError(`${where}: fields "${other}" and "${f}" both map to column name "${n}"; rename one of them in the schema`);
    if (!IDENTIFIER.test(n)) throw new SchemaDefinitionError(`${where}: field "${f}" maps to "${n}", which is not a valid column name`);
    seen.set(n, f);
    return n;
  });
}

/** The declaration form (`{ name, type: 'glue type', required }`) of derived columns. */
export function toDeclarations(cols: DerivedColumn[]): { name: string; type: string; required: boolean; field?: string; comment?: string }[] {
  return cols.map((c) => ({ name: c.name, type: formatColumnType(c.type), required: c.required, ...(c.comment ? { comment: c.comment } : {}) }));
}

/** The exact decimal text of an unscaled integer at `scale` (`12345n, 2` → `123.45`). */
export function decimalText(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  let digits = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  return neg ? `-${digits}` : digits;
}

/** A big-endian two's-complement integer (Avro decimal bytes/fixed). */
export function twosComplement(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return b[0] & 0x80 ? v - (1n << BigInt(b.length * 8)) : v;
}

/** Floor division of an integer (number or bigint) by a power of ten, as number when safe. */
export function floorDiv(v: number | bigint, by: number): number | bigint {
  if (typeof v === 'number') return Math.floor(v / by);
  const d = BigInt(by);
  const q = v / d;
  const r = q * d === v || v >= 0n ? q : q - 1n;
  return r >= BigInt(Number.MIN_SAFE_INTEGER) && r <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r) : r;
}
