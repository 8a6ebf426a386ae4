import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrepareInputError, prepareBatch, serializeQuarantine } from '../../lambdas/core/prepare';
import { definePipeline } from '../../lambdas/core/pipeline';
import { QUARANTINE_COLUMNS } from '../../lambdas/core/glue-table';
import { LOADER_VERSION } from '../../lambdas/core/version';
import type { MskEvent, MskRecord } from '../../lambdas/core/model';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { toMskRecord } from '../../lib/local/msk-event';
import { cleanupDuckdbFiles, parquetFile, query } from '../support/duckdb';
import { HIVE_DEFAULT_PARTITION } from '../../lambdas/core/partition';

afterAll(() => cleanupDuckdbFiles());

const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../fixtures', name), 'utf8')) as MskEvent;

/** The expectation of one clickstream record, read from its raw JSON text without JSON.parse's rounding. */
function expectedRow(r: MskRecord) {
  const text = Buffer.from(r.value!, 'base64').toString('utf8');
  const v = JSON.parse(text);
  const userId = /"user_id":(-?\d+)/.exec(text)![1];
  return {
    event_id: v.event_id,
    user_id: userId,
    session_id: v.session_id ?? null,
    event_type: v.event_type ?? null,
    ts: String(Date.parse(v.ts)),
    amount: v.amount ?? null,
    currency: v.currency ?? null,
    country: v.country ?? null,
    device: v.device ?? null,
    page_url: v.page_url ?? null,
    referrer: v.referrer ?? null,
    props: Object.entries(v.props ?? {}).map(([key, value]) => ({ key, value })),
    _topic: r.topic,
    _partition: r.partition,
    _offset: String(r.offset),
    _kafka_ts: String(r.timestamp),
  };
}

describe('prepareBatch on the clickstream fixture (ESM shape)', () => {
  const event = fixture('msk-clickstream.json');
  const records = event.records['clicks-0'];

  it('loads all 20 events into one file per event-time hour, exactly', { timeout: 30_000 }, async () => {
    expect(records).toHaveLength(20);
    const batch = await prepareBatch(clickstream, records);
    expect(batch.counts).toEqual({ in: 20, written: 20, rows: 20, quarantined: 0, filtered: 0, duplicates: 0 });
    expect([batch.topic, batch.partition, batch.firstOffset, batch.lastOffset]).toEqual(['clicks', 0, 1000, 1019]);
    expect(batch.quarantine).toEqual([]);

    // independent expectation: group the records by the UTC hour of their ts
    const byHour = new Map<string, MskRecord[]>();
    for (const r of records) {
      const ts = new Date(JSON.parse(Buffer.from(r.value!, 'base64').toString()).ts).toISOString();
      const path = `dt=${ts.slice(0, 10)}/hour=${ts.slice(11, 13)}`;
      byHour.set(path, [...(byHour.get(path) ?? []), r]);
    }
    expect(byHour.size).toBeGreaterThanOrEqual(2);
    expect(batch.files.map((f) => f.hivePath).sort()).toEqual([...byHour.keys()].sort());

    let bigIds = 0;
    for (const f of batch.files) {
      const expected = byHour.get(f.hivePath)!;
      expect(f.partitionValues).toEqual(f.hivePath.split('/').map((s) => s.split('=')[1]));
      expect([f.rows, f.firstOffset, f.lastOffset]).toEqual([expected.length, expected[0].offset, expected[expected.length - 1].offset]);
      expect(f.maxEventTime).toBe(Math.max(...expected.map((r) => Number(expectedRow(r).ts))));
      const rows = await query(`SELECT * REPLACE (epoch_ms(ts)::VARCHAR AS ts, epoch_ms(_kafka_ts)::VARCHAR AS _kafka_ts) FROM read_parquet('${parquetFile(f.body)}')`);
      expect(rows).toEqual(expected.map(expectedRow)); // file order = offset order
      bigIds += rows.filter((r) => BigInt(r.user_id as string) > 2n ** 53n).length;
    }
    expect(bigIds).toBeGreaterThan(0); // user ids beyond 2^53 loaded exactly
  });
});

