/**
 * Athena conformance: what a data engineer's tools do against Athena, with the real AWS SDK v3
 * clients and, where installed, the AWS CLI v1 (reported skipped when absent). DDL and DML run
 * against Glue (CREATE EXTERNAL TABLE for Parquet, JSON and CSV, CTAS, INSERT INTO, ALTER TABLE
 * ADD/DROP PARTITION, MSCK REPAIR TABLE, SHOW …, DROP), Athena's error names and positions, the
 * result's `.csv.metadata` (decoded with protobufjs, not our decoder), partition projection
 * exactly as Athena applies it, and the Trino functions the translation adds.
 *
 * Every case only talks to the endpoint through its APIs, so the same file measures another
 * endpoint: `LAKELOADER_TEST_ENDPOINT=http://127.0.0.1:4566 npx vitest run test/conformance/athena.test.ts`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateWorkGroupCommand, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand, type QueryExecution } from '@aws-sdk/client-athena';
import { CreateDatabaseCommand, GetPartitionsCommand, GetTableCommand } from '@aws-sdk/client-glue';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEndpoint, type TestEndpoint } from '../support/endpoint';

const run = promisify(execFile);
/** The AWS CLI is an optional client: its cases are reported skipped when it is not installed. */
const hasAwsCli = spawnSync('aws', ['--version']).status === 0;

let env: TestEndpoint;
let bucket: string;
let db: string;
let wg: string;
let scratch: string;

async function parquet(select: string): Promise<Buffer> {
  const file = join(scratch, `${Math.random().toString(36).slice(2)}.parquet`);
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  con.closeSync();
  inst.closeSync();
  return readFile(file);
}

const put = (key: string, body: Buffer | string) => env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

async function submit(sql: string): Promise<string> {
  const r = await env.athena.send(new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: wg, QueryExecutionContext: { Database: db } }));
  return r.QueryExecutionId!;
}

async function waitFor(id: string): Promise<QueryExecution> {
  for (let i = 0; ; i++) {
    const q = (await env.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!;
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(q.Status!.State!)) return q;
    await new Promise((r) => setTimeout(r, i < 20 ? 25 : 200));
  }
}

const exec = async (sql: string) => waitFor(await submit(sql));

/** Runs a statement that must succeed; returns its rows (a query's header row first). */
async function rows(sql: string): Promise<(string | null)[][]> {
  const q = await exec(sql);
  if (q.Status?.State !== 'SUCCEEDED') throw new Error(`${sql}\n→ ${q.Status?.State}: ${q.Status?.StateChangeReason}`);
  const out: (string | null)[][] = [];
  let token: string | undefined;
  do {
    const r = await env.athena.send(new GetQueryResultsCommand({ QueryExecutionId: q.QueryExecutionId, NextToken: token }));
    out.push(...r.ResultSet!.Rows!.map((row) => row.Data!.map((d) => d.VarCharValue ?? null)));
    token = r.NextToken;
  } while (token);
  return out;
}

/** The failure reason of a statement that must fail while running. */
async function failure(sql: string): Promise<string> {
  const q = await exec(sql);
  expect(q.Status?.State).toBe('FAILED');
  return q.Status!.StateChangeReason!;
}

beforeAll(async () => {
  env = await startTestEndpoint();
  scratch = await mkdtemp(join(tmpdir(), 'lakeloader-athena-conf-'));
  bucket = env.unique('athena-conf');
  db = env.unique('conf').replace(/-/g, '_');
  wg = env.unique('conf-wg');
  await env.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await env.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: db } }));
  await env.athena.send(new CreateWorkGroupCommand({ Name: wg, Configuration: { ResultConfiguration: { OutputLocation: `s3://${bucket}/results/` } } }));
  for (const [dt, n] of [['2026-01-01', 3], ['2026-01-02', 4], ['2026-01-03', 5]] as const) {
    await put(`events/dt=${dt}/part-0.parquet`, await parquet(`SELECT 'e' || i AS id, i::BIGINT AS n, MAP {'k': 'v'} AS props FROM range(${n}) t(i)`));
  }
  await put('json/a.json', '{"id":"a","n":1,"tags":["x","y"]}\n{"id":"b","n":2,"tags":[]}\n');
  await put('csv/a.csv', 'id,n,price\nx,1,1.5\ny,two,2.5\n');
  for (const dt of ['2019-12-31', '2020-01-01', '2026-12-01']) await put(`proj/day=${dt}/f.parquet`, await parquet(`SELECT '${dt}' AS id`));
  for (const h of ['7', '07', '23']) await put(`hours/h=${h}/f.parquet`, await parquet(`SELECT '${h}' AS id`));
  for (const c of ['DE', 'FR']) await put(`inj/country=${c}/f.parquet`, await parquet(`SELECT '${c}' AS id`));
  await put('tpl/2026/12/03/f.parquet', await parquet(`SELECT 'tpl' AS id`));
}, 120_000);

