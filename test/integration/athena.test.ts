/**
 * Athena through the real AWS SDK v3 client: query states, failure reasons, ExecutionParameters,
 * result paging, the header row, column types, unregistered partitions staying invisible,
 * projection and JSON tables, Trino functions, and the CSV in the output location. Parquet test
 * files are written with DuckDB's COPY and uploaded with PutObject.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetQueryExecutionCommand,
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetTableMetadataCommand,
  GetWorkGroupCommand,
  ListTableMetadataCommand,
  ListQueryExecutionsCommand,
  ListWorkGroupsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type GetQueryResultsCommandOutput,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import { BatchCreatePartitionCommand, CreateDatabaseCommand, CreateTableCommand } from '@aws-sdk/client-glue';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionInput, quarantineTableInput, tableInput } from '../../lambdas/core/glue-table';
import { definePipeline } from '../../lambdas/core/pipeline';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { remoteEndpoint, startTestEndpoint, type TestEndpoint } from '../support/endpoint';

let env: TestEndpoint;
let bucket: string;
let db: string;
let workGroup: string;
let scratch: string;

const projected = definePipeline({
  name: 'projected_clicks',
  topics: ['pclicks'],
  valueFormat: 'json',
  columns: [
    { name: 'event_id', type: 'string', required: true },
    { name: 'ts', type: 'timestamp', required: true },
  ],
  partitioning: { by: 'eventTime', source: 'ts', granularity: 'day' },
  partitionRegistration: 'projection',
  format: 'hive',
});

/** Writes a Parquet file with DuckDB from a SELECT and uploads it. */
async function putParquet(key: string, select: string): Promise<number> {
  const file = join(scratch, `${Math.random().toString(36).slice(2)}.parquet`);
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  con.closeSync();
  inst.closeSync();
  const body = await readFile(file);
  await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return body.length;
}

/** Rows for hour HH: `n` events with ids `<dt>-<hh>-<i>`, user_id = i, amount = i / 2. */
const hourRows = (dt: string, hh: string, n: number, extra = '') => `
  SELECT '${dt}-${hh}-' || i AS event_id, i::BIGINT AS user_id, 'click' AS event_type,
         TIMESTAMP '${dt} ${hh}:00:00' + to_seconds(i) AS ts, i / 2 AS amount, 'DE' AS country,
         MAP {'k': 'v' || i} AS props, 'clicks' AS _topic, 0::INTEGER AS _partition, i::BIGINT AS _offset ${extra}
  FROM range(${n}) t(i)`;

async function runQuery(sql: string, opts: { params?: string[]; database?: string | null; workGroup?: string } = {}): Promise<QueryExecution> {
  const { QueryExecutionId } = await env.athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: opts.workGroup ?? workGroup,
      ...(opts.database === null ? {} : { QueryExecutionContext: { Database: opts.database ?? db } }),
      ...(opts.params ? { ExecutionParameters: opts.params } : {}),
    }),
  );
  for (;;) {
    const { QueryExecution: q } = await env.athena.send(new GetQueryExecutionCommand({ QueryExecutionId }));
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(q!.Status!.State!)) return q!;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs a query that must succeed and returns all rows (header first) as arrays of strings/nulls. */
async function rows(sql: string, opts: Parameters<typeof runQuery>[1] = {}): Promise<(string | null)[][]> {
  const q = await runQuery(sql, opts);
  if (q.Status?.State !== 'SUCCEEDED') throw new Error(`query failed: ${q.Status?.StateChangeReason}`);
  const out: (string | null)[][] = [];
  let token: string | undefined;
  do {
    const r: GetQueryResultsCommandOutput = await env.athena.send(new GetQueryResultsCommand({ QueryExecutionId: q.QueryExecutionId, NextToken: token }));
    out.push(...r.ResultSet!.Rows!.map((row) => row.Data!.map((d) => d.VarCharValue ?? null)));
    token = r.NextToken;
  } while (token);
  return out;
}

let registeredBytes = 0;