describe('prepareBatch with a transform', () => {
  const fanout = definePipeline({
    name: 'lines',
    topics: ['orders'],
    valueFormat: 'json',
    columns: [
      { name: 'order_id', type: 'string', required: true },
      { name: 'sku', type: 'string', required: true },
      { name: 'qty', type: 'int' },
      { name: 'day', type: 'date', required: true },
    ],
    partitioning: { by: 'eventTime', source: 'day', granularity: 'day' },
    transform: (value) => {
      const v = value as { id: string; lines?: { sku?: string; qty?: unknown; day?: string }[] };
      // qty passes through unchecked (conform quarantines a bad one), hence the cast.
      return (v.lines ?? []).map((l) => ({ order_id: v.id, sku: l.sku, qty: l.qty as number, day: l.day }));
    },
  });
  const rec = (offset: number, value: unknown) => toMskRecord({ topic: 'orders', partition: 1, offset, timestamp: 0, value: JSON.stringify(value) });

  it('fans out rows into their partitions in offset order, filters empty results, and quarantines a record whole', async () => {
    const batch = await prepareBatch(fanout, [
      rec(5, { id: 'o1', lines: [{ sku: 'a', qty: 1, day: '2026-11-21' }, { sku: 'b', qty: 2, day: '2026-11-22' }] }),
      rec(6, { id: 'o2', lines: [] }),
      rec(7, { id: 'o3', lines: [{ sku: 'c', qty: 1, day: '2026-11-21' }, { sku: 'd', qty: 'many', day: '2026-11-21' }] }),
      rec(8, { id: 'o4', lines: [{ sku: 'e', qty: 3, day: '2026-11-21' }] }),
    ]);
    expect(batch.counts).toEqual({ in: 4, written: 2, rows: 3, quarantined: 1, filtered: 1, duplicates: 0 });
    expect(batch.quarantine.map((q) => [q.kafka_offset, q.stage, q.error])).toEqual([[7, 'conform', 'column "qty": expected an integer, got string "many"']]);
    const files = Object.fromEntries(batch.files.map((f) => [f.hivePath, f]));
    expect(Object.keys(files).sort()).toEqual(['dt=2026-11-21', 'dt=2026-11-22']);
    const skus = async (path: string) => (await query(`SELECT sku, _offset::INT AS o FROM read_parquet('${parquetFile(files[path].body)}')`)).map((r) => `${r.sku}@${r.o}`);
    expect(await skus('dt=2026-11-21')).toEqual(['a@5', 'e@8']); // nothing of o3 (offset 7) was written
    expect(await skus('dt=2026-11-22')).toEqual(['b@5']);
    expect([files['dt=2026-11-21'].firstOffset, files['dt=2026-11-21'].lastOffset]).toEqual([5, 8]);
  });

  it('quarantines a transform row whose fields throw when read (getters, proxies) instead of failing the batch', async () => {
    const hostile = definePipeline({
      ...fanout,
      name: 'hostile',
      columns: [{ name: 'order_id', type: 'string', required: true }],
      partitioning: { by: 'none' },
      transform: () => ({
        get order_id(): string {
          throw new RangeError('no order id today');
        },
      }),
    });
    const batch = await prepareBatch(hostile, [rec(1, {})]);
    expect(batch.quarantine.map((q) => [q.stage, q.error])).toEqual([['conform', 'a row returned by the transform cannot be read: RangeError: no order id today']]);
    expect(batch.counts).toEqual({ in: 1, written: 0, rows: 0, quarantined: 1, filtered: 0, duplicates: 0 });
    const trap = definePipeline({
      ...hostile,
      name: 'trap',
      columns: [{ name: 'order_id', type: 'string' }],
      partitioning: { by: 'none' },
      transform: () =>
        new Proxy([] as Record<string, unknown>[], {
          get(target, key) {
            if (key === 'length') throw new Error('length trap');
            return Reflect.get(target, key);
          },
        }),
    });
    const asyncTransform = definePipeline({ ...trap, name: 'asyncish', columns: [{ name: 'order_id', type: 'string' }], partitioning: { by: 'none' }, transform: (async () => ({ order_id: 'x' })) as never });
    expect((await prepareBatch(asyncTransform, [rec(3, {})])).quarantine[0].error).toBe('transform returned a Promise: transforms must be synchronous and return the rows themselves');
    const trapped = await prepareBatch(trap, [rec(2, {})]);
    expect(trapped.quarantine.map((q) => [q.stage, q.error])).toEqual([['transform', 'transform returned a value that cannot be read: Error: length trap']]);
  });

  it('rejects input that breaks the contract (a caller bug, not a bad record)', async () => {
    await expect(prepareBatch(fanout, [rec(5, {}), rec(5, {})])).rejects.toThrow(PrepareInputError);
    await expect(prepareBatch(fanout, [rec(5, {}), { ...rec(6, {}), partition: 2 }])).rejects.toThrow(/one topic-partition/);
    const empty = await prepareBatch(fanout, []);
    expect([empty.files, empty.quarantine, empty.counts.in]).toEqual([[], [], 0]);
  });
});