afterAll(async () => {
  await env?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('DDL as Athena runs it against Glue (SDK v3)', () => {
  it('CREATE EXTERNAL TABLE (Parquet, PARTITIONED BY, LOCATION, TBLPROPERTIES) creates the Glue table', async () => {
    await rows(`CREATE EXTERNAL TABLE events (id string COMMENT 'event id', n bigint, props map<string,string>)
      PARTITIONED BY (dt string) STORED AS PARQUET LOCATION 's3://${bucket}/events/' TBLPROPERTIES ('parquet.compression'='SNAPPY')`);
    const t = (await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'events' }))).Table!;
    expect(t.StorageDescriptor?.Columns).toEqual([{ Name: 'id', Type: 'string', Comment: 'event id' }, { Name: 'n', Type: 'bigint' }, { Name: 'props', Type: 'map<string,string>' }]);
    expect(t.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string' }]);
    expect(t.StorageDescriptor?.SerdeInfo?.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect(t.StorageDescriptor?.Location).toBe(`s3://${bucket}/events/`);
    expect(t.Parameters).toMatchObject({ EXTERNAL: 'TRUE', 'parquet.compression': 'SNAPPY' });
    expect(t.TableType).toBe('EXTERNAL_TABLE');
  });

  it('ALTER TABLE ADD PARTITION makes a partition visible; SHOW PARTITIONS lists it without a header row', async () => {
    expect(await rows('SELECT count(*) FROM events')).toEqual([['_col0'], ['0']]);
    await rows(`ALTER TABLE events ADD IF NOT EXISTS PARTITION (dt = '2026-01-01') LOCATION 's3://${bucket}/events/dt=2026-01-01/'`);
    expect(await rows('SELECT dt, count(*) AS c FROM events GROUP BY dt')).toEqual([['dt', 'c'], ['2026-01-01', '3']]);
    expect(await rows('SHOW PARTITIONS events')).toEqual([['dt=2026-01-01']]);
  });

  it('MSCK REPAIR TABLE registers the partitions found under the location in Glue', async () => {
    await rows('MSCK REPAIR TABLE events');
    const parts = (await env.glue.send(new GetPartitionsCommand({ DatabaseName: db, TableName: 'events' }))).Partitions!;
    expect(parts.map((p) => p.Values![0]).sort()).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
    expect(await rows('SELECT count(*) AS c FROM events')).toEqual([['c'], ['12']]);
  });

  it('ALTER TABLE DROP PARTITION hides it again (the data stays)', async () => {
    await rows("ALTER TABLE events DROP PARTITION (dt = '2026-01-03')");
    expect(await rows('SELECT count(*) AS c FROM events')).toEqual([['c'], ['7']]);
    expect(await rows('SHOW PARTITIONS events')).toEqual([['dt=2026-01-01'], ['dt=2026-01-02']]);
  });

  it('CREATE EXTERNAL TABLE over JSON (OpenX SerDe) and CSV (ROW FORMAT DELIMITED, skip.header.line.count) reads the files', async () => {
    await rows(`CREATE EXTERNAL TABLE j (id string, n int, tags array<string>) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://${bucket}/json/'`);
    expect(await rows('SELECT id, n, cardinality(tags) AS t FROM j ORDER BY id')).toEqual([['id', 'n', 't'], ['a', '1', '2'], ['b', '2', '0']]);
    await rows(`CREATE EXTERNAL TABLE c (id string, n int, price double) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' LOCATION 's3://${bucket}/csv/' TBLPROPERTIES ('skip.header.line.count'='1')`);
    // A field that is not an int reads as NULL, as with Hive's LazySimpleSerDe.
    expect(await rows('SELECT id, n, price FROM c ORDER BY id')).toEqual([['id', 'n', 'price'], ['x', '1', '1.5'], ['y', null, '2.5']]);
    const t = (await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'c' }))).Table!;
    expect(t.StorageDescriptor?.SerdeInfo).toMatchObject({ SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe', Parameters: { 'field.delim': ',' } });
  });

  it('SHOW CREATE TABLE, SHOW TABLES, SHOW DATABASES, SHOW COLUMNS and DESCRIBE answer in Athena\'s text shape', async () => {
    const create = (await rows('SHOW CREATE TABLE events')).map((r) => r[0]);
    expect(create[0]).toBe(`CREATE EXTERNAL TABLE \`${db}\`.\`events\`(`);
    expect(create).toContain('PARTITIONED BY ( ');
    expect(create).toContain(`  's3://${bucket}/events/'`);
    expect(await rows('SHOW TABLES')).toEqual(expect.arrayContaining([['c'], ['events'], ['j']]));
    expect(await rows(`SHOW TABLES IN ${db} 'ev*'`)).toEqual([['events']]);
    expect(await rows('SHOW DATABASES')).toContainEqual([db]);
    expect(await rows('SHOW COLUMNS IN events')).toEqual([['id'], ['n'], ['props'], ['dt']]);
    const d = (await rows('DESCRIBE events')).map((r) => r[0]!.split('\t').map((x) => x.trim()));
    expect(d[0]).toEqual(['id', 'string', 'event id']);
    expect(d).toContainEqual(['# Partition Information', '', '']);
  });

  it('CREATE TABLE AS (Parquet, partitioned) writes files under external_location and registers the table and partitions', async () => {
    const q = await exec(`CREATE TABLE ctas WITH (format = 'PARQUET', external_location = 's3://${bucket}/ctas/', partitioned_by = ARRAY['dt'])
      AS SELECT id, n * 10 AS n10, dt FROM events`);
    expect(q.Status?.State).toBe('SUCCEEDED');
    expect(q.StatementType).toBe('DML');
    const r = await env.athena.send(new GetQueryResultsCommand({ QueryExecutionId: q.QueryExecutionId }));
    expect(r.UpdateCount).toBe(7);
    const keys = (await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'ctas/' }))).Contents!.map((o) => o.Key!);
    expect(keys.some((k) => k.startsWith('ctas/dt=2026-01-01/'))).toBe(true);
    expect(keys.some((k) => k.startsWith('ctas/dt=2026-01-02/'))).toBe(true);
    const t = (await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'ctas' }))).Table!;
    expect(t.StorageDescriptor?.Columns).toEqual([{ Name: 'id', Type: 'string' }, { Name: 'n10', Type: 'bigint' }]);
    expect(t.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string' }]);
    const parts = (await env.glue.send(new GetPartitionsCommand({ DatabaseName: db, TableName: 'ctas' }))).Partitions!;
    expect(parts.map((p) => p.Values![0]).sort()).toEqual(['2026-01-01', '2026-01-02']);
    expect(await rows('SELECT sum(n10) AS s FROM ctas')).toEqual([['s'], [String((0 + 1 + 2 + 0 + 1 + 2 + 3) * 10)]]);
    expect((await failure(`CREATE TABLE ctas2 WITH (external_location = 's3://${bucket}/ctas/') AS SELECT 1 AS x`))).toMatch(/^HIVE_PATH_ALREADY_EXISTS: Target directory for table/);
    expect(await failure(`CREATE TABLE ctas3 WITH (partitioned_by = ARRAY['id']) AS SELECT id, n FROM events`)).toMatch(/^HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns/);
  });

  it('INSERT INTO adds files and registers a new partition', async () => {
    const q = await exec("INSERT INTO ctas SELECT 'new' AS id, 99 AS n10, '2026-02-01' AS dt");
    expect(q.Status?.State).toBe('SUCCEEDED');
    expect((await env.athena.send(new GetQueryResultsCommand({ QueryExecutionId: q.QueryExecutionId }))).UpdateCount).toBe(1);
    expect(await rows("SELECT id, n10 FROM ctas WHERE dt = '2026-02-01'")).toEqual([['id', 'n10'], ['new', '99']]);
    expect(await rows('SHOW PARTITIONS ctas')).toContainEqual(['dt=2026-02-01']);
    expect(await failure('INSERT INTO nosuch SELECT 1')).toBe(`TABLE_NOT_FOUND: line 1:13: Table 'awsdatacatalog.${db}.nosuch' does not exist`);
  });

  it('DROP TABLE removes the Glue table and keeps the data; a missing table fails with Hive\'s message', async () => {
    await rows('DROP TABLE j');
    await expect(env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'j' }))).rejects.toMatchObject({ name: 'EntityNotFoundException' });
    expect((await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'json/' }))).KeyCount).toBe(1);
    expect(await failure('DROP TABLE j')).toBe(`FAILED: SemanticException [Error 10001]: Table not found ${db}.j`);
    await rows('DROP TABLE IF EXISTS j');
  });
});

