/**
 * Glue through the real AWS SDK v3 client: error codes, VersionId optimistic locking,
 * BatchCreatePartition per-entry errors, GetPartitions paging and expressions, and persistence
 * across a restart of the local endpoint on the same data directory.
 */
import {
  BatchCreatePartitionCommand,
  BatchDeletePartitionCommand,
  BatchGetPartitionCommand,
  CreateDatabaseCommand,
  CreatePartitionCommand,
  CreateTableCommand,
  DeleteDatabaseCommand,
  DeletePartitionCommand,
  DeleteTableCommand,
  GetDatabaseCommand,
  GetDatabasesCommand,
  GetPartitionCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GetTablesCommand,
  GlueServiceException,
  UpdateTableCommand,
  type Partition,
} from '@aws-sdk/client-glue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionInput, quarantineTableInput, tableInput } from '../../lambdas/core/glue-table';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { remoteEndpoint, startTestEndpoint, type TestEndpoint } from '../support/endpoint';

let env: TestEndpoint;
let db: string;
const bucket = 'lake-bucket';

beforeAll(async () => {
  env = await startTestEndpoint();
  db = env.unique('gluetest').replace(/-/g, '_');
  await env.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: db, Description: 'test db' } }));
  await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: tableInput(clickstream, bucket) }));
});
afterAll(async () => {
  if (env && !env.isLocal) await env.glue.send(new DeleteDatabaseCommand({ Name: db })).catch(() => undefined);
  await env?.close();
});

async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GlueServiceException) return { name: e.name, status: e.$metadata.httpStatusCode, message: e.message };
    throw e;
  }
  throw new Error('expected the call to fail, it succeeded');
}

const hourPartition = (dt: string, hour: string) => partitionInput(clickstream, bucket, [dt, hour], `dt=${dt}/hour=${hour}`);

describe('databases and tables', () => {
  it('gets the database and the table as created from the pipeline declaration', async () => {
    const d = await env.glue.send(new GetDatabaseCommand({ Name: db }));
    expect(d.Database?.Name).toBe(db);
    expect(d.Database?.Description).toBe('test db');
    const t = await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'clickstream' }));
    expect(t.Table?.StorageDescriptor?.Columns?.map((c) => c.Name)).toEqual(tableInput(clickstream, bucket).StorageDescriptor!.Columns!.map((c) => c.Name));
    expect(t.Table?.PartitionKeys?.map((k) => k.Name)).toEqual(['dt', 'hour']);
    expect(t.Table?.CreateTime).toBeInstanceOf(Date);
    expect(t.Table?.VersionId).toBeTruthy();
    const list = await env.glue.send(new GetDatabasesCommand({}));
    expect(list.DatabaseList?.map((x) => x.Name)).toContain(db);
  });

  it('answers EntityNotFoundException (400) for a missing database, table and partition', async () => {
    expect(await failure(env.glue.send(new GetDatabaseCommand({ Name: 'no_such_db_x' })))).toMatchObject({ name: 'EntityNotFoundException', status: 400 });
    expect((await failure(env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'nope' })))).name).toBe('EntityNotFoundException');
    expect((await failure(env.glue.send(new GetPartitionCommand({ DatabaseName: db, TableName: 'clickstream', PartitionValues: ['1999-01-01', '00'] })))).name).toBe('EntityNotFoundException');
  });

  it('answers AlreadyExistsException for a second CreateDatabase / CreateTable', async () => {
    expect((await failure(env.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: db } })))).name).toBe('AlreadyExistsException');
    expect((await failure(env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: tableInput(clickstream, bucket) })))).name).toBe('AlreadyExistsException');
  });

  it('UpdateTable with the current VersionId succeeds; a stale VersionId is ConcurrentModificationException', async () => {
    await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: quarantineTableInput(clickstream, bucket) }));
    const name = quarantineTableInput(clickstream, bucket).Name!;
    const v0 = (await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: name }))).Table!.VersionId!;
    const input = { ...quarantineTableInput(clickstream, bucket), Description: 'updated once' };
    await env.glue.send(new UpdateTableCommand({ DatabaseName: db, TableInput: input, VersionId: v0 }));
    const t1 = (await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: name }))).Table!;
    expect(t1.Description).toBe('updated once');
    expect(t1.VersionId).not.toBe(v0);
    const stale = await failure(env.glue.send(new UpdateTableCommand({ DatabaseName: db, TableInput: { ...input, Description: 'lost update' }, VersionId: v0 })));
    expect(stale.name).toBe('ConcurrentModificationException');
    expect((await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: name }))).Table!.Description).toBe('updated once');
  });

  it('lists tables and deletes one', async () => {
    await env.glue.send(new CreateTableCommand({ DatabaseName: db, TableInput: { ...tableInput(clickstream, bucket), Name: 'to_delete' } }));
    const names = (await env.glue.send(new GetTablesCommand({ DatabaseName: db }))).TableList?.map((t) => t.Name);
    expect(names).toContain('to_delete');
    await env.glue.send(new DeleteTableCommand({ DatabaseName: db, Name: 'to_delete' }));
    expect((await failure(env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'to_delete' })))).name).toBe('EntityNotFoundException');
  });
});

