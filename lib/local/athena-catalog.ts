/**
 * Athena's DDL run against the Glue catalog: every change goes through the same
 * LocalGlueCatalog the Glue API serves (its `handle()`, in-process), so `aws glue get-table` sees
 * what `CREATE EXTERNAL TABLE` made, and Glue's own validation applies. Results are the text
 * lines Athena returns for DDL (no header row); failures carry Hive's DDL wording
 * (`FAILED: SemanticException [Error 10001]: Table not found db.t`).
 */
import { Readable } from 'node:stream';
import { escapePathName, unescapePathName } from '../../lambdas/core/partition';
import { PARQUET_INPUT_FORMAT, PARQUET_OUTPUT_FORMAT, PARQUET_SERDE, TEXT_INPUT_FORMAT, TEXT_OUTPUT_FORMAT } from '../../lambdas/core/glue-table';
import { AthenaQueryError, ddlFailure } from './athena-errors';
import type { ColumnDef, DdlStatement, PartitionSpec, QualifiedName } from './athena-ddl';
import type { GlueColumn, GluePartition, GlueTable, LocalGlueCatalog } from './glue';
import { glueTypeToDuckDb, parseS3Uri, QueryError } from './sql';
import type { LocalObjectStore } from './store';

/** A DDL result: text lines (one column each, or tab-separated), no header row. */
export interface DdlResult {
  column: string;
  rows: string[][];
}

export const LAZY_SIMPLE_SERDE = 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe';
export const OPEN_CSV_SERDE = 'org.apache.hadoop.hive.serde2.OpenCSVSerde';

/** STORED AS <format> → input/output format and default SerDe (Hive's StorageFormatFactory). */
const STORED_AS: Record<string, { input: string; output: string; serde: string }> = {
  PARQUET: { input: PARQUET_INPUT_FORMAT, output: PARQUET_OUTPUT_FORMAT, serde: PARQUET_SERDE },
  TEXTFILE: { input: TEXT_INPUT_FORMAT, output: TEXT_OUTPUT_FORMAT, serde: LAZY_SIMPLE_SERDE },
  ORC: { input: 'org.apache.hadoop.hive.ql.io.orc.OrcInputFormat', output: 'org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat', serde: 'org.apache.hadoop.hive.ql.io.orc.OrcSerde' },
  AVRO: { input: 'org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat', output: 'org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat', serde: 'org.apache.hadoop.hive.serde2.avro.AvroSerDe' },
  SEQUENCEFILE: { input: 'org.apache.hadoop.mapred.SequenceFileInputFormat', output: 'org.apache.hadoop.hive.ql.io.HiveSequenceFileOutputFormat', serde: LAZY_SIMPLE_SERDE },
  ION: { input: 'com.amazon.ionhiveserde.formats.IonInputFormat', output: 'com.amazon.ionhiveserde.formats.IonOutputFormat', serde: 'com.amazon.ionhiveserde.IonHiveSerDe' },
};

/** Everything the DDL runner needs. */
export interface CatalogContext {
  glue: LocalGlueCatalog;
  store: LocalObjectStore;
  /** QueryExecutionContext.Database (names without a database refer to it). @default 'default' */
  database?: string;
}

const glueCall = (ctx: CatalogContext, op: string, input: Record<string, unknown>) => ctx.glue.handle(op, input);

/** Database and table of a name in the context. */
function resolve(ctx: CatalogContext, t: QualifiedName): { db: string; name: string } {
  return { db: (t.db ?? ctx.database ?? 'default').toLowerCase(), name: t.name.toLowerCase() };
}

/** The Glue table, or Hive's "Table not found" DDL failure. */
export function requireTable(ctx: CatalogContext, t: QualifiedName): GlueTable {
  const { db, name } = resolve(ctx, t);
  const tables = ctx.glue.tablesOf(db);
  if (!tables) throw ddlFailure(`SemanticException [Error 10072]: Database does not exist: ${db}`);
  const table = tables.find((x) => x.Name === name);
  if (!table) throw ddlFailure(`SemanticException [Error 10001]: Table not found ${db}.${name}`);
  return table;
}

function checkType(c: ColumnDef): void {
  try {
    glueTypeToDuckDb(c.type);
  } catch (e) {
    if (e instanceof QueryError) throw ddlFailure(`ParseException cannot recognize input near '${c.type}' in column type of column ${c.name}`, 1006);
    throw e;
  }
}

const glueColumns = (cols: ColumnDef[]): GlueColumn[] => cols.map((c) => ({ Name: c.name, Type: c.type, ...(c.comment !== undefined ? { Comment: c.comment } : {}) }));

