import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HIVE_DEFAULT_PARTITION, PartitionError, createPartitioner, escapePathName, formatDay, unescapePathName } from '../../lambdas/core/partition';
import { definePipeline, type PipelineDeclaration } from '../../lambdas/core/pipeline';
import { dataKey, dataPrefix } from '../../lambdas/core/layout';

const base: PipelineDeclaration = {
  name: 't',
  topics: ['a'],
  valueFormat: 'json',
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'ts', type: 'timestamp', required: true },
    { name: 'day', type: 'date', required: true },
    { name: 'region', type: 'string' },
    { name: 'shard', type: 'int' },
  ],
  partitioning: { by: 'none' },
  // The Hive partition paths (Iceberg partitions are hidden: tested in iceberg tests).
  format: 'hive',
};

describe('escapePathName (Hive FileUtils.escapePathName)', () => {
  it.each([
    ['eu-west-1', 'eu-west-1'],
    ['a/b', 'a%2Fb'],
    ['..', '..'],
    ['k=v', 'k%3Dv'],
    ['100%', '100%25'],
    ['line\nbreak\r\t', 'line%0Abreak%0D%09'],
    ['C:\\x?#*"\'[]^{}', 'C%3A%5Cx%3F%23%2A%22%27%5B%5D%5E%7B%7D'],
    ['\u0001\u007f', '%01%7F'],
    ['héllo wörld 🌍', 'héllo wörld 🌍'],
  ])('%j → %s', (raw, escaped) => {
    expect(escapePathName(raw)).toBe(escaped);
    expect(unescapePathName(escaped)).toBe(raw);
  });
});

describe('column partitions', () => {
  const p = definePipeline({ ...base, partitioning: { by: 'columns', columns: ['region', 'shard'] } });
  const part = createPartitioner(p);
  // conformed values: the file columns, then the partition columns (region, shard)
  const values = (region: unknown, shard: unknown) => [...p.columns.map(() => null), region, shard] as never;

  it('escapes values and uses __HIVE_DEFAULT_PARTITION__ for null and empty', () => {
    expect(part(values('eu/west', 3), 0)).toEqual({ values: ['eu/west', '3'], hivePath: 'region=eu%2Fwest/shard=3', eventTime: null });
    expect(part(values('', null), 0)).toEqual({ values: [HIVE_DEFAULT_PARTITION, HIVE_DEFAULT_PARTITION], hivePath: `region=${HIVE_DEFAULT_PARTITION}/shard=${HIVE_DEFAULT_PARTITION}`, eventTime: null });
  });

  it('keeps every value inside its own path segment under the table prefix, whatever the value', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('..', '.', '/', '../..', '=', '%', '\n', '', '%2F')), fc.integer({ min: -5, max: 5 }), (region, shard) => {
        const t = part(values(region, shard), 0);
        const segments = t.hivePath.split('/');
        expect(segments).toHaveLength(2);
        expect(segments[0].startsWith('region=')).toBe(true);
        expect(segments[1]).toBe(`shard=${shard}`);
        for (const s of segments) expect(s === '..' || s === '.' || s === '').toBe(false);
        expect(/[\u0000-\u001f\u007f]/.test(t.hivePath)).toBe(false);
        const v = segments[0].slice('region='.length);
        expect(v === HIVE_DEFAULT_PARTITION ? '' : unescapePathName(v)).toBe(region);
        const key = dataKey({ table: 't', topic: 'a', partition: 0, firstOffset: 0, lastOffset: 1, generation: 0 }, t.hivePath);
        expect(key.startsWith(dataPrefix('t'))).toBe(true);
        expect(key.slice(dataPrefix('t').length).split('/')).toHaveLength(3);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a partition value that is not valid Unicode (lone surrogate)', () => {
    expect(() => part(values('a\ud800b', 1), 0)).toThrow(/partition column "region" holds a string that is not valid Unicode/);
    expect(part(values('😀', 1), 0).hivePath).toBe('region=😀/shard=1');
  });

  it('rejects a partition path too long for an S3 key', () => {
    expect(() => part(values('x'.repeat(600), 1), 0)).toThrow(PartitionError);
    expect(() => part(values('x'.repeat(600), 1), 0)).toThrow(/partition path is 615 characters after escaping, longer than 512/);
  });

  it('formats date partition values as YYYY-MM-DD', () => {
    const q = definePipeline({ ...base, partitioning: { by: 'columns', columns: ['day'] } });
    expect(createPartitioner(q)([...q.columns.map(() => null), 20413] as never, 0).hivePath).toBe('day=2025-11-21');
  });
});

describe('event-time partitions (UTC)', () => {
  const at = Date.UTC(2026, 10, 21, 23, 59, 59, 999);
  it('hour granularity from a timestamp column', () => {
    const p = definePipeline({ ...base, partitioning: { by: 'eventTime', source: 'ts', granularity: 'hour' } });
    const part = createPartitioner(p);
    const row = (ts: number) => ['e', ts, 0, null, null, 'a', 0, 0, 0] as never;
    expect(part(row(at), 0)).toEqual({ values: ['2026-11-21', '23'], hivePath: 'dt=2026-11-21/hour=23', eventTime: at });
    expect(part(row(at + 1), 0).hivePath).toBe('dt=2026-11-22/hour=00');
    expect(part(row(at - 3_600_000), 0)).toEqual({ values: ['2026-11-21', '22'], hivePath: 'dt=2026-11-21/hour=22', eventTime: at - 3_600_000 });
    expect(part(row(-1), 0).hivePath).toBe('dt=1969-12-31/hour=23');
  });
  it('day granularity from a date column and from the Kafka timestamp', () => {
    const byDate = createPartitioner(definePipeline({ ...base, partitioning: { by: 'eventTime', source: 'day', granularity: 'day' } }));
    expect(byDate(['e', 0, 20413, null, null] as never, 0)).toEqual({ values: ['2025-11-21'], hivePath: 'dt=2025-11-21', eventTime: 20413 * 86_400_000 });
    const byKafka = createPartitioner(definePipeline({ ...base, partitioning: { by: 'eventTime', source: '$kafkaTimestamp', granularity: 'hour' } }));
    expect(byKafka([] as never, at).hivePath).toBe('dt=2026-11-21/hour=23');
  });
  it('formatDay matches Date for any day in 0001..9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: -719162, max: 2932896 }), (d) => {
        expect(formatDay(d)).toBe(new Date(d * 86_400_000).toISOString().slice(0, 10).padStart(10, '0'));
      }),
    );
  });
});