describe('errors with Athena\'s names and wording', () => {
  it('a statement that does not parse is refused by StartQueryExecution with Trino\'s line:column', async () => {
    await expect(submit('SELECT * FROM events WHERE')).rejects.toMatchObject({ name: 'InvalidRequestException', message: expect.stringMatching(/^line 1:27: mismatched input '<EOF>'/) });
    await expect(submit('SELEC 1')).rejects.toThrow(/^line 1:1: mismatched input 'SELEC'/);
  });

  it('TABLE_NOT_FOUND, COLUMN_NOT_FOUND, SCHEMA_NOT_FOUND and FUNCTION_NOT_FOUND, without DuckDB hints', async () => {
    expect(await failure('SELECT * FROM nosuch')).toBe(`TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.${db}.nosuch' does not exist`);
    expect(await failure('SELECT nosuch FROM events')).toBe("COLUMN_NOT_FOUND: line 1:8: Column 'nosuch' cannot be resolved or requester is not authorized to access requested resources");
    expect(await failure('SELECT * FROM nosuchdb.t')).toBe("SCHEMA_NOT_FOUND: line 1:15: Schema 'nosuchdb' does not exist");
    expect(await failure('SELECT nosuchfn(1)')).toBe("FUNCTION_NOT_FOUND: line 1:8: Function 'nosuchfn' not registered");
    const q = await exec('SELECT * FROM nosuch');
    expect(q.Status?.AthenaError).toMatchObject({ ErrorCategory: 2, ErrorType: 1110, Retryable: false });
  });
});

