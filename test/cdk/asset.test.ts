/**
 * `cdk synth` offline (local esbuild, no Docker, no network), and the synthesized Lambda asset
 * loaded as Lambda loads it — the bundled index.js required from the asset directory with the
 * parquet-wasm `.wasm` beside it, configured only by environment variables — processing a
 * fixture MSK event against the local AWS endpoint. The app is the fixture directory's (two
 * pipelines): each loader's bundle holds its own pipeline and not the other's.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { CreateDatabaseCommand, CreateTableCommand, GetPartitionsCommand, GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableInput } from '../../lambdas/core/glue-table';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import { startLocalEndpoint, type LocalEndpoint } from '../../lib/local/server';
import { parquetWasmPath, PARQUET_WASM_FILE } from '../../lib/infra/lake-loader';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lib/infra/monitoring';
import type { BatchSummary } from '../../lambdas/core/report';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { build, MSK_ARN } from './helpers';

type Handler = (event: unknown, context?: Record<string, unknown>) => Promise<BatchSummary>;

let outdir: string;
let assetDir: string;
/** Per pipeline, its function's bundle (index.js). */
let bundles: Map<string, string>;
let dataDir: string;
let endpoint: LocalEndpoint | undefined;
const savedEnv = { ...process.env };

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'lakeloader-cdk-'));
  const { app, template } = build({ mskClusterArn: MSK_ARN }, { bundle: true, outdir });
  app.synth();
  // Each function's code asset is the staged directory its S3Key names (<hash>.zip → asset.<hash>).
  bundles = new Map();
  for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
    const pipeline = fn.Properties.Environment?.Variables?.LAKELOADER_PIPELINE as string | undefined;
    if (!pipeline) continue;
    const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
    bundles.set(pipeline, join(outdir, `asset.${hash}`));
  }
  expect([...bundles.keys()].sort()).toEqual(['clickstream', 'orders']);
  for (const dir of bundles.values()) expect(existsSync(join(dir, 'index.js'))).toBe(true);
  assetDir = bundles.get('clickstream')!;
}, 180_000);

