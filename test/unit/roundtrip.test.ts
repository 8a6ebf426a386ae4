/**
 * Round trip: JSON records → prepareBatch → Parquet → DuckDB, comparing every column, value and
 * type with the source records (all column types, nulls, unicode, int64 extremes).
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { prepareBatch } from '../../lambdas/core/prepare';
import { definePipeline } from '../../lambdas/core/pipeline';
import { toMskRecord } from '../../lib/local/msk-event';
import { cleanupDuckdbFiles, describeParquet, parquetFile, query } from '../support/duckdb';

const pipeline = definePipeline({
  name: 'alltypes',
  topics: ['t'],
  valueFormat: 'json',
  partitioning: { by: 'none' },
  columns: [
    { name: 's', type: 'string' },
    { name: 'b', type: 'boolean' },
    { name: 'i', type: 'int' },
    { name: 'big', type: 'bigint' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'dec', type: 'decimal(12,3)' },
    { name: 'dec38', type: 'decimal(38,10)' },
    { name: 'day', type: 'date' },
    { name: 'ts', type: 'timestamp' },
    { name: 'tags', type: 'array<string>' },
    { name: 'attrs', type: 'map<string,double>' },
    { name: 'info', type: 'struct<color:string,size:int,dims:array<bigint>>' },
  ],
});

/** A source record: JSON-friendly fields plus the exact JSON text a producer sends. */
interface Source {
  s: string | null;
  b: boolean | null;
  i: number | null;
  big: bigint | null;
  f: number | null;
  d: number | null;
  /** Unscaled decimals. */
  dec: bigint | null;
  dec38: bigint | null;
  dayMs: number | null;
  tsMs: number | null;
  tags: (string | null)[] | null;
  attrs: [string, number | null][] | null;
  info: { color: string | null; size: number | null; dims: bigint[] } | null;
}

const MIN_MS = Date.UTC(1, 0, 1) - 0; // 0001-01-01
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const decimalText = (unscaled: bigint, scale: number) => {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
};
const isoOf = (ms: number) => {
  const d = new Date(ms);
  d.setUTCFullYear(new Date(ms).getUTCFullYear()); // years < 100 stay literal
  return d.toISOString();
};
const noNegZero = (x: number) => (Object.is(x, -0) ? 0 : x);
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 5 });

const sourceArb: fc.Arbitrary<Source> = fc.record({
  s: nullable(fc.string({ unit: 'grapheme', maxLength: 20 })),
  b: nullable(fc.boolean()),
  i: nullable(fc.integer()),
  big: nullable(fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom(2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 0n))),
  f: nullable(fc.float({ noNaN: true, noDefaultInfinity: true }).map(noNegZero)),
  d: nullable(fc.double({ noNaN: true, noDefaultInfinity: true }).map(noNegZero)),
  dec: nullable(fc.bigInt({ min: -(10n ** 12n) + 1n, max: 10n ** 12n - 1n })),
  dec38: nullable(fc.bigInt({ min: -(10n ** 38n) + 1n, max: 10n ** 38n - 1n })),
  dayMs: nullable(fc.integer({ min: Math.floor(MIN_MS / 86_400_000), max: Math.floor(MAX_MS / 86_400_000) }).map((d) => d * 86_400_000)),
  tsMs: nullable(fc.integer({ min: MIN_MS, max: MAX_MS })),
  tags: nullable(fc.array(nullable(fc.string({ maxLength: 8 })), { maxLength: 4 })),
  attrs: nullable(fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), nullable(fc.double({ noNaN: true, noDefaultInfinity: true }).map(noNegZero))), { maxLength: 4, selector: (e) => e[0] })),
  info: nullable(fc.record({ color: nullable(fc.constantFrom('red', 'grün', '蓝')), size: nullable(fc.integer({ min: -5, max: 5 })), dims: fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 3 }) })),
});

/** The JSON text of a source, written by hand so every bigint is exact. */
function toJson(r: Source): string {
  const q = JSON.stringify;
  const parts: string[] = [];
  const add = (k: string, v: string | null) => v !== null && parts.push(`${q(k)}:${v}`);
  add('s', r.s === null ? null : q(r.s));
  add('b', r.b === null ? null : String(r.b));
  add('i', r.i === null ? null : String(r.i));
  add('big', r.big === null ? null : r.big.toString());
  add('f', r.f === null ? null : q(r.f));
  add('d', r.d === null ? null : q(r.d));
  add('dec', r.dec === null ? null : q(decimalText(r.dec, 3)));
  add('dec38', r.dec38 === null ? null : q(decimalText(r.dec38, 10)));
  add('day', r.dayMs === null ? null : q(isoOf(r.dayMs).slice(0, 10)));
  add('ts', r.tsMs === null ? null : q(isoOf(r.tsMs)));
  add('tags', r.tags === null ? null : q(r.tags));
  add('attrs', r.attrs === null ? null : `{${r.attrs.map(([k, v]) => `${q(k)}:${v === null ? 'null' : q(v)}`).join(',')}}`);
  add('info', r.info === null ? null : `{"color":${q(r.info.color)},"size":${q(r.info.size)},"dims":[${r.info.dims.join(',')}]}`);
  return `{${parts.join(',')}}`;
}

