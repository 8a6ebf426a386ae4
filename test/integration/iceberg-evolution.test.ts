/**
 * Iceberg schema evolution end to end: Confluent-framed Avro encoded by
 * @kafkajs/confluent-schema-registry against the local registry, loaded by the real handler
 * through the local AWS endpoint into an Iceberg table. Writer v2 adds a top-level field and a
 * field of a nested record: the table gets a new schema with new field ids (committed through
 * Glue), the rows written before read the new columns as null — in the local Athena, which reads
 * files by field id, and in icebird, an independent Iceberg reader — compaction keeps the new
 * columns, and an incompatible v3 is quarantined with its schema id and reason.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetTableCommand } from '@aws-sdk/client-glue';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/core/config';
import { parseMetadata, type TableMetadata } from '../../lambdas/core/iceberg/metadata';
import { currentSchema } from '../../lambdas/core/iceberg/schema';
import { definePipeline, type Pipeline, type PipelineDeclaration } from '../../lambdas/core/pipeline';
import { createHandler } from '../../lambdas/loader/handler';
import { resolveContext, type CliContext } from '../../lib/cli/context';
import { provision } from '../../lib/cli/provision';
import { startConfluentRegistry, type LocalSchemaRegistry } from '../../lib/local/registry/confluent';
import { RegistryStore } from '../../lib/local/registry/store';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import { startLocalEndpoint, type LocalEndpoint } from '../../lib/local/server';
import { queryLake, replayDeps } from '../../lib/ops/deps';
import { replayQuarantine } from '../../lib/ops/replay';
import { compactTable } from '../../lib/iceberg/compact';
import { GlueCatalog } from '../../lambdas/core/catalog';
import { S3ObjectStore } from '../../lambdas/core/store';

const DAY = Date.parse('2026-11-20T10:00:00Z');
const silent = { info() {}, error() {}, warn() {}, debug() {}, addContext() {} } as never;
const metrics = { addMetric() {}, publishStoredMetrics() {}, addDimension() {}, addMetadata() {} } as never;

const address = (fields: object[]) => ['null', { type: 'record', name: 'Address', fields: [{ name: 'cityName', type: 'string' }, ...fields] }];
const V1 = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'shipTo', type: address([]), default: null },
  ],
};
/** v2: a new top-level field and a new field of the nested record (both with defaults: BACKWARD compatible). */
const V2 = {
  ...V1,
  fields: [...V1.fields.slice(0, 4), { name: 'shipTo', type: address([{ name: 'zip', type: ['null', 'string'], default: null }]), default: null }, { name: 'coupon', type: ['null', 'string'], default: null }],
};
/** v3: amount becomes a string — the table's decimal(12,2) cannot hold it. */
const V3 = { ...V1, fields: V1.fields.map((f) => (f.name === 'amount' ? { name: 'amount', type: 'string' } : f)) };

let dir: string;
let ep: LocalEndpoint;
let sr: LocalSchemaRegistry;
let ctx: CliContext;
let registry: SchemaRegistry;
let pipeline: Pipeline;
let declaration: PipelineDeclaration;
const realFetch = globalThis.fetch;

const rec = (offset: number, value: Buffer, partition = 0): ProducedRecord => ({ topic: 'orders', partition, offset, timestamp: DAY + offset, value });
const rows = async (sql: string) => (await queryLake(ctx, sql)).rows;
const unscaled = (cents: number) => Buffer.from([(cents >> 8) & 0xff, cents & 0xff]);

async function glueTable() {
  return (await ctx.glue().send(new GetTableCommand({ DatabaseName: ctx.database, Name: pipeline.name }))).Table!;
}
async function metadata(): Promise<TableMetadata> {
  const loc = (await glueTable()).Parameters!.metadata_location!;
  const key = loc.replace(`s3://${ctx.bucket}/`, '');
  const got = await ctx.s3().send(new GetObjectCommand({ Bucket: ctx.bucket, Key: key }));
  return parseMetadata(await got.Body!.transformToString());
}
/** icebird reads `https://<bucket>.s3.amazonaws.com/<key>`; the fetch override in beforeAll sends those to the endpoint. */
async function icebird(): Promise<Record<string, unknown>[]> {
  const { icebergRead } = await import('icebird');
  const location = (await glueTable()).Parameters!.metadata_location!;
  const tableUrl = location.slice(0, location.indexOf('/metadata/'));
  const out = (await icebergRead({ tableUrl, metadataFileName: location.slice(location.lastIndexOf('/') + 1) })) as Record<string, unknown>[];
  return out.sort((a, b) => String(a.orderid).localeCompare(String(b.orderid)));
}

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  dir = await mkdtemp(join(tmpdir(), 'lakeloader-ice-evolve-'));
  ep = await startLocalEndpoint({ dataDir: join(dir, 'endpoint'), port: 0 });
  sr = await startConfluentRegistry({ store: await RegistryStore.open(join(dir, 'registry')), port: 0 });
  ctx = resolveContext({ endpoint: ep.url, region: 'us-east-1', bucket: 'evolve-lake', database: 'evolve_db', workgroup: 'evolve-wg' }, {});
  registry = new SchemaRegistry({ host: sr.url });
  declaration = {
    name: 'orders_ice',
    topics: ['orders'],
    valueFormat: 'avro',
    // format: Iceberg (the default); unknownFields: 'evolve' (the default for Avro)
    schemaRegistry: { type: 'confluent', url: sr.url },
    columns: [
      { name: 'orderid', type: 'string', required: true },
      { name: 'ts', type: 'timestamp', required: true },
    ],
    partitioning: { by: 'eventTime', source: 'ts', granularity: 'day' },
    keepKafkaCoordinates: true,
  };
  pipeline = definePipeline(declaration);
  await provision(ctx, [pipeline]);
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    const m = /^https:\/\/([^.]+)\.s3\.amazonaws\.com\/(.*)$/.exec(url);
    return realFetch(m ? `${ep.url}/${m[1]}/${m[2]}` : input, init);
  }) as typeof fetch;
}, 60_000);

