/**
 * The Athena query runner behind `lakeloader query`, `audit` and `status`: starts a query with its
 * `?` placeholders bound through ExecutionParameters (never string interpolation), polls with
 * exponential backoff while reporting the state, pages through every result page, and computes the
 * data scanned and its cost at Athena's list price. A failed query raises {@link QueryFailedError}
 * with Athena's own reason; an aborted one is stopped with StopQueryExecution.
 */
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type AthenaClient,
  type GetQueryResultsCommandOutput,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import { LakeloaderError } from '../../lambdas/core/errors';

/** Athena's list price in US dollars per terabyte (2^40 bytes) scanned. */
export const PRICE_PER_TB_USD = 5;
/** Athena bills at least 10 MB per query, rounded up to the next megabyte. */
export const MIN_BILLED_BYTES = 10 * 1024 * 1024;
const MB = 1024 * 1024;
const TB = 1024 ** 4;

/** The Athena client surface the runner needs (a real `AthenaClient`, or a fake in tests). */
export type AthenaLike = Pick<AthenaClient, 'send'>;

/** A value bound to a `?` placeholder. Strings become SQL string literals; numbers, bigints, booleans and null stay typed. */
export type QueryParam = string | number | bigint | boolean | null;

export type QueryState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface RunQueryOptions {
  athena: AthenaLike;
  /** The SQL, with `?` placeholders for `params`. */
  sql: string;
  /** Values for the `?` placeholders, in order; each is sent as one ExecutionParameters literal. */
  params?: QueryParam[];
  /** Glue database the unqualified table names resolve in. */
  database?: string;
  /** @default 'AwsDataCatalog' (Athena's default) */
  catalog?: string;
  /** @default the workgroup's own default ('primary') */
  workgroup?: string;
  /** `s3://bucket/prefix/` for the result files; optional when the workgroup enforces one. */
  outputLocation?: string;
  /** Aborting stops the query execution (StopQueryExecution) and rejects with {@link QueryCancelledError}. */
  signal?: AbortSignal;
  /** Called on every poll with the current state and the time since the start. */
  onState?: (state: QueryState, elapsedMs: number) => void;
  /** First poll delay. @default 100 */
  pollInitialMs?: number;
  /** Longest poll delay; the delay grows 1.5× per poll up to this. @default 2000 */
  pollMaxMs?: number;
  /** Rows per GetQueryResults page (Athena allows at most 1000). @default 1000 */
  pageSize?: number;
  /** Stop paging after this many rows (the result says it was truncated). @default unlimited */
  maxRows?: number;
}

export interface QueryColumn {
  name: string;
  /** Athena's type name, e.g. `varchar`, `bigint`, `timestamp`. */
  type: string;
}

export interface QueryResult {
  queryExecutionId: string;
  statementType?: string;
  columns: QueryColumn[];
  /** Every row, values as Athena returns them (strings; null for SQL NULL). */
  rows: (string | null)[][];
  /** True when `maxRows` cut the result short. */
  truncated: boolean;
  dataScannedBytes: number;
  /** What Athena bills for the scan at list price (10 MB minimum, whole megabytes). */
  costUsd: number;
  engineExecutionMs?: number;
  totalExecutionMs?: number;
  outputLocation?: string;
}

/** Athena ran the query and it failed; `reason` is Athena's StateChangeReason / error message. */
export class QueryFailedError extends LakeloaderError {
  readonly code = 'QUERY_FAILED';
  constructor(
    readonly queryExecutionId: string,
    readonly reason: string,
    readonly errorType?: string,
  ) {
    super(`query ${queryExecutionId} failed: ${reason}`);
  }
}

/** The query was stopped (by the caller's abort signal, e.g. Ctrl-C, or by someone else). */
export class QueryCancelledError extends LakeloaderError {
  readonly code = 'QUERY_CANCELLED';
  constructor(
    readonly queryExecutionId: string | undefined,
    readonly stoppedByUs: boolean,
  ) {
    super(
      queryExecutionId
        ? `query ${queryExecutionId} was cancelled${stoppedByUs ? ' (StopQueryExecution sent)' : ''}`
        : 'query was cancelled before it started',
    );
  }
}

