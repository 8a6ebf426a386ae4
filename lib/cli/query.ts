/**
 * `lakeloader query "SQL"`: runs SQL through Athena (the real @aws-sdk/client-athena, against the
 * local endpoint or AWS): start, poll until done, page through all results, print them as a table,
 * CSV or JSON. {@link runQuery} is the reusable part (the demo and the tests use it). The command
 * itself runs through lib/ops/query-command.ts (ExecutionParameters binding from repeatable
 * `--param`, backoff polling with the state on stderr, cost, Ctrl-C → StopQueryExecution).
 */
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type GetQueryResultsCommandOutput,
} from '@aws-sdk/client-athena';
import type { Command } from 'commander';
import { resolveContext, withContextOptions, type CliContext, type ContextFlags } from './context';
import { parseFormat, type ResultSet } from './output';
import { collect, runQueryCommand } from '../ops/query-command';

/** The query ended FAILED or CANCELLED; `reason` is Athena's StateChangeReason. */
export class QueryFailedError extends Error {
  constructor(
    readonly queryExecutionId: string,
    readonly state: string,
    readonly reason: string,
  ) {
    super(`Athena query ${queryExecutionId} ${state}: ${reason}`);
    this.name = 'QueryFailedError';
  }
}

/** The query did not finish in time (it is stopped). */
export class QueryTimeoutError extends Error {
  constructor(queryExecutionId: string, timeoutMs: number) {
    super(`Athena query ${queryExecutionId} did not finish within ${timeoutMs} ms and was stopped; raise --timeout or narrow the query`);
    this.name = 'QueryTimeoutError';
  }
}

export interface QueryOptions {
  /** @default the context's database */
  database?: string;
  /** @default the context's workgroup */
  workgroup?: string;
  /** Values for `?` placeholders (Athena ExecutionParameters). */
  parameters?: string[];
  /** @default 300000 */
  timeoutMs?: number;
  /** Poll interval while QUEUED/RUNNING. @default 100 */
  pollMs?: number;
}

export interface QueryResult extends ResultSet {
  queryExecutionId: string;
  /** Athena column types (`varchar`, `bigint`, ...), in column order. */
  types: string[];
  dataScannedBytes: number;
  engineExecutionTimeMs: number;
}

/**
 * Runs one query to completion and returns every result row (all pages).
 * @throws QueryFailedError when Athena reports FAILED or CANCELLED; QueryTimeoutError.
 */
export async function runQuery(ctx: CliContext, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  const athena = ctx.athena();
  const start = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      QueryExecutionContext: { Database: options.database ?? ctx.database, Catalog: 'AwsDataCatalog' },
      WorkGroup: options.workgroup ?? ctx.workgroup,
      ...(options.parameters?.length ? { ExecutionParameters: options.parameters } : {}),
    }),
  );
  const id = start.QueryExecutionId!;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  let stats: { DataScannedInBytes?: number; EngineExecutionTimeInMillis?: number } | undefined;
  for (;;) {
    const { QueryExecution: qe } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = qe?.Status?.State;
    if (state === 'SUCCEEDED') {
      stats = qe?.Statistics;
      break;
    }
    if (state === 'FAILED' || state === 'CANCELLED') throw new QueryFailedError(id, state, qe?.Status?.StateChangeReason ?? 'no reason given');
    if (Date.now() > deadline) {
      await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
      throw new QueryTimeoutError(id, timeoutMs);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
  const columns: string[] = [];
  const types: string[] = [];
  const rows: (string | null)[][] = [];
  let token: string | undefined;
  let first = true;
  do {
    const page: GetQueryResultsCommandOutput = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }));
    if (first) {
      for (const c of page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []) {
        columns.push(c.Label ?? c.Name ?? '');
        types.push(c.Type ?? 'varchar');
      }
    }
    const pageRows = (page.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => (d.VarCharValue === undefined ? null : d.VarCharValue)));
    // Athena's first page of a SELECT starts with a header row holding the column names.
    if (first && pageRows.length && columns.length && pageRows[0]!.every((v, i) => v === columns[i])) pageRows.shift();
    rows.push(...pageRows);
    token = page.NextToken;
    first = false;
  } while (token);
  return { queryExecutionId: id, columns, types, rows, dataScannedBytes: stats?.DataScannedInBytes ?? 0, engineExecutionTimeMs: stats?.EngineExecutionTimeInMillis ?? 0 };
}

/** Registers `lakeloader query`. */
export function register(program: Command): void {
  withContextOptions(
    program
      .command('query')
      .description('run SQL through Athena (local endpoint or AWS) and print all result rows')
      .argument('<sql>', 'the SQL (Athena / Trino dialect)')
      .option('--format <format>', 'table, csv (header row then one line per row) or json', 'table')
      .option('--param <value>', 'value for the next ? placeholder (repeat per ?; bound with ExecutionParameters: numbers as numbers, anything else as a string)', collect)
      .option('--timeout <ms>', 'give up (and stop the query) after this many milliseconds', '300000'),
  ).action(async (sql: string, flags: ContextFlags & { format: string; param?: string[]; timeout: string }) => {
    parseFormat(flags.format);
    process.exitCode = await runQueryCommand(resolveContext(flags), sql, flags);
  });
}
