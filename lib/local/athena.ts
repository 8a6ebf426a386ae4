/**
 * The Athena API (JSON 1.1) of the local endpoint. A query execution runs its SQL in a fresh
 * in-process DuckDB instance, where each Glue table of the referenced databases is a view over
 * exactly the files Athena would read (see sql.ts), Trino functions are macros (see trino.ts) and
 * ExecutionParameters are bound as prepared-statement values. Results are written as Athena-style
 * CSV to `<OutputLocation>/<QueryExecutionId>.csv` in the local S3 store and paged like Athena's
 * GetQueryResults (header row first, at most 1000 rows a page).
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { runDdl, putObject } from './athena-catalog';
import { DdlParseError, hiveLineCol, isDdlStatement, parseDdl, type DdlStatement } from './athena-ddl';
import { AthenaQueryError, ddlFailure, syntaxErrorFrom, translateDuckDbError, type ErrorContext } from './athena-errors';
import {
  columnInfo,
  encodeResultMetadata,
  formatValue,
  parseAthenaCsv,
  textColumn,
  toAthenaCsv,
  toAthenaText,
  type ColumnInfo,
} from './athena-results';
import { cleanWorkDir, runCtas, runInsert } from './athena-write';
import { AwsJsonError } from './errors';
import type { LocalGlueCatalog, GlueTable } from './glue';
import {
  bindParameters,
  buildTableRelation,
  lexSql,
  mentionedIdentifiers,
  parseS3Uri,
  QueryError,
  queryConstants,
  quoteIdent,
  singleStatement,
  statementKeyword,
  type SqlToken,
  type TableRelation,
} from './sql';
import { findTimeTravel, icebergMetadataRelation, icebergRelation, isIcebergTable, METADATA_TABLES, tokenName, type AsOf } from './iceberg';
import { runMaintenance } from './iceberg-maintenance';
import { atomicWrite, type LocalObjectStore } from './store';
import { rewriteTrinoCalls, trinoMacroStatements } from './trino';

export { athenaType, formatDouble, formatValue, parseAthenaCsv } from './athena-results';

type Json = Record<string, unknown>;
type State = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** A time-travel reference: the view `view` shows `db.table` as of a snapshot. */
interface SnapshotView {
  db: string;
  table: string;
  view: string;
  asOf: AsOf;
}

/** What kind of statement an execution runs and how its result looks. */
type StatementKind = 'query' | 'ddl' | 'ctas' | 'insert';

interface Execution {
  id: string;
  query: string;
  statementType: 'DML' | 'DDL' | 'UTILITY';
  substatementType?: string;
  kind: StatementKind;
  workGroup: string;
  database?: string;
  catalog: string;
  /** The result file: `<location><id>.csv`, or `.txt` for DDL. */
  outputLocation: string;
  executionParameters?: string[];
  state: State;
  reason?: string;
  error?: { category: number; type: number };
  submitted: number;
  started?: number;
  completed?: number;
  bytes: number;
  columns?: ColumnInfo[];
  /** False for DDL results, which have no header row. */
  header?: boolean;
  updateCount?: number;
  manifest?: string;
  rows?: (string | null)[][];
  cancel?: () => void;
}

interface WorkGroup {
  Name: string;
  State: 'ENABLED' | 'DISABLED';
  Description?: string;
  CreationTime: number;
  Configuration: Json & { ResultConfiguration?: { OutputLocation?: string } };
}

/** How many finished queries keep their rows in memory (others are paged from their CSV). */
const RESULTS_IN_MEMORY = 32;
const ENGINE = { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' };
const READ = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'EXPLAIN']);

/** Athena's StatementType and SubstatementType of a parsed statement. */
function typesOf(s: DdlStatement | null, kw: string): { statementType: Execution['statementType']; substatementType: string } {
  if (!s) return kw === 'EXPLAIN' ? { statementType: 'UTILITY', substatementType: 'EXPLAIN' } : { statementType: 'DML', substatementType: 'SELECT' };
  const sub: Record<DdlStatement['kind'], [Execution['statementType'], string]> = {
    createDatabase: ['DDL', 'CREATE_DATABASE'], dropDatabase: ['DDL', 'DROP_DATABASE'], createTable: ['DDL', 'CREATE_TABLE'],
    ctas: ['DML', 'CREATE_TABLE_AS_SELECT'], insert: ['DML', 'INSERT'], dropTable: ['DDL', 'DROP_TABLE'],
    addPartitions: ['DDL', 'ALTER_TABLE_ADD_PARTITION'], dropPartitions: ['DDL', 'ALTER_TABLE_DROP_PARTITION'], setTableProperties: ['DDL', 'ALTER_TABLE_SET_TBLPROPERTIES'],
    msck: ['DDL', 'MSCK_REPAIR_TABLE'], showPartitions: ['UTILITY', 'SHOW_PARTITIONS'], showCreateTable: ['UTILITY', 'SHOW_CREATE_TABLE'],
    showTables: ['UTILITY', 'SHOW_TABLES'], showDatabases: ['UTILITY', 'SHOW_DATABASES'], showColumns: ['UTILITY', 'SHOW_COLUMNS'],
    showTblProperties: ['UTILITY', 'SHOW_TBLPROPERTIES'], describe: ['UTILITY', 'DESCRIBE_TABLE'],
  };
  const [statementType, substatementType] = sub[s.kind];
  return { statementType, substatementType };
}
/** Iceberg maintenance statements the endpoint runs (see iceberg-maintenance.ts). */
const MAINTENANCE = new Set(['OPTIMIZE', 'VACUUM']);