describe('prepareBatch limits and the partition stage', () => {
  const limited = definePipeline({
    name: 'limited',
    topics: ['t'],
    valueFormat: 'json',
    columns: [{ name: 'id', type: 'string', required: true }, { name: 'region', type: 'string' }],
    partitioning: { by: 'columns', columns: ['region'] },
    maxValueBytes: 1000,
    maxNestingDepth: 2,
  });
  const rec = (offset: number, value: string) => toMskRecord({ topic: 't', partition: 0, offset, timestamp: 0, value });

  it('applies the pipeline\'s maxValueBytes and maxNestingDepth, and quarantines unplaceable rows at stage partition', async () => {
    const batch = await prepareBatch(limited, [
      rec(0, '{"id":"a","region":"eu"}'),
      rec(1, `{"id":"b","region":"${'x'.repeat(1000)}"}`),
      rec(2, '{"id":"c","x":[[1]]}'),
      rec(3, '{"id":"d","x":[1]}'),
      rec(4, JSON.stringify({ id: 'e', region: '/'.repeat(200) })),
    ]);
    expect(batch.quarantine.map((q) => [q.kafka_offset, q.stage, q.error])).toEqual([
      [1, 'decode', 'value is 1022 bytes, larger than the limit of 1000 bytes (raise maxValueBytes to accept it)'],
      [2, 'decode', 'value nested too deeply: JSON nesting deeper than 2 levels at position 15 (raise maxNestingDepth to accept it)'],
      [4, 'partition', 'partition path is 607 characters after escaping, longer than 512: shorten the partition column values'],
    ]);
    expect(batch.counts).toEqual({ in: 5, written: 2, rows: 2, quarantined: 3, filtered: 0, duplicates: 0 });
    expect(batch.files.map((f) => f.hivePath)).toEqual(['region=eu', `region=${HIVE_DEFAULT_PARTITION}`]);
  });

  it('rejects invalid limits in the declaration', () => {
    expect(() => definePipeline({ ...limited, partitioning: { by: 'none' }, maxValueBytes: 0 } as never)).toThrow(/maxValueBytes must be a positive integer, got 0/);
    expect(() => definePipeline({ ...limited, partitioning: { by: 'none' }, maxNestingDepth: 1.5 } as never)).toThrow(/maxNestingDepth must be a positive integer, got 1.5/);
  });
});

