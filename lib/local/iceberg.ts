/**
 * Iceberg tables on the local endpoint, as Athena reads and maintains them:
 *
 * - a Glue table with `table_type=ICEBERG` reads the data files live in its current snapshot
 *   (`metadata_location` → manifest list → manifests), so staged, uncommitted files stay invisible;
 * - time travel: `FROM t FOR VERSION AS OF <snapshot id>` and `FOR TIMESTAMP AS OF <timestamp>`;
 * - metadata tables `"t$snapshots"`, `"t$history"`, `"t$files"`, `"t$manifests"`, `"t$partitions"`;
 * - `OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE …]` and `VACUUM t` (see athena.ts), through the
 *   same commit code as the loader, over adapters of the endpoint's store and catalog.
 */
import { Readable } from 'node:stream';
import { CommitConflictError, CatalogError, TableExistsError, type CatalogTable, type TableCatalog } from '../../lambdas/core/catalog';
import { readManifest, readManifestList, type DataFileEntry, type ManifestFileEntry } from '../../lambdas/core/iceberg/avro';
import { currentSnapshot, parseMetadata, snapshotById, type Snapshot, type TableMetadata } from '../../lambdas/core/iceberg/metadata';
import { currentSchema } from '../../lambdas/core/iceberg/schema';
import { readByFieldId } from '../iceberg/read';
import { PreconditionFailedError, type ListedObject, type ObjectStore, type PutOptions, type StoredObject } from '../../lambdas/core/store';
import type { LocalGlueCatalog, GlueTable } from './glue';
import { parseS3Uri, QueryError, quoteIdent, quoteLiteral, type DescribeFn, type SqlToken, type TableRelation } from './sql';
import { compareKeys, type LocalObjectStore } from './store';

/** True for a Glue table registered as an Iceberg table. */
export const isIcebergTable = (t: GlueTable) => (t.Parameters?.table_type ?? '').toUpperCase() === 'ICEBERG';

/** The metadata tables Athena exposes for an Iceberg table (`"t$snapshots"` …). */
export const METADATA_TABLES = ['snapshots', 'history', 'files', 'manifests', 'partitions'] as const;
export type MetadataTable = (typeof METADATA_TABLES)[number];

/** The core {@link ObjectStore} over the endpoint's store, for one bucket. */
export class LocalBucketStore implements ObjectStore {
  constructor(
    private readonly store: LocalObjectStore,
    readonly bucket: string,
  ) {}

  async get(key: string): Promise<StoredObject | null> {
    const opened = await this.store.openForRead(this.bucket, key).catch(() => undefined);
    if (!opened) return null;
    try {
      return { body: new Uint8Array(await opened.handle.readFile()), etag: opened.meta.etag };
    } finally {
      await opened.handle.close();
    }
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<{ etag: string }> {
    const staged = await this.store.stage(Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]));
    try {
      const m = await this.store.commit(this.bucket, key, staged, { contentType: options.contentType ?? 'application/octet-stream', userMetadata: {} }, { ifMatch: options.ifMatch, ifNoneMatch: options.ifNoneMatch });
      return { etag: m.etag };
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'PreconditionFailed' || code === 'NoSuchKey') throw new PreconditionFailedError(key, options.ifNoneMatch ? 'if-none-match' : 'if-match', code);
      throw e;
    }
  }

  async deleteMany(keys: string[]): Promise<void> {
    for (const k of keys) await this.store.delete(this.bucket, k);
  }

  async *list(prefix: string, startAfter?: string): AsyncIterable<ListedObject> {
    for (const key of await this.store.sortedKeys(this.bucket)) {
      if (!key.startsWith(prefix) || (startAfter !== undefined && compareKeys(key, startAfter) <= 0)) continue;
      const m = await this.store.head(this.bucket, key);
      if (m) yield { key, size: m.size, etag: m.etag, lastModified: Date.parse(m.lastModified) };
    }
  }
}

/** The core {@link TableCatalog} over the endpoint's Glue catalog (its own API, so versions and errors are Glue's). */
export class LocalTableCatalog implements TableCatalog {
  constructor(private readonly glue: LocalGlueCatalog) {}