/** Options of the Athena service. */
export interface AthenaServiceOptions {
  dataDir: string;
  region: string;
  store: LocalObjectStore;
  glue: LocalGlueCatalog;
  /** Queries running at the same time; more wait as QUEUED. */
  concurrency: number;
}

/** The local Athena service. */
export class AthenaService {
  private readonly executions = new Map<string, Execution>();
  private readonly order: string[] = [];
  private readonly tokens = new Map<string, string>();
  private workGroups = new Map<string, WorkGroup>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private closed = false;

  private readonly engines = new EnginePool();
  /** A DuckDB connection that only parses (the submission check), and the chain serializing its use. */
  private parser: Promise<DuckDBConnection> | undefined;
  private parserChain: Promise<unknown> = Promise.resolve();
  private readonly cached: string[] = [];
  private readonly saving = new Set<Promise<unknown>>();

  private constructor(private readonly opts: AthenaServiceOptions) {}

  /** Loads persisted workgroups (a default `primary` always exists). */
  static async open(opts: AthenaServiceOptions): Promise<AthenaService> {
    const svc = new AthenaService(opts);
    try {
      const list = JSON.parse(await readFile(svc.workGroupsFile, 'utf8')) as WorkGroup[];
      for (const w of list) svc.workGroups.set(w.Name, w);
    } catch {
      /* first start */
    }
    await svc.loadExecutions();
    if (!svc.workGroups.has('primary')) svc.workGroups.set('primary', { Name: 'primary', State: 'ENABLED', Description: '', CreationTime: Date.now() / 1000, Configuration: {} });
    return svc;
  }

  private get workGroupsFile() {
    return join(this.opts.dataDir, 'athena', 'workgroups.json');
  }

  private async saveWorkGroups() {
    await atomicWrite(join(this.opts.dataDir, 'athena', 'tmp'), this.workGroupsFile, JSON.stringify([...this.workGroups.values()], null, 1));
  }

