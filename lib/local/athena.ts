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
import { Readable } from 'node:stream';
import {
  DuckDBInstance,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import { AwsJsonError } from './errors';
import type { LocalGlueCatalog, GlueTable } from './glue';
import {
  bindParameters,
  buildTableRelation,
  lexSql,
  mentionedIdentifiers,
  parseS3Uri,
  QueryError,
  quoteIdent,
  singleStatement,
  statementKeyword,
  type TableRelation,
} from './sql';
import { findTimeTravel, icebergMetadataRelation, icebergRelation, isIcebergTable, METADATA_TABLES, tokenName, type AsOf } from './iceberg';
import { runMaintenance } from './iceberg-maintenance';
import { atomicWrite, type LocalObjectStore } from './store';
import { trinoMacroStatements } from './trino';

type Json = Record<string, unknown>;
type State = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

interface ColumnInfo {
  CatalogName: string;
  SchemaName: string;
  TableName: string;
  Name: string;
  Label: string;
  Type: string;
  Precision: number;
  Scale: number;
  Nullable: string;
  CaseSensitive: boolean;
}

interface Execution {
  id: string;
  query: string;
  statementType: 'DML' | 'DDL' | 'UTILITY';
  workGroup: string;
  database?: string;
  catalog: string;
  outputLocation: string;
  executionParameters?: string[];
  state: State;
  reason?: string;
  errorType?: string;
  submitted: number;
  started?: number;
  completed?: number;
  bytes: number;
  columns?: ColumnInfo[];
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
const DDL = new Set(['CREATE', 'DROP', 'ALTER', 'MSCK', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'VACUUM', 'OPTIMIZE', 'UNLOAD']);
const READ = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE']);
const UTILITY = new Set(['SHOW', 'DESCRIBE', 'EXPLAIN']);
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

  private start(input: Json): Json {
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
    const id = randomUUID();
    const tokens = safeLex(query);
    const kw = tokens ? statementKeyword(tokens) : '';
    const exec: Execution = {
      id,
      query,
      statementType: DDL.has(kw) ? 'DDL' : UTILITY.has(kw) ? 'UTILITY' : 'DML',
      workGroup: wgName,
      database: typeof ctx.Database === 'string' ? ctx.Database.toLowerCase() : undefined,
      catalog: typeof ctx.Catalog === 'string' ? ctx.Catalog : 'AwsDataCatalog',
      outputLocation: `${location.replace(/\/?$/, '/')}${id}.csv`,
      executionParameters: params as string[] | undefined,
      state: 'QUEUED',
      submitted: Date.now(),
      bytes: 0,
    };
    this.executions.set(id, exec);
    this.order.push(id);
    if (token) this.tokens.set(token, id);
    void this.schedule(exec);
    return { QueryExecutionId: id };
  }

  private async schedule(e: Execution): Promise<void> {
    if (this.running >= this.opts.concurrency) await new Promise<void>((ok) => this.waiting.push(ok));
    this.running++;
    try {
      if (e.state !== 'QUEUED') return;
      e.state = 'RUNNING';
      e.started = Date.now();
      await this.run(e);
    } catch (err) {
      if (e.state === 'RUNNING') {
        const msg = err instanceof Error ? err.message : String(err);
        this.finish(e, 'FAILED', err instanceof QueryError ? msg : classify(msg), err instanceof QueryError ? 'USER' : undefined);
      }
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private finish(e: Execution, state: State, reason?: string, _category?: string): void {
    if (e.state === 'SUCCEEDED' || e.state === 'FAILED' || e.state === 'CANCELLED') return;
    e.state = state;
    e.reason = reason;
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

  /** The rows of a finished query, from memory or re-read from its result CSV. */
  private async rowsOf(e: Execution): Promise<(string | null)[][]> {
    if (e.rows) return e.rows;
    const { bucket, prefix } = parseS3Uri(e.outputLocation);
    const opened = await this.opts.store.openForRead(bucket, prefix).catch(() => undefined);
    if (!opened) throw new AwsJsonError('InvalidRequestException', `The result of query ${e.id} is no longer available at ${e.outputLocation}`);
    try {
      const [, ...rows] = parseAthenaCsv(await opened.handle.readFile('utf8'));
      return rows;
    } finally {
      await opened.handle.close();
    }
  }

  private async run(e: Execution): Promise<void> {
    let tokens = singleStatement(lexSql(e.query));
    const kw = statementKeyword(tokens);
    if (MAINTENANCE.has(kw) && tokens.some((t) => t.kind === 'param')) throw new QueryError(`${kw} takes no execution parameters`);
    if (DDL.has(kw) && !MAINTENANCE.has(kw)) {
      throw new QueryError(`${kw} statements are not supported by the local endpoint: use the Glue API or \`lakeloader provision\` to create tables and partitions`);
    }

    const { instance, con } = await this.engines.take();
    try {
      const c = con;
      e.cancel = () => {
        try {
          c.interrupt();
        } catch {
          /* already done */
        }
      };
      if (MAINTENANCE.has(kw)) {
        const out = await runMaintenance(tokens, { store: this.opts.store, glue: this.opts.glue, database: e.database, con });
        if ((e.state as State) !== 'RUNNING') return;
        e.columns = [];
        e.rows = [];
        e.bytes = out.bytes;
        await this.writeCsv(e, [], []);
        this.finish(e, 'SUCCEEDED');
        return;
      }
      if (!READ.has(kw) && !UTILITY.has(kw)) {
        await con.extractStatements(tokens.map((t) => t.text).join('')); // a syntax error surfaces as DuckDB's parser message
        throw new QueryError(`${kw || 'this'} statements are not supported by the local endpoint: only SELECT / WITH / VALUES / SHOW / DESCRIBE / EXPLAIN run here`);
      }
      const describe = async (q: string) => {
        const r = await c.run(`DESCRIBE ${q}`);
        return (await r.getRows()).map((row) => String(row[0]).toLowerCase());
      };
      // Time travel: each `t FOR VERSION|TIMESTAMP AS OF x` becomes a view of t at that snapshot.
      const travels = findTimeTravel(tokens);
      const snapshotViews: { db: string; table: string; view: string; asOf: AsOf }[] = [];
      for (const tt of travels.reverse()) {
        const parts = tokens.slice(tt.start, tt.nameToken + 1).filter((t) => t.kind === 'word' || t.kind === 'qid').map(tokenName);
        const table = parts.at(-1)!;
        const db = parts.length >= 2 ? parts.at(-2)! : e.database;
        if (!db) throw new QueryError(`line 1: table ${table} needs a database for time travel (set QueryExecutionContext.Database or write db.${table})`);
        const value = String((await (await con.run(tt.kind === 'version' ? `SELECT CAST((${tt.expression}) AS VARCHAR)` : `SELECT CAST(epoch_ms(CAST((${tt.expression}) AS TIMESTAMPTZ)) AS VARCHAR)`)).getRows())[0]?.[0]);
        if (!/^-?\d+$/.test(value)) throw new QueryError(`line 1: FOR ${tt.kind.toUpperCase()} AS OF needs ${tt.kind === 'version' ? 'an integer snapshot id' : 'a timestamp'}, got ${value}`);
        const asOf: AsOf = tt.kind === 'version' ? { version: BigInt(value) } : { timestampMs: Number(value) };
        const view = `${table}@${tt.kind === 'version' ? `v${value}` : `t${value}`}`;
        snapshotViews.push({ db, table, view, asOf });
        const ref = [...tokens.slice(tt.start, tt.nameToken), { kind: 'qid' as const, text: quoteIdent(view) }];
        tokens = [...tokens.slice(0, tt.start), ...ref, ...tokens.slice(tt.end)];
      }
      const { sql, values } = bindParameters(tokens, e.executionParameters ?? []);
      const mentioned = mentionedIdentifiers(tokens);
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
          if (mentioned.has(name) || UTILITY.has(kw)) {
            await view(name, iceberg ? await icebergRelation(this.opts.store, t, describe) : await buildTableRelation(this.opts.store, t, this.opts.glue.partitionsOf(db, t.Name), describe));
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
      if (e.database) {
        await con.run(`CREATE SCHEMA IF NOT EXISTS awsdatacatalog.${quoteIdent(e.database)}`);
        await con.run(`USE awsdatacatalog.${quoteIdent(e.database)}`);
      } else await con.run(`USE awsdatacatalog.main`);
      const prepared = await con.prepare(sql);
      values.forEach((v, i) => (v === null ? prepared.bindNull(i + 1) : prepared.bindVarchar(i + 1, v)));
      // start() is synchronous: a Stop before this line is seen by the state check, one after it
      // interrupts the now-active query (an interrupt with nothing running would be lost).
      if ((e.state as State) !== 'RUNNING') return;
      const result = await prepared.start().getResult();
      const names = result.columnNames();
      const types = result.columnTypes().map((t) => t.toString());
      const rows = (await result.getRows()).map((r) => r.map((v, i) => formatValue(v, types[i]!)));
      if ((e.state as State) !== 'RUNNING') return;
      e.columns = names.map((n, i) => columnInfo(n, types[i]!));
      e.rows = rows;
      await this.writeCsv(e, names, rows);
      this.finish(e, 'SUCCEEDED');
    } finally {
      e.cancel = undefined;
      closeEngine({ instance, con });
    }
  }

  private async writeCsv(e: Execution, names: string[], rows: (string | null)[][]): Promise<void> {
    const q = (v: string | null) => (v === null ? '' : `"${v.replace(/"/g, '""')}"`);
    const text = [names.map(q).join(','), ...rows.map((r) => r.map(q).join(','))].join('\n') + '\n';
    const { bucket, prefix } = parseS3Uri(e.outputLocation);
    if (!(await this.opts.store.bucketExists(bucket))) {
      throw new QueryError(`Unable to verify/create output bucket ${bucket}: the bucket does not exist in the local S3 store`);
    }
    const staged = await this.opts.store.stage(Readable.from([Buffer.from(text, 'utf8')]));
    await this.opts.store.commit(bucket, prefix, staged, { contentType: 'text/csv', userMetadata: {} });
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
          ? { AthenaError: { ErrorCategory: 2, ErrorType: 1006, Retryable: false, ErrorMessage: e.reason } }
          : {}),
      },
      Statistics: {
        EngineExecutionTimeInMillis: engine,
        DataScannedInBytes: e.bytes,
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
      SubstatementType: e.statementType === 'DML' ? 'SELECT' : undefined,
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
    // Position 0 is the header row; data row i is at position i + 1.
    let start = 0;
    if (input.NextToken !== undefined) {
      const s = /^([0-9a-f-]{36}):(\d+)$/.exec(Buffer.from(String(input.NextToken), 'base64url').toString());
      if (!s || s[1] !== e.id) throw new AwsJsonError('InvalidRequestException', 'The NextToken is invalid for this query execution');
      start = Number(s[2]);
    }
    const rows = await this.rowsOf(e);
    const names = (e.columns ?? []).map((c) => c.Name);
    const total = rows.length + 1;
    const end = Math.min(total, start + max);
    const out: Json[] = [];
    for (let pos = start; pos < end; pos++) {
      const r = pos === 0 ? names : rows[pos - 1]!;
      out.push({ Data: r.map((v) => (v === null ? {} : { VarCharValue: v })) });
    }
    return {
      UpdateCount: 0,
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

function safeLex(q: string) {
  try {
    return lexSql(q);
  } catch {
    return undefined;
  }
}

/** Prefixes a DuckDB error with the Athena error class users search for. */
function classify(msg: string): string {
  if (/^Parser Error/.test(msg)) return `SYNTAX_ERROR: ${msg}`;
  if (/^Catalog Error: Table/.test(msg)) return `TABLE_NOT_FOUND: ${msg}`;
  if (/^(Binder|Catalog) Error/.test(msg)) return `COLUMN_NOT_FOUND: ${msg}`;
  if (/INTERRUPT/i.test(msg)) return `Query was cancelled: ${msg}`;
  return `GENERIC_INTERNAL_ERROR: ${msg}`;
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

function columnInfo(name: string, duck: string): ColumnInfo {
  const t = athenaType(duck);
  return {
    CatalogName: 'hive',
    SchemaName: '',
    TableName: '',
    Name: name,
    Label: name,
    Type: t.type,
    Precision: t.precision,
    Scale: t.scale,
    Nullable: 'UNKNOWN',
    CaseSensitive: t.type === 'varchar',
  };
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