describe('results as Athena writes them', () => {
  it('writes <id>.csv and <id>.csv.metadata (protobuf ColumnInfo, read here with protobufjs)', async () => {
    const q = await exec("SELECT 'x' AS s, CAST(1.5 AS DECIMAL(10,2)) AS d, 7 AS i");
    const key = q.ResultConfiguration!.OutputLocation!.replace(`s3://${bucket}/`, '');
    expect(key).toBe(`results/${q.QueryExecutionId}.csv`);
    const meta = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${key}.metadata` }));
    const bytes = await meta.Body!.transformToByteArray();
    const root = protobuf.parse(`syntax = "proto3";
      message ColumnInfo { string catalog_name = 1; string schema_name = 2; string table_name = 3; string name = 4; string label = 5;
        string type = 6; int32 precision = 7; int32 scale = 8; int32 nullable = 9; bool case_sensitive = 10; }
      message ResultMetadata { repeated ColumnInfo columns = 4; }`).root;
    const decoded = root.lookupType('ResultMetadata').toObject(root.lookupType('ResultMetadata').decode(bytes)) as { columns: Array<Record<string, unknown>> };
    expect(decoded.columns.map((c) => [c.name, c.type])).toEqual([['s', 'varchar'], ['d', 'decimal'], ['i', 'integer']]);
    expect(decoded.columns[1]).toMatchObject({ precision: 10, scale: 2 });
  });

  it('writes a DDL result as <id>.txt with its .txt.metadata', async () => {
    const q = await exec('SHOW TABLES');
    expect(q.StatementType).toBe('UTILITY');
    const key = q.ResultConfiguration!.OutputLocation!.replace(`s3://${bucket}/`, '');
    expect(key).toBe(`results/${q.QueryExecutionId}.txt`);
    const text = await (await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
    expect(text.split('\n')).toContain('events');
    await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${key}.metadata` }));
  });
});

describe('partition projection exactly as Athena applies it', () => {
  it('date: a partition before the range start or after NOW is invisible', async () => {
    await rows(`CREATE EXTERNAL TABLE proj (id string) PARTITIONED BY (day string) STORED AS PARQUET LOCATION 's3://${bucket}/proj/'
      TBLPROPERTIES ('projection.enabled'='true', 'projection.day.type'='date', 'projection.day.format'='yyyy-MM-dd',
                     'projection.day.range'='2020-01-01,NOW', 'projection.day.interval'='1', 'projection.day.interval.unit'='DAYS')`);
    const seen = (await rows('SELECT day FROM proj ORDER BY day')).slice(1).map((r) => r[0]);
    expect(seen).toContain('2020-01-01');
    expect(seen).not.toContain('2019-12-31');
    // 2026-12-01 is inside the range when the test runs after it, as it does (the suite's clock can be moved).
    if (Date.now() >= Date.parse('2026-12-02T00:00:00Z')) expect(seen).toContain('2026-12-01');
    else expect(seen).not.toContain('2026-12-01');
  });

  it('integer with digits: only the zero-padded value Athena generates is read', async () => {
    await rows(`CREATE EXTERNAL TABLE hours (id string) PARTITIONED BY (h string) STORED AS PARQUET LOCATION 's3://${bucket}/hours/'
      TBLPROPERTIES ('projection.enabled'='true', 'projection.h.type'='integer', 'projection.h.range'='0,23', 'projection.h.digits'='2')`);
    expect((await rows('SELECT h FROM hours ORDER BY h')).slice(1)).toEqual([['07'], ['23']]);
  });

  it('injected: a query without an equality on the column fails; with one it reads that partition only', async () => {
    await rows(`CREATE EXTERNAL TABLE inj (id string) PARTITIONED BY (country string) STORED AS PARQUET LOCATION 's3://${bucket}/inj/'
      TBLPROPERTIES ('projection.enabled'='true', 'projection.country.type'='injected')`);
    expect(await failure('SELECT count(*) FROM inj')).toMatch(/^CONSTRAINT_VIOLATION: For the injected projected partition column country, the WHERE clause must contain only static equality conditions/);
    expect(await rows("SELECT id FROM inj WHERE country = 'FR'")).toEqual([['id'], ['FR']]);
  });

  it('storage.location.template places partitions anywhere', async () => {
    await rows(`CREATE EXTERNAL TABLE tpl (id string) PARTITIONED BY (d string) STORED AS PARQUET LOCATION 's3://${bucket}/tpl/'
      TBLPROPERTIES ('projection.enabled'='true', 'projection.d.type'='date', 'projection.d.format'='yyyy/MM/dd', 'projection.d.range'='2026/01/01,NOW',
                     'storage.location.template'='s3://${bucket}/tpl/\${d}/')`);
    expect(await rows('SELECT id, d FROM tpl')).toEqual([['id', 'd'], ['tpl', '2026/12/03']]);
  });
});

describe('Trino functions the translation adds', () => {
  it('date_parse, format_datetime, parse_datetime, lambdas on arrays, regexp_* and split_part', async () => {
    const r = await rows(`SELECT date_parse('2026-03-04 05:06', '%Y-%m-%d %H:%i') AS a,
      format_datetime(TIMESTAMP '2026-03-04 05:06:07.123', 'yyyy-MM-dd''T''HH:mm:ss.SSS') AS b,
      to_unixtime(parse_datetime('04/03/2026 05:06', 'dd/MM/yyyy HH:mm')) AS c,
      transform(ARRAY[1, 2, 3], x -> x * 2) AS d, filter(ARRAY[1, 2, 3], x -> x > 1) AS e,
      reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s * 10) AS f,
      any_match(ARRAY[1, 2], x -> x > 1) AS g, all_match(ARRAY[1, 2], x -> x > 1) AS h, none_match(ARRAY[]::INTEGER[], x -> x > 1) AS i,
      regexp_extract_all('a1b22', '[0-9]+') AS j, regexp_split('a1b22c', '[0-9]+') AS k, split_part('a,b,c', ',', 2) AS l,
      from_iso8601_timestamp('2026-03-04T05:06:07Z') AS m`);
    expect(r[1]).toEqual(['2026-03-04 05:06:00.000', '2026-03-04T05:06:07.123', '1.77260076E9', '[2, 4, 6]', '[2, 3]', '60', 'true', 'false', 'true', '[1, 22]', '[a, b, c]', 'b', '2026-03-04 05:06:07.000 UTC']);
  });
});

describe.skipIf(!hasAwsCli)('the AWS CLI v1 (skipped when `aws` is not installed)', () => {
  let config: string;
  const aws = async (...args: string[]) => {
    try {
      const r = await run('aws', ['--endpoint-url', env.url!, '--output', 'json', ...args], {
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: env.region, AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
      });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return { code: x.code ?? 1, out: x.stdout ?? '', err: x.stderr ?? '' };
    }
  };
  const cliQuery = async (sql: string) => {
    const s = await aws('athena', 'start-query-execution', '--query-string', sql, '--work-group', wg, '--query-execution-context', `Database=${db}`);
    if (s.code !== 0) return { ...s, id: '', state: undefined as string | undefined, reason: undefined as string | undefined };
    const id = JSON.parse(s.out).QueryExecutionId as string;
    const q = await waitFor(id);
    return { ...s, id, state: q.Status?.State as string | undefined, reason: q.Status?.StateChangeReason };
  };

  beforeAll(async () => {
    config = join(scratch, 'aws-config');
    await writeFile(config, '[default]\ns3 =\n    addressing_style = path\n');
  });

  it('CREATE EXTERNAL TABLE through the CLI is what `aws glue get-table` returns', async () => {
    const q = await cliQuery(`CREATE EXTERNAL TABLE cli_t (a string) STORED AS PARQUET LOCATION 's3://${bucket}/cli/'`);
    expect(q.state).toBe('SUCCEEDED');
    const t = await aws('glue', 'get-table', '--database-name', db, '--name', 'cli_t');
    expect(t.code).toBe(0);
    expect(JSON.parse(t.out).Table.StorageDescriptor.Location).toBe(`s3://${bucket}/cli/`);
  });

  it('a syntax error is the CLI call\'s InvalidRequestException with the position', async () => {
    const q = await cliQuery('SELEC 1');
    expect(q.code).not.toBe(0);
    expect(q.err).toMatch(/InvalidRequestException.*line 1:1: mismatched input 'SELEC'/s);
  });

  it('get-query-results of SHOW PARTITIONS, and the .csv/.csv.metadata pair in `aws s3 ls`', async () => {
    const q = await cliQuery('SHOW PARTITIONS events');
    const r = await aws('athena', 'get-query-results', '--query-execution-id', q.id);
    expect(JSON.parse(r.out).ResultSet.Rows).toEqual([{ Data: [{ VarCharValue: 'dt=2026-01-01' }] }, { Data: [{ VarCharValue: 'dt=2026-01-02' }] }]);
    const sel = await cliQuery('SELECT 1 AS one');
    const ls = await aws('s3', 'ls', `s3://${bucket}/results/`);
    expect(ls.out).toContain(`${sel.id}.csv\n`);
    expect(ls.out).toContain(`${sel.id}.csv.metadata`);
  });
});
