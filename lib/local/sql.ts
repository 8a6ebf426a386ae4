/**
 * SQL plumbing of the local Athena engine: a small lexer for Athena SQL (strings, quoted
 * identifiers, comments, `?` placeholders), ExecutionParameters as Athena literal texts bound to
 * `?` as prepared-statement values (never interpolated), Glue → DuckDB type mapping, and the
 * DuckDB relation that exposes one Glue table over exactly the files Athena would read.
 */
import { basename } from 'node:path';
import { ColumnTypeError, parseColumnType, type ColumnType } from '../../lambdas/core/types';
import type { GlueColumn, GluePartition, GlueTable } from './glue';
import { compareKeys, type LocalObjectStore } from './store';
import { AthenaQueryError } from './athena-errors';
import { ProjectionConfigError, parseProjection, projectionEnabled, projects, valuePattern, type Projection } from '../../lambdas/core/projection';

const LAZY_SIMPLE_SERDE = 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe';
const OPEN_CSV_SERDE = 'org.apache.hadoop.hive.serde2.OpenCSVSerde';

/** A query that cannot run, with the reason Athena users see in StateChangeReason. */
export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

export interface SqlToken {
  kind: 'str' | 'qid' | 'word' | 'param' | 'semi' | 'comment' | 'ws' | 'other';
  text: string;
}

/** Splits SQL into tokens; concatenating the texts gives back the input. */
export function lexSql(sql: string): SqlToken[] {
  const out: SqlToken[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const start = i;
    if (c === "'" || c === '"') {
      i++;
      while (i < sql.length) {
        if (sql[i] === c) {
          if (sql[i + 1] === c) i += 2;
          else break;
        } else i++;
      }
      if (i >= sql.length) throw new QueryError(`line 1:${start + 1}: unterminated ${c === "'" ? 'string literal' : 'quoted identifier'}`);
      i++;
      out.push({ kind: c === "'" ? 'str' : 'qid', text: sql.slice(start, i) });
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl;
      out.push({ kind: 'comment', text: sql.slice(start, i) });
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      out.push({ kind: 'comment', text: sql.slice(start, i) });
    } else if (/\s/.test(c)) {
      while (i < sql.length && /\s/.test(sql[i]!)) i++;
      out.push({ kind: 'ws', text: sql.slice(start, i) });
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < sql.length && /[A-Za-z0-9_$]/.test(sql[i]!)) i++;
      out.push({ kind: 'word', text: sql.slice(start, i) });
    } else if (c === '?') {
      i++;
      out.push({ kind: 'param', text: '?' });
    } else if (c === ';') {
      i++;
      out.push({ kind: 'semi', text: ';' });
    } else {
      i++;
      out.push({ kind: 'other', text: c });
    }
  }
  return out;
}

/** The statement's first keyword, upper-case (`SELECT`, `WITH`, `CREATE`, ...). */
export function statementKeyword(tokens: SqlToken[]): string {
  const t = tokens.find((x) => x.kind !== 'ws' && x.kind !== 'comment' && !(x.kind === 'other' && x.text === '('));
  return t?.kind === 'word' ? t.text.toUpperCase() : '';
}

/** Removes trailing semicolons; throws when the text holds more than one statement. */
export function singleStatement(tokens: SqlToken[]): SqlToken[] {
  let end = tokens.length;
  while (end > 0 && ['ws', 'comment', 'semi'].includes(tokens[end - 1]!.kind)) end--;
  const body = tokens.slice(0, end);
  if (body.some((t) => t.kind === 'semi')) throw new QueryError('Only one sql statement is allowed. Got: more than one statement');
  if (!body.some((t) => t.kind !== 'ws' && t.kind !== 'comment')) throw new QueryError('line 1:1: empty query');
  return body;
}

/** One ExecutionParameter, parsed: the DuckDB type to cast the bound text to (none = varchar). */
export interface BoundParameter {
  value: string | null;
  castTo?: string;
}

/**
 * Parses an Athena ExecutionParameter literal: `'text'` (with `''` escapes), integers, decimals,
 * doubles (`1e3`), `true`/`false`, `NULL`, `DATE '…'`, `TIMESTAMP '…'`, `TIME '…'`, `DECIMAL '…'`.
 * @throws QueryError for anything else.
 */