/** What DuckDB's getRowObjectsJson gives back for a source (bigints and decimals as text). */
function expected(r: Source, offset: number, kafkaTs: number): Record<string, unknown> {
  return {
    s: r.s,
    b: r.b,
    i: r.i,
    big: r.big === null ? null : r.big.toString(),
    f: r.f === null ? null : Math.fround(r.f),
    d: r.d,
    dec: r.dec === null ? null : decimalText(r.dec, 3),
    dec38: r.dec38 === null ? null : decimalText(r.dec38, 10),
    day: r.dayMs === null ? null : isoOf(r.dayMs).slice(0, 10),
    ts: r.tsMs === null ? null : String(r.tsMs),
    tags: r.tags,
    attrs: r.attrs === null ? null : r.attrs.map(([key, value]) => ({ key, value })),
    info: r.info === null ? null : { color: r.info.color, size: r.info.size, dims: r.info.dims.map(String) },
    _topic: 't',
    _partition: 2,
    _offset: String(offset),
    _kafka_ts: String(kafkaTs),
  };
}

/** Map entries in key order: a JSON object's key order is not kept for integer-like keys (JS semantics), and map order carries no meaning. */
const sortMap = (row: Record<string, unknown>) => {
  const attrs = row.attrs as { key: string }[] | null;
  return { ...row, attrs: attrs === null ? null : [...attrs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) };
};

const SELECT = `SELECT * REPLACE (epoch_ms(ts)::VARCHAR AS ts, epoch_ms(_kafka_ts)::VARCHAR AS _kafka_ts)`;

afterAll(() => cleanupDuckdbFiles());

describe('round trip through Parquet and DuckDB', () => {
  it('reads back every column, value and type exactly (300 random records and edge cases)', { timeout: 60_000 }, async () => {
    const edge: Source[] = [
      { s: 'héllo wörld 🌍 \u0000 "q" \\', b: false, i: -2147483648, big: -(2n ** 63n), f: 3.4028234663852886e38, d: Number.MAX_VALUE, dec: -(10n ** 12n) + 1n, dec38: 10n ** 38n - 1n, dayMs: MIN_MS, tsMs: MIN_MS, tags: [], attrs: [], info: { color: null, size: null, dims: [] } },
      { s: '', b: true, i: 2147483647, big: 2n ** 63n - 1n, f: -1.5, d: 5e-324, dec: 0n, dec38: -1n, dayMs: Math.floor(MAX_MS / 86_400_000) * 86_400_000, tsMs: MAX_MS, tags: [null, ''], attrs: [['k', null]], info: { color: '蓝', size: 0, dims: [2n ** 53n + 1n] } },
      { s: null, b: null, i: null, big: 9007199254740993n, f: null, d: null, dec: null, dec38: null, dayMs: null, tsMs: null, tags: null, attrs: null, info: null },
    ];
    const sources = [...edge, ...fc.sample(sourceArb, { numRuns: 300, seed: 42 })];
    const base = 1_763_709_300_000;
    const records = sources.map((s, k) => toMskRecord({ topic: 't', partition: 2, offset: 100 + k, timestamp: base + k, value: toJson(s) }));
    const batch = await prepareBatch(pipeline, records);
    expect(batch.quarantine.map((q) => q.error)).toEqual([]);
    expect(batch.counts).toEqual({ in: sources.length, written: sources.length, rows: sources.length, quarantined: 0, filtered: 0, duplicates: 0 });
    expect(batch.files).toHaveLength(1);
    const file = parquetFile(batch.files[0].body);

    expect(await describeParquet(file)).toEqual({
      s: 'VARCHAR',
      b: 'BOOLEAN',
      i: 'INTEGER',
      big: 'BIGINT',
      f: 'FLOAT',
      d: 'DOUBLE',
      dec: 'DECIMAL(12,3)',
      dec38: 'DECIMAL(38,10)',
      day: 'DATE',
      ts: 'TIMESTAMP WITH TIME ZONE',
      tags: 'VARCHAR[]',
      attrs: 'MAP(VARCHAR, DOUBLE)',
      info: 'STRUCT(color VARCHAR, size INTEGER, dims BIGINT[])',
      _topic: 'VARCHAR',
      _partition: 'INTEGER',
      _offset: 'BIGINT',
      _kafka_ts: 'TIMESTAMP WITH TIME ZONE',
    });
    const rows = await query(`${SELECT} FROM read_parquet('${file}') ORDER BY _offset`);
    expect(rows).toHaveLength(sources.length);
    for (let k = 0; k < sources.length; k++) expect(sortMap(rows[k]), `record ${k}: ${toJson(sources[k])}`).toEqual(sortMap(expected(sources[k], 100 + k, base + k)));
  });

  it('writes ZSTD when the pipeline asks for it, with the same values', { timeout: 30_000 }, async () => {
    const zstd = definePipeline({ ...pipeline, name: 'alltypes_zstd', compression: 'zstd', columns: pipeline.columns.filter((c) => !c.kafka).map((c) => ({ name: c.name, type: c.glueType })), partitioning: { by: 'none' } });
    const sources = fc.sample(sourceArb, { numRuns: 50, seed: 7 });
    const batch = await prepareBatch(zstd, sources.map((s, k) => toMskRecord({ topic: 't', partition: 2, offset: k, timestamp: 5, value: toJson(s) })));
    const file = parquetFile(batch.files[0].body);
    const codecs = await query(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
    expect(codecs).toEqual([{ compression: 'ZSTD' }]);
    const rows = await query(`${SELECT} FROM read_parquet('${file}') ORDER BY _offset`);
    expect(rows.map(sortMap)).toEqual(sources.map((s, k) => sortMap(expected(s, k, 5))));
  });
});
