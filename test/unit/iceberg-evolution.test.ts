/**
 * Iceberg schema evolution with the in-memory store and catalog: the schema grows with new field
 * ids (from `last-column-id` on, nested fields too, old ids kept), a new schema is appended and
 * made current through the optimistic catalog commit with the Glue columns following, Avro v1
 * then v2 through the real handler lands v2's files with the new field id (old rows read it as
 * null), an incompatible v3 is quarantined with its schema id, and concurrent evolvers converge:
 * the same column added by two loaders at once is added once; different columns both land.
 */
import { parquetMetadata, parquetReadObjects, parquetSchema } from 'hyparquet';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommitConflictError } from '../../lambdas/core/catalog';
import { EvolvingTable, glueColumns, memoryTableColumns } from '../../lambdas/core/evolution';
import { loadConfig } from '../../lambdas/core/config';
import { avroEncoder } from '../../lambdas/core/formats/avro';
import type { SchemaSource, WriterSchema } from '../../lambdas/core/formats/registry';
import { FormatRuntime } from '../../lambdas/core/formats/runtime';
import { confluentFrame } from '../../lambdas/core/formats/wire';
import { icebergTableColumns } from '../../lambdas/core/iceberg/evolve';
import { parseMetadata, type TableMetadata } from '../../lambdas/core/iceberg/metadata';
import { currentSchema, evolveIcebergSchema, icebergLayout } from '../../lambdas/core/iceberg/schema';
import { ensureIcebergTable, tableFiles, type IcebergDeps } from '../../lambdas/core/iceberg/table';
import { definePipeline, type Pipeline } from '../../lambdas/core/pipeline';
import { prepareBatch } from '../../lambdas/core/prepare';
import { parseColumnType } from '../../lambdas/core/types';
import { createHandler, defaultCodec } from '../../lambdas/loader/handler';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';

const BUCKET = 'lake';
const DB = 'lakeloader';
const DAY = Date.parse('2026-11-20T10:00:00Z');

const V1 = {
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'attrs', type: { type: 'map', values: 'long' } },
    { name: 'shipTo', type: ['null', { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }] }], default: null },
  ],
};
/** v2 adds a top-level field and a field of the nested record. */
const V2 = {
  ...V1,
  fields: [
    ...V1.fields.slice(0, 3),
    { name: 'shipTo', type: ['null', { type: 'record', name: 'Address', fields: [{ name: 'city', type: 'string' }, { name: 'zip', type: ['null', 'string'], default: null }] }], default: null },
    { name: 'coupon', type: ['null', 'string'], default: null },
  ],
};
/** v3 turns the map's values into strings: incompatible with the table's map<string,bigint>. */
const V3 = { ...V1, fields: V1.fields.map((f) => (f.name === 'attrs' ? { name: 'attrs', type: { type: 'map', values: 'string' } } : f)) };
const SCHEMAS: Record<string, object> = { '1': V1, '2': V2, '3': V3 };

const source: SchemaSource = {
  async get(id: string): Promise<WriterSchema> {
    return { label: `schema id ${id}`, format: 'AVRO', text: JSON.stringify(SCHEMAS[id]), imports: {} };
  },
};

const pipeline: Pipeline = definePipeline({
  name: 'orders_av',
  topics: ['orders'],
  valueFormat: 'avro',
  schemaRegistry: { type: 'confluent', url: 'http://registry.invalid' },
  columns: [
    { name: 'orderid', type: 'string', required: true },
    { name: 'ts', type: 'timestamp', required: true },
    { name: 'attrs', type: 'map<string,bigint>' },
    { name: 'shipto', type: 'struct<city:string>' },
  ],
  partitioning: { by: 'eventTime', source: 'ts', granularity: 'day' },
});

const encode = (id: number, value: object) => confluentFrame(id, avroEncoder(JSON.stringify(SCHEMAS[String(id)]))(value));
const rec = (offset: number, value: Buffer, partition = 0): ProducedRecord => ({ topic: 'orders', partition, offset, timestamp: DAY + offset, value });

/** A catalog whose next UpdateTable first runs `hook` (another writer's whole commit), so the one that read before it conflicts. */
class RacingCatalog extends MemoryCatalog {
  hook?: () => Promise<void>;
  conflicts = 0;
  override async updateTable(...args: Parameters<MemoryCatalog['updateTable']>): Promise<void> {
    const h = this.hook;
    this.hook = undefined;
    if (h) await h();
    try {
      await super.updateTable(...args);
    } catch (e) {
      if (e instanceof CommitConflictError) this.conflicts++;
      throw e;
    }
  }
}