export function parseAthenaLiteral(text: string): BoundParameter {
  const t = text.trim();
  const typed = /^(DATE|TIMESTAMP|TIME|DECIMAL|VARCHAR|CHAR|REAL|DOUBLE|BIGINT|INTEGER|SMALLINT|TINYINT)\s*('(?:[^']|'')*')$/i.exec(t);
  if (typed) {
    const kind = typed[1]!.toUpperCase();
    const value = typed[2]!.slice(1, -1).replace(/''/g, "'");
    return kind === 'VARCHAR' || kind === 'CHAR' ? { value } : { value, castTo: kind === 'REAL' ? 'FLOAT' : kind === 'DECIMAL' ? decimalTypeOf(value) : kind };
  }
  if (/^'(?:[^']|'')*'$/.test(t)) return { value: t.slice(1, -1).replace(/''/g, "'") };
  if (/^null$/i.test(t)) return { value: null };
  if (/^(true|false)$/i.test(t)) return { value: t.toLowerCase(), castTo: 'BOOLEAN' };
  if (/^[+-]?\d+$/.test(t)) {
    const n = BigInt(t);
    return { value: t, castTo: n >= -2147483648n && n <= 2147483647n ? 'INTEGER' : 'BIGINT' };
  }
  if (/^[+-]?(\d+\.\d*|\.\d+)$/.test(t)) return { value: t, castTo: decimalTypeOf(t) };
  if (/^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$/.test(t)) return { value: t, castTo: 'DOUBLE' };
  throw new QueryError(
    `INVALID_PARAMETER_USAGE: execution parameter ${JSON.stringify(text)} is not an Athena literal; quote strings as 'text' (double inner quotes), or write 42, 1.5, true, NULL, DATE '2026-01-01', TIMESTAMP '2026-01-01 00:00:00'`,
  );
}

function decimalTypeOf(v: string): string {
  const digits = v.replace(/^[+-]/, '').split('.');
  const scale = digits[1]?.length ?? 0;
  const precision = Math.max(1, (digits[0]!.replace(/^0+/, '').length || 1) + scale);
  return `DECIMAL(${Math.min(38, precision)},${scale})`;
}

/**
 * Binds ExecutionParameters positionally: each `?` becomes `?` (text) or `CAST(? AS T)`, and the
 * parameter's text is returned as the prepared statement's value.
 * @throws QueryError when the counts differ.
 */
export function bindParameters(tokens: SqlToken[], params: string[]): { sql: string; values: (string | null)[]; toQueryOffset: (boundOffset: number) => number } {
  const count = tokens.filter((t) => t.kind === 'param').length;
  if (count !== params.length) {
    throw new QueryError(
      `INVALID_PARAMETER_USAGE: the query has ${count} parameter placeholder(s) (?) but ${params.length} ExecutionParameters were given`,
    );
  }
  const bound = params.map(parseAthenaLiteral);
  let n = 0;
  // Where each placeholder went: [offset in the bound SQL, how much longer the replacement is].
  const shifts: Array<[number, number]> = [];
  let length = 0;
  const sql = tokens
    .map((t) => {
      let text = t.text;
      if (t.kind === 'param') {
        const b = bound[n++]!;
        text = b.castTo ? `CAST(? AS ${b.castTo})` : b.value === null ? 'CAST(? AS VARCHAR)' : '?';
        if (text.length !== 1) shifts.push([length + text.length, text.length - 1]);
      }
      length += text.length;
      return text;
    })
    .join('');
  const toQueryOffset = (o: number) => o - shifts.filter(([at]) => at <= o).reduce((a, [, d]) => a + d, 0);
  return { sql, values: bound.map((b) => b.value), toQueryOffset };
}

/** Identifiers (lower-case) that a query mentions, for deciding which Glue databases to expose. */
export function mentionedIdentifiers(tokens: SqlToken[]): Set<string> {
  const out = new Set<string>();
  for (const t of tokens) {
    if (t.kind === 'word') out.add(t.text.toLowerCase());
    else if (t.kind === 'qid') out.add(t.text.slice(1, -1).replace(/""/g, '"').toLowerCase());
  }
  return out;
}

