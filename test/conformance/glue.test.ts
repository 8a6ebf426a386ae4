/**
 * Glue conformance: the catalog calls of the loader, its tools, the AWS CLI and infrastructure
 * tools — databases, tables with optimistic locking and their versions, partitions, tags —
 * through the AWS SDK v3 and the AWS CLI v1. Each case's title is a row of the conformance table
 * in docs/local-endpoint.md.
 */
import {
  BatchCreatePartitionCommand, BatchDeletePartitionCommand, BatchDeleteTableVersionCommand, BatchUpdatePartitionCommand, CreateDatabaseCommand,
  CreateTableCommand, DeleteDatabaseCommand, DeleteTableCommand, DeleteTableVersionCommand, GetDatabaseCommand, GetDatabasesCommand,
  GetPartitionCommand, GetPartitionsCommand, GetTableCommand, GetTablesCommand, GetTableVersionCommand, GetTableVersionsCommand, GetTagsCommand,
  TagResourceCommand, UpdateDatabaseCommand, UpdateTableCommand, type TableInput,
} from '@aws-sdk/client-glue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, hasAwsCli, NO_AWS_CLI, startConformance, type ConformanceEnv } from './support';

let env: ConformanceEnv;
let db: string;

beforeAll(async () => {
  env = await startConformance();
  db = env.unique('conf_glue').replace(/-/g, '_');
  await env.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: db, Description: 'conformance' } }));
});
afterAll(async () => env?.close());

const table = (name: string, columns: Array<[string, string]> = [['id', 'string']]): TableInput => ({
  Name: name,
  TableType: 'EXTERNAL_TABLE',
  PartitionKeys: [{ Name: 'dt', Type: 'string' }, { Name: 'hour', Type: 'int' }],
  StorageDescriptor: {
    Columns: columns.map(([Name, Type]) => ({ Name, Type })),
    Location: `s3://conformance-bucket/tables/${name}/`,
    InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
  },
  Parameters: { classification: 'parquet' },
});
const partition = (t: string, dt: string, hour: number) => ({ Values: [dt, String(hour)], StorageDescriptor: { ...table(t).StorageDescriptor, Location: `s3://conformance-bucket/tables/${t}/dt=${dt}/hour=${hour}/` } });