function setup() {
  const store = new MemoryStore(100, () => DAY);
  const catalog = new RacingCatalog();
  const deps: IcebergDeps = { store, catalog, bucket: BUCKET, database: DB, pipeline, now: () => DAY, backoff: async () => {} };
  /** A loader container: the handler with its own format runtime (as formatCodec builds it), on the shared store and catalog. */
  const container = () => {
    const config = loadConfig(pipeline, { LAKELOADER_PIPELINE: pipeline.name, LAKELOADER_BUCKET: BUCKET, LAKELOADER_GLUE_DATABASE: DB, AWS_REGION: 'us-east-1', LAKELOADER_COMMIT_INTERVAL_SECONDS: '0' });
    const runtime = new FormatRuntime(pipeline, { source, iceberg: deps });
    return createHandler({ config, store, catalog, now: () => DAY, codec: { ...defaultCodec, prepareBatch: (p, records) => prepareBatch(p, records, { runtime }) } });
  };
  const metadata = async (): Promise<TableMetadata> => {
    const t = await catalog.getTable(DB, pipeline.name);
    return parseMetadata(store.text(t!.input.Parameters!.metadata_location!.replace(`s3://${BUCKET}/`, ''))!);
  };
  const body = (uri: string) => {
    const b = store.objects.get(uri.replace(`s3://${BUCKET}/`, ''))!.body;
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };
  return { store, catalog, deps, container, metadata, body };
}

