/**
 * The statements that write data, as Athena runs them on Hive tables: CREATE TABLE AS SELECT
 * (files under `external_location`, or `<OutputLocation>tables/<QueryExecutionId>/` when none is
 * given, the table and its partitions registered in Glue) and INSERT INTO (new files under the
 * table's or partition's location, new partitions registered). The query runs in the execution's
 * DuckDB, its result is written per partition with DuckDB's COPY (Parquet, JSON or text) to a
 * work directory and stored through the local S3 store, so S3 lists the objects like any other.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBTypeId, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { HIVE_DEFAULT_PARTITION } from '../../lambdas/core/partition';
import { PARQUET_INPUT_FORMAT, PARQUET_OUTPUT_FORMAT, PARQUET_SERDE, JSON_SERDE, TEXT_INPUT_FORMAT, TEXT_OUTPUT_FORMAT } from '../../lambdas/core/glue-table';
import { projectionEnabled } from '../../lambdas/core/projection';
import { createPartitions, dirUri, LAZY_SIMPLE_SERDE, partitionPath, putObject, type CatalogContext } from './athena-catalog';
import type { DdlStatement } from './athena-ddl';
import { AthenaQueryError, lineCol } from './athena-errors';
import type { GlueTable } from './glue';
import { glueTypeToDuckDb, parseS3Uri, quoteIdent, quoteLiteral } from './sql';

/** What a writing statement needs besides the catalog. */
export interface WriteContext extends CatalogContext {
  /** The execution's DuckDB connection, with the tables as views and the context database in use. */
  con: DuckDBConnection;
  queryId: string;
  /** The statement text (for error positions). */
  statement: string;
  /** `s3://…/` where the execution writes its results. */
  outputDir: string;
  /** A local directory for files before they are stored. */
  workDir: string;
}

/** Rows written and the s3:// URIs of the files (the data manifest). */
export interface WriteResult {
  rows: number;
  files: string[];
}

type Format = 'PARQUET' | 'JSON' | 'TEXTFILE';
const RESULT = '__lakeloader_write';
/** Athena's limit of partitions one CTAS or INSERT INTO writes. */
const MAX_PARTITIONS = 100;

/** The Hive type of a DuckDB result column, or Athena's error for types a Hive table cannot hold. */
export function hiveTypeOf(t: DuckDBType, column: string): string {
  switch (t.typeId) {
    case DuckDBTypeId.VARCHAR:
      return 'string';
    case DuckDBTypeId.BOOLEAN:
      return 'boolean';
    case DuckDBTypeId.TINYINT:
      return 'tinyint';
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
      return 'smallint';
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return 'int';
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UINTEGER:
      return 'bigint';
    case DuckDBTypeId.FLOAT:
      return 'float';
    case DuckDBTypeId.DOUBLE:
      return 'double';
    case DuckDBTypeId.DATE:
      return 'date';
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_NS:
      return 'timestamp';
    case DuckDBTypeId.DECIMAL: {
      const d = t as unknown as { width: number; scale: number };
      return `decimal(${d.width},${d.scale})`;
    }
    case DuckDBTypeId.BLOB:
      return 'binary';
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return `array<${hiveTypeOf((t as unknown as { valueType: DuckDBType }).valueType, column)}>`;
    case DuckDBTypeId.MAP: {
      const m = t as unknown as { keyType: DuckDBType; valueType: DuckDBType };
      return `map<${hiveTypeOf(m.keyType, column)},${hiveTypeOf(m.valueType, column)}>`;
    }
    case DuckDBTypeId.STRUCT: {
      const s = t as unknown as { entryNames: readonly string[]; entryTypes: readonly DuckDBType[] };
      return `struct<${s.entryNames.map((n, i) => `${n}:${hiveTypeOf(s.entryTypes[i]!, column)}`).join(',')}>`;
    }
    case DuckDBTypeId.TIMESTAMP_TZ:
      throw new AthenaQueryError('NOT_SUPPORTED', `Unsupported Hive type: timestamp(3) with time zone (column ${column}); cast it to timestamp`, 1200);
    case DuckDBTypeId.UUID:
      throw new AthenaQueryError('NOT_SUPPORTED', `Unsupported Hive type: uuid (column ${column}); cast it to varchar`, 1200);
    case DuckDBTypeId.SQLNULL:
      throw new AthenaQueryError('NOT_SUPPORTED', `Unsupported Hive type: unknown (column ${column} is an untyped NULL); cast it to a type`, 1200);
    default:
      throw new AthenaQueryError('NOT_SUPPORTED', `Unsupported Hive type for column ${column}: ${t.toString().toLowerCase()}`, 1200);
  }
}