/** The SQL and the parameters do not fit together (e.g. a placeholder count mismatch). */
export class QueryParameterError extends LakeloaderError {
  readonly code = 'QUERY_PARAMETER';
  constructor(message: string) {
    super(message);
  }
}

/**
 * Formats one value as an Athena SQL literal for ExecutionParameters. Strings are quoted and
 * their single quotes doubled, so a value can never end its literal early: Athena parses each
 * parameter as one expression of a prepared statement, not as SQL text glued into the query.
 */
export function toAthenaLiteral(value: QueryParam): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new QueryParameterError(`parameter ${value} is not a finite number; bind it as a string`);
    return String(value);
  }
  return `'${value.replace(/'/g, "''")}'`;
}

const NUMERIC = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/**
 * Interprets a command-line `--param VALUE`: a plain integer or decimal number binds as a number
 * (so `user_id = ?` works), anything else binds as a string. To compare a numeric-looking value
 * with a varchar column, cast in the SQL (`event_id = CAST(? AS varchar)`).
 */
export function parseCliParam(text: string): QueryParam {
  if (NUMERIC.test(text)) {
    if (!text.includes('.')) {
      const n = BigInt(text);
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    return Number(text);
  }
  return text;
}

/**
 * Counts the `?` placeholders of a statement outside string literals, quoted identifiers and
 * comments, so that a mismatch is reported before the query is sent.
 */
export function countPlaceholders(sql: string): number {
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      i = end < 0 ? sql.length : end; // a doubled quote re-enters the same literal on the next char
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 1;
      continue;
    }
    if (c === '?') n++;
  }
  return n;
}

/** The cost Athena bills for scanning `bytes`: whole megabytes, at least 10 MB, at $5 per TB. */
export function athenaCostUsd(bytes: number): number {
  const billed = Math.max(MIN_BILLED_BYTES, Math.ceil(bytes / MB) * MB);
  return (billed / TB) * PRICE_PER_TB_USD;
}

/** Human-readable byte count (`1.5 MB`). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function stopAndWait(athena: AthenaLike, id: string): Promise<void> {
  await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
  // Wait briefly for the stop to take effect, so that no result is written after we return.
  for (let i = 0, delay = 50; i < 20; i++, delay = Math.min(delay * 2, 500)) {
    const qe = (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution;
    const s = qe?.Status?.State;
    if (s === 'CANCELLED' || s === 'FAILED' || s === 'SUCCEEDED') return;
    await sleep(delay);
  }
}

/**
 * Starts a query and waits for it to finish, without reading its results.
 * @returns the finished QueryExecution (state SUCCEEDED)
 * @throws QueryFailedError, QueryCancelledError, QueryParameterError
 */
export async function executeQuery(opts: RunQueryOptions): Promise<QueryExecution> {
  const { athena, sql, signal } = opts;
  const params = opts.params ?? [];
  const placeholders = countPlaceholders(sql);
  if (placeholders !== params.length)
    throw new QueryParameterError(
      `the SQL has ${placeholders} ? placeholder${placeholders === 1 ? '' : 's'} but ${params.length} parameter${params.length === 1 ? ' was' : 's were'} given; pass one --param per ?`,
    );
  if (signal?.aborted) throw new QueryCancelledError(undefined, false);
  const started = Date.now();
  const start = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      ...(params.length ? { ExecutionParameters: params.map(toAthenaLiteral) } : {}),
      QueryExecutionContext: opts.database || opts.catalog ? { Database: opts.database, Catalog: opts.catalog } : undefined,
      WorkGroup: opts.workgroup,
      ResultConfiguration: opts.outputLocation ? { OutputLocation: opts.outputLocation } : undefined,
    }),
  );
  const id = start.QueryExecutionId;
  if (!id) throw new QueryFailedError('(none)', 'StartQueryExecution returned no QueryExecutionId');

  let delay = opts.pollInitialMs ?? 100;
  const maxDelay = opts.pollMaxMs ?? 2000;
  for (;;) {
    if (signal?.aborted) {
      await stopAndWait(athena, id);
      throw new QueryCancelledError(id, true);
    }
    const qe = (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution ?? {};
    const state = (qe.Status?.State ?? 'QUEUED') as QueryState;
    opts.onState?.(state, Date.now() - started);
    if (state === 'SUCCEEDED') return qe;
    if (state === 'FAILED') {
      const reason = qe.Status?.AthenaError?.ErrorMessage ?? qe.Status?.StateChangeReason ?? 'no reason given';
      throw new QueryFailedError(id, reason, qe.Status?.AthenaError?.ErrorType?.toString());
    }
    if (state === 'CANCELLED') throw new QueryCancelledError(id, false);
    await sleep(delay, signal);
    delay = Math.min(Math.ceil(delay * 1.5), maxDelay);
  }
}

