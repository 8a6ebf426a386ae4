/**
 * The bad-input catalogue: every way a record can be unusable ends in the quarantine with its
 * own readable reason, while the rest of the batch loads (test/fixtures/msk-bad-input.json).
 *
 * The fixture's `events-0` records go through a pipeline without transform, `events-1` through
 * one whose transform misbehaves as each record's `case` header asks, and `events-2` carry
 * hostile partition values for a pipeline partitioned by column.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareBatch } from '../../lambdas/core/prepare';
import { definePipeline, type RecordMeta } from '../../lambdas/core/pipeline';
import { dataKey, dataPrefix } from '../../lambdas/core/layout';
import { HIVE_DEFAULT_PARTITION, unescapePathName } from '../../lambdas/core/partition';
import type { MskEvent, PreparedBatch, QuarantineStage } from '../../lambdas/core/model';
import { toMskRecord } from '../../lib/local/msk-event';
import { cleanupDuckdbFiles, parquetFile, query } from '../support/duckdb';

afterAll(() => cleanupDuckdbFiles());

const event = JSON.parse(readFileSync(join(__dirname, '../fixtures/msk-bad-input.json'), 'utf8')) as MskEvent;

const columns = [
  { name: 'id', type: 'string', required: true },
  { name: 'ts', type: 'timestamp', required: true },
  { name: 's', type: 'string' },
  { name: 'b', type: 'boolean' },
  { name: 'i', type: 'int' },
  { name: 'big', type: 'bigint' },
  { name: 'f', type: 'float' },
  { name: 'd', type: 'double' },
  { name: 'dec', type: 'decimal(10,2)' },
  { name: 'day', type: 'date' },
  { name: 'tags', type: 'array<string>' },
  { name: 'attrs', type: 'map<string,int>' },
  { name: 'info', type: 'struct<color:string,size:int>' },
];
const plain = definePipeline({ name: 'badinput', topics: ['events'], valueFormat: 'json', columns, partitioning: { by: 'eventTime', source: 'ts', granularity: 'day' } });

const header = (meta: RecordMeta, key: string) => Buffer.from(meta.headers.find((h) => h.key === key)?.value ?? []).toString();
const transformed = definePipeline({
  name: 'badtransform',
  topics: ['events'],
  valueFormat: 'json',
  columns: columns.slice(0, 2),
  partitioning: { by: 'eventTime', source: 'ts', granularity: 'hour' },
  transform: (value, meta) => {
    const v = value as Record<string, unknown>;
    switch (header(meta, 'case')) {
      case 'throw':
        throw new Error(`boom: cannot handle ${String(v.id)}`);
      case 'string':
        return 'not a row' as never;
      case 'numbers':
        return [{ id: 'x', ts: 0 }, 'x'] as never;
      case 'filter':
        return null;
      case 'empty':
        return [];
      case 'fanout':
        return [v, { ...v, id: `${String(v.id)}-2` }];
      case 'fanout-bad':
        return [v, { ts: v.ts }];
      default:
        return value as never;
    }
  },
});
const byRegion = definePipeline({
  name: 'byregion',
  topics: ['events'],
  valueFormat: 'json',
  columns: [...columns.slice(0, 2), { name: 'region', type: 'string' }],
  partitioning: { by: 'columns', columns: ['region'] },
});

/** The expected outcome of each record of the fixture: [offset, stage, exact reason]. */
const CATALOGUE: [number, QuarantineStage, string | RegExp][] = [
  [1, 'decode', 'value is not valid UTF-8 (invalid byte sequence at byte offset 7)'],
  [2, 'decode', /^invalid JSON: expected a property name in double quotes at position 38$/],
  [3, 'decode', /^trailing garbage: unexpected text after the JSON value at position 39$/],
  [4, 'decode', 'value is a JSON array, not an object: without a transform each value must be one JSON object'],
  [5, 'decode', 'value is a JSON string, not an object: without a transform each value must be one JSON object'],
  [6, 'decode', 'value is a JSON number, not an object: without a transform each value must be one JSON object'],
  [7, 'decode', 'value is a JSON null, not an object: without a transform each value must be one JSON object'],
  [8, 'decode', 'empty value (tombstone): the record has no value to load'],
  [9, 'conform', 'missing required column "id"'],
  [10, 'conform', 'column "s": expected a string, got object'],
  [11, 'conform', 'column "b": expected a boolean (true or false), got string "yes"'],
  [12, 'conform', 'column "i": expected an integer, got string "forty-two"'],
  [13, 'conform', 'column "big": expected an integer, got number 1.5'],
  [14, 'conform', 'column "f": expected a number, got string "fast"'],
  [15, 'conform', 'column "d": expected a number, got array'],
  [16, 'conform', 'column "dec": decimal(10,2) value string "12.345" has more than 2 fractional digits (values are never rounded)'],
  [17, 'conform', 'column "day": invalid date string "2026-02-30": no such calendar day'],
  [18, 'conform', 'column "ts": unparseable timestamp string "yesterday at noon": expected ISO-8601 such as 2026-11-21T07:15:00.123Z'],
  [19, 'conform', 'column "ts": timestamp out of range: string "0000-12-31T23:00:00Z" is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z'],
  [20, 'conform', 'column "i": int overflow: 2147483648 is outside the int32 range -2147483648..2147483647'],
  [21, 'conform', 'column "big": bigint out of range: 9223372036854775808 is outside the int64 range -9223372036854775808..9223372036854775807'],
  [25, 'conform', 'column "info.size": expected an integer, got string "XL"'],
  [26, 'decode', /^value nested too deeply: JSON nesting deeper than 100 levels at position \d+ \(raise maxNestingDepth to accept it\)$/],
  [28, 'decode', /^value is 5000\d{3} bytes, larger than the limit of 1048576 bytes \(raise maxValueBytes to accept it\)$/],
];
const TRANSFORM_CATALOGUE: [number, QuarantineStage, string][] = [
  [1, 'transform', 'transform threw: Error: boom: cannot handle t-throw'],
  [2, 'transform', 'transform returned a string, not an object, an array of objects or null'],
  [3, 'transform', 'transform returned an array whose element 1 is a string, not an object'],
  [7, 'conform', 'missing required column "id"'],
  [8, 'transform', 'transform returned an array whose element 0 is a number, not an object'],
];

