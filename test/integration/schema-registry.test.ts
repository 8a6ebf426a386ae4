/**
 * Avro and Protobuf from schema registries, end to end through the real loader handler against the
 * local AWS endpoint and the local Confluent-compatible registry: records encoded by software this
 * project did not write (kafkajs' @kafkajs/confluent-schema-registry for Confluent-framed Avro,
 * @meinestadt.de/glue-schema-registry over the AWS SDK's Glue client for Glue-framed, zlib-compressed
 * Avro, @bufbuild/protobuf's wire writer for Protobuf) land with the right types; a new writer
 * version grows the table (old rows read the new column as null); an incompatible writer version,
 * an unknown id, a wrong magic byte, a truncated frame and bytes that do not match their schema are
 * quarantined with their reasons; a registry that is down fails the batch and commits nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetTableCommand } from '@aws-sdk/client-glue';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { GlueSchemaRegistry as MsGlue, SchemaCompatibilityType, SchemaType as MsType } from '@meinestadt.de/glue-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../../lambdas/core/commit';
import { loadConfig } from '../../lambdas/core/config';
import { SchemaRegistryUnavailableError } from '../../lambdas/core/formats/errors';
import { BatchLoadError } from '../../lambdas/core/loader';
import type { QuarantineEntry } from '../../lambdas/core/model';
import { definePipeline, type Pipeline } from '../../lambdas/core/pipeline';
import { S3ObjectStore } from '../../lambdas/core/store';
import { createHandler } from '../../lambdas/loader/handler';
import { resolveContext, type CliContext } from '../../lib/cli/context';
import { provision } from '../../lib/cli/provision';
import { startConfluentRegistry, type LocalSchemaRegistry } from '../../lib/local/registry/confluent';
import { RegistryStore } from '../../lib/local/registry/store';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import { startLocalEndpoint, type LocalEndpoint } from '../../lib/local/server';
import { runQuery } from '../../lib/ops/athena';
import { queryOptions } from '../../lib/ops/deps';
import { listQuarantine, readQuarantineObject } from '../../lib/ops/quarantine';

const DAY = Date.parse('2026-11-20T10:00:00Z');
const silent = { info() {}, error() {}, warn() {}, debug() {}, addContext() {} } as never;
const metrics = { addMetric() {}, publishStoredMetrics() {}, addDimension() {}, addMetadata() {} } as never;

let dir: string;
let ep: LocalEndpoint;
let sr: LocalSchemaRegistry;
let ctx: CliContext;
let kafkajsSr: SchemaRegistry;

const orderV1 = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'big', type: 'long' },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID'] } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'attrs', type: { type: 'map', values: 'long' } },
    { name: 'shipTo', type: ['null', { type: 'record', name: 'Address', fields: [{ name: 'cityName', type: 'string' }] }], default: null },
  ],
};
const orderV2 = { ...orderV1, fields: [...orderV1.fields, { name: 'coupon', type: ['null', 'string'], default: null }] };
/** v3 turns amount into a boolean: BACKWARD refuses it; registered under NONE, its records must be quarantined. */
const orderV3 = { ...orderV1, fields: orderV1.fields.map((f) => (f.name === 'amount' ? { name: 'amount', type: 'boolean' } : f)) };

const avroPipeline = (registry: string): Pipeline =>
  definePipeline({
    name: 'orders_avro',
    topics: ['orders'],
    valueFormat: 'avro',
    format: 'hive',
    schemaRegistry: { type: 'confluent', url: registry },
    columns: [
      { name: 'orderid', type: 'string', required: true },
      { name: 'ts', type: 'timestamp', required: true },
    ],
    partitioning: { by: 'eventTime', source: 'ts', granularity: 'day' },
  });

/** Two's complement big-endian bytes of an unscaled decimal (what an Avro `decimal` on bytes holds). */
function decimalBytes(unscaled: bigint): Buffer {
  let hex = BigInt.asUintN(64, unscaled).toString(16).padStart(16, '0');
  while (hex.length > 2 && ((hex.startsWith('00') && parseInt(hex[2]!, 16) < 8) || (hex.startsWith('ff') && parseInt(hex[2]!, 16) >= 8))) hex = hex.slice(2);
  return Buffer.from(hex, 'hex');
}

function handlerFor(p: Pipeline) {
  const config = loadConfig(p, { LAKELOADER_PIPELINE: p.name, LAKELOADER_BUCKET: ctx.bucket, LAKELOADER_GLUE_DATABASE: ctx.database, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: ep.url });
  return createHandler({ config, logger: silent, metrics });
}