/** Hive's `k=v/k=v` path of partition values (escaped as Hive escapes path names). */
export function partitionPath(keys: string[], values: string[]): string {
  return keys.map((k, i) => `${k}=${escapePathName(values[i]!)}`).join('/');
}

/** A table location that ends in `/`. */
export const dirUri = (uri: string) => (uri.endsWith('/') ? uri : `${uri}/`);

/** Values of a PARTITION (…) spec in the table's key order; Hive's error when the keys differ. */
function specValues(table: GlueTable, spec: PartitionSpec, requireAll = true): string[] {
  const keys = (table.PartitionKeys ?? []).map((k) => k.Name.toLowerCase());
  for (const [k] of spec) {
    if (!keys.includes(k)) throw ddlFailure(`SemanticException [Error 10098]: Non-Partition column appears in the partition specification: ${k}`);
  }
  if (requireAll && spec.length !== keys.length) {
    throw ddlFailure(`SemanticException partition spec {${spec.map(([k, v]) => `${k}=${v}`).join(', ')}} contains non-partition columns or misses partition keys; ${table.Name} is partitioned by (${keys.join(', ')})`);
  }
  return keys.map((k) => spec.find(([x]) => x === k)?.[1] ?? '');
}

/** Runs one DDL statement (everything but CREATE TABLE AS and INSERT). */
export async function runDdl(ctx: CatalogContext, s: Exclude<DdlStatement, { kind: 'ctas' | 'insert' }>): Promise<DdlResult> {
  const none: DdlResult = { column: 'result', rows: [] };
  switch (s.kind) {
    case 'createDatabase': {
      if (ctx.glue.tablesOf(s.name)) {
        if (s.ifNotExists) return none;
        throw ddlFailure(`Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. Database ${s.name} already exists`);
      }
      await glueCall(ctx, 'CreateDatabase', {
        DatabaseInput: { Name: s.name, ...(s.comment !== undefined ? { Description: s.comment } : {}), ...(s.location ? { LocationUri: s.location } : {}), Parameters: s.properties },
      });
      return none;
    }
    case 'dropDatabase': {
      const tables = ctx.glue.tablesOf(s.name);
      if (!tables) {
        if (s.ifExists) return none;
        throw ddlFailure(`SemanticException [Error 10072]: Database does not exist: ${s.name}`);
      }
      if (tables.length > 0 && !s.cascade) throw ddlFailure(`Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. InvalidOperationException(message:Database ${s.name} is not empty. One or more tables exist.)`);
      await glueCall(ctx, 'DeleteDatabase', { Name: s.name });
      return none;
    }
    case 'createTable': {
      const { db, name } = resolve(ctx, s.table);
      if (!ctx.glue.tablesOf(db)) throw ddlFailure(`SemanticException [Error 10072]: Database does not exist: ${db}`);
      if (ctx.glue.tablesOf(db)!.some((t) => t.Name === name)) {
        if (s.ifNotExists) return none;
        throw ddlFailure(`Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. AlreadyExistsException(message:Table ${name} already exists)`);
      }
      for (const c of [...s.columns, ...s.partitionedBy]) checkType(c);
      const dup = s.partitionedBy.find((p) => s.columns.some((c) => c.name === p.name));
      if (dup) throw ddlFailure(`SemanticException [Error 10035]: Column repeated in partitioning columns: ${dup.name}`);
      const stored = s.storedAs ? STORED_AS[s.storedAs] : undefined;
      if (s.storedAs && !stored) throw ddlFailure(`SemanticException Unrecognized file format in STORED AS clause: '${s.storedAs}'`);
      const serde = s.serde ?? stored?.serde ?? LAZY_SIMPLE_SERDE;
      const serdeParams = { ...s.serdeProperties };
      if (serde === LAZY_SIMPLE_SERDE && serdeParams['serialization.format'] === undefined) serdeParams['serialization.format'] = serdeParams['field.delim'] ?? '1';
      if (serde === PARQUET_SERDE && serdeParams['serialization.format'] === undefined) serdeParams['serialization.format'] = '1';
      if (s.location !== undefined && !/^s3a?n?:\/\//.test(s.location)) throw ddlFailure(`SemanticException Location ${s.location} is not an s3:// URI`);
      await glueCall(ctx, 'CreateTable', {
        DatabaseName: db,
        TableInput: {
          Name: name,
          Owner: 'hadoop',
          TableType: 'EXTERNAL_TABLE',
          Parameters: { EXTERNAL: 'TRUE', ...s.properties, ...(s.comment !== undefined ? { comment: s.comment } : {}), transient_lastDdlTime: String(Math.floor(Date.now() / 1000)) },
          PartitionKeys: glueColumns(s.partitionedBy),
          StorageDescriptor: {
            Columns: glueColumns(s.columns),
            ...(s.location !== undefined ? { Location: s.location } : {}),
            InputFormat: s.inputFormat ?? stored?.input ?? TEXT_INPUT_FORMAT,
            OutputFormat: s.outputFormat ?? stored?.output ?? TEXT_OUTPUT_FORMAT,
            Compressed: false,
            NumberOfBuckets: -1,
            SerdeInfo: { SerializationLibrary: serde, Parameters: serdeParams },
            BucketColumns: [],
            SortColumns: [],
            StoredAsSubDirectories: false,
          },
        },
      });
      return none;
    }
    case 'dropTable': {
      const { db, name } = resolve(ctx, s.table);
      const exists = ctx.glue.tablesOf(db)?.some((t) => t.Name === name);
      if (!exists) {
        if (s.ifExists) return none;
        throw ddlFailure(`SemanticException [Error 10001]: Table not found ${db}.${name}`);
      }
      // An external table: the data stays, as in Athena.
      await glueCall(ctx, 'DeleteTable', { DatabaseName: db, Name: name });
      return none;
    }
    case 'addPartitions': {
      const table = requireTable(ctx, s.table);
      const keys = (table.PartitionKeys ?? []).map((k) => k.Name.toLowerCase());
      if (keys.length === 0) throw ddlFailure(`SemanticException table ${table.Name} is not partitioned but partition spec exists`);
      const existing = new Set(ctx.glue.partitionsOf(table.DatabaseName, table.Name).map((p) => JSON.stringify(p.Values)));
      const inputs: Record<string, unknown>[] = [];
      for (const p of s.partitions) {
        const values = specValues(table, p.spec);
        if (existing.has(JSON.stringify(values))) {
          if (s.ifNotExists) continue;
          throw ddlFailure(`Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. AlreadyExistsException(message:Partition already exists: ${partitionPath(keys, values)})`);
        }
        const location = p.location ?? `${dirUri(table.StorageDescriptor?.Location ?? '')}${partitionPath(keys, values)}/`;
        inputs.push({ Values: values, StorageDescriptor: { ...table.StorageDescriptor, Location: location } });
        existing.add(JSON.stringify(values));
      }
      await createPartitions(ctx, table, inputs);
      return none;
    }
    case 'dropPartitions': {
      const table = requireTable(ctx, s.table);
      const parts = ctx.glue.partitionsOf(table.DatabaseName, table.Name);
      const keys = (table.PartitionKeys ?? []).map((k) => k.Name.toLowerCase());
      const drop: GluePartition[] = [];
      for (const spec of s.partitions) {
        const matches = parts.filter((p) => spec.every(([k, v]) => p.Values[keys.indexOf(k)] === v));
        specValues(table, spec, false);
        if (matches.length === 0 && !s.ifExists) {
          throw ddlFailure(`SemanticException [Error 10006]: Partition not found (${spec.map(([k, v]) => `${k} = '${v}'`).join(', ')})`);
        }
        drop.push(...matches);
      }
      for (let i = 0; i < drop.length; i += 25) {
        await glueCall(ctx, 'BatchDeletePartition', { DatabaseName: table.DatabaseName, TableName: table.Name, PartitionsToDelete: drop.slice(i, i + 25).map((p) => ({ Values: p.Values })) });
      }
      return none;
    }
    case 'setTableProperties': {
      const table = requireTable(ctx, s.table);
      await glueCall(ctx, 'UpdateTable', { DatabaseName: table.DatabaseName, TableInput: tableInputOf(table, { ...(table.Parameters ?? {}), ...s.properties }) });
      return none;
    }
    case 'msck':
      return { column: 'result', rows: (await repairTable(ctx, requireTable(ctx, s.table))).map((l) => [l]) };
    case 'showPartitions': {
      const table = requireTable(ctx, s.table);
      const keys = (table.PartitionKeys ?? []).map((k) => k.Name);
      if (keys.length === 0) throw ddlFailure(`SemanticException [Error 10241]: Table ${table.Name} is not a partitioned table`);
      const paths = ctx.glue.partitionsOf(table.DatabaseName, table.Name).map((p) => partitionPath(keys, p.Values));
      return { column: 'partition', rows: paths.sort().map((p) => [p]) };
    }
    case 'showCreateTable':
      return { column: 'createtab_stmt', rows: showCreateTable(requireTable(ctx, s.table)).map((l) => [l]) };
    case 'showTables': {
      const db = (s.db ?? ctx.database ?? 'default').toLowerCase();
      const tables = ctx.glue.tablesOf(db);
      if (!tables) throw ddlFailure(`SemanticException [Error 10072]: Database does not exist: ${db}`);
      const re = s.pattern !== undefined ? hivePattern(s.pattern) : null;
      return { column: 'tab_name', rows: tables.map((t) => t.Name).filter((n) => !re || re.test(n)).sort().map((n) => [n]) };
    }
    case 'showDatabases': {
      const re = s.pattern !== undefined ? hivePattern(s.pattern) : null;
      return { column: 'database_name', rows: ctx.glue.databaseNames().filter((n) => !re || re.test(n)).sort().map((n) => [n]) };
    }
    case 'showColumns': {
      const table = requireTable(ctx, s.table);
      return { column: 'field', rows: [...(table.StorageDescriptor?.Columns ?? []), ...(table.PartitionKeys ?? [])].map((c) => [c.Name]) };
    }
    case 'showTblProperties': {
      const table = requireTable(ctx, s.table);
      const params = table.Parameters ?? {};
      if (s.key !== undefined) return { column: 'prpt_name', rows: [[params[s.key] ?? `Table ${table.DatabaseName}.${table.Name} does not have property: ${s.key}`]] };
      return { column: 'prpt_name', rows: Object.keys(params).sort().map((k) => [`${k}\t${params[k]}`]) };
    }
    case 'describe':
      return { column: 'col_name', rows: describeTable(requireTable(ctx, s.table)).map((l) => [l]) };
  }
}

/** Glue's TableInput of a stored table (what UpdateTable takes), with new parameters. */
export function tableInputOf(t: GlueTable, parameters: Record<string, string>): Record<string, unknown> {
  const { DatabaseName: _d, CreateTime: _c, UpdateTime: _u, VersionId: _v, CatalogId: _ci, IsRegisteredWithLakeFormation: _l, ...rest } = t as GlueTable & Record<string, unknown>;
  return { ...rest, Parameters: parameters };
}

/** Registers partitions through Glue's BatchCreatePartition, 100 at a time; an entry error fails the statement. */
export async function createPartitions(ctx: CatalogContext, table: GlueTable, inputs: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < inputs.length; i += 100) {
    const out = (await glueCall(ctx, 'BatchCreatePartition', { DatabaseName: table.DatabaseName, TableName: table.Name, PartitionInputList: inputs.slice(i, i + 100) })) as { Errors?: Array<{ ErrorDetail?: { ErrorCode?: string; ErrorMessage?: string } }> };
    const err = out.Errors?.find((e) => e.ErrorDetail?.ErrorCode !== 'AlreadyExistsException');
    if (err) throw ddlFailure(`Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. ${err.ErrorDetail?.ErrorCode}(message:${err.ErrorDetail?.ErrorMessage})`);
  }
}

