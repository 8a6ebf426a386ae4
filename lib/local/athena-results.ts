/**
 * Query results as Athena shapes and stores them: Athena type names for DuckDB types, values
 * rendered as Trino prints them, the result CSV (every value double-quoted, NULL empty) with its
 * `.csv.metadata` beside it, and DDL results as plain text (`.txt` + `.txt.metadata`).
 *
 * The `.metadata` file is the binary Athena writes next to each result ("saved in binary format
 * and are not human readable"): a protocol-buffers message whose field 4 repeats one
 * ResultSetMetadata ColumnInfo each (1 CatalogName, 2 SchemaName, 3 TableName, 4 Name, 5 Label,
 * 6 Type, 7 Precision, 8 Scale, 9 Nullable = 1 NOT_NULL / 2 NULLABLE / 3 UNKNOWN, 10
 * CaseSensitive), as JDBC drivers that read results straight from S3 decode it. Written with a
 * few lines of varint/length-delimited encoding (no protobuf dependency for one message shape).
 */
import { DuckDBListValue, DuckDBMapValue, DuckDBStructValue, type DuckDBValue } from '@duckdb/node-api';

/** One column of a result, in the GetQueryResults ColumnInfo shape. */
export interface ColumnInfo {
  CatalogName: string;
  SchemaName: string;
  TableName: string;
  Name: string;
  Label: string;
  Type: string;
  Precision: number;
  Scale: number;
  Nullable: 'NOT_NULL' | 'NULLABLE' | 'UNKNOWN';
  CaseSensitive: boolean;
}

/** Athena type name (and precision/scale) for a DuckDB type string. */
export function athenaType(duck: string): { type: string; precision: number; scale: number } {
  const t = duck.toUpperCase();
  if (t.endsWith('[]') || /^[A-Z]+\[\d+\]$/.test(t)) return { type: 'array', precision: 0, scale: 0 };
  if (t.startsWith('MAP(')) return { type: 'map', precision: 0, scale: 0 };
  if (t.startsWith('STRUCT(')) return { type: 'row', precision: 0, scale: 0 };
  const dec = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (dec) return { type: 'decimal', precision: Number(dec[1]), scale: Number(dec[2]) };
  const map: Record<string, [string, number]> = {
    VARCHAR: ['varchar', 2147483647], BIGINT: ['bigint', 19], HUGEINT: ['bigint', 19], UBIGINT: ['bigint', 19], UHUGEINT: ['bigint', 19],
    UINTEGER: ['bigint', 19], INTEGER: ['integer', 10], USMALLINT: ['integer', 10], SMALLINT: ['smallint', 5], UTINYINT: ['smallint', 5],
    TINYINT: ['tinyint', 3], DOUBLE: ['double', 17], FLOAT: ['real', 17], BOOLEAN: ['boolean', 0], DATE: ['date', 0],
    TIMESTAMP: ['timestamp', 3], TIMESTAMP_MS: ['timestamp', 3], TIMESTAMP_S: ['timestamp', 3], TIMESTAMP_NS: ['timestamp', 3],
    'TIMESTAMP WITH TIME ZONE': ['timestamp with time zone', 3], TIME: ['time', 3], INTERVAL: ['interval day to second', 0],
    BLOB: ['varbinary', 2147483647], UUID: ['uuid', 0], JSON: ['json', 0], '"NULL"': ['unknown', 0], NULL: ['unknown', 0],
  };
  const m = map[t];
  return m ? { type: m[0], precision: m[1], scale: 0 } : { type: duck.toLowerCase(), precision: 0, scale: 0 };
}

/** The ColumnInfo of a result column from its DuckDB type. */
export function columnInfo(name: string, duck: string): ColumnInfo {
  const t = athenaType(duck);
  return { CatalogName: 'hive', SchemaName: '', TableName: '', Name: name, Label: name, Type: t.type, Precision: t.precision, Scale: t.scale, Nullable: 'UNKNOWN', CaseSensitive: t.type === 'varchar' };
}