  /** Cancels running queries (they end CANCELLED) and refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    this.engines.close();
    void this.parser?.then((c) => c.closeSync(), () => undefined);
    for (const e of this.executions.values()) {
      if (e.state === 'RUNNING' || e.state === 'QUEUED') {
        e.cancel?.();
        this.finish(e, 'CANCELLED', 'Query was cancelled: the local endpoint was stopped');
      }
    }
    await Promise.all(this.saving);
  }

  /** Dispatches one Athena operation. */
  async handle(op: string, input: Json): Promise<unknown> {
    switch (op) {
      case 'CreateWorkGroup': {
        const name = requireString(input, 'Name');
        if (this.workGroups.has(name)) throw new AwsJsonError('InvalidRequestException', `WorkGroup ${name} already exists`);
        this.workGroups.set(name, {
          Name: name,
          State: 'ENABLED',
          Description: typeof input.Description === 'string' ? input.Description : '',
          CreationTime: Date.now() / 1000,
          Configuration: (input.Configuration as WorkGroup['Configuration']) ?? {},
        });
        await this.saveWorkGroups();
        return {};
      }
      case 'GetWorkGroup':
        return { WorkGroup: { ...this.requireWorkGroup(requireString(input, 'WorkGroup')), Configuration: { ...this.requireWorkGroup(String(input.WorkGroup)).Configuration, EngineVersion: ENGINE } } };
      case 'ListWorkGroups':
        return { WorkGroups: [...this.workGroups.values()].map((w) => ({ Name: w.Name, State: w.State, Description: w.Description, CreationTime: w.CreationTime, EngineVersion: ENGINE })) };
      case 'UpdateWorkGroup': {
        const w = this.requireWorkGroup(requireString(input, 'WorkGroup'));
        if (typeof input.Description === 'string') w.Description = input.Description;
        if (input.State === 'ENABLED' || input.State === 'DISABLED') w.State = input.State;
        const upd = input.ConfigurationUpdates as Json | undefined;
        if (upd?.ResultConfigurationUpdates) {
          const r = upd.ResultConfigurationUpdates as Json;
          w.Configuration.ResultConfiguration = r.RemoveOutputLocation ? {} : { ...w.Configuration.ResultConfiguration, ...(r.OutputLocation ? { OutputLocation: String(r.OutputLocation) } : {}) };
        }
        await this.saveWorkGroups();
        return {};
      }
      case 'DeleteWorkGroup': {
        const name = requireString(input, 'WorkGroup');
        if (name === 'primary') throw new AwsJsonError('InvalidRequestException', 'The primary workgroup cannot be deleted');
        this.requireWorkGroup(name);
        this.workGroups.delete(name);
        await this.saveWorkGroups();
        return {};
      }
      case 'StartQueryExecution':
        return this.start(input);
      case 'GetQueryExecution':
        return { QueryExecution: this.describe(this.requireExecution(requireString(input, 'QueryExecutionId'))) };
      case 'BatchGetQueryExecution': {
        const ids = (input.QueryExecutionIds as string[]) ?? [];
        if (ids.length < 1 || ids.length > 50) throw new AwsJsonError('InvalidRequestException', 'QueryExecutionIds must hold 1 to 50 ids');
        const found = ids.filter((id) => this.executions.has(id));
        return {
          QueryExecutions: found.map((id) => this.describe(this.executions.get(id)!)),
          UnprocessedQueryExecutionIds: ids.filter((id) => !this.executions.has(id)).map((id) => ({ QueryExecutionId: id, ErrorCode: 'INVALID_INPUT', ErrorMessage: `QueryExecution ${id} was not found` })),
        };
      }
      case 'ListQueryExecutions': {
        const wg = typeof input.WorkGroup === 'string' ? input.WorkGroup : 'primary';
        this.requireWorkGroup(wg);
        const ids = this.order.filter((id) => this.executions.get(id)!.workGroup === wg).reverse();
        const max = input.MaxResults === undefined ? 50 : Number(input.MaxResults);
        if (!Number.isInteger(max) || max < 1 || max > 50) throw new AwsJsonError('InvalidRequestException', 'MaxResults must be between 1 and 50');
        const start = input.NextToken ? Number(Buffer.from(String(input.NextToken), 'base64url').toString()) : 0;
        const next = start + max < ids.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
        return { QueryExecutionIds: ids.slice(start, start + max), ...(next ? { NextToken: next } : {}) };
      }
      case 'StopQueryExecution': {
        const e = this.requireExecution(requireString(input, 'QueryExecutionId'));
        if (e.state === 'QUEUED' || e.state === 'RUNNING') {
          e.cancel?.();
          this.finish(e, 'CANCELLED', 'Query was cancelled by user');
        }
        return {};
      }
      case 'GetQueryResults':
        return this.results(input);
      case 'ListDataCatalogs':
        return { DataCatalogsSummary: [{ CatalogName: 'AwsDataCatalog', Type: 'GLUE' }] };
      case 'ListDatabases':
        return { DatabaseList: this.opts.glue.databaseNames().map((Name) => ({ Name })) };
      case 'GetDatabase': {
        const name = requireString(input, 'DatabaseName').toLowerCase();
        if (!this.opts.glue.tablesOf(name)) throw new AwsJsonError('MetadataException', `Database ${name} not found.`);
        return { Database: { Name: name } };
      }
      case 'ListTableMetadata': {
        const name = requireString(input, 'DatabaseName').toLowerCase();
        const tables = this.opts.glue.tablesOf(name);
        if (!tables) throw new AwsJsonError('MetadataException', `Database ${name} not found.`);
        return { TableMetadataList: tables.map(tableMetadata) };
      }
      case 'GetTableMetadata': {
        const db = requireString(input, 'DatabaseName').toLowerCase();
        const name = requireString(input, 'TableName').toLowerCase();
        const t = this.opts.glue.tablesOf(db)?.find((x) => x.Name === name);
        if (!t) throw new AwsJsonError('MetadataException', `Table ${db}.${name} not found.`);
        return { TableMetadata: tableMetadata(t) };
      }
      default:
        throw new AwsJsonError(
          'InvalidRequestException',
          `Athena operation ${op} is not implemented by the Lakeloader local endpoint (supported: workgroups, Start/Get/Stop/BatchGet/ListQueryExecution(s), GetQueryResults, ListDatabases, GetDatabase, ListTableMetadata, GetTableMetadata; see docs/local-endpoint.md)`,
        );
    }
  }

  private requireWorkGroup(name: string): WorkGroup {
    const w = this.workGroups.get(name);
    if (!w) throw new AwsJsonError('InvalidRequestException', `WorkGroup ${name} is not found.`);
    return w;
  }

  private requireExecution(id: string): Execution {
    const e = this.executions.get(id);
    if (!e) throw new AwsJsonError('InvalidRequestException', `QueryExecution ${id} was not found`);
    return e;
  }

  private async start(input: Json): Promise<Json> {
    if (this.closed) throw new AwsJsonError('InternalServerException', 'the local endpoint is shutting down');
    const query = requireString(input, 'QueryString');
    const token = typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : undefined;
    if (token && this.tokens.has(token)) return { QueryExecutionId: this.tokens.get(token) };
    const wgName = typeof input.WorkGroup === 'string' && input.WorkGroup ? input.WorkGroup : 'primary';
    const wg = this.requireWorkGroup(wgName);
    if (wg.State !== 'ENABLED') throw new AwsJsonError('InvalidRequestException', `WorkGroup ${wgName} is disabled.`);
    const ctx = (input.QueryExecutionContext as Json | undefined) ?? {};
    const enforced = wg.Configuration.EnforceWorkGroupConfiguration === true;
    const requested = ((input.ResultConfiguration as Json | undefined)?.OutputLocation as string | undefined) ?? undefined;
    const location = (enforced ? wg.Configuration.ResultConfiguration?.OutputLocation : requested) ?? requested ?? wg.Configuration.ResultConfiguration?.OutputLocation;
    if (!location) {
      throw new AwsJsonError('InvalidRequestException', 'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.');
    }
    if (!/^s3:\/\/[^/]+/.test(location)) throw new AwsJsonError('InvalidRequestException', `OutputLocation must be an s3:// URI, got "${location}"`);
    const params = input.ExecutionParameters as unknown;
    if (params !== undefined && (!Array.isArray(params) || params.some((p) => typeof p !== 'string'))) {
      throw new AwsJsonError('InvalidRequestException', 'ExecutionParameters must be a list of strings');
    }
    // Athena parses the statement before it accepts it: a syntax error is the call's error.
    const { statement, kw, failure } = await this.check(query);
    const id = randomUUID();
    const kind: StatementKind = failure ? 'ddl' : !statement ? 'query' : statement.kind === 'ctas' || statement.kind === 'insert' ? statement.kind : 'ddl';
    const exec: Execution = {
      id,
      query,
      ...(failure ? { statementType: 'DDL' as const, substatementType: 'UNKNOWN' } : typesOf(statement, kw)),
      kind,
      workGroup: wgName,
      database: typeof ctx.Database === 'string' ? ctx.Database.toLowerCase() : undefined,
      catalog: typeof ctx.Catalog === 'string' ? ctx.Catalog : 'AwsDataCatalog',
      outputLocation: `${location.replace(/\/?$/, '/')}${id}.${kind === 'ddl' ? 'txt' : 'csv'}`,
      executionParameters: params as string[] | undefined,
      state: 'QUEUED',
      submitted: Date.now(),
      bytes: 0,
    };
    this.executions.set(id, exec);
    this.order.push(id);
    if (token) this.tokens.set(token, id);
    void this.schedule(exec, failure ?? statement);
    return { QueryExecutionId: id };
  }

