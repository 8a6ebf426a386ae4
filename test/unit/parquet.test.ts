import { afterAll, describe, expect, it } from 'vitest';
import { ParquetFileBuilder } from '../../lambdas/core/parquet';
import { encodeEmptyParquet } from '../../lambdas/core/prepare';
import { createRowConformer } from '../../lambdas/core/conform';
import { definePipeline } from '../../lambdas/core/pipeline';
import { LOADER_VERSION } from '../../lambdas/core/version';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { LAMBDA_NODE_TARGET } from '../../lib/bundling';
import { cleanupDuckdbFiles, describeParquet, parquetFile, parquetKvMetadata, parquetMetadata, parquetSchema, query } from '../support/duckdb';

afterAll(() => cleanupDuckdbFiles());

const pipeline = definePipeline({
  name: 'types',
  topics: ['t'],
  valueFormat: 'json',
  partitioning: { by: 'none' },
  columns: [
    { name: 'ts', type: 'timestamp' },
    { name: 'day', type: 'date' },
    { name: 'big', type: 'bigint' },
    { name: 'i', type: 'int' },
    { name: 'small_dec', type: 'decimal(9,2)' },
    { name: 'dec', type: 'decimal(18,4)' },
    { name: 'wide_dec', type: 'decimal(38,6)' },
    { name: 'tags', type: 'array<string>' },
    { name: 'props', type: 'map<string,string>' },
    { name: 'info', type: 'struct<a:int,b:string>' },
  ],
});

function encode(rows: Record<string, unknown>[], meta = { pipeline: 'types', topic: 't', partition: 4, firstOffset: 10, lastOffset: 12 }) {
  const conform = createRowConformer(pipeline);
  const b = new ParquetFileBuilder(pipeline, 1);
  rows.forEach((r, k) => b.append(conform(r, { topic: 't', partition: 4, offset: 10 + k, timestamp: 0 })));
  return b.encode(meta);
}