const reasons = (b: PreparedBatch) => b.quarantine.map((q) => [q.kafka_offset, q.stage, q.error]);
const balance = (b: PreparedBatch) => expect(b.counts.in).toBe(b.counts.written + b.counts.quarantined + b.counts.filtered);

describe('bad-input catalogue', () => {
  it('quarantines each bad record with its stage and reason and loads the rest exactly', { timeout: 60_000 }, async () => {
    const records = [...event.records['events-0']];
    expect(records).toHaveLength(28);
    // a 5 MB value is too big for a fixture file: append it here
    records.push(toMskRecord({ topic: 'events', partition: 0, offset: 28, timestamp: records[27].timestamp + 1000, value: JSON.stringify({ id: 'huge', ts: '2026-11-21T07:30:00Z', s: 'x'.repeat(5_000_000) }) }));

    const batch = await prepareBatch(plain, records);
    const got = reasons(batch);
    expect(got.map(([o, s]) => [o, s])).toEqual(CATALOGUE.map(([o, s]) => [o, s]));
    for (let k = 0; k < CATALOGUE.length; k++) expect(got[k][2], `offset ${CATALOGUE[k][0]}`).toMatch(typeof CATALOGUE[k][2] === 'string' ? new RegExp(`^${escapeRe(CATALOGUE[k][2] as string)}$`) : (CATALOGUE[k][2] as RegExp));
    expect(new Set(got.map((r) => r[2])).size).toBe(got.length); // every reason distinct
    expect(batch.counts).toEqual({ in: 29, written: 5, rows: 5, quarantined: 24, filtered: 0, duplicates: 0 });
    balance(batch);

    // quarantine entries keep the raw bytes as delivered
    const tombstone = batch.quarantine.find((q) => q.kafka_offset === 8)!;
    expect([tombstone.value_base64, tombstone.key_base64]).toEqual([null, Buffer.from('tombstone-key').toString('base64')]);
    expect(batch.quarantine.find((q) => q.kafka_offset === 1)!.value_base64).toBe(records[1].value);

    // the good records, read back: exact int64 extremes and 2^53 + 1
    expect(batch.files.map((f) => f.hivePath)).toEqual(['dt=2026-11-21']);
    const rows = await query(`SELECT id, big::VARCHAR AS big, s, i, dec::VARCHAR AS dec, day::VARCHAR AS day, tags, attrs, info FROM read_parquet('${parquetFile(batch.files[0].body)}') ORDER BY _offset`);
    expect(rows).toEqual([
      { id: 'good-1', big: null, s: 'hello', i: 42, dec: '12.34', day: '2026-11-21', tags: null, attrs: null, info: null },
      { id: 'good-big', big: '9007199254740993', s: null, i: null, dec: null, day: null, tags: null, attrs: null, info: null },
      { id: 'good-max', big: '9223372036854775807', s: null, i: null, dec: null, day: null, tags: null, attrs: null, info: null },
      { id: 'good-min', big: '-9223372036854775808', s: null, i: null, dec: null, day: null, tags: null, attrs: null, info: null },
      { id: 'good-2', big: null, s: 'héllo 🌍', i: null, dec: null, day: null, tags: ['a', null], attrs: [{ key: 'n', value: 1 }], info: { color: 'blue', size: 3 } },
    ]);
  });

  it('quarantines transforms that throw or return non-objects, filters null/[], and keeps fan-out all-or-nothing', { timeout: 30_000 }, async () => {
    const batch = await prepareBatch(transformed, event.records['events-1']);
    expect(reasons(batch)).toEqual(TRANSFORM_CATALOGUE);
    expect(batch.counts).toEqual({ in: 9, written: 2, rows: 3, quarantined: 5, filtered: 2, duplicates: 0 });
    balance(batch);
    const rows = await query(`SELECT id, _offset::INT AS o FROM read_parquet('${parquetFile(batch.files[0].body)}')`);
    expect(rows).toEqual([{ id: 't-good', o: 0 }, { id: 't-fanout', o: 6 }, { id: 't-fanout-2', o: 6 }]); // nothing of offset 7
  });

  it('keeps hostile partition values inside the table prefix (Hive escaping, __HIVE_DEFAULT_PARTITION__)', { timeout: 30_000 }, async () => {
    const records = event.records['events-2'];
    const batch = await prepareBatch(byRegion, records);
    expect(batch.quarantine).toEqual([]);
    balance(batch);
    const paths = batch.files.map((f) => f.hivePath);
    expect(paths).toEqual([
      'region=eu%2Fwest',
      'region=..',
      'region=a%3Db',
      'region=100%25',
      'region=line%0Abreak',
      `region=${HIVE_DEFAULT_PARTITION}`,
      'region=us-east-1',
      'region=..%2F..%2Fetc',
      'region=C%3A%5Cx%3F%23%2A%22%27%5B%5D%5E%7B%7D',
    ]);
    const coords = { table: 'byregion', topic: 'events', partition: 2, firstOffset: 0, lastOffset: 9, generation: 1 };
    for (const f of batch.files) {
      const key = dataKey(coords, f.hivePath);
      const rest = key.slice(dataPrefix('byregion').length).split('/');
      expect(key.startsWith(dataPrefix('byregion'))).toBe(true);
      expect(rest).toHaveLength(2); // one partition segment + the file name
      expect(rest[0]).toMatch(/^region=[^/\n]+$/);
      expect(f.partitionValues[0]).toBe(f.hivePath === `region=${HIVE_DEFAULT_PARTITION}` ? HIVE_DEFAULT_PARTITION : unescapePathName(f.hivePath.slice('region='.length)));
      const ids = await query(`SELECT id FROM read_parquet('${parquetFile(f.body)}') ORDER BY _offset`);
      const expected = records.filter((r) => {
        const region = JSON.parse(Buffer.from(r.value!, 'base64').toString()).region as string | null;
        return (region === null || region === '' ? HIVE_DEFAULT_PARTITION : region) === f.partitionValues[0];
      });
      expect(ids.map((r) => r.id)).toEqual(expected.map((r) => JSON.parse(Buffer.from(r.value!, 'base64').toString()).id));
    }
    expect(batch.files.find((f) => f.partitionValues[0] === HIVE_DEFAULT_PARTITION)!.rows).toBe(2); // '' and null
  });
});

function escapeRe(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