  /**
   * Parses a statement as Athena does on submission: DDL and the writing statements with the
   * DDL parser (a DDL parse error fails the execution, as Athena's Hive DDL path does), queries
   * with DuckDB's parser. A query that does not parse is refused with InvalidRequestException and
   * Trino's `line L:C: mismatched input '…'` message.
   */
  private async check(query: string): Promise<{ statement: DdlStatement | null; kw: string; failure?: AthenaQueryError }> {
    let tokens: SqlToken[];
    try {
      tokens = singleStatement(lexSql(query));
    } catch (e) {
      throw new AwsJsonError('InvalidRequestException', (e as Error).message);
    }
    const kw = statementKeyword(tokens);
    if (isDdlStatement(query)) {
      let statement: DdlStatement;
      try {
        statement = parseDdl(query);
      } catch (e) {
        if (e instanceof DdlParseError && /External keyword required/.test(e.message)) throw new AwsJsonError('InvalidRequestException', e.message);
        if (e instanceof DdlParseError) return { statement: null, kw, failure: ddlFailure(`ParseException ${hiveLineCol(query, e.offset)} ${e.message}`, 1006) };
        throw e;
      }
      if (statement.kind === 'ctas' || statement.kind === 'insert') await this.parseQuery(statement.query, query, statement.queryOffset);
      return { statement, kw };
    }
    if (MAINTENANCE.has(kw)) return { statement: null, kw };
    // DuckDB does not parse Athena's time travel (`FOR VERSION AS OF x`): check the query without it.
    const travels = findTimeTravel(tokens);
    const text = travels.length ? tokens.filter((_, i) => !travels.some((t) => i > t.nameToken && i < t.end)).map((t) => t.text).join('') : query;
    await this.parseQuery(text, text, 0);
    return { statement: null, kw };
  }

  /** DuckDB's parse of a query (placeholders allowed); a failure becomes Trino's syntax error at the same place in `whole`. */
  private async parseQuery(sql: string, whole: string, offset: number): Promise<void> {
    const run = this.parserChain.then(async () => {
      this.parser ??= (async () => (await DuckDBInstance.create(':memory:', { threads: '1' })).connect())();
      await (await this.parser).extractStatements(sql);
    });
    this.parserChain = run.catch(() => undefined);
    try {
      await run;
    } catch (e) {
      const err = syntaxErrorFrom((e as Error).message, sql);
      // Shift the position from the query part to the whole statement.
      const m = /^line (\d+):(\d+): (.*)$/s.exec(err.message);
      if (m && offset > 0) {
        const before = whole.slice(0, offset);
        const line = Number(m[1]) + before.split('\n').length - 1;
        const col = Number(m[1]) === 1 ? Number(m[2]) + offset - (before.lastIndexOf('\n') + 1) : Number(m[2]);
        throw new AwsJsonError('InvalidRequestException', `line ${line}:${col}: ${m[3]}`);
      }
      throw new AwsJsonError('InvalidRequestException', err.message);
    }
  }