describe('partitions', () => {
  const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));

  beforeAll(async () => {
    for (const dt of ['2026-01-01', '2026-01-02']) {
      await env.glue.send(new BatchCreatePartitionCommand({ DatabaseName: db, TableName: 'clickstream', PartitionInputList: hours.map((h) => hourPartition(dt, h)) }));
    }
  });

  it('BatchCreatePartition reports AlreadyExistsException per entry and creates the rest', async () => {
    const r = await env.glue.send(
      new BatchCreatePartitionCommand({
        DatabaseName: db,
        TableName: 'clickstream',
        PartitionInputList: [hourPartition('2026-01-01', '00'), hourPartition('2026-01-03', '00'), hourPartition('2026-01-01', '05')],
      }),
    );
    expect(r.Errors?.map((e) => [e.PartitionValues, e.ErrorDetail?.ErrorCode])).toEqual([
      [['2026-01-01', '00'], 'AlreadyExistsException'],
      [['2026-01-01', '05'], 'AlreadyExistsException'],
    ]);
    const p = await env.glue.send(new GetPartitionCommand({ DatabaseName: db, TableName: 'clickstream', PartitionValues: ['2026-01-03', '00'] }));
    expect(p.Partition?.StorageDescriptor?.Location).toBe(`s3://${bucket}/tables/clickstream/dt=2026-01-03/hour=00/`);
  });

  it('BatchCreatePartition rejects more than 100 entries', async () => {
    const many = Array.from({ length: 101 }, (_, i) => hourPartition(`2030-01-${String((i % 28) + 1).padStart(2, '0')}`, String(i)));
    expect((await failure(env.glue.send(new BatchCreatePartitionCommand({ DatabaseName: db, TableName: 'clickstream', PartitionInputList: many })))).name).toMatch(/InvalidInput|Validation/);
  });

  it('CreatePartition answers AlreadyExistsException for an existing partition', async () => {
    expect((await failure(env.glue.send(new CreatePartitionCommand({ DatabaseName: db, TableName: 'clickstream', PartitionInput: hourPartition('2026-01-02', '23') })))).name).toBe('AlreadyExistsException');
  });

  it('GetPartitions pages with NextToken through every partition exactly once', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await env.glue.send(new GetPartitionsCommand({ DatabaseName: db, TableName: 'clickstream', MaxResults: 10, NextToken: token }));
      expect(r.Partitions!.length).toBeLessThanOrEqual(10);
      seen.push(...r.Partitions!.map((p) => p.Values!.join('/')));
      token = r.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(5); // 49 partitions
    expect(new Set(seen).size).toBe(49);
    expect(seen).toHaveLength(49);
  });

  const values = async (Expression: string) => {
    const all: Partition[] = [];
    let token: string | undefined;
    do {
      const r = await env.glue.send(new GetPartitionsCommand({ DatabaseName: db, TableName: 'clickstream', Expression, NextToken: token }));
      all.push(...r.Partitions!);
      token = r.NextToken;
    } while (token);
    return all.map((p) => p.Values!.join('/')).sort();
  };

  it('GetPartitions filters with =, AND, OR, comparisons, IN and parentheses', async () => {
    expect(await values("dt = '2026-01-03'")).toEqual(['2026-01-03/00']);
    expect(await values("dt = '2026-01-01' AND hour = '07'")).toEqual(['2026-01-01/07']);
    expect(await values("(dt = '2026-01-01' AND hour = '07') OR dt = '2026-01-03'")).toEqual(['2026-01-01/07', '2026-01-03/00']);
    expect(await values("dt = '2026-01-02' AND hour >= '21'")).toEqual(['2026-01-02/21', '2026-01-02/22', '2026-01-02/23']);
    expect(await values("dt > '2026-01-01' AND hour < '01'")).toEqual(['2026-01-02/00', '2026-01-03/00']);
    expect(await values("dt = '2026-01-01' AND hour IN ('03', '04', '99')")).toEqual(['2026-01-01/03', '2026-01-01/04']);
    expect(await values("dt <> '2026-01-01' AND dt <> '2026-01-02'")).toEqual(['2026-01-03/00']);
  });

  it('rejects an expression over an unknown key', async () => {
    expect((await failure(env.glue.send(new GetPartitionsCommand({ DatabaseName: db, TableName: 'clickstream', Expression: "nope = '1'" })))).name).toMatch(/InvalidInput/);
  });

  it('BatchGetPartition returns the existing ones; Delete/BatchDelete remove them', async () => {
    const r = await env.glue.send(new BatchGetPartitionCommand({ DatabaseName: db, TableName: 'clickstream', PartitionsToGet: [{ Values: ['2026-01-01', '01'] }, { Values: ['1999-01-01', '00'] }] }));
    expect(r.Partitions?.map((p) => p.Values)).toEqual([['2026-01-01', '01']]);
    await env.glue.send(new DeletePartitionCommand({ DatabaseName: db, TableName: 'clickstream', PartitionValues: ['2026-01-03', '00'] }));
    const d = await env.glue.send(new BatchDeletePartitionCommand({ DatabaseName: db, TableName: 'clickstream', PartitionsToDelete: [{ Values: ['2026-01-02', '23'] }, { Values: ['1999-01-01', '00'] }] }));
    expect(d.Errors?.map((e) => [e.PartitionValues, e.ErrorDetail?.ErrorCode])).toEqual([[['1999-01-01', '00'], 'EntityNotFoundException']]);
    expect(await values("dt = '2026-01-03' OR (dt = '2026-01-02' AND hour = '23')")).toEqual([]);
  });
});