  async getTable(database: string, table: string): Promise<CatalogTable | null> {
    try {
      const t = ((await this.glue.handle('GetTable', { DatabaseName: database, Name: table })) as { Table: GlueTable }).Table;
      return { input: { Name: t.Name, Description: t.Description as string | undefined, TableType: t.TableType, Parameters: t.Parameters, StorageDescriptor: t.StorageDescriptor as never, PartitionKeys: t.PartitionKeys as never }, versionId: t.VersionId };
    } catch (e) {
      if ((e as { name?: string; code?: string }).code === 'EntityNotFoundException' || (e as Error).name === 'EntityNotFoundException') return null;
      throw new CatalogError(`GetTable ${database}.${table}: ${(e as Error).message}`, e);
    }
  }

  async createTable(database: string, input: CatalogTable['input']): Promise<void> {
    try {
      await this.glue.handle('CreateTable', { DatabaseName: database, TableInput: input as never });
    } catch (e) {
      if (errorCode(e) === 'AlreadyExistsException') throw new TableExistsError(`table ${database}.${input.Name} exists already`);
      throw new CatalogError(`CreateTable ${database}.${input.Name}: ${(e as Error).message}`, e);
    }
  }

  async updateTable(database: string, input: CatalogTable['input'], versionId: string | undefined): Promise<void> {
    try {
      await this.glue.handle('UpdateTable', { DatabaseName: database, TableInput: input as never, ...(versionId !== undefined ? { VersionId: versionId } : {}), SkipArchive: true });
    } catch (e) {
      if (errorCode(e) === 'ConcurrentModificationException') throw new CommitConflictError((e as Error).message);
      throw new CatalogError(`UpdateTable ${database}.${input.Name}: ${(e as Error).message}`, e);
    }
  }
}

const errorCode = (e: unknown) => (e as { code?: string }).code ?? (e as { type?: string }).type ?? (e as Error).name;

/** A table's metadata and reader of its files, from the endpoint's store. */
export class IcebergReader {
  constructor(
    private readonly store: LocalObjectStore,
    readonly table: GlueTable,
  ) {}

  private async bytes(uri: string): Promise<Buffer> {
    const { bucket, prefix: key } = parseS3Uri(uri);
    const opened = await this.store.openForRead(bucket, key).catch(() => undefined);
    if (!opened) throw new QueryError(`ICEBERG_INVALID_METADATA: ${uri} (referenced by table ${this.table.DatabaseName}.${this.table.Name}) does not exist`);
    try {
      return await opened.handle.readFile();
    } finally {
      await opened.handle.close();
    }
  }

  async metadata(): Promise<TableMetadata> {
    const loc = this.table.Parameters?.metadata_location;
    if (!loc) throw new QueryError(`ICEBERG_INVALID_METADATA: table ${this.table.DatabaseName}.${this.table.Name} has no metadata_location`);
    return parseMetadata((await this.bytes(loc)).toString('utf8'));
  }

  async manifests(s: Snapshot | null | undefined): Promise<ManifestFileEntry[]> {
    return s ? readManifestList(await this.bytes(s['manifest-list'])) : [];
  }

  /** Entries of the data manifests (all statuses), with inherited sequence numbers and snapshot ids filled in. */
  async entries(manifests: ManifestFileEntry[]): Promise<DataFileEntry[]> {
    const out: DataFileEntry[] = [];
    for (const m of manifests) {
      if (m.content !== 0) throw new QueryError(`NOT_SUPPORTED: table ${this.table.Name} has row-level delete files; the local endpoint reads tables without deletes (the loader writes none)`);
      for (const e of (await readManifest(await this.bytes(m.manifest_path))).entries) {
        out.push({ ...e, snapshot_id: e.snapshot_id ?? m.added_snapshot_id, sequence_number: e.sequence_number ?? m.sequence_number });
      }
    }
    return out;
  }

  /** The live data files of a snapshot. */
  async liveFiles(s: Snapshot | null | undefined): Promise<DataFileEntry[]> {
    return (await this.entries(await this.manifests(s))).filter((e) => e.status !== 2);
  }

  /** The local path of a data file. */
  path(uri: string): string {
    const { bucket, prefix } = parseS3Uri(uri);
    return this.store.objectPath(bucket, prefix);
  }
}