/** Quotes an identifier for DuckDB. */
export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
/** Quotes a string literal for DuckDB (only for values the endpoint itself generates, never user parameters). */
export const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Maps a parsed column type to DuckDB's type syntax. */
export function duckDbType(t: ColumnType): string {
  switch (t.kind) {
    case 'string':
      return 'VARCHAR';
    case 'boolean':
      return 'BOOLEAN';
    case 'int':
      return 'INTEGER';
    case 'bigint':
      return 'BIGINT';
    case 'float':
      return 'FLOAT';
    case 'double':
      return 'DOUBLE';
    case 'decimal':
      return `DECIMAL(${t.precision},${t.scale})`;
    case 'date':
      return 'DATE';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'binary':
      return 'BLOB';
    case 'array':
      return `${duckDbType(t.element)}[]`;
    case 'map':
      return `MAP(VARCHAR, ${duckDbType(t.value)})`;
    case 'struct':
      return `STRUCT(${t.fields.map((f) => `${quoteIdent(f.name)} ${duckDbType(f.type)}`).join(', ')})`;
  }
}

/**
 * Maps a Glue type string to DuckDB (`map<string,array<bigint>>` → `MAP(VARCHAR, BIGINT[])`).
 * Also accepts Hive's `tinyint`, `smallint`, `varchar(n)`, `char(n)` and `binary`.
 */
export function glueTypeToDuckDb(glueType: string): string {
  const s = glueType.trim().toLowerCase();
  if (s === 'tinyint') return 'TINYINT';
  if (s === 'smallint') return 'SMALLINT';
  if (s === 'binary') return 'BLOB';
  const normalized = s.replace(/\b(?:var)?char\s*\(\s*\d+\s*\)/g, 'string').replace(/\b(tinyint|smallint)\b/g, 'int');
  try {
    return duckDbType(parseColumnType(normalized));
  } catch (e) {
    if (e instanceof ColumnTypeError) throw new QueryError(`HIVE_UNSUPPORTED_FORMAT: the local endpoint cannot map the Glue type "${glueType}" to DuckDB: ${e.message}`);
    throw e;
  }
}

/** One file of a table, with the partition values it belongs to. */
export interface TableFile {
  path: string;
  size: number;
  values: (string | null)[];
}

/** The DuckDB relation of a Glue table and the bytes of the files it reads. */
export interface TableRelation {
  /** A SELECT that yields the table's columns (then its partition keys), typed as in Glue. */
  sql: string;
  /** Sum of the sizes of the files behind the relation (Athena's DataScannedInBytes, roughly). */
  bytes: number;
  files: string[];
}

const HIDDEN = (name: string) => name.startsWith('_') || name.startsWith('.');
const DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/** Splits `s3://bucket/prefix` into bucket and key prefix. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3a?n?:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new QueryError(`HIVE_METASTORE_ERROR: table location "${uri}" is not an s3:// URI`);
  return { bucket: m[1]!, prefix: m[2]! };
}

async function filesUnder(store: LocalObjectStore, uri: string): Promise<Array<{ key: string; path: string; size: number }>> {
  const { bucket, prefix: raw } = parseS3Uri(uri);
  if (!(await store.bucketExists(bucket))) return [];
  const prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
  const out: Array<{ key: string; path: string; size: number }> = [];
  const keys = await store.sortedKeys(bucket);
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(keys[mid]!, prefix) < 0) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < keys.length && keys[i]!.startsWith(prefix); i++) {
    const key = keys[i]!;
    if (key.endsWith('/')) continue;
    if (key.slice(prefix.length).split('/').some(HIDDEN)) continue;
    const m = await store.head(bucket, key);
    if (m) out.push({ key, path: store.objectPath(bucket, key), size: m.size });
  }
  return out;
}

/** Options of the table resolution: the moment NOW is (projection) and the query's partition constants. */
export interface ResolveOptions {
  /** Epoch ms at which projection ranges with NOW are evaluated. @default Date.now() */
  now?: number;
  /**
   * Values the query fixes per column name (lower-case), from `col = 'v'` / `col IN ('a', 'b')`;
   * required by `injected` projection columns. Undefined when unknown (no check).
   */
  constants?: Map<string, Set<string>>;
}