function storageFor(format: Format, delimiter: string): Record<string, unknown> {
  if (format === 'PARQUET') return { InputFormat: PARQUET_INPUT_FORMAT, OutputFormat: PARQUET_OUTPUT_FORMAT, SerdeInfo: { SerializationLibrary: PARQUET_SERDE, Parameters: { 'serialization.format': '1' } } };
  if (format === 'JSON') return { InputFormat: TEXT_INPUT_FORMAT, OutputFormat: TEXT_OUTPUT_FORMAT, SerdeInfo: { SerializationLibrary: JSON_SERDE, Parameters: {} } };
  return { InputFormat: TEXT_INPUT_FORMAT, OutputFormat: TEXT_OUTPUT_FORMAT, SerdeInfo: { SerializationLibrary: LAZY_SIMPLE_SERDE, Parameters: { 'field.delim': delimiter, 'serialization.format': delimiter } } };
}

/** The format a Glue table is written in (Athena writes Parquet, JSON and text tables). */
function tableFormat(t: GlueTable): { format: Format; delimiter: string; compression: string } {
  const sd = t.StorageDescriptor ?? {};
  const serde = `${sd.SerdeInfo?.SerializationLibrary ?? ''} ${sd.InputFormat ?? ''}`.toLowerCase();
  if (serde.includes('parquet')) return { format: 'PARQUET', delimiter: '', compression: (t.Parameters?.['parquet.compression'] ?? t.Parameters?.write_compression ?? 'GZIP').toUpperCase() };
  if (serde.includes('json')) return { format: 'JSON', delimiter: '', compression: 'NONE' };
  if (sd.SerdeInfo?.SerializationLibrary === LAZY_SIMPLE_SERDE) return { format: 'TEXTFILE', delimiter: sd.SerdeInfo?.Parameters?.['field.delim'] ?? '\u0001', compression: 'NONE' };
  throw new AthenaQueryError('NOT_SUPPORTED', `Table ${t.DatabaseName}.${t.Name} (${sd.SerdeInfo?.SerializationLibrary ?? sd.InputFormat}) cannot be written by the local endpoint: it writes Parquet, JSON and text tables`, 1200);
}

const copyOptions = (f: Format, compression: string, delimiter: string) => {
  if (f === 'PARQUET') {
    const c = compression === 'NONE' || compression === 'UNCOMPRESSED' ? 'uncompressed' : compression.toLowerCase();
    if (!['gzip', 'snappy', 'zstd', 'uncompressed', 'lz4', 'brotli'].includes(c)) throw new AthenaQueryError('INVALID_TABLE_PROPERTY', `Unsupported compression codec for Parquet: ${compression}`, 1103);
    return `(FORMAT parquet, COMPRESSION ${c})`;
  }
  if (f === 'JSON') return '(FORMAT json)';
  return `(FORMAT csv, DELIMITER ${quoteLiteral(delimiter)}, HEADER false, QUOTE '', ESCAPE '', NULLSTR '\\N')`;
};

/**
 * Writes the rows of the temp table `RESULT` (data columns, then partition columns) under
 * `location`, one file per partition; returns the partitions written (values) and the files.
 */