  private async schedule(e: Execution, statement: DdlStatement | AthenaQueryError | null): Promise<void> {
    if (this.running >= this.opts.concurrency) await new Promise<void>((ok) => this.waiting.push(ok));
    this.running++;
    try {
      if (e.state !== 'QUEUED') return;
      e.state = 'RUNNING';
      e.started = Date.now();
      await this.run(e, statement);
    } catch (err) {
      if (e.state === 'RUNNING') {
        if (err instanceof AthenaQueryError) this.finish(e, 'FAILED', err.reason, { category: err.category, type: err.errorType });
        else if (err instanceof QueryError) this.finish(e, 'FAILED', err.message, { category: 2, type: 1006 });
        else {
          const msg = err instanceof Error ? err.message : String(err);
          if (/INTERRUPT/i.test(msg)) this.finish(e, 'FAILED', `Query was cancelled: ${msg}`, { category: 2, type: 1011 });
          else this.finish(e, 'FAILED', `GENERIC_INTERNAL_ERROR: ${msg.split('\n')[0]}`, { category: 1, type: 200 });
        }
      }
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private finish(e: Execution, state: State, reason?: string, error?: Execution['error']): void {
    if (e.state === 'SUCCEEDED' || e.state === 'FAILED' || e.state === 'CANCELLED') return;
    e.state = state;
    e.reason = reason;
    if (error) e.error = error;
    e.completed = Date.now();
    e.started ??= e.completed;
    if (e.rows) {
      // Keep the rows of the latest results in memory; older ones are re-read from their CSV.
      this.cached.push(e.id);
      while (this.cached.length > RESULTS_IN_MEMORY) {
        const old = this.executions.get(this.cached.shift()!);
        if (old) old.rows = undefined;
      }
    }
    const saving = this.persist(e).catch(() => undefined);
    this.saving.add(saving);
    void saving.finally(() => this.saving.delete(saving));
  }

  private get executionsDir() {
    return join(this.opts.dataDir, 'athena', 'executions');
  }

  /** Saves a finished execution (without its rows) so it survives a restart. */
  private async persist(e: Execution): Promise<void> {
    const { rows: _rows, cancel: _cancel, ...record } = e;
    await atomicWrite(join(this.opts.dataDir, 'athena', 'tmp'), join(this.executionsDir, `${e.id}.json`), JSON.stringify(record));
  }

  private async loadExecutions(): Promise<void> {
    const files = await readdir(this.executionsDir).catch(() => [] as string[]);
    const loaded: Execution[] = [];
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      try {
        loaded.push(JSON.parse(await readFile(join(this.executionsDir, f), 'utf8')) as Execution);
      } catch {
        /* a torn file from a crash: skip it */
      }
    }
    loaded.sort((a, b) => a.submitted - b.submitted);
    for (const e of loaded) {
      this.executions.set(e.id, e);
      this.order.push(e.id);
    }
  }

  /** The rows of a finished query, from memory or re-read from its result file. */
  private async rowsOf(e: Execution): Promise<(string | null)[][]> {
    if (e.rows) return e.rows;
    if (e.kind === 'ctas' || e.kind === 'insert') return [];
    const { bucket, prefix } = parseS3Uri(e.outputLocation);
    const opened = await this.opts.store.openForRead(bucket, prefix).catch(() => undefined);
    if (!opened) throw new AwsJsonError('InvalidRequestException', `The result of query ${e.id} is no longer available at ${e.outputLocation}`);
    try {
      const text = await opened.handle.readFile('utf8');
      if (e.header === false) return text === '' ? [] : text.replace(/\n$/, '').split('\n').map((l) => [l]);
      const [, ...rows] = parseAthenaCsv(text);
      return rows;
    } finally {
      await opened.handle.close();
    }
  }

  private async run(e: Execution, statement: DdlStatement | AthenaQueryError | null): Promise<void> {
    if (statement instanceof AthenaQueryError) throw statement;
    const catalog = { glue: this.opts.glue, store: this.opts.store, database: e.database };
    if (statement && statement.kind !== 'ctas' && statement.kind !== 'insert') {
      const r = await runDdl(catalog, statement);
      e.columns = r.rows.length || statement.kind.startsWith('show') || statement.kind === 'describe' ? [textColumn(r.column)] : [];
      e.header = false;
      e.rows = r.rows.map((row) => [row.join('\t')]);
      await this.writeResult(e, toAthenaText(e.rows));
      this.finish(e, 'SUCCEEDED');
      return;
    }
    const query = statement ? statement.query : e.query;
    let tokens = singleStatement(lexSql(query));
    const kw = statementKeyword(tokens);
    if (MAINTENANCE.has(kw) && tokens.some((t) => t.kind === 'param')) throw new QueryError(`${kw} takes no execution parameters`);
    if (!statement && !READ.has(kw) && !MAINTENANCE.has(kw)) {
      throw new AthenaQueryError('NOT_SUPPORTED', `${kw || 'This'} statements are not supported by the local endpoint (it runs queries, CREATE EXTERNAL TABLE, CREATE TABLE AS, INSERT INTO, DROP, ALTER TABLE ADD/DROP PARTITION, MSCK REPAIR TABLE, SHOW, DESCRIBE, and OPTIMIZE/VACUUM on Iceberg tables)`, 1200);
    }
    tokens = rewriteTrinoCalls(tokens, lexSql);
    const shift = statement ? statement.queryOffset : 0;

    let errorContext: ErrorContext = { query: e.query, ran: tokens.map((t) => t.text).join(''), toQueryOffset: (o) => o + shift, database: e.database };
    const { instance, con } = await this.engines.take();
    const workDir = join(this.opts.dataDir, 'athena', 'work', e.id);
    try {
      const c = con;
      e.cancel = () => {
        try {
          c.interrupt();
        } catch {
          /* already done */
        }
      };
      try {
        if (MAINTENANCE.has(kw)) {
          const out = await runMaintenance(tokens, { store: this.opts.store, glue: this.opts.glue, database: e.database, con });
          if ((e.state as State) !== 'RUNNING') return;
          e.columns = [];
          e.rows = [];
          e.bytes = out.bytes;
          await this.writeResult(e, toAthenaCsv([], []));
          this.finish(e, 'SUCCEEDED');
          return;
        }
        const snapshotViews = await this.timeTravel(e, con, tokens);
        tokens = snapshotViews.tokens;
        const { sql, values, toQueryOffset } = bindParameters(tokens, e.executionParameters ?? []);
        errorContext = { query: e.query, ran: sql, toQueryOffset: (o: number) => toQueryOffset(o) + shift, database: e.database };
        await this.exposeTables(e, con, tokens, snapshotViews.views);
        if (statement) {
          // CREATE TABLE AS / INSERT INTO: parameters are bound as literals DuckDB can see in a DDL statement.
          const bound = inlineParameters(sql, values);
          const ctx = { ...catalog, con, queryId: e.id, statement: e.query, outputDir: e.outputLocation.slice(0, e.outputLocation.lastIndexOf('/') + 1), workDir };
          const w = statement.kind === 'ctas' ? await runCtas(ctx, statement, bound) : await runInsert(ctx, statement, bound);
          if ((e.state as State) !== 'RUNNING') return;
          e.updateCount = w.rows;
          e.columns = [];
          e.rows = [];
          const manifest = e.outputLocation.replace(/\.csv$/, '-manifest.csv');
          await putObject(this.opts.store, manifest, Buffer.from(w.files.map((f) => `${f}\n`).join('')), 'text/csv');
          e.manifest = manifest;
          await this.writeResult(e, '');
          this.finish(e, 'SUCCEEDED');
          return;
        }
        const prepared = await con.prepare(sql);
        values.forEach((v, i) => (v === null ? prepared.bindNull(i + 1) : prepared.bindVarchar(i + 1, v)));
        // start() is synchronous: a Stop before this line is seen by the state check, one after it
        // interrupts the now-active query (an interrupt with nothing running would be lost).
        if ((e.state as State) !== 'RUNNING') return;
        const result = await prepared.start().getResult();
        // Trino names a column after its alias or column reference; any other expression is _col<i>.
        const names = result.columnNames().map((n, i) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) ? n : `_col${i}`));
        const types = result.columnTypes().map((t) => t.toString());
        const rows = (await result.getRows()).map((r) => r.map((v, i) => formatValue(v, types[i]!)));
        if ((e.state as State) !== 'RUNNING') return;
        e.columns = names.map((n, i) => columnInfo(n, types[i]!));
        e.header = true;
        e.rows = rows;
        await this.writeResult(e, toAthenaCsv(names, rows));
        this.finish(e, 'SUCCEEDED');
      } catch (err) {
        if (err instanceof AthenaQueryError || err instanceof QueryError || (err instanceof Error && /INTERRUPT/i.test(err.message))) throw err;
        if (err instanceof AwsJsonError) throw new AthenaQueryError('HIVE_METASTORE_ERROR', err.message, 204, 1);
        if (err instanceof Error && /^[A-Z][A-Za-z ]+ Error: /.test(err.message.replace(/^Failed to extract statements: /, ''))) throw translateDuckDbError(err.message, errorContext);
        throw err;
      }
    } finally {
      e.cancel = undefined;
      closeEngine({ instance, con });
      if (statement) await cleanWorkDir(workDir);
    }
  }

  /**
   * Time travel: each `t FOR VERSION|TIMESTAMP AS OF x` becomes a reference to a view of t at that
   * snapshot (Iceberg tables only); returns the rewritten tokens and the views to create.
   */
  private async timeTravel(e: Execution, con: DuckDBConnection, input: SqlToken[]): Promise<{ tokens: SqlToken[]; views: SnapshotView[] }> {
    let tokens = input;
    const views: SnapshotView[] = [];
    for (const tt of findTimeTravel(tokens).reverse()) {
      const parts = tokens.slice(tt.start, tt.nameToken + 1).filter((t) => t.kind === 'word' || t.kind === 'qid').map(tokenName);
      const table = parts.at(-1)!;
      const db = parts.length >= 2 ? parts.at(-2)! : e.database;
      if (!db) throw new QueryError(`line 1: table ${table} needs a database for time travel (set QueryExecutionContext.Database or write db.${table})`);
      const value = String((await (await con.run(tt.kind === 'version' ? `SELECT CAST((${tt.expression}) AS VARCHAR)` : `SELECT CAST(epoch_ms(CAST((${tt.expression}) AS TIMESTAMPTZ)) AS VARCHAR)`)).getRows())[0]?.[0]);
      if (!/^-?\d+$/.test(value)) throw new QueryError(`line 1: FOR ${tt.kind.toUpperCase()} AS OF needs ${tt.kind === 'version' ? 'an integer snapshot id' : 'a timestamp'}, got ${value}`);
      const asOf: AsOf = tt.kind === 'version' ? { version: BigInt(value) } : { timestampMs: Number(value) };
      const view = `${table}@${tt.kind === 'version' ? `v${value}` : `t${value}`}`;
      views.push({ db, table, view, asOf });
      const ref = [...tokens.slice(tt.start, tt.nameToken), { kind: 'qid' as const, text: quoteIdent(view) }];
      tokens = [...tokens.slice(0, tt.start), ...ref, ...tokens.slice(tt.end)];
    }
    return { tokens, views };
  }

  /**
   * Creates `awsdatacatalog.<db>.<table>` views for the Glue tables the statement can read: the
   * tables of the context database and of any database it names, each over exactly the files
   * Athena would read (sql.ts resolveTableFiles for Hive tables, iceberg.ts for Iceberg tables,
   * with their `$snapshots`-style metadata tables and time-travel snapshots); the context database
   * is the default schema.
   */
  private async exposeTables(e: Execution, con: DuckDBConnection, tokens: SqlToken[], snapshotViews: SnapshotView[]): Promise<void> {
    const mentioned = mentionedIdentifiers(tokens);
    const constants = queryConstants(tokens);
    const now = Date.now();
    const describe = async (q: string) => {
      const r = await con.run(`DESCRIBE ${q}`);
      return (await r.getRows()).map((row) => String(row[0]).toLowerCase());
    };
    const dbs = this.opts.glue.databaseNames().filter((d) => d === e.database || mentioned.has(d) || snapshotViews.some((v) => v.db === d));
    for (const db of dbs) {
      await con.run(`CREATE SCHEMA IF NOT EXISTS awsdatacatalog.${quoteIdent(db)}`);
      const view = (name: string, rel: TableRelation) => {
        e.bytes += rel.bytes;
        return con.run(`CREATE VIEW awsdatacatalog.${quoteIdent(db)}.${quoteIdent(name)} AS ${rel.sql}`);
      };
      for (const t of this.opts.glue.tablesOf(db) ?? []) {
        const name = t.Name.toLowerCase();
        const iceberg = isIcebergTable(t);
        if (mentioned.has(name)) {
          await view(name, iceberg ? await icebergRelation(this.opts.store, t, describe) : await buildTableRelation(this.opts.store, t, this.opts.glue.partitionsOf(db, t.Name), describe, { now, constants }));
        }
        if (!iceberg) continue;
        for (const kind of METADATA_TABLES) if (mentioned.has(`${name}$${kind}`)) await view(`${name}$${kind}`, await icebergMetadataRelation(this.opts.store, t, kind));
        for (const sv of snapshotViews) if (sv.db === db && sv.table === name) await view(sv.view, await icebergRelation(this.opts.store, t, describe, sv.asOf));
      }
      for (const sv of snapshotViews) {
        const t = (this.opts.glue.tablesOf(db) ?? []).find((x) => x.Name.toLowerCase() === sv.table);
        if (sv.db === db && t && !isIcebergTable(t)) throw new QueryError(`NOT_SUPPORTED: time travel needs an Iceberg table; ${db}.${sv.table} is a Hive table`);
      }
    }
    if (e.database && this.opts.glue.tablesOf(e.database)) {
      await con.run(`USE awsdatacatalog.${quoteIdent(e.database)}`);
    } else {
      // An unknown context database: an unqualified name then fails as Athena's SCHEMA_NOT_FOUND.
      if (e.database) await con.run(`CREATE SCHEMA IF NOT EXISTS awsdatacatalog.${quoteIdent(`__missing_${e.database}`)}`);
      await con.run(e.database ? `USE awsdatacatalog.${quoteIdent(`__missing_${e.database}`)}` : 'USE awsdatacatalog.main');
    }
  }

  /** Writes the result file and its `.metadata` beside it (the format Athena writes). */
  private async writeResult(e: Execution, text: string): Promise<void> {
    const { bucket } = parseS3Uri(e.outputLocation);
    if (!(await this.opts.store.bucketExists(bucket))) {
      throw new AthenaQueryError('', `Unable to verify/create output bucket ${bucket}`, 1306);
    }
    await putObject(this.opts.store, e.outputLocation, Buffer.from(text, 'utf8'), e.kind === 'ddl' ? 'text/plain' : 'text/csv');
    await putObject(this.opts.store, `${e.outputLocation}.metadata`, encodeResultMetadata(e.columns ?? []));
  }

  private describe(e: Execution): Json {
    const done = e.completed !== undefined;
    const total = (done ? e.completed! : Date.now()) - e.submitted;
    const engine = e.started ? (done ? e.completed! : Date.now()) - e.started : 0;
    return {
      QueryExecutionId: e.id,
      Query: e.query,
      StatementType: e.statementType,
      ResultConfiguration: { OutputLocation: e.outputLocation },
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
      QueryExecutionContext: { ...(e.database ? { Database: e.database } : {}), Catalog: e.catalog },
      Status: {
        State: e.state,
        ...(e.reason ? { StateChangeReason: e.reason } : {}),
        SubmissionDateTime: e.submitted / 1000,
        ...(done ? { CompletionDateTime: e.completed! / 1000 } : {}),
        ...(e.state === 'FAILED'
          ? { AthenaError: { ErrorCategory: e.error?.category ?? 2, ErrorType: e.error?.type ?? 1006, Retryable: false, ErrorMessage: e.reason } }
          : {}),
      },
      Statistics: {
        EngineExecutionTimeInMillis: engine,
        DataScannedInBytes: e.bytes,
        ...(e.manifest ? { DataManifestLocation: e.manifest } : {}),
        TotalExecutionTimeInMillis: total,
        QueryQueueTimeInMillis: (e.started ?? Date.now()) - e.submitted,
        ServicePreProcessingTimeInMillis: 0,
        QueryPlanningTimeInMillis: 0,
        ServiceProcessingTimeInMillis: 0,
        ResultReuseInformation: { ReusedPreviousResult: false },
      },
      WorkGroup: e.workGroup,
      EngineVersion: ENGINE,
      ...(e.executionParameters ? { ExecutionParameters: e.executionParameters } : {}),
      ...(e.substatementType ? { SubstatementType: e.substatementType } : {}),
    };
  }

  private async results(input: Json): Promise<Json> {
    const e = this.requireExecution(requireString(input, 'QueryExecutionId'));
    if (e.state === 'FAILED') throw new AwsJsonError('InvalidRequestException', `Query has failed: ${e.reason ?? ''}`.trim());
    if (e.state === 'CANCELLED') throw new AwsJsonError('InvalidRequestException', 'Query was cancelled');
    if (e.state !== 'SUCCEEDED') throw new AwsJsonError('InvalidRequestException', `Query has not yet finished. Current state: ${e.state}`);
    const max = input.MaxResults === undefined ? 1000 : Number(input.MaxResults);
    if (!Number.isInteger(max) || max < 1 || max > 1000) {
      throw new AwsJsonError('InvalidRequestException', `1 validation error detected: Value '${String(input.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`);
    }
    // With a header row (queries), position 0 is the header and data row i is at position i + 1.
    const header = e.header !== false && e.kind === 'query' ? 1 : 0;
    let start = 0;
    if (input.NextToken !== undefined) {
      const s = /^([0-9a-f-]{36}):(\d+)$/.exec(Buffer.from(String(input.NextToken), 'base64url').toString());
      if (!s || s[1] !== e.id) throw new AwsJsonError('InvalidRequestException', 'The NextToken is invalid for this query execution');
      start = Number(s[2]);
    }
    const rows = await this.rowsOf(e);
    const names = (e.columns ?? []).map((c) => c.Name);
    const total = rows.length + header;
    const end = Math.min(total, start + max);
    const out: Json[] = [];
    for (let pos = start; pos < end; pos++) {
      const r = header && pos === 0 ? names : rows[pos - header]!;
      out.push({ Data: r.map((v) => (v === null ? {} : { VarCharValue: v })) });
    }
    return {
      UpdateCount: e.updateCount ?? 0,
      ResultSet: { Rows: out, ResultSetMetadata: { ColumnInfo: e.columns ?? [] } },
      ...(end < total ? { NextToken: Buffer.from(`${e.id}:${end}`).toString('base64url') } : {}),
    };
  }
}

