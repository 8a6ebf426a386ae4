/**
 * The loader under `--enforce-iam`: its least-privilege role (from the synthesized stack, as
 * CloudFormation would deploy it) lets it load a batch end to end — S3 conditional writes and
 * reads under its table's prefixes, the commit state and manifests, Glue partition registration —
 * and a loader that writes outside its table's prefix fails with AWS's AccessDenied. The same
 * loader code as in Lambda, the real SDK clients, the endpoint judging every request.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateDatabaseCommand, CreateTableCommand, GetPartitionsCommand, GlueClient } from '@aws-sdk/client-glue';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GlueCatalog } from '../../lambdas/core/catalog';
import { loadConfig } from '../../lambdas/core/config';
import { quarantineTableInput, tableInput } from '../../lambdas/core/glue-table';
import { S3ObjectStore } from '../../lambdas/core/store';
import { createHandler } from '../../lambdas/loader/handler';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import { startLocalEndpoint, type LocalEndpoint } from '../../lib/local/server';
import { build, MSK_ARN } from '../cdk/helpers';
import { clickstream } from '../fixtures/pipelines/clickstream';
import orders from '../fixtures/pipelines/orders';

const BUCKET = 'lakeloader-local';
const DATABASE = 'lakeloader_lakeloader';
let ep: LocalEndpoint;
let dir: string;

const clients = (accessKeyId: string, secretAccessKey: string) => {
  const common = { endpoint: ep.url, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 };
  return { s3: new S3Client({ ...common, forcePathStyle: true }), glue: new GlueClient(common) };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakeloader-enforce-'));
  build({ mskClusterArn: MSK_ARN }, { outdir: join(dir, 'cdk.out'), pipelines: [clickstream, orders] }).app.synth();
  ep = await startLocalEndpoint({ dataDir: join(dir, 'data'), port: 0, enforceIam: { cloudAssembly: join(dir, 'cdk.out'), outputNames: { LakeBucketName: BUCKET }, role: 'clickstream' } });
  const root = clients('root', 'root');
  await root.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await root.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: DATABASE } }));
  for (const p of [clickstream, orders]) for (const t of [tableInput(p, BUCKET), quarantineTableInput(p, BUCKET)]) await root.glue.send(new CreateTableCommand({ DatabaseName: DATABASE, TableInput: t }));
}, 120_000);
afterAll(async () => {
  await ep?.close();
  await rm(dir, { recursive: true, force: true });
});

const click = (offset: number, ts: string): ProducedRecord => ({
  topic: 'clicks',
  partition: 0,
  offset,
  timestamp: Date.parse(ts),
  value: JSON.stringify({ event_id: `e-${offset}`, user_id: 42, ts, amount: 1.5 }),
});

function loaderFor(pipeline: typeof clickstream, accessKeyId = 'test', secretAccessKey = 'test') {
  const c = clients(accessKeyId, secretAccessKey);
  const config = loadConfig(pipeline, { LAKELOADER_PIPELINE: pipeline.name, LAKELOADER_BUCKET: BUCKET, LAKELOADER_GLUE_DATABASE: DATABASE, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: ep.url });
  return createHandler({ config, store: new S3ObjectStore(c.s3, BUCKET), catalog: new GlueCatalog(c.glue) });
}

describe('the loader under --enforce-iam', () => {
  it("loads a batch with its least-privilege role: data, quarantine, commit state and Glue partitions", async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const records = [click(0, '2026-01-02T03:10:00Z'), click(1, '2026-01-02T04:20:00Z'), { topic: 'clicks', partition: 0, offset: 2, timestamp: 0, value: '{"broken' }];
      const summary = await loaderFor(clickstream)(buildMskEvent(records));
      expect([summary.written, summary.quarantined, summary.partitionsRegistered]).toEqual([2, 1, 2]);
      const again = await loaderFor(clickstream)(buildMskEvent(records));
      expect(again.duplicates).toBe(3);
    } finally {
      vi.restoreAllMocks();
    }
    const root = clients('root', 'root');
    const keys = (await root.s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents?.map((c) => c.Key!) ?? [];
    expect(keys.filter((k) => k.startsWith('tables/clickstream/dt=2026-01-02/')).length).toBe(2);
    expect(keys.some((k) => k.startsWith('quarantine/clickstream/'))).toBe(true);
    expect(keys.some((k) => k.startsWith('_lakeloader/state/clickstream/'))).toBe(true);
    expect(keys.every((k) => /^(tables|quarantine|_lakeloader\/(state|manifests))\/clickstream\//.test(k))).toBe(true);
    const parts = await root.glue.send(new GetPartitionsCommand({ DatabaseName: DATABASE, TableName: 'clickstream' }));
    expect(parts.Partitions?.map((p) => p.Values).sort()).toEqual([['2026-01-02', '03'], ['2026-01-02', '04']]);
  });

  it("refuses a loader writing outside its table's prefix: the clickstream role cannot load the orders table", async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let error: unknown;
    try {
      const order = { topic: 'orders', partition: 0, offset: 0, timestamp: Date.parse('2026-01-02T00:00:00Z'), value: JSON.stringify({ id: 'o-1', customer: 7, total: 9.5, at: '2026-01-02T01:00:00Z' }) };
      await loaderFor(orders as typeof clickstream)(buildMskEvent([order]));
    } catch (e) {
      error = e;
    } finally {
      vi.restoreAllMocks();
    }
    expect(error).toBeDefined();
    const text = `${String(error)} ${JSON.stringify(error, Object.getOwnPropertyNames(error as object))}`;
    expect(text).toContain('AccessDenied');
    expect(text).toMatch(/assumed-role\/Lakeloader-ClickstreamLoaderRole[0-9A-F]+\/lakeloader-local is not authorized to perform: s3:(GetObject|PutObject|ListBucket)/);
    const root = clients('root', 'root');
    expect((await root.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tables/orders/' }))).KeyCount).toBe(0);
  });

  it('refuses the loader with a wrong secret before anything is written (SignatureDoesNotMatch)', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let error: unknown;
    try {
      await loaderFor(clickstream, 'test', 'wrong')(buildMskEvent([click(10, '2026-01-03T00:00:00Z')]));
    } catch (e) {
      error = e;
    } finally {
      vi.restoreAllMocks();
    }
    expect(`${String(error)} ${JSON.stringify(error, Object.getOwnPropertyNames(error as object))}`).toContain('SignatureDoesNotMatch');
  });
});