/** Which snapshot a time-travel clause names. */
export type AsOf = { version: bigint } | { timestampMs: number };

/** The snapshot of `asOf` (the current one without). @throws QueryError when there is none */
export function snapshotAsOf(m: TableMetadata, table: string, asOf?: AsOf): Snapshot | null {
  if (!asOf) return currentSnapshot(m);
  if ('version' in asOf) {
    const s = snapshotById(m, asOf.version);
    if (!s) throw new QueryError(`ICEBERG_INVALID_SNAPSHOT_ID: Iceberg snapshot ID does not exists: ${asOf.version} (table ${table})`);
    return s;
  }
  const log = m['snapshot-log'].filter((l) => l['timestamp-ms'] <= asOf.timestampMs);
  const last = log.at(-1);
  if (!last) throw new QueryError(`ICEBERG_INVALID_SNAPSHOT_ID: No version history table ${table} at or before ${new Date(asOf.timestampMs).toISOString()}`);
  return snapshotById(m, last['snapshot-id']) ?? null;
}

/**
 * The DuckDB relation of an Iceberg table at a snapshot, as Athena reads it: the columns of the
 * table's current schema (a time-travel query: the schema its snapshot was written with), read
 * from the snapshot's live data files by field id — a column added by schema evolution is null
 * in files written before it, and a file's own column names do not matter.
 */
export async function icebergRelation(store: LocalObjectStore, table: GlueTable, _describe: DescribeFn, asOf?: AsOf): Promise<TableRelation> {
  const reader = new IcebergReader(store, table);
  const m = await reader.metadata();
  const snapshot = snapshotAsOf(m, table.Name, asOf);
  const schemaId = asOf && snapshot?.['schema-id'] !== undefined ? snapshot['schema-id'] : m['current-schema-id'];
  const schema = m.schemas.find((x) => x['schema-id'] === schemaId) ?? currentSchema(m);
  const files = await reader.liveFiles(snapshot);
  const paths = files.map((f) => reader.path(f.data_file.file_path));
  const { source, columns } = readByFieldId(paths, schema);
  if (files.length === 0) {
    return { sql: `SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ')} WHERE false`, bytes: 0, files: [] };
  }
  return { sql: `SELECT ${columns.map((c) => `t.${quoteIdent(c.name)}`).join(', ')} FROM ${source} t`, bytes: files.reduce((n, f) => n + Number(f.data_file.file_size_in_bytes), 0), files: paths };
}

const lit = (v: unknown): string => {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'bigint' || typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return quoteLiteral(String(v));
};
const values = (cols: string[], rows: unknown[][], types: string[]) =>
  rows.length === 0
    ? `SELECT ${cols.map((c, i) => `CAST(NULL AS ${types[i]}) AS ${quoteIdent(c)}`).join(', ')} WHERE false`
    : `SELECT ${cols.map((c, i) => `CAST(${quoteIdent(`c${i}`)} AS ${types[i]}) AS ${quoteIdent(c)}`).join(', ')} FROM (VALUES ${rows.map((r) => `(${r.join(', ')})`).join(', ')}) v(${cols.map((_, i) => quoteIdent(`c${i}`)).join(', ')})`;
const mapLit = (o: Record<string, string>) => `MAP {${Object.entries(o).map(([k, v]) => `${quoteLiteral(k)}: ${quoteLiteral(v)}`).join(', ')}}`;
const tsLit = (ms: number) => `make_timestamptz(${ms}::BIGINT * 1000)`;
const partitionLit = (p: Record<string, unknown>) => (Object.keys(p).length ? `{${Object.entries(p).map(([k, v]) => `${quoteLiteral(k)}: ${lit(v)}`).join(', ')}}` : 'NULL');
const countsLit = (pairs: { key: number; value: bigint }[] | null | undefined) => (pairs?.length ? `MAP {${pairs.map((p) => `${p.key}: ${p.value}`).join(', ')}}` : 'NULL');