const rec = (topic: string, offset: number, value: Buffer | string, partition = 0): ProducedRecord => ({ topic, partition, offset, timestamp: DAY + offset, value });

async function quarantined(table: string): Promise<QuarantineEntry[]> {
  const store = new S3ObjectStore(ctx.s3(), ctx.bucket);
  const out: QuarantineEntry[] = [];
  for (const o of await listQuarantine(store, table)) out.push(...((await readQuarantineObject(store, o.key))?.lines ?? []).map((l) => l.entry));
  return out;
}
const sql = async (text: string) => (await runQuery({ ...queryOptions(ctx), sql: text, pollInitialMs: 20 })).rows;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  dir = await mkdtemp(join(tmpdir(), 'lakeloader-sr-'));
  ep = await startLocalEndpoint({ dataDir: join(dir, 'endpoint'), port: 0 });
  sr = await startConfluentRegistry({ store: await RegistryStore.open(join(dir, 'registry')), port: 0 });
  ctx = resolveContext({ endpoint: ep.url, region: 'us-east-1', bucket: 'sr-lake', database: 'sr_db', workgroup: 'sr-wg' }, {});
  kafkajsSr = new SchemaRegistry({ host: sr.url });
}, 60_000);

afterAll(async () => {
  await sr?.close();
  await ep?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('Confluent-framed Avro (encoded by @kafkajs/confluent-schema-registry)', () => {
  let pipeline: Pipeline;
  let v1: number;
  let v2: number;

  it('lands with the right types, and a new writer version grows the table (old rows: null)', async () => {
    pipeline = avroPipeline(sr.url);
    await provision(ctx, [pipeline]);
    v1 = (await kafkajsSr.register({ type: SchemaType.AVRO, schema: JSON.stringify(orderV1) }, { subject: 'orders-value' })).id;
    const base = { ts: DAY, amount: decimalBytes(-12345n), big: 9007199254740993, day: 20412, status: 'PAID', tags: ['a', 'b'], attrs: { n: 1 }, shipTo: { cityName: 'Oslo' } };
    // kafkajs' encoder goes through avsc with JS numbers: a long beyond 2^53 cannot be written by it, so 'big' stays within.
    base.big = 9007199254740000;
    const r1 = await kafkajsSr.encode(v1, { orderId: 'o-1', ...base });
    const r2 = await kafkajsSr.encode(v1, { orderId: 'o-2', ...base, shipTo: null, status: 'NEW' });
    const handler = handlerFor(pipeline);
    const s1 = await handler(buildMskEvent([rec('orders', 0, r1), rec('orders', 1, r2)]));
    expect(s1.written).toBe(2);

    // v2 adds `coupon` (BACKWARD compatible: it has a default).
    v2 = (await kafkajsSr.register({ type: SchemaType.AVRO, schema: JSON.stringify(orderV2) }, { subject: 'orders-value' })).id;
    expect(v2).not.toBe(v1);
    const r3 = await kafkajsSr.encode(v2, { orderId: 'o-3', ...base, coupon: 'XMAS' });
    const s2 = await handler(buildMskEvent([rec('orders', 2, r3)]));
    expect(s2.written).toBe(1);

    const table = (await ctx.glue().send(new GetTableCommand({ DatabaseName: ctx.database, Name: 'orders_avro' }))).Table!;
    const cols = table.StorageDescriptor!.Columns!.map((c) => `${c.Name}:${c.Type}`);
    expect(cols).toEqual(expect.arrayContaining(['amount:decimal(12,2)', 'big:bigint', 'day:date', 'status:string', 'tags:array<string>', 'attrs:map<string,bigint>', 'shipto:struct<cityname:string>', 'coupon:string']));
    // appended after the declared columns (never reordered)
    expect(cols.indexOf('coupon:string')).toBe(cols.length - 1);

    const rows = await sql(
      `SELECT orderid, CAST(ts AS varchar), CAST(amount AS varchar), big, CAST(day AS varchar), status, cardinality(tags), attrs['n'], shipto.cityname, coupon FROM orders_avro ORDER BY orderid`,
    );
    expect(rows).toEqual([
      ['o-1', '2026-11-20 10:00:00', '-123.45', '9007199254740000', '2025-11-20', 'PAID', '2', '1', 'Oslo', null],
      ['o-2', '2026-11-20 10:00:00', '-123.45', '9007199254740000', '2025-11-20', 'NEW', '2', '1', null, null],
      ['o-3', '2026-11-20 10:00:00', '-123.45', '9007199254740000', '2025-11-20', 'PAID', '2', '1', 'Oslo', 'XMAS'],
    ]);
  }, 60_000);

  it('refuses an incompatible version (409, BACKWARD); registered anyway, its records are quarantined with the schema id and reason', async () => {
    await expect(kafkajsSr.register({ type: SchemaType.AVRO, schema: JSON.stringify(orderV3) }, { subject: 'orders-value' })).rejects.toThrow(/incompatible/i);
    const put = await fetch(`${sr.url}/config/orders-value`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ compatibility: 'NONE' }) });
    expect(put.status).toBe(200);
    const reg = await fetch(`${sr.url}/subjects/orders-value/versions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ schema: JSON.stringify(orderV3) }) });
    const v3 = ((await reg.json()) as { id: number }).id;
    const base = { ts: DAY, big: 1, day: 1, status: 'NEW', tags: [], attrs: {}, shipTo: null };
    const bad = await kafkajsSr.encode(v3, { orderId: 'o-4', amount: true, ...base });
    const good = await kafkajsSr.encode(v2, { orderId: 'o-5', amount: decimalBytes(100n), ...base, coupon: null });
    const unknownId = Buffer.concat([Buffer.from([0, 0, 0, 0x27, 0x0f]), (good as Buffer).subarray(5)]);
    const wrongMagic = Buffer.from(good as Buffer);
    wrongMagic[0] = 1;
    const truncated = Buffer.from([0, 0, 0]);
    const mismatch = Buffer.concat([(good as Buffer).subarray(0, 5), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
    const summary = await handlerFor(pipeline)(
      buildMskEvent([rec('orders', 3, bad), rec('orders', 4, good), rec('orders', 5, unknownId), rec('orders', 6, wrongMagic), rec('orders', 7, truncated), rec('orders', 8, mismatch)]),
    );
    expect(summary).toMatchObject({ written: 1, quarantined: 5 });
    const q = await quarantined('orders_avro');
    const reason = (offset: number) => q.find((e) => e.kafka_offset === offset);
    expect(reason(3)).toMatchObject({ stage: 'schema' });
    expect(reason(3)!.error).toMatch(new RegExp(`schema id ${v3}: incompatible change: "amount": .*boolean.*decimal\\(12,2\\)`));
    expect(reason(5)!.error).toMatch(/unknown schema id 9999/);
    expect(reason(6)!.error).toMatch(/wrong magic byte 1/);
    expect(reason(7)!.error).toMatch(/Confluent frame truncated: 3 bytes/);
    expect(reason(8)!.error).toMatch(/bytes do not match the Avro writer schema \(schema id \d+\)/);
    for (const o of [5, 6, 7, 8]) expect(reason(o)!.stage).toBe('decode');
    // the quarantine keeps the original bytes
    expect(Buffer.from(reason(3)!.value_base64!, 'base64').equals(bad as Buffer)).toBe(true);
  }, 60_000);

  it('a registry that is down fails the batch (retried), commits nothing and loses nothing', async () => {
    const deadUrl = sr.url;
    await sr.close();
    const before = await readState(new S3ObjectStore(ctx.s3(), ctx.bucket), 'orders_avro', 'orders', 1);
    // a fresh container: nothing cached; the frame names schema id 1
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), Buffer.from([2])]);
    const err = await handlerFor(avroPipeline(deadUrl))(buildMskEvent([rec('orders', 0, frame, 1)])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchLoadError);
    expect((err as BatchLoadError).failures[0]!.error).toBeInstanceOf(SchemaRegistryUnavailableError);
    const after = await readState(new S3ObjectStore(ctx.s3(), ctx.bucket), 'orders_avro', 'orders', 1);
    expect(after.state.committedOffset).toBe(before.state.committedOffset);
    sr = await startConfluentRegistry({ store: sr.store, port: Number(new URL(deadUrl).port) });
  }, 60_000);
});

describe('Glue-framed Avro (encoded by @meinestadt.de/glue-schema-registry through the AWS SDK)', () => {
  it('creates the registry and schema with the Glue actions, loads zlib-compressed and plain frames', async () => {
    const glueSr = new MsGlue('lake', { endpoint: ep.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const { CreateRegistryCommand } = await import('@aws-sdk/client-glue');
    await ctx.glue().send(new CreateRegistryCommand({ RegistryName: 'lake' }));
    const schema = JSON.stringify({ type: 'record', name: 'Click', fields: [{ name: 'id', type: 'string' }, { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } }, { name: 'n', type: 'int' }] });
    const id = await glueSr.createSchema({ type: MsType.AVRO, schemaName: 'clicks', compatibility: SchemaCompatibilityType.BACKWARD, schema });
    const p = definePipeline({
      name: 'clicks_glue',
      topics: ['clicks'],
      valueFormat: 'avro',
      format: 'hive',
      schemaRegistry: { type: 'glue', registryName: 'lake' },
      columns: [{ name: 'ts', type: 'timestamp', required: true }],
      partitioning: { by: 'eventTime', source: 'ts', granularity: 'hour' },
    });
    await provision(ctx, [p]);
    const a = await glueSr.encode(id!, { id: 'c-1', ts: DAY * 1000 + 999, n: 7 }, { compress: true });
    const b = await glueSr.encode(id!, { id: 'c-2', ts: DAY * 1000, n: -1 }, { compress: false });
    expect(a[1]).toBe(5);
    const s = await handlerFor(p)(buildMskEvent([rec('clicks', 0, a), rec('clicks', 1, b)]));
    expect(s).toMatchObject({ written: 2, quarantined: 0 });
    expect(await sql('SELECT id, CAST(ts AS varchar), n FROM clicks_glue ORDER BY id')).toEqual([
      ['c-1', '2026-11-20 10:00:00', '7'],
      ['c-2', '2026-11-20 10:00:00', '-1'],
    ]);
  }, 60_000);
});

describe('Confluent-framed Protobuf (bytes written by @bufbuild/protobuf)', () => {
  it('decodes message indexes, 64-bit integers exactly, Timestamp, enums, maps, oneof', async () => {
    const proto = `syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Other { int32 x = 1; }
message Payment {
  string payment_id = 1;
  int64 cents = 2;
  uint64 counter = 3;
  google.protobuf.Timestamp created_at = 4;
  Kind kind = 5;
  map<string, string> labels = 6;
  oneof method { string card = 7; int32 cash = 8; }
  enum Kind { UNKNOWN = 0; REFUND = 1; }
}`;
    const reg = await fetch(`${sr.url}/subjects/payments-value/versions`, { method: 'POST', headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schemaType: 'PROTOBUF', schema: proto }) });
    const { id } = (await reg.json()) as { id: number };
    const p = definePipeline({
      name: 'payments',
      topics: ['payments'],
      valueFormat: 'protobuf',
      format: 'hive',
      schemaRegistry: { type: 'confluent', url: sr.url },
      columns: [{ name: 'created_at', type: 'timestamp', required: true }],
      partitioning: { by: 'eventTime', source: 'created_at', granularity: 'day' },
    });
    await provision(ctx, [p]);
    const ts = new BinaryWriter().tag(1, WireType.Varint).int64(BigInt(DAY / 1000)).tag(2, WireType.Varint).int32(5_000_000).finish();
    const msg = new BinaryWriter()
      .tag(1, WireType.LengthDelimited).string('p-1')
      .tag(2, WireType.Varint).int64(-9223372036854775807n)
      .tag(3, WireType.Varint).uint64(18446744073709551615n)
      .tag(4, WireType.LengthDelimited).bytes(ts)
      .tag(5, WireType.Varint).int32(1)
      .tag(6, WireType.LengthDelimited).bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).string('k').tag(2, WireType.LengthDelimited).string('v').finish())
      .tag(8, WireType.Varint).int32(42)
      .finish();
    // Confluent framing by hand from the spec: magic 0, id, message indexes [1] = count 1, index 1 (zigzag: 2, 2)
    const framed = Buffer.concat([Buffer.from([0, (id >>> 24) & 255, (id >>> 16) & 255, (id >>> 8) & 255, id & 255, 2, 2]), msg]);
    const s = await handlerFor(p)(buildMskEvent([rec('payments', 0, framed)]));
    expect(s, JSON.stringify(await quarantined('payments'))).toMatchObject({ written: 1, quarantined: 0 });
    expect(await sql("SELECT payment_id, cents, CAST(counter AS varchar), CAST(created_at AS varchar), kind, labels['k'], card, cash FROM payments")).toEqual([
      ['p-1', '-9223372036854775807', '18446744073709551615', '2026-11-20 10:00:00.005', 'REFUND', 'v', null, '42'],
    ]);
  }, 60_000);
});