beforeAll(async () => {
  env = await startTestEndpoint();
  scratch = await mkdtemp(join(tmpdir(), 'lakeloader-athena-test-'));
  bucket = env.unique('athena-lake');
  db = env.unique('athena_db').replace(/-/g, '_');
  workGroup = env.unique('wg');
  await env.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await env.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: db } }));
  await env.athena.send(new CreateWorkGroupCommand({ Name: workGroup, Configuration: { ResultConfiguration: { OutputLocation: `s3://${bucket}/athena-results/` } } }));
  await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: tableInput(clickstream, bucket) }));
  await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: quarantineTableInput(clickstream, bucket) }));
  await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: tableInput(projected, bucket) }));
  await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: { ...tableInput(clickstream, bucket), Name: 'empty_clicks' } }));

  // Two registered hours; one file lacks `country` (reads as NULL) and has an extra column.
  registeredBytes += await putParquet('tables/clickstream/dt=2026-01-01/hour=00/part-a.parquet', hourRows('2026-01-01', '00', 100));
  registeredBytes += await putParquet(
    'tables/clickstream/dt=2026-01-01/hour=01/part-b.parquet',
    `SELECT * EXCLUDE (country) FROM (${hourRows('2026-01-01', '01', 50, `, 'extra' AS not_in_glue`)})`,
  );
  registeredBytes += await putParquet(
    'tables/clickstream/dt=2026-01-01/hour=01/part-c.parquet',
    `SELECT 'O''Brien; DROP TABLE x; --' AS event_id, 7::BIGINT AS user_id, TIMESTAMP '2026-01-01 01:30:00.123' AS ts`,
  );
  await env.glue.send(
    new BatchCreatePartitionCommand({
      DatabaseName: db,
      TableName: 'clickstream',
      PartitionInputList: [
        partitionInput(clickstream, bucket, ['2026-01-01', '00'], 'dt=2026-01-01/hour=00'),
        partitionInput(clickstream, bucket, ['2026-01-01', '01'], 'dt=2026-01-01/hour=01'),
      ],
    }),
  );
  // Written but never registered: invisible.
  await putParquet('tables/clickstream/dt=2026-01-01/hour=02/part-d.parquet', hourRows('2026-01-01', '02', 1000));
  // Projection table: no partitions registered, files found through the template.
  await putParquet('tables/projected_clicks/dt=2026-02-01/part-1.parquet', `SELECT 'p' || i AS event_id, TIMESTAMP '2026-02-01' AS ts FROM range(3) t(i)`);
  await putParquet('tables/projected_clicks/dt=2026-02-02/part-1.parquet', `SELECT 'q' || i AS event_id, TIMESTAMP '2026-02-02' AS ts FROM range(4) t(i)`);
  // Quarantine NDJSON.
  const line = (offset: number, error: string) =>
    JSON.stringify({ pipeline: 'clickstream', topic: 'clicks', kafka_partition: 0, kafka_offset: offset, kafka_timestamp: 1767225600000, timestamp_type: 'CREATE_TIME', key_base64: null, value_base64: 'e30=', headers: [{ key: 'h', value_base64: 'AQ==' }], stage: 'conform', error, loader_version: '0.1.0' });
  await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'quarantine/clickstream/clicks-0-1.ndjson', Body: `${line(5, 'user_id: not a bigint')}\n${line(9, 'ts: missing')}\n` }));
}, 60_000);