/** The relation of one of Athena's Iceberg metadata tables (`"t$snapshots"` …) at the current metadata. */
export async function icebergMetadataRelation(store: LocalObjectStore, table: GlueTable, kind: MetadataTable): Promise<TableRelation> {
  const reader = new IcebergReader(store, table);
  const m = await reader.metadata();
  const current = currentSnapshot(m);
  switch (kind) {
    case 'snapshots':
      return {
        sql: values(
          ['committed_at', 'snapshot_id', 'parent_id', 'operation', 'manifest_list', 'summary'],
          m.snapshots.map((s) => [tsLit(s['timestamp-ms']), lit(s['snapshot-id']), lit(s['parent-snapshot-id'] ?? null), lit(s.summary.operation), lit(s['manifest-list']), mapLit(s.summary)]),
          ['TIMESTAMPTZ', 'BIGINT', 'BIGINT', 'VARCHAR', 'VARCHAR', 'MAP(VARCHAR, VARCHAR)'],
        ),
        bytes: 0,
        files: [],
      };
    case 'history': {
      const ancestors = new Set<string>();
      for (let s = current; s; s = s['parent-snapshot-id'] != null ? (snapshotById(m, s['parent-snapshot-id']) ?? null) : null) ancestors.add(String(s['snapshot-id']));
      return {
        sql: values(
          ['made_current_at', 'snapshot_id', 'parent_id', 'is_current_ancestor'],
          m['snapshot-log'].map((l) => [tsLit(l['timestamp-ms']), lit(l['snapshot-id']), lit(snapshotById(m, l['snapshot-id'])?.['parent-snapshot-id'] ?? null), lit(ancestors.has(String(l['snapshot-id'])))]),
          ['TIMESTAMPTZ', 'BIGINT', 'BIGINT', 'BOOLEAN'],
        ),
        bytes: 0,
        files: [],
      };
    }
    case 'manifests': {
      const list = await reader.manifests(current);
      return {
        sql: values(
          ['content', 'path', 'length', 'partition_spec_id', 'added_snapshot_id', 'added_data_files_count', 'existing_data_files_count', 'deleted_data_files_count'],
          list.map((x) => [lit(x.content), lit(x.manifest_path), lit(x.manifest_length), lit(x.partition_spec_id), lit(x.added_snapshot_id), lit(x.added_files_count), lit(x.existing_files_count), lit(x.deleted_files_count)]),
          ['INTEGER', 'VARCHAR', 'BIGINT', 'INTEGER', 'BIGINT', 'INTEGER', 'INTEGER', 'INTEGER'],
        ),
        bytes: 0,
        files: [],
      };
    }
    case 'files': {
      const files = await reader.liveFiles(current);
      return {
        sql: values(
          ['content', 'file_path', 'file_format', 'spec_id', 'partition', 'record_count', 'file_size_in_bytes', 'value_counts', 'null_value_counts'],
          files.map((f) => [
            lit(f.data_file.content),
            lit(f.data_file.file_path),
            lit(f.data_file.file_format),
            '0',
            partitionLit(f.data_file.partition),
            lit(f.data_file.record_count),
            lit(f.data_file.file_size_in_bytes),
            countsLit(f.data_file.value_counts),
            countsLit(f.data_file.null_value_counts),
          ]),
          ['INTEGER', 'VARCHAR', 'VARCHAR', 'INTEGER', partitionType(files), 'BIGINT', 'BIGINT', 'MAP(INTEGER, BIGINT)', 'MAP(INTEGER, BIGINT)'],
        ),
        bytes: 0,
        files: [],
      };
    }
    case 'partitions': {
      const files = await reader.liveFiles(current);
      const groups = new Map<string, { partition: Record<string, unknown>; rows: bigint; files: number; size: bigint }>();
      for (const f of files) {
        const k = JSON.stringify(f.data_file.partition, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
        const g = groups.get(k) ?? { partition: f.data_file.partition, rows: 0n, files: 0, size: 0n };
        g.rows += f.data_file.record_count;
        g.files++;
        g.size += f.data_file.file_size_in_bytes;
        groups.set(k, g);
      }
      return {
        sql: values(
          ['partition', 'record_count', 'file_count', 'total_size'],
          [...groups.values()].map((g) => [partitionLit(g.partition), lit(g.rows), lit(g.files), lit(g.size)]),
          [partitionType(files), 'BIGINT', 'BIGINT', 'BIGINT'],
        ),
        bytes: 0,
        files: [],
      };
    }
  }
}

/** DuckDB's STRUCT type of the files' partition tuples. */
function partitionType(files: DataFileEntry[]): string {
  const sample = files[0]?.data_file.partition ?? {};
  const fields = Object.entries(sample).map(([k, v]) => `${quoteIdent(k)} ${typeof v === 'number' || typeof v === 'bigint' ? 'BIGINT' : typeof v === 'boolean' ? 'BOOLEAN' : 'VARCHAR'}`);
  return fields.length ? `STRUCT(${fields.join(', ')})` : 'INTEGER';
}

/** A `FOR VERSION|TIMESTAMP AS OF <expr>` clause after a table reference, as token positions. */
export interface TimeTravel {
  /** Token index of the table reference's first token, and one past the clause's last token. */
  start: number;
  end: number;
  /** Index of the table reference's last name token (the table name). */
  nameToken: number;
  kind: 'version' | 'timestamp';
  /** The expression's SQL text. */
  expression: string;
}

const STOP = new Set(['WHERE', 'GROUP', 'ORDER', 'LIMIT', 'JOIN', 'LEFT', 'RIGHT', 'INNER', 'FULL', 'CROSS', 'ON', 'USING', 'UNION', 'EXCEPT', 'INTERSECT', 'AS', 'HAVING', 'WINDOW', 'OFFSET', 'FETCH', 'TABLESAMPLE', 'NATURAL']);

/** Finds the time-travel clauses of a statement (Athena's `FOR VERSION AS OF` / `FOR TIMESTAMP AS OF`, also `SYSTEM_VERSION` / `SYSTEM_TIME`). */
export function findTimeTravel(tokens: SqlToken[]): TimeTravel[] {
  const out: TimeTravel[] = [];
  const next = (i: number) => {
    let j = i + 1;
    while (j < tokens.length && (tokens[j]!.kind === 'ws' || tokens[j]!.kind === 'comment')) j++;
    return j;
  };
  const word = (i: number) => (tokens[i]?.kind === 'word' ? tokens[i]!.text.toUpperCase() : '');
  for (let i = 0; i < tokens.length; i++) {
    if (word(i) !== 'FOR') continue;
    const k = next(i);
    const kindWord = word(k);
    const kind = kindWord === 'VERSION' || kindWord === 'SYSTEM_VERSION' ? 'version' : kindWord === 'TIMESTAMP' || kindWord === 'SYSTEM_TIME' ? 'timestamp' : null;
    if (!kind) continue;
    const a = next(k);
    const o = next(a);
    if (word(a) !== 'AS' || word(o) !== 'OF') continue;
    // The table reference before FOR: name tokens joined by dots.
    let p = i - 1;
    while (p >= 0 && tokens[p]!.kind === 'ws') p--;
    if (p < 0 || (tokens[p]!.kind !== 'word' && tokens[p]!.kind !== 'qid')) continue;
    const nameToken = p;
    let start = p;
    while (start >= 2 && tokens[start - 1]!.text === '.' && (tokens[start - 2]!.kind === 'word' || tokens[start - 2]!.kind === 'qid')) start -= 2;
    // The expression: up to a clause keyword, a comma or a closing parenthesis at depth 0.
    let e = next(o);
    const from = e;
    let depth = 0;
    let last = e - 1;
    for (; e < tokens.length; e++) {
      const t = tokens[e]!;
      if (t.kind === 'other' && t.text === '(') depth++;
      else if (t.kind === 'other' && t.text === ')') {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && ((t.kind === 'other' && t.text === ',') || (t.kind === 'word' && STOP.has(t.text.toUpperCase()) && e > from && !(kind === 'timestamp' && e === from)))) break;
      if (t.kind !== 'ws' && t.kind !== 'comment') last = e;
    }
    if (last < from) throw new QueryError(`line 1: FOR ${kindWord} AS OF needs a ${kind === 'version' ? 'snapshot id' : 'timestamp'}`);
    out.push({ start, end: last + 1, nameToken, kind, expression: tokens.slice(from, last + 1).map((t) => t.text).join('') });
    i = last;
  }
  return out;
}

/** The unquoted, lower-case name of a name token. */
export const tokenName = (t: SqlToken) => (t.kind === 'qid' ? t.text.slice(1, -1).replace(/""/g, '"') : t.text).toLowerCase();