/**
 * MSCK REPAIR TABLE: the `k=v/…` directories under the table location whose keys are the
 * table's partition keys in order, registered when missing. Returns Hive's report lines.
 */
async function repairTable(ctx: CatalogContext, table: GlueTable): Promise<string[]> {
  const keys = (table.PartitionKeys ?? []).map((k) => k.Name.toLowerCase());
  if (keys.length === 0) return [];
  const location = dirUri(table.StorageDescriptor?.Location ?? '');
  let bucket: string;
  let prefix: string;
  try {
    ({ bucket, prefix } = parseS3Uri(location));
  } catch {
    throw ddlFailure(`Execution Error, return code 1 from org.apache.hadoop.hive.ql.exec.DDLTask. table ${table.Name} has no s3:// location`);
  }
  const found = new Map<string, string[]>();
  if (await ctx.store.bucketExists(bucket)) {
    for (const key of await ctx.store.sortedKeys(bucket)) {
      if (!key.startsWith(prefix)) continue;
      const segs = key.slice(prefix.length).split('/');
      if (segs.length <= keys.length) continue;
      const values: string[] = [];
      for (let i = 0; i < keys.length; i++) {
        const eq = segs[i]!.indexOf('=');
        if (eq < 0 || segs[i]!.slice(0, eq).toLowerCase() !== keys[i]) break;
        values.push(unescapePathName(segs[i]!.slice(eq + 1)));
      }
      if (values.length === keys.length) found.set(segs.slice(0, keys.length).join('/'), values);
    }
  }
  const registered = new Set(ctx.glue.partitionsOf(table.DatabaseName, table.Name).map((p) => JSON.stringify(p.Values)));
  const missing = [...found.entries()].filter(([, v]) => !registered.has(JSON.stringify(v))).sort(([a], [b]) => (a < b ? -1 : 1));
  if (missing.length === 0) return [];
  await createPartitions(
    ctx,
    table,
    missing.map(([path, values]) => ({ Values: values, StorageDescriptor: { ...table.StorageDescriptor, Location: `${location}${path}/` } })),
  );
  return [`Partitions not in metastore:\t${missing.map(([p]) => `${table.Name}:${p}`).join('\t')}`, ...missing.map(([p]) => `Repair: Added partition to metastore ${table.Name}:${p}`)];
}