describe('persistence', () => {
  it.skipIf(remoteEndpoint)('keeps databases, tables, versions and partitions across a restart on the same data directory', async () => {
    const before = await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'clickstream_quarantine' }));
    const partsBefore = await env.glue.send(new GetPartitionsCommand({ DatabaseName: db, TableName: 'clickstream' }));
    await env.restart();
    const after = await env.glue.send(new GetTableCommand({ DatabaseName: db, Name: 'clickstream_quarantine' }));
    expect(after.Table?.VersionId).toBe(before.Table?.VersionId);
    expect(after.Table?.Description).toBe('updated once');
    const partsAfter = await env.glue.send(new GetPartitionsCommand({ DatabaseName: db, TableName: 'clickstream' }));
    expect(partsAfter.Partitions?.map((p) => p.Values)).toEqual(partsBefore.Partitions?.map((p) => p.Values));
    expect(partsAfter.Partitions?.length).toBe(47);
  });
});

describe('names as files', () => {
  it.skipIf(remoteEndpoint)('keeps a hostile database name inside <dataDir>/glue and still serves it', async () => {
    const { existsSync, readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    await env.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: '../../escape' } }));
    expect(existsSync(join(env.dataDir, '..', 'escape'))).toBe(false);
    expect(readdirSync(env.dataDir).sort()).not.toContain('escape');
    expect((await env.glue.send(new GetDatabaseCommand({ Name: '../../escape' }))).Database?.Name).toBe('../../escape');
    await env.glue.send(new DeleteDatabaseCommand({ Name: '../../escape' }));
  });
});

describe('unsupported operations', () => {
  it.skipIf(remoteEndpoint)('answer a JSON error naming the operation, not a hang', async () => {
    const res = await fetch(env.url!, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSGlue.StartCrawler' },
      body: '{"Name":"c"}',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { __type: string; message: string };
    expect(body.__type).toBe('UnsupportedOperationException');
    expect(body.message).toContain('StartCrawler');
  });
});