/**
 * The files a query of a Glue table reads, with their partition values (the one place a Glue
 * table becomes a list of files; table formats such as Iceberg resolve here too):
 * - partition projection on: the projected partitions (see projection.ts), located through
 *   `storage.location.template` or `<location>k=v/…`; registered Glue partitions are ignored;
 * - partitioned: the files under each registered partition's location (an unregistered
 *   partition stays invisible);
 * - unpartitioned: the files under the table location.
 * Hidden files (`_x`, `.x`) are skipped.
 * @throws AthenaQueryError for an invalid projection, or an injected column the query does not fix.
 */
export async function resolveTableFiles(store: LocalObjectStore, table: GlueTable, partitions: GluePartition[], opts: ResolveOptions = {}): Promise<TableFile[]> {
  const sd = table.StorageDescriptor ?? {};
  const keys = table.PartitionKeys ?? [];
  if (keys.length === 0) return (await filesUnder(store, sd.Location ?? '')).map((f) => ({ path: f.path, size: f.size, values: [] }));
  if (projectionEnabled(table.Parameters)) return projectedFiles(store, table, keys, opts);
  const files: TableFile[] = [];
  for (const p of partitions) {
    const loc = p.StorageDescriptor?.Location;
    if (!loc) continue;
    for (const f of await filesUnder(store, loc)) files.push({ path: f.path, size: f.size, values: p.Values.map((v) => (v === DEFAULT_PARTITION ? null : v)) });
  }
  return files;
}