/** Hive's SHOW TABLES pattern: `*` any characters, `|` alternatives, case-insensitive. */
function hivePattern(p: string): RegExp {
  const alts = p.split('|').map((a) => a.trim().replace(/[.+?^${}()[\]\\]/g, '\\$&').replace(/\*/g, '.*'));
  return new RegExp(`^(?:${alts.join('|')})$`, 'i');
}

const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** SHOW CREATE TABLE in Hive's layout (as Athena prints it), one line per row. */
export function showCreateTable(t: GlueTable): string[] {
  const sd = t.StorageDescriptor ?? {};
  const col = (c: GlueColumn) => `  \`${c.Name}\` ${c.Type ?? 'string'}${c.Comment ? ` COMMENT ${q(c.Comment)}` : ''}`;
  const cols = sd.Columns ?? [];
  const lines = [`CREATE EXTERNAL TABLE \`${t.DatabaseName}\`.\`${t.Name}\`(`];
  cols.forEach((c, i) => lines.push(`${col(c)}${i < cols.length - 1 ? ', ' : ')'}`));
  if (cols.length === 0) lines[0] += ')';
  if (t.Parameters?.comment) lines.push(`COMMENT ${q(t.Parameters.comment)}`);
  const keys = t.PartitionKeys ?? [];
  if (keys.length) {
    lines.push('PARTITIONED BY ( ');
    keys.forEach((c, i) => lines.push(`${col(c)}${i < keys.length - 1 ? ', ' : ')'}`));
  }
  lines.push('ROW FORMAT SERDE ', `  ${q(sd.SerdeInfo?.SerializationLibrary ?? LAZY_SIMPLE_SERDE)} `);
  const sp = Object.entries(sd.SerdeInfo?.Parameters ?? {});
  if (sp.length) {
    lines.push('WITH SERDEPROPERTIES ( ');
    sp.forEach(([k, v], i) => lines.push(`  ${q(k)}=${q(v)}${i < sp.length - 1 ? ', ' : ') '}`));
  }
  lines.push('STORED AS INPUTFORMAT ', `  ${q(sd.InputFormat ?? TEXT_INPUT_FORMAT)} `, 'OUTPUTFORMAT ', `  ${q(sd.OutputFormat ?? TEXT_OUTPUT_FORMAT)}`);
  if (sd.Location) lines.push('LOCATION', `  ${q(sd.Location)}`);
  const props = Object.entries(t.Parameters ?? {}).filter(([k]) => k !== 'EXTERNAL' && k !== 'comment');
  if (props.length) {
    lines.push('TBLPROPERTIES (');
    props.forEach(([k, v], i) => lines.push(`  ${q(k)}=${q(v)}${i < props.length - 1 ? ', ' : ')'}`));
  }
  return lines;
}