afterAll(async () => {
  await env?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('workgroups', () => {
  it('has primary and the created workgroup with its output location', async () => {
    const list = await env.athena.send(new ListWorkGroupsCommand({}));
    expect(list.WorkGroups?.map((w) => w.Name)).toEqual(expect.arrayContaining(['primary', workGroup]));
    const wg = await env.athena.send(new GetWorkGroupCommand({ WorkGroup: workGroup }));
    expect(wg.WorkGroup?.Configuration?.ResultConfiguration?.OutputLocation).toBe(`s3://${bucket}/athena-results/`);
  });
});

describe('catalog metadata', () => {
  it('lists and describes Glue tables through Athena', async () => {
    const list = await env.athena.send(new ListTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: db }));
    expect(list.TableMetadataList?.map((t) => t.Name).sort()).toEqual(['clickstream', 'clickstream_quarantine', 'empty_clicks', 'projected_clicks']);
    const t = await env.athena.send(new GetTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: db, TableName: 'clickstream' }));
    expect(t.TableMetadata?.PartitionKeys?.map((k) => k.Name)).toEqual(['dt', 'hour']);
    expect(t.TableMetadata?.Columns?.find((c) => c.Name === 'props')?.Type).toBe('map<string,string>');
  });
});

describe('query executions', () => {
  it('succeeds with statistics: data scanned = bytes of the registered files read', async () => {
    const q = await runQuery('SELECT count(*) AS n FROM clickstream');
    expect(q.Status?.State).toBe('SUCCEEDED');
    expect(q.StatementType).toBe('DML');
    expect(q.Status?.SubmissionDateTime).toBeInstanceOf(Date);
    expect(q.Status?.CompletionDateTime).toBeInstanceOf(Date);
    expect(q.Statistics?.TotalExecutionTimeInMillis).toBeGreaterThanOrEqual(q.Statistics?.EngineExecutionTimeInMillis ?? 0);
    if (env.isLocal) expect(q.Statistics?.DataScannedInBytes).toBe(registeredBytes);
    expect(q.ResultConfiguration?.OutputLocation).toBe(`s3://${bucket}/athena-results/${q.QueryExecutionId}.csv`);
  });

  it('sees only registered partitions (an unregistered partition stays invisible)', async () => {
    const r = await rows('SELECT dt, hour, count(*) AS n, sum(user_id) AS s FROM clickstream GROUP BY dt, hour ORDER BY hour');
    expect(r).toEqual([
      ['dt', 'hour', 'n', 's'],
      ['2026-01-01', '00', '100', String((99 * 100) / 2)],
      ['2026-01-01', '01', '51', String((49 * 50) / 2 + 7)],
    ]);
  });

  it('reads a column missing from a file as NULL and ignores columns not in Glue', async () => {
    const r = await rows(`SELECT hour, count(country) AS with_country, count(*) AS n FROM "${db}"."clickstream" GROUP BY hour ORDER BY hour`, { database: null });
    expect(r.slice(1)).toEqual([
      ['00', '100', '100'],
      ['01', '0', '51'],
    ]);
  });

  it('resolves db.table, awsdatacatalog.db.table and the context database', async () => {
    const a = await rows(`SELECT count(*) FROM ${db}.clickstream`, { database: null });
    const b = await rows(`SELECT count(*) FROM awsdatacatalog.${db}.clickstream`, { database: null });
    const c = await rows('SELECT count(*) FROM clickstream');
    expect(a[1]).toEqual(['151']);
    expect(b[1]).toEqual(['151']);
    expect(c[1]).toEqual(['151']);
  });

  it('returns the header row and Athena column types', async () => {
    const q = await runQuery(`
      SELECT event_id, user_id, ts, amount, props, dt, _partition,
             CAST(1.5 AS DECIMAL(10,2)) AS dec, true AS b, DATE '2026-01-02' AS d, ARRAY[1, 2] AS arr,
             CAST(ROW(1, 'x') AS ROW(a INTEGER, s VARCHAR)) AS r, CAST(NULL AS VARCHAR) AS nothing
      FROM clickstream WHERE event_id = '2026-01-01-00-3'`);
    expect(q.Status?.StateChangeReason).toBeUndefined();
    const r = await env.athena.send(new GetQueryResultsCommand({ QueryExecutionId: q.QueryExecutionId }));
    const info = r.ResultSet!.ResultSetMetadata!.ColumnInfo!;
    expect(info.map((c) => [c.Name, c.Type])).toEqual([
      ['event_id', 'varchar'], ['user_id', 'bigint'], ['ts', 'timestamp'], ['amount', 'double'], ['props', 'map'], ['dt', 'varchar'],
      ['_partition', 'integer'], ['dec', 'decimal'], ['b', 'boolean'], ['d', 'date'], ['arr', 'array'], ['r', 'row'], ['nothing', 'varchar'],
    ]);
    expect(info.find((c) => c.Name === 'dec')).toMatchObject({ Precision: 10, Scale: 2 });
    const [header, row] = r.ResultSet!.Rows!.map((x) => x.Data!.map((d) => d.VarCharValue));
    expect(header).toEqual(info.map((c) => c.Name));
    expect(row).toEqual(['2026-01-01-00-3', '3', '2026-01-01 00:00:03.000', '1.5', '{k=v3}', '2026-01-01', '0', '1.50', 'true', '2026-01-02', '[1, 2]', '{a=1, s=x}', undefined]);
  });

  it('refuses SQL that does not parse at StartQueryExecution, with Trino\'s position (as Athena does)', async () => {
    const start = (q: string) => env.athena.send(new StartQueryExecutionCommand({ QueryString: q, WorkGroup: workGroup, QueryExecutionContext: { Database: db } }));
    await expect(start('SELEC count(*) FROM clickstream')).rejects.toMatchObject({ name: 'InvalidRequestException', message: expect.stringMatching(/^line 1:1: mismatched input 'SELEC'/) });
    await expect(start('SELECT a,\n  b FROM WHERE x')).rejects.toThrow(/^line 2:10: mismatched input 'WHERE'/);
  });

  it('fails a query with Athena\'s error names and wording, not DuckDB\'s', async () => {
    const missing = await runQuery('SELECT no_such_column FROM clickstream');
    expect(missing.Status?.State).toBe('FAILED');
    expect(missing.Status?.StateChangeReason).toBe("COLUMN_NOT_FOUND: line 1:8: Column 'no_such_column' cannot be resolved or requester is not authorized to access requested resources");
    expect(missing.Status?.AthenaError).toMatchObject({ ErrorCategory: 2 });
    const table = await runQuery('SELECT * FROM nosuch');
    expect(table.Status?.StateChangeReason).toBe(`TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.${db}.nosuch' does not exist`);
    expect(table.Status?.StateChangeReason).not.toMatch(/Did you mean|pg_/);
    await expect(env.athena.send(new GetQueryResultsCommand({ QueryExecutionId: missing.QueryExecutionId }))).rejects.toThrow(/failed/i);
  });

  it('binds ExecutionParameters safely: a value with a quote and a semicolon is data, not SQL', async () => {
    const hit = await rows('SELECT event_id, user_id FROM clickstream WHERE event_id = ? AND user_id = ?', { params: ["'O''Brien; DROP TABLE x; --'", '7'] });
    expect(hit).toEqual([['event_id', 'user_id'], ["O'Brien; DROP TABLE x; --", '7']]);
    const miss = await rows('SELECT count(*) AS n FROM clickstream WHERE event_id = ?', { params: ["'x''; SELECT 1; --'"] });
    expect(miss[1]).toEqual(['0']);
    const typed = await rows('SELECT count(*) AS n FROM clickstream WHERE ts >= ? AND dt = ?', { params: ["TIMESTAMP '2026-01-01 01:00:00'", "'2026-01-01'"] });
    expect(typed[1]).toEqual(['51']);
    const wrongCount = await runQuery('SELECT ? AS a', { params: [] });
    expect(wrongCount.Status?.State).toBe('FAILED');
  });

  it('pages results over more than 1000 rows, the header first, 1000 rows a page at most', async () => {
    const q = await runQuery('SELECT x FROM UNNEST(sequence(1, 2500)) AS t(x) ORDER BY x');
    expect(q.Status?.State).toBe('SUCCEEDED');
    const pages: (string | undefined)[][] = [];
    let token: string | undefined;
    do {
      const r: GetQueryResultsCommandOutput = await env.athena.send(new GetQueryResultsCommand({ QueryExecutionId: q.QueryExecutionId, NextToken: token, MaxResults: 1000 }));
      pages.push(r.ResultSet!.Rows!.map((row) => row.Data![0]!.VarCharValue));
      token = r.NextToken;
    } while (token);
    expect(pages.map((p) => p.length)).toEqual([1000, 1000, 501]);
    const all = pages.flat();
    expect(all[0]).toBe('x');
    expect(all.slice(1)).toEqual(Array.from({ length: 2500 }, (_, i) => String(i + 1)));
    await expect(env.athena.send(new GetQueryResultsCommand({ QueryExecutionId: q.QueryExecutionId, MaxResults: 1001 }))).rejects.toThrow();
  });

  it('writes the result as Athena CSV (all values quoted, nulls empty) to the output location', async () => {
    const q = await runQuery(`SELECT 'a"b' AS s, CAST(NULL AS BIGINT) AS n, 42 AS i, 'x,y' AS c`);
    const { bucket: b, key } = (() => {
      const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(q.ResultConfiguration!.OutputLocation!)!;
      return { bucket: m[1]!, key: m[2]! };
    })();
    const obj = await env.s3.send(new GetObjectCommand({ Bucket: b, Key: key }));
    expect(await obj.Body!.transformToString()).toBe('"s","n","i","c"\n"a""b",,"42","x,y"\n');
  });

  it('queries a projection table from the files that match the template', async () => {
    const r = await rows('SELECT dt, count(*) AS n FROM projected_clicks GROUP BY dt ORDER BY dt');
    expect(r).toEqual([['dt', 'n'], ['2026-02-01', '3'], ['2026-02-02', '4']]);
  });

  it('queries the JSON quarantine table, including nested headers', async () => {
    const r = await rows('SELECT kafka_offset, error, headers[1].key AS h FROM clickstream_quarantine ORDER BY kafka_offset');
    expect(r).toEqual([['kafka_offset', 'error', 'h'], ['5', 'user_id: not a bigint', 'h'], ['9', 'ts: missing', 'h']]);
  });

  it('queries an empty table as a typed empty relation', async () => {
    const r = await rows('SELECT count(*) AS n, max(ts) AS t FROM empty_clicks');
    expect(r).toEqual([['n', 't'], ['0', null]]);
  });

  it('provides Trino functions DuckDB lacks', async () => {
    const r = await rows(`
      SELECT date_format(TIMESTAMP '2026-03-04 05:06:07', '%Y-%m-%d %H:%i:%s') AS f,
             element_at(ARRAY[10, 20, 30], 2) AS e, element_at(MAP(ARRAY['a'], ARRAY[1]), 'a') AS m,
             cardinality(ARRAY[1, 2, 3]) AS c, approx_distinct(x) AS ad,
             to_unixtime(from_unixtime(1767225600)) AS u, regexp_like('abc123', '[0-9]+') AS rl,
             json_extract_scalar('{"a":{"b":"z"}}', '$.a.b') AS j,
             date_add('hour', 3, TIMESTAMP '2026-01-01 00:00:00') AS da,
             date_diff('day', DATE '2026-01-01', DATE '2026-01-31') AS dd,
             day_of_week(DATE '2026-01-04') AS dow, regexp_replace('a-b-c', '-', '+') AS rr,
             to_iso8601(DATE '2026-01-02') AS iso
      FROM UNNEST(ARRAY[1, 2, 2, 3]) AS t(x)`);
    expect(r[1]).toEqual(['2026-03-04 05:06:07', '20', '1', '3', '3', '1.7672256E9', 'true', 'z', '2026-01-01 03:00:00.000', '30', '7', 'a+b+c', '2026-01-02']);
  });
});