describe('Glue — AWS SDK v3', () => {
  it('databases: create, get, list, update, delete; a missing one is EntityNotFoundException', async () => {
    const name = `${db}_x`;
    await env.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: name } }));
    expect(await failure(env.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: name } })))).toMatchObject({ name: 'AlreadyExistsException' });
    await env.glue.send(new UpdateDatabaseCommand({ Name: name, DatabaseInput: { Name: name, Description: 'updated' } }));
    expect((await env.glue.send(new GetDatabaseCommand({ Name: name }))).Database?.Description).toBe('updated');
    expect((await env.glue.send(new GetDatabasesCommand({}))).DatabaseList?.map((d) => d.Name)).toContain(name);
    await env.glue.send(new DeleteDatabaseCommand({ Name: name }));
    expect(await failure(env.glue.send(new GetDatabaseCommand({ Name: name })))).toMatchObject({ name: 'EntityNotFoundException', status: 400 });
  });

  it('tables: create, get, list with a name pattern, delete', async () => {
    await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: table('events_a') }));
    await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: table('events_b') }));
    await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: table('other') }));
    const t = (await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'events_a' }))).Table!;
    expect([t.Name, t.DatabaseName, t.PartitionKeys?.map((k) => k.Name), t.StorageDescriptor?.Columns?.[0]?.Name]).toEqual(['events_a', db, ['dt', 'hour'], 'id']);
    expect((await env.glue.send(new GetTablesCommand({ DatabaseName: db, Expression: 'events_*' }))).TableList?.map((x) => x.Name).sort()).toEqual(['events_a', 'events_b']);
    await env.glue.send(new DeleteTableCommand({ DatabaseName: db, Name: 'other' }));
    expect(await failure(env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'other' })))).toMatchObject({ name: 'EntityNotFoundException' });
  });

  it('UpdateTable: the current VersionId succeeds, a stale one is ConcurrentModificationException', async () => {
    await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: table('locked') }));
    const v = (await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'locked' }))).Table!.VersionId!;
    await env.glue.send(new UpdateTableCommand({ DatabaseName: db, TableInput: table('locked', [['id', 'string'], ['n', 'int']]), VersionId: v }));
    expect(await failure(env.glue.send(new UpdateTableCommand({ DatabaseName: db, TableInput: table('locked'), VersionId: v })))).toMatchObject({ name: 'ConcurrentModificationException' });
  });

  it('table versions: UpdateTable keeps the old versions; GetTableVersions, GetTableVersion, DeleteTableVersion, BatchDeleteTableVersion', async () => {
    await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: table('versioned', [['a', 'string']]) }));
    await env.glue.send(new UpdateTableCommand({ DatabaseName: db, TableInput: table('versioned', [['a', 'string'], ['b', 'int']]) }));
    await env.glue.send(new UpdateTableCommand({ DatabaseName: db, TableInput: table('versioned', [['a', 'string'], ['b', 'int'], ['c', 'double']]) }));
    const current = (await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'versioned' }))).Table!;
    const all = (await env.glue.send(new GetTableVersionsCommand({ DatabaseName: db, TableName: 'versioned' }))).TableVersions!;
    expect(all).toHaveLength(3);
    const byColumns = Object.fromEntries(all.map((v) => [v.Table!.StorageDescriptor!.Columns!.length, v.VersionId]));
    expect(byColumns[3]).toBe(current.VersionId);
    const first = byColumns[1]!;
    const old = (await env.glue.send(new GetTableVersionCommand({ DatabaseName: db, TableName: 'versioned', VersionId: first }))).TableVersion!;
    expect(old.Table?.StorageDescriptor?.Columns?.map((c) => c.Name)).toEqual(['a']);
    await env.glue.send(new DeleteTableVersionCommand({ DatabaseName: db, TableName: 'versioned', VersionId: first }));
    expect(await failure(env.glue.send(new GetTableVersionCommand({ DatabaseName: db, TableName: 'versioned', VersionId: first })))).toMatchObject({ name: 'EntityNotFoundException' });
    const batch = await env.glue.send(new BatchDeleteTableVersionCommand({ DatabaseName: db, TableName: 'versioned', VersionIds: [byColumns[2]!, '999'] }));
    expect(batch.Errors?.map((e) => e.VersionId)).toEqual(['999']);
    expect((await env.glue.send(new GetTableVersionsCommand({ DatabaseName: db, TableName: 'versioned' }))).TableVersions?.map((v) => v.VersionId)).toEqual([current.VersionId]);
  });

  it('partitions: batch create (per-entry AlreadyExists), get, filter by expression, batch update, batch delete', async () => {
    await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: table('parts') }));
    const r = await env.glue.send(new BatchCreatePartitionCommand({ DatabaseName: db, TableName: 'parts', PartitionInputList: [partition('parts', '2026-01-01', 1), partition('parts', '2026-01-01', 2), partition('parts', '2026-01-02', 1)] }));
    expect(r.Errors ?? []).toEqual([]);
    const again = await env.glue.send(new BatchCreatePartitionCommand({ DatabaseName: db, TableName: 'parts', PartitionInputList: [partition('parts', '2026-01-01', 1)] }));
    expect(again.Errors?.[0]?.ErrorDetail?.ErrorCode).toBe('AlreadyExistsException');
    expect((await env.glue.send(new GetPartitionCommand({ DatabaseName: db, TableName: 'parts', PartitionValues: ['2026-01-01', '2'] }))).Partition?.Values).toEqual(['2026-01-01', '2']);
    const filtered = await env.glue.send(new GetPartitionsCommand({ DatabaseName: db, TableName: 'parts', Expression: "dt = '2026-01-01' AND hour > 1" }));
    expect(filtered.Partitions?.map((p) => p.Values)).toEqual([['2026-01-01', '2']]);
    const moved = { ...partition('parts', '2026-01-02', 1), StorageDescriptor: { ...partition('parts', '2026-01-02', 1).StorageDescriptor, Location: 's3://conformance-bucket/moved/' } };
    const u = await env.glue.send(new BatchUpdatePartitionCommand({ DatabaseName: db, TableName: 'parts', Entries: [{ PartitionValueList: ['2026-01-02', '1'], PartitionInput: moved }] }));
    expect(u.Errors ?? []).toEqual([]);
    expect((await env.glue.send(new GetPartitionCommand({ DatabaseName: db, TableName: 'parts', PartitionValues: ['2026-01-02', '1'] }))).Partition?.StorageDescriptor?.Location).toBe('s3://conformance-bucket/moved/');
    await env.glue.send(new BatchDeletePartitionCommand({ DatabaseName: db, TableName: 'parts', PartitionsToDelete: [{ Values: ['2026-01-01', '1'] }, { Values: ['2026-01-01', '2'] }] }));
    expect((await env.glue.send(new GetPartitionsCommand({ DatabaseName: db, TableName: 'parts' }))).Partitions?.map((p) => p.Values)).toEqual([['2026-01-02', '1']]);
  });

  it('tags: TagResource and GetTags on a database ARN', async () => {
    const arn = `arn:aws:glue:${env.region}:000000000000:database/${db}`;
    await env.glue.send(new TagResourceCommand({ ResourceArn: arn, TagsToAdd: { team: 'data' } }));
    expect((await env.glue.send(new GetTagsCommand({ ResourceArn: arn }))).Tags).toEqual({ team: 'data' });
  });
});

describe.skipIf(!hasAwsCli)(`Glue — AWS CLI v1${hasAwsCli ? '' : ` (skipped: ${NO_AWS_CLI})`}`, () => {
  it('aws glue get-databases, get-tables and get-partitions --expression', async () => {
    await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: table('cli_parts') }));
    await env.glue.send(new BatchCreatePartitionCommand({ DatabaseName: db, TableName: 'cli_parts', PartitionInputList: [partition('cli_parts', '2026-02-01', 0), partition('cli_parts', '2026-02-02', 0)] }));
    expect((await env.aws(['glue', 'get-databases'])).json<{ DatabaseList: Array<{ Name: string }> }>().DatabaseList.map((d) => d.Name)).toContain(db);
    expect((await env.aws(['glue', 'get-tables', '--database-name', db])).json<{ TableList: Array<{ Name: string }> }>().TableList.map((t) => t.Name)).toContain('cli_parts');
    const p = await env.aws(['glue', 'get-partitions', '--database-name', db, '--table-name', 'cli_parts', '--expression', "dt >= '2026-02-02'"]);
    expect(p.json<{ Partitions: Array<{ Values: string[] }> }>().Partitions.map((x) => x.Values)).toEqual([['2026-02-02', '0']]);
  });

  it('aws glue update-table then get-table-versions lists both versions', async () => {
    await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: table('cli_versions') }));
    const input = JSON.stringify(table('cli_versions', [['id', 'string'], ['extra', 'bigint']]));
    const u = await env.aws(['glue', 'update-table', '--database-name', db, '--table-input', input]);
    expect(u.status === 0 ? '' : u.stderr).toBe('');
    const v = (await env.aws(['glue', 'get-table-versions', '--database-name', db, '--table-name', 'cli_versions'])).json<{ TableVersions: Array<{ VersionId: string }> }>();
    expect(v.TableVersions).toHaveLength(2);
  });
});