/** DESCRIBE in Hive's layout: `name<TAB>type<TAB>comment` padded to 20, then the partition block. */
function describeTable(t: GlueTable): string[] {
  const pad = (s: string) => s.padEnd(20, ' ');
  const line = (c: GlueColumn) => `${pad(c.Name)}\t${pad(c.Type ?? 'string')}\t${pad(c.Comment ?? '')}`;
  const keys = t.PartitionKeys ?? [];
  const out = [...(t.StorageDescriptor?.Columns ?? []), ...keys].map(line);
  if (keys.length) out.push('\t \t ', '# Partition Information\t \t ', `${pad('# col_name')}\t${pad('data_type')}\t${pad('comment')}`, '\t \t ', ...keys.map(line));
  return out;
}

/** Stores a body as an object through the local S3 store (so S3 lists it with its metadata). */
export async function putObject(store: LocalObjectStore, uri: string, body: Buffer | Readable, contentType = 'application/octet-stream'): Promise<void> {
  const { bucket, prefix: key } = parseS3Uri(uri);
  if (!(await store.bucketExists(bucket))) throw new AthenaQueryError('', `Unable to verify/create output bucket ${bucket}`, 1306);
  const staged = await store.stage(body instanceof Readable ? body : Readable.from([body]));
  await store.commit(bucket, key, staged, { contentType, userMetadata: {} });
}