/** The ColumnInfo of a DDL result's single text column (`tab_name`, `partition`, …). */
export function textColumn(name: string): ColumnInfo {
  return { CatalogName: 'hive', SchemaName: '', TableName: '', Name: name, Label: name, Type: 'string', Precision: 0, Scale: 0, Nullable: 'UNKNOWN', CaseSensitive: false };
}

/** Java's Double.toString, which Trino uses to print doubles (1.0, 1.5E10, 1.0E-4). */
export function formatDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(n);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mant, exp] = n.toExponential().split('e');
  return `${mant!.includes('.') ? mant : `${mant}.0`}E${Number(exp)}`;
}

/** Renders a DuckDB value as Athena prints it (null stays null at the top level). */
export function formatValue(v: DuckDBValue, duckType: string, nested = false): string | null {
  if (v === null || v === undefined) return nested ? 'null' : null;
  const t = duckType.toUpperCase();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return t === 'DOUBLE' || t === 'FLOAT' ? formatDouble(v) : String(v);
  if (typeof v === 'bigint' || typeof v === 'string') return String(v);
  if (v instanceof DuckDBListValue) return `[${v.items.map((x) => formatValue(x, elementType(t), true)).join(', ')}]`;
  if (v instanceof DuckDBMapValue) return `{${v.entries.map((x) => `${formatValue(x.key, '', true)}=${formatValue(x.value, mapValueType(t), true)}`).join(', ')}}`;
  if (v instanceof DuckDBStructValue) return `{${Object.entries(v.entries).map(([k, x]) => `${k}=${formatValue(x, '', true)}`).join(', ')}}`;
  const s = String(v);
  if (t === 'TIMESTAMP WITH TIME ZONE') {
    const m = /^(\S+ \d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d(?::?\d\d)?)?$/.exec(s);
    if (m) return `${m[1]}${millis(m[2])} ${!m[3] || /^[+-]00(:?00)?$/.test(m[3]) ? 'UTC' : m[3]}`;
  }
  if (t.startsWith('TIMESTAMP')) {
    const m = /^(\S+ \d\d:\d\d:\d\d)(\.\d+)?$/.exec(s);
    if (m) return `${m[1]}${millis(m[2])}`;
  }
  return s;
}

const millis = (frac: string | undefined) => (frac ? `.${frac.slice(1).padEnd(3, '0').slice(0, 3)}` : '.000');
const elementType = (t: string) => (t.endsWith('[]') ? t.slice(0, -2) : '');
const mapValueType = (t: string) => {
  const m = /^MAP\([^,]+,\s*(.*)\)$/.exec(t);
  return m ? m[1]! : '';
};

/** Athena's result CSV: a header row, then the rows; every value double-quoted, NULL as an empty field. */
export function toAthenaCsv(names: string[], rows: (string | null)[][]): string {
  const q = (v: string | null) => (v === null ? '' : `"${v.replace(/"/g, '""')}"`);
  return [names.map(q).join(','), ...rows.map((r) => r.map(q).join(','))].join('\n') + '\n';
}

/** A DDL result as Athena writes it: one line per row, tab-separated values, no header. */
export function toAthenaText(rows: (string | null)[][]): string {
  return rows.map((r) => r.map((v) => v ?? '').join('\t')).join('\n') + (rows.length ? '\n' : '');
}