afterAll(async () => {
  globalThis.fetch = realFetch;
  await sr?.close();
  await ep?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function handler() {
  const env = { LAKELOADER_PIPELINE: pipeline.name, LAKELOADER_BUCKET: ctx.bucket, LAKELOADER_GLUE_DATABASE: ctx.database, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: ep.url, LAKELOADER_COMMIT_INTERVAL_SECONDS: '0' };
  return createHandler({ config: loadConfig(pipeline, env), logger: silent, metrics });
}

describe('an Iceberg table fed Confluent-framed Avro v1 then v2', () => {
  it('grows by a new schema with new field ids; old rows read the new columns as null in Athena and icebird', async () => {
    const v1 = (await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(V1) }, { subject: 'orders-value' })).id;
    const load = handler();
    const first = await load(
      buildMskEvent([
        rec(0, await registry.encode(v1, { orderId: 'o-1', ts: DAY, amount: unscaled(1250), tags: ['a'], shipTo: { cityName: 'Oslo' } })),
        rec(1, await registry.encode(v1, { orderId: 'o-2', ts: DAY, amount: unscaled(99), tags: [], shipTo: null })),
      ]),
    );
    expect(first).toMatchObject({ written: 2, quarantined: 0 });
    // The declaration names two columns; v1's other fields grew the table already (schema 1).
    const before = await metadata();
    expect(before.schemas.map((x) => x['schema-id'])).toEqual([0, 1]);
    expect(currentSchema(before).fields.map((f) => f.name)).toEqual(['orderid', 'ts', '_topic', '_partition', '_offset', '_kafka_ts', 'amount', 'tags', 'shipto']);
    const lastBefore = before['last-column-id'];

    const v2 = (await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(V2) }, { subject: 'orders-value' })).id;
    expect(v2).not.toBe(v1);
    // A fresh container (another Lambda) loads v2: it finds the table at schema 1 and evolves it.
    const second = await handler()(buildMskEvent([rec(2, await registry.encode(v2, { orderId: 'o-3', ts: DAY, amount: unscaled(500), tags: ['b', 'c'], shipTo: { cityName: 'Bergen', zip: '5003' }, coupon: 'XMAS' }))]));
    expect(second).toMatchObject({ written: 1, quarantined: 0 });

    const m = await metadata();
    expect(m.schemas.map((s) => s['schema-id'])).toEqual([0, 1, 2]);
    expect(m['current-schema-id']).toBe(2);
    const schema = currentSchema(m);
    const coupon = schema.fields.find((f) => f.name === 'coupon')!;
    const shipto = schema.fields.find((f) => f.name === 'shipto')!;
    const zip = (shipto.type as { fields: { id: number; name: string }[] }).fields.find((f) => f.name === 'zip')!;
    // New ids beyond the old last-column-id; every old field keeps its id.
    expect(Math.min(coupon.id, zip.id)).toBeGreaterThan(lastBefore);
    expect(m['last-column-id']).toBe(lastBefore + 2);
    for (const f of currentSchema(before).fields) expect(schema.fields.find((x) => x.name === f.name)!.id).toBe(f.id);
    // The Glue table's columns follow, as Athena writes them for Iceberg tables.
    const cols = (await glueTable()).StorageDescriptor!.Columns!;
    expect(cols.at(-1)).toMatchObject({ Name: 'coupon', Type: 'string', Parameters: { 'iceberg.field.id': String(coupon.id) } });
    expect(cols.find((c) => c.Name === 'shipto')!.Type).toBe('struct<cityname:string,zip:string>');

    expect(await rows('SELECT orderid, CAST(amount AS varchar), cardinality(tags), shipto.cityname, shipto.zip, coupon FROM orders_ice ORDER BY orderid')).toEqual([
      ['o-1', '12.50', '1', 'Oslo', null, null],
      ['o-2', '0.99', '0', null, null, null],
      ['o-3', '5.00', '2', 'Bergen', '5003', 'XMAS'],
    ]);
    expect(await rows('SELECT count(*) FROM orders_ice WHERE coupon IS NULL')).toEqual([['2']]);

    const read = await icebird();
    expect(read.map((r) => [r.orderid, r.coupon ?? null, (r.shipto as { zip?: string } | null)?.zip ?? null])).toEqual([
      ['o-1', null, null],
      ['o-2', null, null],
      ['o-3', 'XMAS', '5003'],
    ]);
  }, 60_000);

  it('compaction (what OPTIMIZE and the local optimizer run) rewrites old and new files into one with the new columns; both readers see the same rows', async () => {
    const filesBefore = await rows('SELECT count(*) FROM "orders_ice$files"');
    expect(Number(filesBefore[0]![0])).toBeGreaterThanOrEqual(2);
    // (The local OPTIMIZE statement runs on tables of declared pipelines; this one is declared in the test.)
    const store = new S3ObjectStore(ctx.s3(), ctx.bucket);
    const r = await compactTable({ store, catalog: new GlueCatalog(ctx.glue()), bucket: ctx.bucket, database: ctx.database, pipeline });
    expect(r.rewritten).toBe(Number(filesBefore[0]![0]));
    expect(await rows('SELECT count(*) FROM "orders_ice$files"')).toEqual([['1']]);
    expect(await rows('SELECT orderid, shipto.zip, coupon FROM orders_ice ORDER BY orderid')).toEqual([
      ['o-1', null, null],
      ['o-2', null, null],
      ['o-3', '5003', 'XMAS'],
    ]);
    expect((await icebird()).map((r) => [r.orderid, r.coupon ?? null])).toEqual([
      ['o-1', null],
      ['o-2', null],
      ['o-3', 'XMAS'],
    ]);
  }, 60_000);

  it('quarantines an incompatible v3 with its schema id and reason; the schema stays', async () => {
    await fetch(`${sr.url}/config/orders-value`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ compatibility: 'NONE' }) });
    const reg = await fetch(`${sr.url}/subjects/orders-value/versions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ schema: JSON.stringify(V3) }) });
    const v3 = ((await reg.json()) as { id: number }).id;
    const s = await handler()(buildMskEvent([rec(3, await registry.encode(v3, { orderId: 'o-4', ts: DAY, amount: '1.00', tags: [], shipTo: null }))]));
    expect(s).toMatchObject({ written: 0, quarantined: 1 });
    const q = await rows('SELECT stage, error FROM orders_ice_quarantine');
    expect(q).toHaveLength(1);
    expect(q[0]![0]).toBe('schema');
    expect(q[0]![1]).toMatch(new RegExp(`schema id ${v3}: incompatible change: "amount": .*string.*decimal\\(12,2\\)`));
    expect((await metadata()).schemas).toHaveLength(3);
  }, 60_000);

  it("a new field quarantined under unknownFields 'quarantine' is replayed into the table once it evolves: the catalog's table grows, the file carries its id", async () => {
    const V4 = { ...V2, fields: [...V2.fields, { name: 'gift', type: 'boolean', default: false }] };
    await fetch(`${sr.url}/config/orders-value`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ compatibility: 'BACKWARD' }) });
    const v4 = (await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(V4) }, { subject: 'orders-value' })).id;
    const strict = definePipeline({ ...declaration, unknownFields: 'quarantine' });
    const env = { LAKELOADER_PIPELINE: pipeline.name, LAKELOADER_BUCKET: ctx.bucket, LAKELOADER_GLUE_DATABASE: ctx.database, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: ep.url, LAKELOADER_COMMIT_INTERVAL_SECONDS: '0' };
    const s = await createHandler({ config: loadConfig(strict, env), logger: silent, metrics })(
      buildMskEvent([rec(4, await registry.encode(v4, { orderId: 'o-5', ts: DAY, amount: unscaled(1), tags: [], shipTo: null, coupon: null, gift: true }))]),
    );
    expect(s).toMatchObject({ written: 0, quarantined: 1 });
    const lastBefore = (await metadata())['last-column-id'];
    const r = await replayQuarantine(replayDeps(ctx), pipeline, { filter: { match: 'gift' } });
    expect(r).toMatchObject({ replayed: 1, stillFailing: 0 });
    const m = await metadata();
    expect(m.schemas).toHaveLength(4);
    expect(currentSchema(m).fields.find((f) => f.name === 'gift')!.id).toBe(lastBefore + 1);
    expect(await rows('SELECT orderid, gift FROM orders_ice WHERE gift IS NOT NULL OR orderid = \'o-1\' ORDER BY orderid')).toEqual([
      ['o-1', null],
      ['o-5', 'true'],
    ]);
    expect((await icebird()).find((x) => x.orderid === 'o-5')).toMatchObject({ gift: true, coupon: null });
  }, 60_000);
});
