import { describe, expect, it } from 'vitest';
import { definePipeline, PipelineDeclaration, PipelineDeclarationError } from '../../lambdas/core/pipeline';
import { formatColumnType, parseColumnType } from '../../lambdas/core/types';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { tableInput, partitionInput, quarantineTableInput, PARQUET_SERDE } from '../../lambdas/core/glue-table';

const base: PipelineDeclaration = {
  name: 't',
  topics: ['a'],
  valueFormat: 'json',
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'ts', type: 'timestamp', required: true },
  ],
  partitioning: { by: 'eventTime', source: 'ts', granularity: 'day' },
  // Hive tables: partition keys in Glue (the Iceberg declaration is tested in iceberg tests).
  format: 'hive',
};

describe('column types', () => {
  it.each([
    ['string', 'string'],
    ['INT', 'int'],
    ['integer', 'int'],
    ['decimal(12, 2)', 'decimal(12,2)'],
    ['array<map<string,bigint>>', 'array<map<string,bigint>>'],
    ['struct<a:int, b:array<string>>', 'struct<a:int,b:array<string>>'],
  ])('parses %s', (text, canonical) => {
    expect(formatColumnType(parseColumnType(text))).toBe(canonical);
  });
  it.each(['varchar', 'map<int,string>', 'decimal(40,2)', 'decimal(5,6)', 'array<string', 'struct<a:int,a:int>', 'string x'])(
    'rejects %s with a message listing the supported types',
    (text) => {
      expect(() => parseColumnType(text)).toThrow(/supported: string, boolean/);
    },
  );
});

describe('definePipeline', () => {
  it('normalizes the clickstream example exactly as declared', () => {
    expect(clickstream.columns.map((c) => `${c.name} ${c.glueType}`)).toEqual([
      'event_id string', 'user_id bigint', 'session_id string', 'event_type string', 'ts timestamp', 'amount double',
      'currency string', 'country string', 'device string', 'page_url string', 'referrer string', 'props map<string,string>',
      '_topic string', '_partition int', '_offset bigint', '_kafka_ts timestamp',
    ]);
    expect(clickstream.columns.filter((c) => c.required && !c.kafka).map((c) => c.name)).toEqual(['event_id', 'user_id', 'ts']);
    expect(clickstream.partitionKeys.map((k) => k.name)).toEqual(['dt', 'hour']);
    expect(clickstream.topics).toEqual(['clicks']);
    expect(clickstream.compression).toBe('snappy');
  });

  it.each<[string, Partial<PipelineDeclaration>, RegExp]>([
    ['bad name', { name: 'Bad-Name' }, /name must match/],
    ['no topics', { topics: [] }, /set topics/],
    ['bad topic', { topics: ['a b'] }, /not a valid Kafka topic/],
    ['format', { valueFormat: 'xml' as 'json' }, /valueFormat must be 'json', 'avro' or 'protobuf'/],
    ['avro without a schema', { valueFormat: 'avro' }, /valueFormat 'avro' needs the writer schema: set schemaRegistry .* or schemaFile/],
    ['bad type', { columns: [{ name: 'x', type: 'varchar' }] }, /column "x": invalid column type/],
    ['dup column', { columns: [{ name: 'x', type: 'int' }, { name: 'x', type: 'int' }] }, /declared twice/],
    ['kafka collision', { columns: [{ name: '_offset', type: 'int' }, ...base.columns!] }, /collides with a Kafka coordinate/],
    ['unknown source', { partitioning: { by: 'eventTime', source: 'nope', granularity: 'day' } }, /not a declared column/],
    ['source type', { partitioning: { by: 'eventTime', source: 'id', granularity: 'day' } }, /must be a timestamp or date column/],
    ['granularity', { partitioning: { by: 'eventTime', source: 'ts', granularity: 'minute' as 'day' } }, /granularity must be 'day' or 'hour'/],
    ['by', { partitioning: { by: 'month' } as never }, /partitioning.by must be/],
    ['partition column type', { partitioning: { by: 'columns', columns: ['ts'] } }, /partition column "ts" must be one of/],
    ['compression', { compression: 'gzip' as 'zstd' }, /compression must be/],
  ])('rejects %s with a message that says what to fix', (_, patch, message) => {
    const err = (() => {
      try {
        definePipeline({ ...base, ...patch });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(PipelineDeclarationError);
    expect((err as Error).message).toMatch(message);
  });

  it('moves column partition keys out of the file columns', () => {
    const p = definePipeline({ ...base, columns: [...base.columns!, { name: 'country', type: 'string' }], partitioning: { by: 'columns', columns: ['country'] } });
    expect(p.partitionKeys).toEqual([{ name: 'country', glueType: 'string' }]);
    expect(p.columns.map((c) => c.name)).not.toContain('country');
  });
});

describe('Glue table input', () => {
  it('describes a Parquet table with the declared columns and partition keys', () => {
    const t = tableInput(clickstream, 'lake');
    expect(t.StorageDescriptor?.SerdeInfo?.SerializationLibrary).toBe(PARQUET_SERDE);
    expect(t.StorageDescriptor?.Location).toBe('s3://lake/tables/clickstream/');
    expect(t.StorageDescriptor?.Columns?.map((c) => c.Name)).toEqual(clickstream.columns.map((c) => c.name));
    expect(t.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string' }, { Name: 'hour', Type: 'string' }]);
    expect(t.Parameters?.['projection.enabled']).toBeUndefined();
    expect(partitionInput(clickstream, 'lake', ['2026-11-21', '07'], 'dt=2026-11-21/hour=07').StorageDescriptor?.Location).toBe(
      's3://lake/tables/clickstream/dt=2026-11-21/hour=07/',
    );
    expect(quarantineTableInput(clickstream, 'lake').Name).toBe('clickstream_quarantine');
  });
  it('emits partition projection parameters in projection mode', () => {
    const p = definePipeline({ ...base, partitionRegistration: 'projection', partitioning: { by: 'eventTime', source: 'ts', granularity: 'hour' } });
    const params = tableInput(p, 'lake').Parameters!;
    expect(params['projection.enabled']).toBe('true');
    expect(params['projection.dt.range']).toBe('2020-01-01,NOW');
    expect(params['projection.hour.digits']).toBe('2');
    expect(params['storage.location.template']).toBe('s3://lake/tables/t/dt=${dt}/hour=${hour}/');
  });
});