async function writeFiles(
  ctx: WriteContext,
  dataCols: string[],
  partCols: string[],
  location: string,
  locationOf: (values: string[]) => string,
  f: { format: Format; compression: string; delimiter: string },
): Promise<{ partitions: string[][]; files: string[]; rows: number }> {
  const count = Number((await (await ctx.con.run(`SELECT count(*) FROM ${RESULT}`)).getRows())[0]![0]);
  let partitions: (string | null)[][] = [[]];
  if (partCols.length) {
    const r = await ctx.con.run(`SELECT DISTINCT ${partCols.map((c) => `CAST(${quoteIdent(c)} AS VARCHAR)`).join(', ')} FROM ${RESULT}`);
    partitions = (await r.getRows()).map((row) => row.map((v) => (v === null ? null : String(v))));
    if (partitions.length > MAX_PARTITIONS) throw new AthenaQueryError('HIVE_TOO_MANY_OPEN_PARTITIONS', `Exceeded limit of ${MAX_PARTITIONS} open writers for partitions/buckets`, 1000);
  }
  await mkdir(ctx.workDir, { recursive: true });
  const files: string[] = [];
  let n = 0;
  for (const values of count === 0 ? [] : partitions) {
    const where = partCols.length
      ? `WHERE ${partCols.map((c, i) => (values[i] === null ? `${quoteIdent(c)} IS NULL` : `CAST(${quoteIdent(c)} AS VARCHAR) = ${quoteLiteral(values[i]!)}`)).join(' AND ')}`
      : '';
    const local = join(ctx.workDir, `part-${n}`);
    await ctx.con.run(`COPY (SELECT ${dataCols.map(quoteIdent).join(', ')} FROM ${RESULT} ${where}) TO ${quoteLiteral(local)} ${copyOptions(f.format, f.compression, f.delimiter)}`);
    const hiveValues = values.map((v) => v ?? HIVE_DEFAULT_PARTITION);
    const dir = partCols.length ? locationOf(hiveValues) : dirUri(location);
    const uri = `${dir}${ctx.queryId}_${String(n).padStart(5, '0')}${f.format === 'PARQUET' ? '.parquet' : f.format === 'JSON' ? '.json' : ''}`;
    await putObject(ctx.store, uri, createReadStream(local));
    files.push(uri);
    n++;
  }
  return { partitions: count === 0 ? [] : partitions.map((v) => v.map((x) => x ?? HIVE_DEFAULT_PARTITION)), files, rows: count };
}

/** Columns of the temp result table, with their DuckDB types. */
async function resultColumns(con: DuckDBConnection): Promise<Array<{ name: string; type: DuckDBType }>> {
  const r = await con.run(`SELECT * FROM ${RESULT} LIMIT 0`);
  return r.columnNames().map((name, i) => ({ name, type: r.columnTypes()[i]! }));
}

/** Whether anything is stored under an s3:// prefix. */
async function hasObjects(ctx: WriteContext, uri: string): Promise<boolean> {
  const { bucket, prefix } = parseS3Uri(dirUri(uri));
  if (!(await ctx.store.bucketExists(bucket))) return false;
  return (await ctx.store.sortedKeys(bucket)).some((k) => k.startsWith(prefix));
}

