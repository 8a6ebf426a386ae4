/**
 * `lakeloader query "SQL"`: runs SQL through Athena (the real @aws-sdk/client-athena, against the
 * local endpoint or AWS) with the one query runner, lib/ops/athena.ts: binds `--param` values as
 * ExecutionParameters, shows the state on stderr while polling, prints every row (table, CSV or
 * JSON) on stdout, then the data scanned and its cost at Athena's list price on stderr. Ctrl-C
 * (or `--timeout`) stops the query execution with StopQueryExecution before exiting.
 */
import type { Command } from 'commander';
import { LakeloaderError } from '../../lambdas/core/errors';
import { formatBytes, parseCliParam, QueryCancelledError, runQuery, stateReporter, type QueryResult } from '../ops/athena';
import { queryOptions, type LakeContext } from '../ops/deps';
import { stdio, type CommandIo } from '../ops/io';
import { resolveContext, withContextOptions, type ContextFlags } from './context';
import { formatResult, parseFormat } from './output';

export interface QueryCommandFlags {
  format?: string;
  /** One value per `?`, in order (repeat `--param`). */
  param?: string[];
  /** Milliseconds; the query is stopped after this long. */
  timeout?: string;
}

/** The query ran longer than `--timeout`; it was stopped. */
export class QueryTimeoutError extends LakeloaderError {
  readonly code = 'QUERY_TIMEOUT';
  constructor(queryExecutionId: string | undefined, timeoutMs: number) {
    super(`Athena query ${queryExecutionId ?? ''} did not finish within ${timeoutMs} ms and was stopped; raise --timeout or narrow the query`);
  }
}

/** The statistics line printed on stderr after the rows. */
export function formatQueryStats(r: QueryResult): string {
  return (
    `${r.rows.length} row${r.rows.length === 1 ? '' : 's'}${r.truncated ? ' (truncated)' : ''} · scanned ${formatBytes(r.dataScannedBytes)} · ` +
    `$${r.costUsd.toFixed(6)} at $5/TB (10 MB minimum) · ${r.engineExecutionMs ?? 0} ms engine · ${r.queryExecutionId}\n`
  );
}

/** Collects a repeatable option's values (`--param a --param b`). */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * Runs `lakeloader query`.
 * @returns the exit code: 0, or 130 after Ctrl-C
 * @throws QueryFailedError (Athena's reason), QueryTimeoutError, QueryParameterError
 */
export async function runQueryCommand(ctx: LakeContext, sql: string, flags: QueryCommandFlags, io: CommandIo = stdio): Promise<number> {
  const format = parseFormat(flags.format ?? 'table');
  const timeoutMs = flags.timeout === undefined ? 300_000 : Number(flags.timeout);
  const ac = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    io.err('\nstopping the query (StopQueryExecution)…\n');
    ac.abort();
  };
  process.once('SIGINT', onSigint);
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const reporter = stateReporter();
  try {
    const r = await runQuery({ ...queryOptions(ctx), sql, params: (flags.param ?? []).map(parseCliParam), signal: ac.signal, onState: reporter.onState });
    reporter.done();
    io.out(formatResult({ columns: r.columns.map((c) => c.name), rows: r.rows }, format));
    io.err(formatQueryStats(r));
    return 0;
  } catch (e) {
    reporter.done();
    if (e instanceof QueryCancelledError && e.stoppedByUs) {
      if (interrupted) {
        io.err(`query ${e.queryExecutionId} cancelled\n`);
        return 130;
      }
      throw new QueryTimeoutError(e.queryExecutionId, timeoutMs);
    }
    throw e;
  } finally {
    clearTimeout(timer);
    process.removeListener('SIGINT', onSigint);
  }
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
  ).action(async (sql: string, flags: ContextFlags & QueryCommandFlags & { format: string }) => {
    parseFormat(flags.format);
    process.exitCode = await runQueryCommand(resolveContext(flags), sql, flags);
  });
}
