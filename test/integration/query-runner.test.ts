/**
 * The query runner's protocol handling against a scripted Athena (the wire-level run against the
 * local endpoint is in query-local.test.ts): binding, polling, paging, failure, Ctrl-C.
 */
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import { describe, expect, it } from 'vitest';
import {
  athenaCostUsd,
  countPlaceholders,
  parseCliParam,
  QueryCancelledError,
  QueryFailedError,
  QueryParameterError,
  runQuery,
  toAthenaLiteral,
  type AthenaLike,
} from '../../lib/ops/athena';

interface Script {
  /** States returned by successive GetQueryExecution calls; the last repeats. */
  states: string[];
  reason?: string;
  rows?: string[][];
  scanned?: number;
}

function fakeAthena(script: Script) {
  const calls: { name: string; input: unknown }[] = [];
  let polls = 0;
  let stopped = false;
  const header = ['a', 'b'];
  const all = [header, ...(script.rows ?? [])];
  const client: AthenaLike = {
    send: (async (cmd: { input: unknown }) => {
      calls.push({ name: cmd.constructor.name, input: cmd.input });
      if (cmd instanceof StartQueryExecutionCommand) return { QueryExecutionId: 'q-1' };
      if (cmd instanceof StopQueryExecutionCommand) {
        stopped = true;
        return {};
      }
      if (cmd instanceof GetQueryExecutionCommand) {
        const state = stopped ? 'CANCELLED' : script.states[Math.min(polls++, script.states.length - 1)];
        return {
          QueryExecution: {
            QueryExecutionId: 'q-1',
            StatementType: 'DML',
            Status: { State: state, StateChangeReason: state === 'FAILED' ? script.reason : undefined },
            Statistics: { DataScannedInBytes: script.scanned ?? 0 },
          },
        };
      }
      if (cmd instanceof GetQueryResultsCommand) {
        const input = cmd.input;
        const start = input.NextToken ? Number(input.NextToken) : 0;
        const size = input.MaxResults ?? 1000;
        const page = all.slice(start, start + size);
        return {
          ResultSet: {
            ResultSetMetadata: { ColumnInfo: header.map((h) => ({ Name: h, Label: h, Type: 'varchar' })) },
            Rows: page.map((r) => ({ Data: r.map((v) => (v === '\0' ? {} : { VarCharValue: v })) })),
          },
          NextToken: start + size < all.length ? String(start + size) : undefined,
        };
      }
      throw new Error(`unexpected command ${cmd.constructor.name}`);
    }) as AthenaLike['send'],
  };
  return { client, calls };
}

describe('parameter binding', () => {
  it('quotes strings so that quotes and semicolons stay inside the literal', () => {
    expect(toAthenaLiteral("O'Brien'; DROP TABLE x; --")).toBe("'O''Brien''; DROP TABLE x; --'");
    expect(toAthenaLiteral(42)).toBe('42');
    expect(toAthenaLiteral(12345678901234567890n)).toBe('12345678901234567890');
    expect(toAthenaLiteral(null)).toBe('NULL');
    expect(toAthenaLiteral(true)).toBe('TRUE');
    expect(() => toAthenaLiteral(Number.NaN)).toThrow(QueryParameterError);
  });
  it('reads CLI values: plain numbers bind as numbers, everything else as strings', () => {
    expect(parseCliParam('42')).toBe(42);
    expect(parseCliParam('-1.5')).toBe(-1.5);
    expect(parseCliParam('9007199254740993')).toBe(9007199254740993n);
    expect(parseCliParam('007')).toBe('007');
    expect(parseCliParam("a'b;c")).toBe("a'b;c");
  });
  it('counts placeholders outside literals, quoted names and comments', () => {
    expect(countPlaceholders("SELECT '?', \"?\" FROM t WHERE a = ? -- ?\n AND b = ? /* ? */")).toBe(2);
    expect(countPlaceholders("SELECT 'it''s ?' WHERE x = ?")).toBe(1);
  });
  it('sends each parameter as one ExecutionParameters entry and refuses a count mismatch', async () => {
    const { client, calls } = fakeAthena({ states: ['SUCCEEDED'], rows: [] });
    await runQuery({ athena: client, sql: 'SELECT * FROM t WHERE a = ? AND b = ?', params: ["x';y", 7], pollInitialMs: 1 });
    const start = calls.find((c) => c.name === 'StartQueryExecutionCommand')!.input as StartQueryExecutionCommandInput;
    expect(start.QueryString).toBe('SELECT * FROM t WHERE a = ? AND b = ?');
    expect(start.ExecutionParameters).toEqual(["'x'';y'", '7']);
    await expect(runQuery({ athena: client, sql: 'SELECT ?', params: [] })).rejects.toBeInstanceOf(QueryParameterError);
  });
});

describe('running', () => {
  it('polls through QUEUED and RUNNING, reports each state, and pages through every row', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => [String(i), i % 2 ? 'x' : '\0']);
    const { client, calls } = fakeAthena({ states: ['QUEUED', 'RUNNING', 'RUNNING', 'SUCCEEDED'], rows, scanned: 3 * 1024 * 1024 });
    const seen: string[] = [];
    const r = await runQuery({ athena: client, sql: 'SELECT 1', pageSize: 10, pollInitialMs: 1, pollMaxMs: 2, onState: (s) => seen.push(s) });
    expect(seen).toEqual(['QUEUED', 'RUNNING', 'RUNNING', 'SUCCEEDED']);
    expect(r.columns.map((c) => c.name)).toEqual(['a', 'b']);
    expect(r.rows).toHaveLength(25);
    expect(r.rows[0]).toEqual(['0', null]);
    expect(r.rows[24]).toEqual(['24', null]);
    expect(calls.filter((c) => c.name === 'GetQueryResultsCommand')).toHaveLength(3);
    expect(r.dataScannedBytes).toBe(3 * 1024 * 1024);
    expect(r.costUsd).toBeCloseTo(athenaCostUsd(10 * 1024 * 1024), 12);
  });
  it('raises Athena reason when the query fails', async () => {
    const { client } = fakeAthena({ states: ['RUNNING', 'FAILED'], reason: "TABLE_NOT_FOUND: line 1:15: Table 'db.nope' does not exist" });
    const err = await runQuery({ athena: client, sql: 'SELECT * FROM nope', pollInitialMs: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(QueryFailedError);
    expect(err.message).toContain("Table 'db.nope' does not exist");
  });
  it('stops the query execution when aborted', async () => {
    const { client, calls } = fakeAthena({ states: ['RUNNING'] });
    const ac = new AbortController();
    const p = runQuery({ athena: client, sql: 'SELECT 1', signal: ac.signal, pollInitialMs: 5, onState: () => ac.abort() });
    await expect(p).rejects.toBeInstanceOf(QueryCancelledError);
    expect(calls.some((c) => c.name === 'StopQueryExecutionCommand')).toBe(true);
  });
});

describe('cost', () => {
  it('bills whole megabytes with a 10 MB minimum at $5 per TB', () => {
    expect(athenaCostUsd(0)).toBeCloseTo((10 / 1024 / 1024) * 5, 15);
    expect(athenaCostUsd(1024 ** 4)).toBeCloseTo(5, 12);
    expect(athenaCostUsd(10 * 1024 * 1024 + 1)).toBeCloseTo((11 / 1024 / 1024) * 5, 15);
  });
});