beforeEach(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

describe('evolveIcebergSchema', () => {
  const layout = icebergLayout(pipeline);
  it('keeps every id, numbers new columns and new struct fields from last-column-id on', () => {
    // Declared: 4 columns + 4 Kafka coordinates = ids 1..8, then attrs key/value 9, 10, shipto.city 11.
    expect(layout.lastColumnId).toBe(11);
    const columns = [...pipeline.columns.map((c) => (c.name === 'shipto' ? { ...c, type: parseColumnType('struct<city:string,zip:string>') } : c)), { name: 'coupon', type: parseColumnType('array<struct<code:string>>') }];
    const r = evolveIcebergSchema(layout.schema, layout.lastColumnId, columns);
    expect(r.schema['schema-id']).toBe(1);
    expect(r.added).toEqual(['shipto.zip', 'coupon']);
    expect(r.lastColumnId).toBe(15);
    const byName = new Map(r.schema.fields.map((f) => [f.name, f]));
    for (const f of layout.schema.fields) expect(byName.get(f.name)!.id).toBe(f.id);
    expect(byName.get('shipto')!.type).toEqual({ type: 'struct', fields: [{ id: 11, name: 'city', required: false, type: 'string' }, { id: 12, name: 'zip', required: false, type: 'string' }] });
    expect(byName.get('coupon')).toEqual({ id: 13, name: 'coupon', required: false, type: { type: 'list', 'element-id': 14, 'element-required': false, element: { type: 'struct', fields: [{ id: 15, name: 'code', required: false, type: 'string' }] } } });
  });

  it('changes nothing (same object) when the columns are the schema\'s, and never drops a field', () => {
    const same = evolveIcebergSchema(layout.schema, layout.lastColumnId, pipeline.columns);
    expect(same.schema).toBe(layout.schema);
    const fewer = evolveIcebergSchema(layout.schema, layout.lastColumnId, pipeline.columns.slice(0, 2));
    expect(fewer.schema).toBe(layout.schema);
  });
});

describe('an Iceberg table that evolves', () => {
  it('Avro v1 then v2 through the handler: a new schema with new field ids, v2 files carry them, v1 rows read null; v3 is quarantined', async () => {
    const s = setup();
    const handler = s.container();
    await handler.ensureTable();
    const base = { ts: DAY, attrs: { n: 1 } };
    const r1 = await handler(buildMskEvent([rec(0, encode(1, { orderId: 'o-1', ...base, shipTo: { city: 'Oslo' } }))]));
    expect(r1).toMatchObject({ written: 1, quarantined: 0 });
    let m = await s.metadata();
    expect(m.schemas).toHaveLength(1);

    const r2 = await handler(buildMskEvent([rec(1, encode(2, { orderId: 'o-2', ...base, shipTo: { city: 'Bergen', zip: '5003' }, coupon: 'XMAS' }))]));
    expect(r2).toMatchObject({ written: 1, quarantined: 0 });
    m = await s.metadata();
    expect(m.schemas.map((x) => x['schema-id'])).toEqual([0, 1]);
    expect(m['current-schema-id']).toBe(1);
    expect(m['last-column-id']).toBe(13);
    const schema = currentSchema(m);
    const coupon = schema.fields.find((f) => f.name === 'coupon')!;
    expect(coupon).toMatchObject({ id: 13, type: 'string', required: false });
    expect(schema.fields.find((f) => f.name === 'shipto')!.type).toMatchObject({ fields: [{ id: 11, name: 'city' }, { id: 12, name: 'zip' }] });
    // The snapshot of v2's batch names the new schema; the first one the old.
    expect(m.snapshots.map((x) => x['schema-id'])).toEqual([0, 1]);
    // The Glue table's columns follow, with Athena's iceberg.field.* parameters.
    const glue = (await s.catalog.getTable(DB, pipeline.name))!.input.StorageDescriptor!.Columns!;
    expect(glue.map((c) => c.Name)).toEqual(['orderid', 'ts', 'attrs', 'shipto', '_topic', '_partition', '_offset', '_kafka_ts', 'coupon']);
    expect(glue.at(-1)).toMatchObject({ Type: 'string', Parameters: { 'iceberg.field.id': '13', 'iceberg.field.optional': 'true', 'iceberg.field.current': 'true' } });
    expect(glue.find((c) => c.Name === 'shipto')!.Type).toBe('struct<city:string,zip:string>');

    // v2's data file carries field id 13 (and the table's schema in its footer); v1's does not.
    const files = await tableFiles(s.deps, m);
    expect(files).toHaveLength(2);
    const newer = files.find((f) => f.data_file.value_counts!.some((p) => p.key === 13))!;
    const older = files.find((f) => f !== newer)!;
    const ids = (uri: string) => parquetSchema(parquetMetadata(s.body(uri))).children.map((c) => [c.element.name, c.element.field_id]);
    expect(ids(newer.data_file.file_path)).toContainEqual(['coupon', 13]);
    expect(ids(older.data_file.file_path).map(([n]) => n)).not.toContain('coupon');
    const kv = parquetMetadata(s.body(newer.data_file.file_path)).key_value_metadata!.find((k) => k.key === 'iceberg.schema')!;
    expect(JSON.parse(kv.value!)).toMatchObject({ 'schema-id': 1 });
    const rows = [...(await parquetReadObjects({ file: s.body(older.data_file.file_path) })), ...(await parquetReadObjects({ file: s.body(newer.data_file.file_path) }))];
    expect(rows.map((r) => [r.orderid, r.coupon ?? null, (r.shipto as { zip?: string }).zip ?? null])).toEqual([
      ['o-1', null, null],
      ['o-2', 'XMAS', '5003'],
    ]);

    // v3 narrows a type: its record is quarantined with the schema id and the reason; the schema stays.
    const r3 = await handler(buildMskEvent([rec(2, encode(3, { orderId: 'o-3', ...base, attrs: { n: 'x' } }))]));
    expect(r3).toMatchObject({ written: 0, quarantined: 1 });
    const q = [...s.store.objects.keys()].filter((k) => k.startsWith('quarantine/'));
    expect(s.store.text(q[0]!)).toMatch(/schema id 3: incompatible change: \\"attrs\{\}\\": /);
    expect((await s.metadata()).schemas).toHaveLength(2);
  });

  it('two loaders adding the same column at once converge on one column (one new schema, one id)', async () => {
    const s = setup();
    const a = s.container();
    const b = s.container();
    await a.ensureTable();
    const base = { ts: DAY, attrs: {}, shipTo: null };
    await a(buildMskEvent([rec(0, encode(1, { orderId: 'a-0', ...base }))]));
    await b(buildMskEvent([rec(0, encode(1, { orderId: 'b-0', ...base }), 1)]));
    // Loader b's evolution commits while loader a's is between reading the table and swapping it.
    s.catalog.hook = async () => {
      await b(buildMskEvent([rec(1, encode(2, { orderId: 'b-1', ...base, coupon: 'B' }), 1)]));
    };
    await a(buildMskEvent([rec(1, encode(2, { orderId: 'a-1', ...base, coupon: 'A' }))]));
    expect(s.catalog.conflicts).toBeGreaterThanOrEqual(1);
    const m = await s.metadata();
    expect(m.schemas).toHaveLength(2);
    expect(currentSchema(m).fields.filter((f) => f.name === 'coupon')).toEqual([{ id: 13, name: 'coupon', required: false, type: 'string' }]);
    const glue = (await s.catalog.getTable(DB, pipeline.name))!.input.StorageDescriptor!.Columns!;
    expect(glue.filter((c) => c.Name === 'coupon')).toHaveLength(1);
    // Both loaders' v2 files carry the one id.
    const withCoupon = (await tableFiles(s.deps, m)).filter((f) => f.data_file.value_counts!.some((p) => p.key === 13));
    expect(withCoupon).toHaveLength(2);
  });

  it('two evolvers adding different columns at once both land, with distinct ids', async () => {
    const s = setup();
    await ensureIcebergTable(s.deps);
    const one = new EvolvingTable(pipeline, icebergTableColumns(s.deps));
    const two = new EvolvingTable(pipeline, icebergTableColumns(s.deps));
    await one.current();
    await two.current();
    s.catalog.hook = async () => {
      await two.grow([{ name: 'y', type: parseColumnType('bigint') }]);
    };
    const p = await one.grow([{ name: 'x', type: parseColumnType('string') }]);
    expect(s.catalog.conflicts).toBe(1);
    const m = await s.metadata();
    expect(m.schemas.map((x) => x['schema-id'])).toEqual([0, 1, 2]);
    expect(currentSchema(m).fields.slice(-2).map((f) => [f.name, f.id])).toEqual([
      ['y', 12],
      ['x', 13],
    ]);
    // The pipeline loader one writes with: the table's columns (y too) and ids.
    expect(p.columns.slice(-2).map((c) => c.name)).toEqual(['y', 'x']);
    expect(icebergLayout(p).fieldIds.get('x')).toBe(13);
  });

  it('in memory (no catalog: tests, tryPipeline, the bench), ids stay stable as the table grows', async () => {
    const l = icebergLayout(pipeline);
    const t = new EvolvingTable(pipeline, memoryTableColumns(glueColumns(pipeline.columns), { schema: l.schema, lastColumnId: l.lastColumnId }));
    const p = await t.grow([{ name: 'z', type: parseColumnType('map<string,string>') }]);
    expect(icebergLayout(p).fieldIds.get('attrs.key_value.value')).toBe(l.fieldIds.get('attrs.key_value.value'));
    expect(icebergLayout(p).fieldIds.get('z')).toBe(12);
  });
});

describe('reading data files by field id (the local Athena, compaction)', () => {
  it("maps each file's columns by field id: a renamed column keeps its values, a column a file lacks is null", async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'lakeloader-fieldid-'));
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      const old = join(dir, 'old.parquet');
      const young = join(dir, 'new.parquet');
      // The old file calls field 1 "customer" (a name the table no longer uses) and lacks fields 3 and 4.
      await con.run(`COPY (SELECT 7::BIGINT AS customer, {'city': 'Oslo'} AS addr) TO '${old}' (FIELD_IDS {customer: 1, addr: {__duckdb_field_id: 2, city: 5}})`);
      await con.run(`COPY (SELECT 8::BIGINT AS customer_id, {'city': 'Bergen', 'zip': '5003'} AS addr, 'XMAS' AS coupon) TO '${young}' (FIELD_IDS {customer_id: 1, addr: {__duckdb_field_id: 2, city: 5, zip: 6}, coupon: 3})`);
      const schema = {
        type: 'struct' as const,
        'schema-id': 2,
        fields: [
          { id: 1, name: 'customer_id', required: false, type: 'long' },
          { id: 2, name: 'addr', required: false, type: { type: 'struct' as const, fields: [{ id: 5, name: 'city', required: false, type: 'string' }, { id: 6, name: 'zip', required: false, type: 'string' }] } },
          { id: 3, name: 'coupon', required: false, type: 'string' },
          { id: 4, name: 'uuid_col', required: false, type: 'uuid' },
        ],
      };
      const { readByFieldId } = await import('../../lib/iceberg/read');
      const { source, columns } = readByFieldId([old, young], schema);
      expect(columns.map((c) => c.name)).toEqual(['customer_id', 'addr', 'coupon']); // uuid: a type the loader does not write
      const r = await con.runAndReadAll(`SELECT customer_id, addr.city, addr.zip, coupon FROM ${source} ORDER BY customer_id`);
      expect(r.getRowsJson()).toEqual([
        ['7', 'Oslo', null, null],
        ['8', 'Bergen', '5003', 'XMAS'],
      ]);
    } finally {
      con.closeSync();
      db.closeSync();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