describe('serializeQuarantine', () => {
  it('writes one NDJSON object per line with exactly the quarantine table columns, raw bytes in base64', async () => {
    const value = new Uint8Array([0xff, 0x00, 0x7b]);
    const r = toMskRecord({ topic: 'clicks', partition: 3, offset: 77, timestamp: 1763709300000, key: 'user-1', value, headers: [{ key: 'source', value: 'web' }, { key: 'trace', value: new Uint8Array([1, 2]) }] });
    const t = toMskRecord({ topic: 'clicks', partition: 3, offset: 78, timestamp: 1763709300001, value: null });
    const batch = await prepareBatch(clickstream, [r, t]);
    const text = Buffer.from(serializeQuarantine(batch.quarantine)).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => Object.keys(l))).toEqual([QUARANTINE_COLUMNS.map((c) => c.Name), QUARANTINE_COLUMNS.map((c) => c.Name)]);
    expect(lines[0]).toEqual({
      pipeline: 'clickstream',
      topic: 'clicks',
      kafka_partition: 3,
      kafka_offset: 77,
      kafka_timestamp: 1763709300000,
      timestamp_type: 'CREATE_TIME',
      key_base64: Buffer.from('user-1').toString('base64'),
      value_base64: Buffer.from(value).toString('base64'),
      headers: [{ key: 'source', value_base64: Buffer.from('web').toString('base64') }, { key: 'trace', value_base64: 'AQI=' }],
      stage: 'decode',
      error: 'value is not valid UTF-8 (invalid byte sequence at byte offset 0)',
      loader_version: LOADER_VERSION,
    });
    expect([lines[1].key_base64, lines[1].value_base64, lines[1].headers, lines[1].error]).toEqual([null, null, [], 'empty value (tombstone): the record has no value to load']);
    expect(serializeQuarantine([]).length).toBe(0);
  });
});

describe('prepareBatch: integers beyond 2^53 without a transform (decoded rounded, then exactly when met)', () => {
  const p = definePipeline({
    name: 'bigs',
    topics: ['t'],
    valueFormat: 'json',
    partitioning: { by: 'none' },
    keepKafkaCoordinates: false,
    columns: [
      { name: 'id', type: 'bigint' },
      { name: 's', type: 'string' },
      { name: 'dec', type: 'decimal(38,2)' },
      { name: 'm', type: 'map<string,string>' },
      { name: 'arr', type: 'array<bigint>' },
      { name: 'i', type: 'int' },
      { name: 'd', type: 'double' },
    ],
  });
  const rec = (offset: number, value: string) => toMskRecord({ topic: 't', partition: 0, offset, timestamp: 0, value });

  it('loads the exact digits into every kind of column and quarantines with the exact value', { timeout: 30_000 }, async () => {
    const batch = await prepareBatch(p, [
      rec(0, '{"id":9223372036854775807,"s":12345678901234567891,"dec":123456789012345678901234567890,"m":{"k":-98765432109876543211},"arr":[9007199254740993,1],"d":1e300}'),
      rec(1, '{"id":-9223372036854775808,"s":"x","d":18446744073709551617}'),
      rec(2, '{"id":1,"i":12345678901234567890}'),
      rec(3, '{"id":9223372036854775808}'),
    ]);
    expect(batch.quarantine.map((q) => [q.kafka_offset, q.error])).toEqual([
      [2, 'column "i": int overflow: 12345678901234567890 is outside the int32 range -2147483648..2147483647'],
      [3, expect.stringContaining('bigint out of range: 9223372036854775808')],
    ]);
    const file = parquetFile(batch.files[0].body);
    const rows = await query(`SELECT id::VARCHAR AS id, s, dec::VARCHAR AS dec, m['k'] AS mk, arr[1]::VARCHAR AS a0, d FROM read_parquet('${file}') ORDER BY id`);
    expect(rows).toEqual([
      { id: '-9223372036854775808', s: 'x', dec: null, mk: null, a0: null, d: 18446744073709551617 },
      { id: '9223372036854775807', s: '12345678901234567891', dec: '123456789012345678901234567890.00', mk: '-98765432109876543211', a0: '9007199254740993', d: 1e300 },
    ]);
  });
});