describe('lifecycle', () => {
  it('stops a running query (CANCELLED) and lists and batch-gets executions', async () => {
    const { QueryExecutionId } = await env.athena.send(
      new StartQueryExecutionCommand({ QueryString: 'SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b', WorkGroup: workGroup }),
    );
    await env.athena.send(new StopQueryExecutionCommand({ QueryExecutionId }));
    let state: string | undefined;
    for (let i = 0; i < 400; i++) {
      state = (await env.athena.send(new GetQueryExecutionCommand({ QueryExecutionId }))).QueryExecution?.Status?.State;
      if (state !== 'RUNNING' && state !== 'QUEUED') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(state).toBe('CANCELLED');
    const list = await env.athena.send(new ListQueryExecutionsCommand({ WorkGroup: workGroup, MaxResults: 50 }));
    expect(list.QueryExecutionIds?.[0]).toBe(QueryExecutionId);
    const batch = await env.athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: [QueryExecutionId!, '00000000-0000-0000-0000-000000000000'] }));
    expect(batch.QueryExecutions?.map((q) => q.QueryExecutionId)).toEqual([QueryExecutionId]);
    expect(batch.UnprocessedQueryExecutionIds?.map((u) => u.QueryExecutionId)).toEqual(['00000000-0000-0000-0000-000000000000']);
  });

  it.skipIf(remoteEndpoint)('moves QUEUED → RUNNING → CANCELLED; a third query waits QUEUED while two run (local concurrency 2)', async () => {
    const slow = 'SELECT sum(a.range * b.range) FROM range(300000) a, range(300000) b';
    const start = async () => (await env.athena.send(new StartQueryExecutionCommand({ QueryString: slow, WorkGroup: workGroup }))).QueryExecutionId!;
    const state = async (id: string) => (await env.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!.Status!.State;
    const ids = [await start(), await start(), await start()];
    const until = async (id: string, want: string) => {
      for (let i = 0; i < 800 && (await state(id)) !== want; i++) await new Promise((r) => setTimeout(r, 25));
      return state(id);
    };
    expect(await until(ids[0]!, 'RUNNING')).toBe('RUNNING');
    expect(await until(ids[1]!, 'RUNNING')).toBe('RUNNING');
    expect(await state(ids[2]!)).toBe('QUEUED');
    for (const id of ids) await env.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    for (const id of ids) expect(await until(id, 'CANCELLED')).toBe('CANCELLED');
    const q = (await env.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: ids[0] }))).QueryExecution!;
    expect(q.Status?.StateChangeReason).toMatch(/cancel/i);
    expect(q.Status?.CompletionDateTime).toBeInstanceOf(Date);
  });

  it.skipIf(remoteEndpoint)('keeps finished executions and pages their results after a restart (rows re-read from the CSV)', async () => {
    const q = await runQuery(`SELECT x, CASE WHEN x % 2 = 0 THEN NULL ELSE 'v,"' || x END AS s FROM UNNEST(sequence(1, 1200)) AS t(x) ORDER BY x`);
    const page = (token?: string) => env.athena.send(new GetQueryResultsCommand({ QueryExecutionId: q.QueryExecutionId, NextToken: token }));
    const all = async () => {
      const out: (string | undefined)[][] = [];
      let token: string | undefined;
      do {
        const r = await page(token);
        out.push(...r.ResultSet!.Rows!.map((row) => row.Data!.map((d) => d.VarCharValue)));
        token = r.NextToken;
      } while (token);
      return out;
    };
    const first = await page();
    const expected = await all();
    expect(expected).toHaveLength(1201);
    expect(expected[2]).toEqual(['2', undefined]);
    expect(expected[3]).toEqual(['3', 'v,"3']);
    await env.restart();
    const again = await env.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: q.QueryExecutionId }));
    expect(again.QueryExecution?.Status?.State).toBe('SUCCEEDED');
    expect(await all()).toEqual(expected);
    expect((await page()).ResultSet?.ResultSetMetadata).toEqual(first.ResultSet?.ResultSetMetadata);
  });

  it('requires an output location when the workgroup has none', async () => {
    await expect(env.athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'primary' }))).rejects.toThrow(/output location/i);
  });
});