interface Engine {
  instance: DuckDBInstance;
  con: DuckDBConnection;
}

function closeEngine(e: Engine): void {
  try {
    e.con.closeSync();
  } catch {
    /* already closed */
  }
  try {
    e.instance.closeSync();
  } catch {
    /* already closed */
  }
}

/** A fresh in-memory DuckDB per query, with the Trino macros and the `awsdatacatalog` catalog. */
async function createEngine(): Promise<Engine> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const con = await instance.connect();
  try {
    await con.run(`SET TimeZone = 'UTC'; ${trinoMacroStatements().join(';\n')}; ATTACH ':memory:' AS awsdatacatalog`);
  } catch (e) {
    closeEngine({ instance, con });
    throw e;
  }
  return { instance, con };
}

/** Keeps one engine prepared ahead, so a query does not wait for DuckDB start-up and macro creation. */
class EnginePool {
  private spare: Promise<Engine> | undefined;
  private closed = false;

  async take(): Promise<Engine> {
    const next = this.spare ?? createEngine();
    this.spare = undefined;
    const engine = await next;
    if (!this.closed) {
      this.spare = createEngine();
      this.spare.catch(() => (this.spare = undefined));
    }
    return engine;
  }

  close(): void {
    this.closed = true;
    void this.spare?.then(closeEngine, () => undefined);
    this.spare = undefined;
  }
}