afterAll(async () => {
  await endpoint?.close();
  process.env = savedEnv;
  await rm(outdir, { recursive: true, force: true });
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('synthesized Lambda asset', () => {
  it('holds its own pipeline only: each loader bundles its pipeline file and not the others', () => {
    const js = (p: string) => readFileSync(join(bundles.get(p)!, 'index.js'), 'utf8');
    expect(js('clickstream')).toContain('Click events (test fixture).');
    expect(js('clickstream')).not.toContain('Orders (test fixture).');
    expect(js('orders')).toContain('Orders (test fixture).');
    expect(js('orders')).not.toContain('Click events (test fixture).');
  });

  it('has the bundle and the parquet-wasm binary beside it', () => {
    expect(readdirSync(assetDir).sort()).toEqual(['index.js', PARQUET_WASM_FILE].sort());
    expect(readFileSync(join(assetDir, PARQUET_WASM_FILE)).equals(readFileSync(parquetWasmPath()))).toBe(true);
    const js = readFileSync(join(assetDir, 'index.js'), 'utf8');
    // CJS output: parquet-wasm reads the binary from the bundle's own directory.
    expect(js).toMatch(/__dirname/);
    expect(js).not.toMatch(/require\(["']aws-cdk-lib/);
  });

  it('loaded as Lambda loads it, processes a fixture MSK event into the lake, and a redelivery is all duplicates', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lakeloader-asset-endpoint-'));
    endpoint = await startLocalEndpoint({ port: 0, dataDir });
    const bucket = 'lake-asset-test';
    const database = 'lakeloader_asset_test';
    const common = { endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    const s3 = new S3Client({ ...common, forcePathStyle: true });
    const glue = new GlueClient(common);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
    await glue.send(new CreateTableCommand({ DatabaseName: database, TableInput: tableInput(clickstream, bucket) }));

    Object.assign(process.env, {
      LAKELOADER_PIPELINE: 'clickstream',
      LAKELOADER_BUCKET: bucket,
      LAKELOADER_GLUE_DATABASE: database,
      POWERTOOLS_SERVICE_NAME: 'lakeloader',
      POWERTOOLS_METRICS_NAMESPACE: 'Lakeloader',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      AWS_ENDPOINT_URL: endpoint.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    const indexJs = join(assetDir, 'index.js');
    const { handler } = createRequire(indexJs)(indexJs) as { handler: Handler };
    expect(typeof handler).toBe('function');

    const t0 = Date.parse('2026-01-15T10:00:00.000Z');
    const click = (i: number, hourOffset: number) => ({
      event_id: `e-${i}`,
      user_id: '9007199254740993', // > 2^53, kept exact
      session_id: `s-${i % 2}`,
      event_type: 'click',
      ts: new Date(t0 + hourOffset * 3_600_000 + i * 1000).toISOString(),
      country: 'DE',
      props: { k: String(i) },
    });
    const records: ProducedRecord[] = [
      ...[0, 1, 2].map((i) => ({ topic: 'clicks', partition: 0, offset: 100 + i, timestamp: t0 + i, value: JSON.stringify(click(i, 0)) })),
      { topic: 'clicks', partition: 0, offset: 103, timestamp: t0 + 3, value: '{"event_id": "broken"' },
      { topic: 'clicks', partition: 1, offset: 7, timestamp: t0 + 4, value: JSON.stringify(click(4, 1)) },
    ];
    // user_id as a raw JSON integer beyond 2^53 (the string above is a readable template only).
    for (const r of records) if (typeof r.value === 'string') r.value = r.value.replace('"9007199254740993"', '9007199254740993');
    const event = buildMskEvent(records, { eventSourceArn: MSK_ARN });

    // Capture the EMF lines the bundle prints, to check they match what the alarms read.
    const emf: Array<Record<string, any>> = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      for (const line of String(chunk).split('\n')) if (line.startsWith('{"_aws"')) emf.push(JSON.parse(line));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    let summary: BatchSummary;
    try {
      summary = await handler(event, { awsRequestId: 'asset-test-1', functionName: 'loader' });
    } finally {
      process.stdout.write = write;
    }
    expect(summary).toMatchObject({ in: 5, written: 4, rows: 4, quarantined: 1, filtered: 0, duplicates: 0 });
    expect(summary.files).toBe(2);
    expect(summary.partitionsRegistered).toBe(2);

    // The EMF metrics carry exactly the namespace and dimensions the alarms and dashboard use.
    expect(emf).toHaveLength(1);
    const directive = emf[0]!._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(METRICS_NAMESPACE);
    expect(directive.Dimensions).toEqual([['service', 'pipeline']]);
    expect(emf[0]).toMatchObject({ service: SERVICE_NAME, pipeline: 'clickstream', RecordsIn: 5, RecordsQuarantined: 1, RecordsWritten: 4 });
    expect(directive.Metrics.map((m: { Name: string }) => m.Name)).toEqual(expect.arrayContaining(['RecordsIn', 'RecordsWritten', 'RecordsQuarantined', 'RecordsDuplicate', 'EventTimeLagMs']));

    const list = async (prefix: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!).sort();
    const data = await list('tables/clickstream/');
    expect(data).toHaveLength(2);
    expect(data[0]).toMatch(/^tables\/clickstream\/dt=2026-01-15\/hour=10\/part-clicks-0-.*\.parquet$/);
    expect(data[1]).toMatch(/^tables\/clickstream\/dt=2026-01-15\/hour=11\/part-clicks-1-.*\.parquet$/);
    expect(await list('quarantine/clickstream/')).toHaveLength(1);
    const parts = await glue.send(new GetPartitionsCommand({ DatabaseName: database, TableName: 'clickstream' }));
    expect((parts.Partitions ?? []).map((p) => p.Values!.join('/')).sort()).toEqual(['2026-01-15/10', '2026-01-15/11']);

    const again = await handler(event, { awsRequestId: 'asset-test-2', functionName: 'loader' });
    expect(again).toMatchObject({ in: 5, written: 0, quarantined: 0, duplicates: 5 });
    expect(await list('tables/clickstream/')).toEqual(data);
    s3.destroy();
    glue.destroy();
  }, 60_000);

  it("the Iceberg pipeline's bundle answers the stack's custom resource, publishes batches and runs the scheduled commit", async () => {
    dataDir ??= await mkdtemp(join(tmpdir(), 'lakeloader-asset-endpoint-'));
    endpoint ??= await startLocalEndpoint({ port: 0, dataDir });
    const bucket = 'lake-asset-iceberg';
    const database = 'lakeloader_asset_iceberg';
    const common = { endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    const s3 = new S3Client({ ...common, forcePathStyle: true });
    const glue = new GlueClient(common);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
    Object.assign(process.env, {
      LAKELOADER_PIPELINE: 'orders',
      LAKELOADER_BUCKET: bucket,
      LAKELOADER_GLUE_DATABASE: database,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_ENDPOINT_URL: endpoint.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    const indexJs = join(bundles.get('orders')!, 'index.js');
    const { handler } = createRequire(indexJs)(indexJs) as { handler: (event: unknown) => Promise<any> };

    // CloudFormation's Create: the function creates the table and PUTs SUCCESS to the response URL.
    const responses: Array<Record<string, unknown>> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        responses.push(JSON.parse(body) as Record<string, unknown>);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const cfn = (RequestType: string) => ({ RequestType, ResponseURL: `http://127.0.0.1:${port}/cfn?sig=x`, StackId: 'arn:stack', RequestId: `r-${RequestType}`, LogicalResourceId: 'OrdersTable', ResourceProperties: { Table: 'orders' } });
    await handler(cfn('Create'));
    await handler(cfn('Update')); // idempotent: the table is kept as it is
    server.close();
    expect(responses.map((r) => [r.Status, r.PhysicalResourceId])).toEqual([
      ['SUCCESS', 'lakeloader-table-orders'],
      ['SUCCESS', 'lakeloader-table-orders'],
    ]);
    const metadata = async () => {
      const t = (await glue.send(new GetTableCommand({ DatabaseName: database, Name: 'orders' }))).Table!;
      expect(t.Parameters!.table_type).toBe('ICEBERG');
      const key = t.Parameters!.metadata_location!.replace(`s3://${bucket}/`, '');
      return JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()) as { snapshots: Array<{ summary: Record<string, string> }> };
    };
    expect((await metadata()).snapshots).toEqual([]);

    const ev = (offset: number) =>
      buildMskEvent([{ topic: 'orders', partition: 0, offset, timestamp: 0, value: JSON.stringify({ id: `o-${offset}`, customer: 7, total: 9.5, at: '2026-03-01T10:00:00Z' }) }], { eventSourceArn: MSK_ARN });
    // The first batch publishes at once (no snapshot yet); the next waits for the interval (60 s).
    expect(await handler(ev(0))).toMatchObject({ written: 1, published: { batches: 1, rows: 1 } });
    expect(await handler(ev(1))).toMatchObject({ written: 1, published: { batches: 0, skipped: 'fresh' } });
    expect((await metadata()).snapshots).toHaveLength(1);
    // EventBridge's scheduled input.
    expect(await handler({ lakeloader: 'commit' })).toMatchObject({ batches: 1, rows: 1 });
    const m = await metadata();
    expect(m.snapshots.map((s) => s.summary['total-records'])).toEqual(['1', '2']);
    s3.destroy();
    glue.destroy();
  }, 60_000);
});