/** CREATE TABLE AS SELECT. `query` is the SELECT with parameters bound. */
export async function runCtas(ctx: WriteContext, s: Extract<DdlStatement, { kind: 'ctas' }>, query: string): Promise<WriteResult> {
  const db = (s.table.db ?? ctx.database ?? 'default').toLowerCase();
  const at = lineCol(ctx.statement, s.table.offset);
  const tables = ctx.glue.tablesOf(db);
  if (!tables) throw new AthenaQueryError('SCHEMA_NOT_FOUND', `${at}: Schema '${db}' does not exist`, 1301);
  if (tables.some((t) => t.Name === s.table.name)) {
    if (s.ifNotExists) return { rows: 0, files: [] };
    throw new AthenaQueryError('TABLE_ALREADY_EXISTS', `${at}: Table 'awsdatacatalog.${db}.${s.table.name}' already exists`, 1003);
  }
  const prop = (k: string) => s.with[k];
  const str = (k: string) => {
    const v = prop(k);
    if (v !== undefined && typeof v !== 'string') throw new AthenaQueryError('INVALID_TABLE_PROPERTY', `${at}: Invalid value for table property '${k}'`, 1103);
    return v as string | undefined;
  };
  const known = ['format', 'external_location', 'partitioned_by', 'write_compression', 'parquet_compression', 'field_delimiter', 'is_external', 'table_type', 'bucketed_by', 'bucket_count', 'location', 'partitioning', 'compression_level', 'vacuum_max_snapshot_age_seconds', 'optimize_rewrite_delete_file_threshold'];
  for (const k of Object.keys(s.with)) if (!known.includes(k)) throw new AthenaQueryError('INVALID_TABLE_PROPERTY', `${at}: Catalog 'awsdatacatalog' table property '${k}' does not exist`, 1103);
  if ((str('table_type') ?? 'HIVE').toUpperCase() === 'ICEBERG') throw new AthenaQueryError('NOT_SUPPORTED', `${at}: CREATE TABLE AS with table_type = 'ICEBERG' is not supported by the local endpoint yet`, 1200);
  const format = (str('format') ?? 'PARQUET').toUpperCase();
  if (format !== 'PARQUET' && format !== 'JSON' && format !== 'TEXTFILE') throw new AthenaQueryError('NOT_SUPPORTED', `${at}: the local endpoint writes CREATE TABLE AS tables as PARQUET, JSON or TEXTFILE, not ${format}`, 1200);
  const compression = (str('write_compression') ?? str('parquet_compression') ?? (format === 'PARQUET' ? 'GZIP' : 'NONE')).toUpperCase();
  const delimiter = str('field_delimiter') ?? '\u0001';
  const partCols = ((prop('partitioned_by') as string[] | undefined) ?? []).map((c) => c.toLowerCase());
  const location = dirUri(str('external_location') ?? `${ctx.outputDir}tables/${ctx.queryId}/`);
  if (str('external_location') !== undefined && (await hasObjects(ctx, location))) {
    throw new AthenaQueryError('HIVE_PATH_ALREADY_EXISTS', `Target directory for table '${db}.${s.table.name}' already exists: ${location}. You may need to manually clean the data at location '${ctx.outputDir}tables/${ctx.queryId}' before retrying. Athena will not delete data in your account.`, 1000);
  }

  await ctx.con.run(`CREATE TEMP TABLE ${RESULT} AS ${query}${s.withData ? '' : ' LIMIT 0'}`);
  const cols = await resultColumns(ctx.con);
  const names = cols.map((c) => c.name.toLowerCase());
  const dupe = names.find((n, i) => names.indexOf(n) !== i);
  if (dupe) throw new AthenaQueryError('DUPLICATE_COLUMN_NAME', `${at}: Column name '${dupe}' specified more than once`, 1006);
  const tail = names.slice(names.length - partCols.length);
  if (partCols.length && (partCols.length >= names.length || tail.join(',') !== partCols.join(','))) {
    throw new AthenaQueryError('HIVE_COLUMN_ORDER_MISMATCH', `Partition keys must be the last columns in the table and in the same order as the table properties: [${partCols.join(', ')}]`, 1000);
  }
  const types = cols.map((c) => hiveTypeOf(c.type, c.name));
  const dataCols = cols.slice(0, cols.length - partCols.length).map((c) => c.name);
  const storage = storageFor(format as Format, delimiter);
  const tableInput = {
    Name: s.table.name,
    Owner: 'hadoop',
    TableType: 'EXTERNAL_TABLE',
    Parameters: { EXTERNAL: 'TRUE', has_encrypted_data: 'false', ...(format === 'PARQUET' ? { 'parquet.compression': compression } : {}) },
    PartitionKeys: partCols.map((c) => ({ Name: c, Type: types[names.indexOf(c)]! })),
    StorageDescriptor: { Columns: dataCols.map((c, i) => ({ Name: c.toLowerCase(), Type: types[i]! })), Location: location, Compressed: compression !== 'NONE', NumberOfBuckets: -1, ...storage, BucketColumns: [], SortColumns: [], StoredAsSubDirectories: false },
  };
  const locationOf = (values: string[]) => `${location}${partitionPath(partCols, values)}/`;
  const written = await writeFiles(ctx, dataCols, cols.slice(dataCols.length).map((c) => c.name), location, locationOf, { format: format as Format, compression, delimiter });
  await ctx.glue.handle('CreateTable', { DatabaseName: db, TableInput: tableInput });
  const table = ctx.glue.tablesOf(db)!.find((t) => t.Name === s.table.name)!;
  await createPartitions(ctx, table, written.partitions.map((values) => ({ Values: values, StorageDescriptor: { ...tableInput.StorageDescriptor, Location: locationOf(values) } })));
  return { rows: written.rows, files: written.files };
}