/** Athena's TableMetadata view of a Glue table. */
function tableMetadata(t: GlueTable): Json {
  const col = (c: { Name: string; Type?: string; Comment?: string }) => ({ Name: c.Name, Type: c.Type, ...(c.Comment ? { Comment: c.Comment } : {}) });
  return {
    Name: t.Name,
    CreateTime: t.CreateTime,
    LastAccessTime: t.UpdateTime,
    TableType: t.TableType,
    Columns: (t.StorageDescriptor?.Columns ?? []).map(col),
    PartitionKeys: (t.PartitionKeys ?? []).map(col),
    Parameters: { ...(t.Parameters ?? {}), location: t.StorageDescriptor?.Location ?? '', inputformat: t.StorageDescriptor?.InputFormat ?? '', serde: t.StorageDescriptor?.SerdeInfo?.SerializationLibrary ?? '' },
  };
}

function requireString(input: Json, field: string): string {
  const v = input[field];
  if (typeof v === 'string' && v.length > 0) return v;
  throw new AwsJsonError('InvalidRequestException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
}

/**
 * Inlines bound parameter values as SQL literals (for CREATE TABLE AS and INSERT INTO, which DuckDB
 * runs inside a DDL statement that cannot take prepared parameters). Values are quoted string
 * literals (`''` doubled), so a value stays data; typed parameters keep their CAST.
 */
function inlineParameters(sql: string, values: (string | null)[]): string {
  if (values.length === 0) return sql;
  const tokens = lexSql(sql);
  let n = 0;
  return tokens.map((t) => (t.kind === 'param' ? (values[n] === null ? (n++, 'NULL') : `'${values[n++]!.replace(/'/g, "''")}'`) : t.text)).join('');
}