/**
 * Runs one query to completion and returns every row.
 * @throws QueryFailedError with Athena's reason when the query fails
 * @throws QueryCancelledError when `signal` aborts (the query execution is stopped first)
 * @throws QueryParameterError when the number of `?` and of params differ
 */
export async function runQuery(opts: RunQueryOptions): Promise<QueryResult> {
  const qe = await executeQuery(opts);
  const id = qe.QueryExecutionId!;
  const pageSize = Math.min(Math.max(opts.pageSize ?? 1000, 1), 1000);
  const maxRows = opts.maxRows ?? Infinity;
  let columns: QueryColumn[] = [];
  const rows: (string | null)[][] = [];
  let truncated = false;
  let token: string | undefined;
  let first = true;
  const isSelect = (qe.StatementType ?? 'DML') === 'DML';
  do {
    if (opts.signal?.aborted) throw new QueryCancelledError(id, false);
    const page: GetQueryResultsCommandOutput = await opts.athena.send(
      new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: pageSize }),
    );
    const info = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
    if (first) columns = info.map((c) => ({ name: c.Label ?? c.Name ?? '', type: c.Type ?? 'varchar' }));
    let pageRows = (page.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => (d.VarCharValue === undefined ? null : d.VarCharValue)));
    // Athena repeats the column labels as the first row of a SELECT's first page.
    if (first && isSelect && pageRows.length && columns.length && pageRows[0].every((v, i) => v === columns[i]?.name)) pageRows = pageRows.slice(1);
    first = false;
    for (const r of pageRows) {
      if (rows.length >= maxRows) {
        truncated = true;
        break;
      }
      rows.push(r);
    }
    token = page.NextToken;
    if (truncated) break;
  } while (token);
  const scanned = qe.Statistics?.DataScannedInBytes ?? 0;
  return {
    queryExecutionId: id,
    statementType: qe.StatementType,
    columns,
    rows,
    truncated,
    dataScannedBytes: scanned,
    costUsd: athenaCostUsd(scanned),
    engineExecutionMs: qe.Statistics?.EngineExecutionTimeInMillis,
    totalExecutionMs: qe.Statistics?.TotalExecutionTimeInMillis,
    outputLocation: qe.ResultConfiguration?.OutputLocation,
  };
}

/**
 * A state reporter for {@link RunQueryOptions.onState} that writes to a stream (stderr): on a
 * TTY one line rewritten in place (`RUNNING 1.2s`), elsewhere one line per state change.
 * Call `done()` to end the in-place line.
 */
export function stateReporter(stream: NodeJS.WriteStream = process.stderr): { onState: (s: QueryState, ms: number) => void; done: () => void } {
  let last: QueryState | undefined;
  let drawn = false;
  return {
    onState(state, ms) {
      if (stream.isTTY) {
        stream.write(`\r\x1b[2K${state} ${(ms / 1000).toFixed(1)}s`);
        drawn = true;
      } else if (state !== last) {
        stream.write(`${state} ${(ms / 1000).toFixed(1)}s\n`);
      }
      last = state;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