describe('Parquet encoding', () => {
  it('writes the Athena-safe physical and logical types', { timeout: 30_000 }, async () => {
    const file = parquetFile(encode([{ ts: '2026-11-21T07:00:00Z', day: '2026-11-21', big: 1, i: 1, small_dec: 1, dec: 1, wide_dec: 1, tags: ['a'], props: { k: 'v' }, info: { a: 1, b: 'x' } }]));
    const schema = Object.fromEntries((await parquetSchema(file)).map((r) => [r.name, r]));
    const logical = (n: string) => String(schema[n].logical_type ?? '');
    expect(schema.ts.type).toBe('INT64');
    expect(logical('ts')).toMatch(/TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=/);
    expect(schema._kafka_ts.type).toBe('INT64');
    expect(logical('_kafka_ts')).toMatch(/isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=/);
    expect([schema.day.type, schema.day.converted_type]).toEqual(['INT32', 'DATE']);
    expect([schema.big.type, schema.i.type, schema._offset.type, schema._partition.type]).toEqual(['INT64', 'INT32', 'INT64', 'INT32']);
    for (const [n, p, s] of [['small_dec', 9, 2], ['dec', 18, 4], ['wide_dec', 38, 6]] as const) {
      expect([schema[n].converted_type, String(schema[n].precision), String(schema[n].scale)], n).toEqual(['DECIMAL', String(p), String(s)]);
    }
    expect(schema.tags.converted_type).toBe('LIST');
    expect(schema.props.converted_type).toBe('MAP');
    expect(String(schema.info.num_children)).toBe('2');
    expect(await describeParquet(file)).toMatchObject({ ts: 'TIMESTAMP WITH TIME ZONE', day: 'DATE', small_dec: 'DECIMAL(9,2)', wide_dec: 'DECIMAL(38,6)', props: 'MAP(VARCHAR, VARCHAR)', info: 'STRUCT(a INTEGER, b VARCHAR)' });
  });

  it('writes one row group, Snappy by default, and the lakeloader key-value metadata', { timeout: 30_000 }, async () => {
    const rows = Array.from({ length: 3000 }, (_, k) => ({ ts: k * 1000, big: `${9007199254740993n + BigInt(k)}`, tags: [String(k)] }));
    const file = parquetFile(encode(rows, { pipeline: 'types', topic: 't', partition: 4, firstOffset: 10, lastOffset: 3009 }));
    const meta = await parquetMetadata(file);
    expect(new Set(meta.map((m) => m.row_group_id))).toEqual(new Set(['0']));
    expect(new Set(meta.map((m) => m.compression))).toEqual(new Set(['SNAPPY']));
    expect(meta[0].row_group_num_rows).toBe('3000');
    const kv = await parquetKvMetadata(file);
    expect(kv).toMatchObject({
      'lakeloader.version': LOADER_VERSION,
      'lakeloader.pipeline': 'types',
      'lakeloader.topic': 't',
      'lakeloader.partition': '4',
      'lakeloader.first_offset': '10',
      'lakeloader.last_offset': '3009',
    });
    const [{ n, s }] = await query(`SELECT count(*)::VARCHAR AS n, sum(big)::VARCHAR AS s FROM read_parquet('${file}')`);
    expect([n, s]).toEqual(['3000', String(3000n * 9007199254740993n + (2999n * 3000n) / 2n)]);
  });

  it('skips the dictionary for mostly-distinct columns and keeps it for repetitive ones', { timeout: 30_000 }, async () => {
    // i: 75 % distinct (each value ~1.3 times), above the two-thirds threshold
    const rows = Array.from({ length: 500 }, (_, k) => ({ ts: k * 1000, big: k % 3, i: Math.floor((k * 3) / 4), tags: ['x'] }));
    const file = parquetFile(encode(rows));
    const enc = Object.fromEntries((await parquetMetadata(file)).map((m) => [m.path_in_schema, String(m.encodings)]));
    expect(enc.ts).not.toMatch(/DICTIONARY/); // unique
    expect(enc.i).not.toMatch(/DICTIONARY/); // repeats too little
    expect(enc.big).toMatch(/RLE_DICTIONARY/); // 3 distinct values
  });

  it('keeps min/max statistics on scalar and short repetitive columns, not on unique, long or nested ones', { timeout: 30_000 }, async () => {
    const p = definePipeline({
      name: 'stats',
      topics: ['t'],
      valueFormat: 'json',
      partitioning: { by: 'none' },
      columns: [
        { name: 'ts', type: 'timestamp' },
        { name: 'n', type: 'bigint' },
        { name: 'code', type: 'string' },
        { name: 'id', type: 'string' },
        { name: 'url', type: 'string' },
        { name: 'tags', type: 'array<string>' },
      ],
    });
    const conform = createRowConformer(p);
    const b = new ParquetFileBuilder(p, 1);
    for (let k = 0; k < 300; k++) {
      const row = { ts: k * 1000, n: k, code: ['DE', 'FR', 'US'][k % 3], id: `id-${k}`, url: `https://example.com/products/category-${k % 5}/item?utm_source=newsletter`, tags: ['x'] };
      b.append(conform(row, { topic: 't', partition: 4, offset: 10 + k, timestamp: 0 }));
    }
    const meta = await parquetMetadata(parquetFile(b.encode({ pipeline: 'stats', topic: 't', partition: 4, firstOffset: 10, lastOffset: 309 })));
    const stats = Object.fromEntries(meta.map((m) => [String(m.path_in_schema), [m.stats_min_value, m.stats_max_value].map((v) => (v === null || v === undefined ? null : String(v)))]));
    expect(stats.n).toEqual(['0', '299']);
    expect(stats._offset).toEqual(['10', '309']);
    expect(stats._partition).toEqual(['4', '4']);
    expect(stats.ts[0]).toMatch(/^1970-01-01 00:00:00/);
    expect(stats.ts[1]).toMatch(/^1970-01-01 00:04:59/);
    expect(stats.code).toEqual(['DE', 'US']); // short and repetitive
    expect(stats.id).toEqual([null, null]); // mostly distinct
    expect(stats.url).toEqual([null, null]); // long
    const nested = Object.keys(stats).filter((k) => k.startsWith('tags'));
    expect(nested.length).toBe(1);
    expect(stats[nested[0]]).toEqual([null, null]);
  });

  it('encodeEmptyParquet: a valid file with the table schema and zero rows', { timeout: 30_000 }, async () => {
    const body = encodeEmptyParquet(clickstream);
    const file = parquetFile(body);
    expect(await query(`SELECT count(*)::INT AS n FROM read_parquet('${file}')`)).toEqual([{ n: 0 }]);
    expect(Object.keys(await describeParquet(file))).toEqual(clickstream.columns.map((c) => c.name));
    expect((await describeParquet(file)).user_id).toBe('BIGINT');
    expect((await parquetKvMetadata(file))['lakeloader.pipeline']).toBe('clickstream');
    expect(Buffer.from(body.subarray(0, 4)).toString()).toBe('PAR1');
  });
});

describe('bundle (cold import)', () => {
  it('takes apache-arrow type, schema and message modules only, not the package index', { timeout: 60_000 }, async () => {
    const { build } = await import('esbuild');
    const r = await build({
      entryPoints: ['lambdas/core/parquet.ts'],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: LAMBDA_NODE_TARGET,
      minify: true,
      mainFields: ['module', 'main'],
      external: ['parquet-wasm'],
      write: false,
      metafile: true,
      outfile: 'out/index.js',
      logLevel: 'silent',
    });
    const arrow = Object.keys(r.metafile.inputs).filter((p) => p.includes('node_modules/apache-arrow/'));
    const files = arrow.map((p) => p.slice(p.indexOf('apache-arrow/') + 'apache-arrow/'.length));
    expect(files).toEqual(expect.arrayContaining(['type.js', 'schema.js', 'ipc/metadata/message.js']));
    // The index (Arrow.node.*) pulls in tables, builders and readers: ≈ 7 ms of import text.
    expect(files.filter((f) => /^(Arrow\.|table\.|builder\.|ipc\/reader|ipc\/writer)/.test(f))).toEqual([]);
  });
});