/** Parses Athena's result CSV (every value double-quoted, NULL as an empty field) into rows. */
export function parseAthenaCsv(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [];
  let i = 0;
  while (i < text.length) {
    let value: string | null = null;
    if (text[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field in the result CSV');
        v += text.slice(i, q);
        if (text[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      value = v;
    } else {
      let end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== '\n') end++;
      if (end > i) value = text.slice(i, end).replace(/\r$/, '');
      i = end;
    }
    row.push(value);
    if (text[i] === ',') i++;
    else {
      rows.push(row);
      row = [];
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
    }
  }
  return rows;
}

// ---- the .metadata file (protocol buffers wire format) ----

const NULLABLE_CODE = { NOT_NULL: 1, NULLABLE: 2, UNKNOWN: 3 } as const;

function varint(n: number, out: number[]): void {
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function field(no: number, value: string | number | boolean | Uint8Array, out: number[]): void {
  if (typeof value === 'number' || typeof value === 'boolean') {
    varint((no << 3) | 0, out);
    varint(Number(value), out);
    return;
  }
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  varint((no << 3) | 2, out);
  varint(bytes.length, out);
  for (const b of bytes) out.push(b);
}

/** Encodes the `.csv.metadata` / `.txt.metadata` of a result (see the module docs for the layout). */
export function encodeResultMetadata(columns: ColumnInfo[]): Buffer {
  const out: number[] = [];
  for (const c of columns) {
    const col: number[] = [];
    // proto3 omits empty strings and zeros.
    const strings: Array<[number, string]> = [[1, c.CatalogName], [2, c.SchemaName], [3, c.TableName], [4, c.Name], [5, c.Label], [6, c.Type]];
    for (const [no, s] of strings) if (s) field(no, s, col);
    if (c.Precision) field(7, c.Precision, col);
    if (c.Scale) field(8, c.Scale, col);
    field(9, NULLABLE_CODE[c.Nullable], col);
    if (c.CaseSensitive) field(10, 1, col);
    field(4, Uint8Array.from(col), out);
  }
  return Buffer.from(out);
}

/** Decodes a `.metadata` file written by {@link encodeResultMetadata} (or by Athena). */
export function decodeResultMetadata(buf: Uint8Array): ColumnInfo[] {
  const fields = (b: Uint8Array) => {
    const out: Array<{ no: number; int?: number; bytes?: Uint8Array }> = [];
    let i = 0;
    const readVarint = () => {
      let v = 0;
      let shift = 0;
      for (;;) {
        const byte = b[i++];
        if (byte === undefined) throw new Error('truncated varint in result metadata');
        v += (byte & 0x7f) * 2 ** shift;
        if (byte < 0x80) return v;
        shift += 7;
      }
    };
    while (i < b.length) {
      const key = readVarint();
      const no = Math.floor(key / 8);
      const wire = key & 7;
      if (wire === 0) out.push({ no, int: readVarint() });
      else if (wire === 2) {
        const len = readVarint();
        out.push({ no, bytes: b.subarray(i, i + len) });
        i += len;
      } else throw new Error(`unsupported wire type ${wire} in result metadata`);
    }
    return out;
  };
  const text = (x?: Uint8Array) => (x ? Buffer.from(x).toString('utf8') : '');
  return fields(buf)
    .filter((f) => f.no === 4 && f.bytes)
    .map((f) => {
      const c: ColumnInfo = { CatalogName: '', SchemaName: '', TableName: '', Name: '', Label: '', Type: '', Precision: 0, Scale: 0, Nullable: 'UNKNOWN', CaseSensitive: false };
      for (const x of fields(f.bytes!)) {
        if (x.no === 1) c.CatalogName = text(x.bytes);
        else if (x.no === 2) c.SchemaName = text(x.bytes);
        else if (x.no === 3) c.TableName = text(x.bytes);
        else if (x.no === 4) c.Name = text(x.bytes);
        else if (x.no === 5) c.Label = text(x.bytes);
        else if (x.no === 6) c.Type = text(x.bytes);
        else if (x.no === 7) c.Precision = x.int ?? 0;
        else if (x.no === 8) c.Scale = x.int ?? 0;
        else if (x.no === 9) c.Nullable = x.int === 1 ? 'NOT_NULL' : x.int === 2 ? 'NULLABLE' : 'UNKNOWN';
        else if (x.no === 10) c.CaseSensitive = x.int === 1;
      }
      return c;
    });
}