/** INSERT INTO. `query` is the SELECT/VALUES with parameters bound. */
export async function runInsert(ctx: WriteContext, s: Extract<DdlStatement, { kind: 'insert' }>, query: string): Promise<WriteResult> {
  const db = (s.table.db ?? ctx.database ?? 'default').toLowerCase();
  const at = lineCol(ctx.statement, s.table.offset);
  const tables = ctx.glue.tablesOf(db);
  if (!tables) throw new AthenaQueryError('SCHEMA_NOT_FOUND', `${at}: Schema '${db}' does not exist`, 1301);
  const table = tables.find((t) => t.Name === s.table.name);
  if (!table) throw new AthenaQueryError('TABLE_NOT_FOUND', `${at}: Table 'awsdatacatalog.${db}.${s.table.name}' does not exist`, 1110);
  if ((table.Parameters?.table_type ?? '').toUpperCase() === 'ICEBERG') throw new AthenaQueryError('NOT_SUPPORTED', `${at}: INSERT INTO an Iceberg table is not supported by the local endpoint yet`, 1200);
  const f = tableFormat(table);
  const dataCols = (table.StorageDescriptor?.Columns ?? []).map((c) => ({ name: c.Name.toLowerCase(), type: c.Type ?? 'string' }));
  const keyCols = (table.PartitionKeys ?? []).map((c) => ({ name: c.Name.toLowerCase(), type: c.Type ?? 'string' }));
  const all = [...dataCols, ...keyCols];
  const target = s.columns ?? all.map((c) => c.name);
  for (const c of target) if (!all.some((x) => x.name === c)) throw new AthenaQueryError('COLUMN_NOT_FOUND', `${at}: Insert column name does not exist in target table: ${c}`, 1006);

  await ctx.con.run(`CREATE TEMP TABLE __lakeloader_source AS ${query}`);
  const src = await ctx.con.run('SELECT * FROM __lakeloader_source LIMIT 0');
  const srcNames = src.columnNames();
  if (srcNames.length !== target.length) {
    const types = src.columnTypes().map((t) => t.toString().toLowerCase());
    throw new AthenaQueryError('TYPE_MISMATCH', `${at}: Insert query has mismatched column types: Table: [${target.map((c) => all.find((x) => x.name === c)!.type).join(', ')}], Query: [${types.join(', ')}]`, 1006);
  }
  const exprs = all.map((c) => {
    const i = target.indexOf(c.name);
    return `${i < 0 ? 'NULL' : `CAST(${quoteIdent(srcNames[i]!)} AS ${glueTypeToDuckDb(c.type)})`} AS ${quoteIdent(c.name)}`;
  });
  await ctx.con.run(`CREATE TEMP TABLE ${RESULT} AS SELECT ${exprs.join(', ')} FROM __lakeloader_source`);
  const registered = new Map(ctx.glue.partitionsOf(table.DatabaseName, table.Name).map((p) => [JSON.stringify(p.Values), p.StorageDescriptor?.Location]));
  const base = dirUri(table.StorageDescriptor?.Location ?? '');
  const keys = keyCols.map((k) => k.name);
  const locationOf = (values: string[]) => dirUri(registered.get(JSON.stringify(values)) ?? `${base}${partitionPath(keys, values)}/`);
  const written = await writeFiles(ctx, dataCols.map((c) => c.name), keys, base, locationOf, f);
  if (keys.length && !projectionEnabled(table.Parameters)) {
    const fresh = written.partitions.filter((v) => !registered.has(JSON.stringify(v)));
    await createPartitions(ctx, table, fresh.map((values) => ({ Values: values, StorageDescriptor: { ...table.StorageDescriptor, Location: locationOf(values) } })));
  }
  return written;
}

/** Removes an execution's work directory. */
export async function cleanWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Bytes of the files under a local directory (for statistics). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir).catch(() => [] as string[])) total += (await stat(join(dir, f))).size;
  return total;
}