/** Files of a projection table: the files that exist under the location template, for the values Athena projects. */
async function projectedFiles(store: LocalObjectStore, table: GlueTable, keys: GlueColumn[], opts: ResolveOptions): Promise<TableFile[]> {
  let projection: Projection;
  try {
    projection = parseProjection(table.Parameters, keys.map((k) => k.Name))!;
  } catch (e) {
    if (e instanceof ProjectionConfigError) throw new AthenaQueryError('HIVE_METASTORE_ERROR', `Table ${table.DatabaseName}.${table.Name}: ${e.message}`, 1103);
    throw e;
  }
  const now = opts.now ?? Date.now();
  const injected = projection.columns.filter((c) => c.type === 'injected');
  if (injected.length && opts.constants) {
    for (const c of injected) {
      if (!opts.constants.get(c.name.toLowerCase())?.size) {
        throw new AthenaQueryError('CONSTRAINT_VIOLATION', `For the injected projected partition column ${c.name}, the WHERE clause must contain only static equality conditions, and at least one such condition must be present.`, 1000);
      }
    }
  }
  const template = projection.template ?? `${table.StorageDescriptor?.Location ?? ''}${keys.map((k) => `${k.Name}=\${${k.Name}}`).join('/')}/`;
  const first = template.indexOf('${');
  const staticPart = first < 0 ? template : template.slice(0, template.lastIndexOf('/', first) + 1);
  const names: string[] = [];
  const pattern = template
    .slice(staticPart.length)
    .split(/(\$\{[^}]+\})/)
    .map((part) => {
      const m = /^\$\{([^}]+)\}$/.exec(part);
      if (m) {
        names.push(m[1]!.toLowerCase());
        // A value may hold '/' (a date format yyyy/MM/dd): match what the column can generate.
        const col = projection.columns.find((c) => c.name.toLowerCase() === m[1]!.toLowerCase());
        return `(${col ? valuePattern(col) : '[^/]+'})`;
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const re = new RegExp(`^${pattern}${pattern.endsWith('/') ? '' : '/'}`);
  const { prefix } = parseS3Uri(staticPart);
  const out: TableFile[] = [];
  for (const f of await filesUnder(store, staticPart)) {
    const m = re.exec(f.key.slice(prefix.length));
    if (!m) continue;
    // Athena puts the projected value into the template as it is (no Hive unescaping).
    const values = keys.map((k) => {
      const i = names.indexOf(k.Name.toLowerCase());
      return i < 0 ? null : m[i + 1]!;
    });
    const visible = projection.columns.every((c, i) => {
      const v = values[i];
      if (v === null || v === undefined) return false;
      if (c.type === 'injected') return opts.constants ? opts.constants.get(c.name.toLowerCase())!.has(v) : true;
      return projects(c, v, now);
    });
    if (visible) out.push({ path: f.path, size: f.size, values });
  }
  return out;
}

/** Runs `DESCRIBE` on a relation and returns its column names (lower-case). */
export type DescribeFn = (sql: string) => Promise<string[]>;

/**
 * Builds the DuckDB relation for a Glue table: its columns with Glue types, then its partition
 * keys; files from the registered partitions only (or the projection template); Parquet via
 * read_parquet(union_by_name) selecting columns by name (missing → NULL), JSON SerDe via
 * read_ndjson with explicit columns; an empty table is a typed empty relation.
 */
export async function buildTableRelation(
  store: LocalObjectStore,
  table: GlueTable,
  partitions: GluePartition[],
  describe: DescribeFn,
  opts: ResolveOptions = {},
): Promise<TableRelation> {
  const sd = table.StorageDescriptor ?? {};
  const columns = (sd.Columns ?? []).map((c) => ({ name: c.Name.toLowerCase(), type: glueTypeToDuckDb(c.Type ?? 'string') }));
  const keys = table.PartitionKeys ?? [];
  const keyCols = keys.map((k) => ({ name: k.Name.toLowerCase(), type: glueTypeToDuckDb(k.Type ?? 'string') }));
  const serdeLib = sd.SerdeInfo?.SerializationLibrary ?? '';
  const serde = `${serdeLib} ${sd.InputFormat ?? ''}`.toLowerCase();
  const isJson = serde.includes('json');
  const isParquet = serde.includes('parquet') || table.Parameters?.classification === 'parquet';
  const isText = !isJson && !isParquet && (serdeLib === LAZY_SIMPLE_SERDE || serdeLib === OPEN_CSV_SERDE) && /textinputformat/i.test(sd.InputFormat ?? '');
  if (!isJson && !isParquet && !isText) {
    throw new AthenaQueryError('HIVE_UNSUPPORTED_FORMAT', `Table ${table.DatabaseName}.${table.Name} uses "${serdeLib || sd.InputFormat || 'no SerDe'}"; the local endpoint reads Parquet, JSON (OpenX/Hive JSON SerDe) and text (LazySimpleSerDe, OpenCSVSerde) tables`, 1201);
  }

  let files = await resolveTableFiles(store, table, partitions, opts);
  if (isParquet) files = files.filter((f) => f.size > 0);
  const bytes = files.reduce((s, f) => s + f.size, 0);
  const all = [...columns, ...keyCols];
  if (files.length === 0) {
    return { sql: `SELECT ${all.map((c) => `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ')} WHERE false`, bytes: 0, files: [] };
  }
  const list = `[${files.map((f) => quoteLiteral(f.path)).join(', ')}]`;
  const FILE_COL = '__lakeloader_file';
  let source: string;
  let present: Set<string>;
  if (isParquet) {
    source = `read_parquet(${list}, union_by_name = true, filename = '${FILE_COL}')`;
    present = new Set(await describe(`SELECT * FROM ${source}`));
  } else if (isJson) {
    const spec = `{${columns.map((c) => `${quoteLiteral(c.name)}: ${quoteLiteral(c.type)}`).join(', ')}}`;
    source = `read_ndjson(${list}, columns = ${spec}, filename = '${FILE_COL}')`;
    present = new Set(columns.map((c) => c.name));
  } else {
    source = textSource(table, list, columns.map((c) => c.name), FILE_COL);
    present = new Set(columns.map((c) => c.name));
  }
  // Text SerDes read every field as text; a field that does not convert is NULL, as in Hive.
  const cast = isText ? 'TRY_CAST' : 'CAST';
  const select = columns.map((c) => (present.has(c.name) ? `${cast}(t.${quoteIdent(c.name)} AS ${c.type})` : `CAST(NULL AS ${c.type})`) + ` AS ${quoteIdent(c.name)}`);
  if (keyCols.length === 0) return { sql: `SELECT ${select.join(', ')} FROM ${source} t`, bytes, files: files.map((f) => f.path) };
  const rows = files.map((f) => `(${[quoteLiteral(f.path), ...f.values.map((v) => (v === null ? 'NULL' : quoteLiteral(v)))].join(', ')})`);
  const mcols = keyCols.map((_, i) => `k${i}`);
  select.push(...keyCols.map((k, i) => `CAST(m.k${i} AS ${k.type}) AS ${quoteIdent(k.name)}`));
  return {
    sql: `SELECT ${select.join(', ')} FROM ${source} t JOIN (VALUES ${rows.join(', ')}) m(f, ${mcols.join(', ')}) ON t.${FILE_COL} = m.f`,
    bytes,
    files: files.map((f) => basename(f.path)),
  };
}

/**
 * read_csv over a text table: LazySimpleSerDe (`field.delim`, default \\001, no quoting, `\\N` or
 * `serialization.null.format` as NULL) or OpenCSVSerde (`separatorChar`/`quoteChar`/`escapeChar`,
 * default `,` `"` `\\`); `skip.header.line.count` lines skipped per file; all columns as text.
 */
function textSource(table: GlueTable, list: string, names: string[], fileCol: string): string {
  const sd = table.StorageDescriptor ?? {};
  const p = sd.SerdeInfo?.Parameters ?? {};
  const skip = Number(table.Parameters?.['skip.header.line.count'] ?? '0') || 0;
  const columns = `{${names.map((n) => `${quoteLiteral(n)}: 'VARCHAR'`).join(', ')}}`;
  const common = `header = false, skip = ${skip}, columns = ${columns}, auto_detect = false, null_padding = true, strict_mode = false, filename = '${fileCol}'`;
  if (sd.SerdeInfo?.SerializationLibrary === OPEN_CSV_SERDE) {
    const sep = p.separatorChar ?? ',';
    const quote = p.quoteChar ?? '"';
    const escape = p.escapeChar ?? '\\';
    return `read_csv(${list}, delim = ${quoteLiteral(sep)}, quote = ${quoteLiteral(quote)}, escape = ${quoteLiteral(escape)}, ${common})`;
  }
  const delim = p['field.delim'] ?? p['serialization.format'] ?? '\u0001';
  const nullFormat = p['serialization.null.format'] ?? '\\N';
  return `read_csv(${list}, delim = ${quoteLiteral(delim === '1' ? '\u0001' : delim)}, quote = '', escape = '', nullstr = ${quoteLiteral(nullFormat)}, ${common})`;
}

/**
 * The constants a query fixes per column name (lower-case): `col = 'v'`, `'v' = col`,
 * `t.col = 'v'` and `col IN ('a', 'b')`, read from the tokens (a token-level reading: it does not
 * weigh OR or NOT, which is enough to know which injected partitions a query names).
 */
export function queryConstants(tokens: SqlToken[]): Map<string, Set<string>> {
  const t = tokens.filter((x) => x.kind !== 'ws' && x.kind !== 'comment');
  const out = new Map<string, Set<string>>();
  const name = (x: SqlToken | undefined) => (x?.kind === 'word' ? x.text.toLowerCase() : x?.kind === 'qid' ? x.text.slice(1, -1).replace(/""/g, '"').toLowerCase() : null);
  const str = (x: SqlToken | undefined) => (x?.kind === 'str' ? x.text.slice(1, -1).replace(/''/g, "'") : null);
  const add = (col: string, v: string) => {
    if (!out.has(col)) out.set(col, new Set());
    out.get(col)!.add(v);
  };
  for (let i = 0; i < t.length; i++) {
    const col = name(t[i]);
    if (col !== null && t[i + 1]?.text === '=' && str(t[i + 2]) !== null) add(col, str(t[i + 2])!);
    if (str(t[i]) !== null && t[i + 1]?.text === '=' && name(t[i + 2]) !== null) add(name(t[i + 2] && t[i + 3]?.text === '.' ? t[i + 4] : t[i + 2])!, str(t[i])!);
    if (col !== null && t[i + 1]?.kind === 'word' && t[i + 1]!.text.toUpperCase() === 'IN' && t[i + 2]?.text === '(') {
      const vals: string[] = [];
      let j = i + 3;
      while (str(t[j]) !== null) {
        vals.push(str(t[j])!);
        if (t[j + 1]?.text === ',') j += 2;
        else break;
      }
      if (t[j + 1]?.text === ')') for (const v of vals) add(col, v);
    }
  }
  return out;
}
