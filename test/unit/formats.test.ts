/**
 * The registry formats without I/O: wire frames (Confluent with Protobuf message indexes, Glue with
 * zlib), Avro and Protobuf decoding with the documented type mapping (64-bit integers exact), the
 * evolution rule (what fits a column, what is an incompatible change), plain JSON growing its table
 * with unknownFields 'evolve', and Avro written by Apache Avro's own Python library (skipped with
 * its reason where python3-avro is not installed).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../lambdas/core/decode';
import { mergeType } from '../../lambdas/core/evolution';
import { avroEncoder, compileAvro } from '../../lambdas/core/formats/avro';
import { compileProtobuf, protobufEncoder } from '../../lambdas/core/formats/protobuf';
import { confluentFrame, glueFrame, parseConfluentFrame, parseGlueFrame } from '../../lambdas/core/formats/wire';
import { definePipeline } from '../../lambdas/core/pipeline';
import { prepareBatch } from '../../lambdas/core/prepare';
import { parseColumnType } from '../../lambdas/core/types';
import { buildMskEvent } from '../../lib/local/msk-event';

const t = parseColumnType;

describe('wire formats', () => {
  it('Confluent: magic, big-endian id, the [0] shortcut and zigzag message-index arrays', () => {
    const payload = Buffer.from([1, 2, 3]);
    expect(parseConfluentFrame(confluentFrame(258, payload), false)).toMatchObject({ schemaId: 258, messageIndexes: [] });
    const short = confluentFrame(7, payload, [0]);
    expect([...short.subarray(0, 6)]).toEqual([0, 0, 0, 0, 7, 0]);
    expect(parseConfluentFrame(short, true)).toMatchObject({ schemaId: 7, messageIndexes: [0] });
    const nested = confluentFrame(7, payload, [1, 0, 70]);
    expect([...nested.subarray(5, 10)]).toEqual([6, 2, 0, 0x8c, 0x01]); // count 3 → 6, 1 → 2, 0 → 0, 70 → 140 (varint 0x8c 0x01)
    expect(parseConfluentFrame(nested, true)).toMatchObject({ messageIndexes: [1, 0, 70] });
    expect(Buffer.from(parseConfluentFrame(nested, true).payload)).toEqual(payload);
    expect(() => parseConfluentFrame(Buffer.from([1, 0, 0, 0, 1]), false)).toThrow(/wrong magic byte 1/);
    expect(() => parseConfluentFrame(Buffer.from([0, 0]), false)).toThrow(/truncated: 2 bytes/);
    expect(() => parseConfluentFrame(Buffer.from([0, 0, 0, 0, 1, 6, 2]), true)).toThrow(/truncated inside its message-index array/);
    expect(() => parseConfluentFrame(Buffer.from([0, 0, 0, 0, 1, 0x80]), true)).toThrow(DecodeError);
  });

  it('Glue: header 3, compression none or zlib, the version UUID; anything else is a reason', () => {
    const id = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
    const payload = Buffer.from('hello');
    expect(parseGlueFrame(glueFrame(id, payload))).toMatchObject({ schemaVersionId: id });
    const z = glueFrame(id, payload, { compress: true });
    expect(z[1]).toBe(5);
    expect(Buffer.from(parseGlueFrame(z).payload).toString()).toBe('hello');
    const bad = Buffer.from(z);
    bad[1] = 9;
    expect(() => parseGlueFrame(bad)).toThrow(/unknown Glue Schema Registry compression byte 9/);
    bad[0] = 2;
    expect(() => parseGlueFrame(bad)).toThrow(/header version 2/);
    expect(() => parseGlueFrame(Buffer.concat([z.subarray(0, 18), Buffer.from('not zlib')]))).toThrow(/corrupt zlib payload/);
    const bomb = glueFrame(id, Buffer.alloc(1_000_000), { compress: true });
    expect(() => parseGlueFrame(bomb, 1000)).toThrow(/corrupt zlib payload/);
  });
});

const ORDER = JSON.stringify({
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'big', type: 'long' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'lts', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'price', type: { type: 'fixed', name: 'P', size: 8, logicalType: 'decimal', precision: 18, scale: 4 } },
    { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'choice', type: ['null', 'string', 'int'], default: null },
    { name: 'raw', type: 'bytes' },
  ],
});

describe('Avro', () => {
  it('maps types as documented and keeps longs exact', () => {
    const c = compileAvro(ORDER, 'test');
    expect(c.columns.map((x) => [x.name, JSON.stringify(x.type), x.required])).toEqual([
      ['orderid', '{"kind":"string"}', true],
      ['big', '{"kind":"bigint"}', true],
      ['ts', '{"kind":"timestamp"}', true],
      ['lts', '{"kind":"timestamp"}', true],
      ['day', '{"kind":"date"}', true],
      ['price', '{"kind":"decimal","precision":18,"scale":4}', true],
      ['id', '{"kind":"string"}', true],
      ['choice', JSON.stringify(t('struct<string:string,int:int>')), false],
      ['raw', '{"kind":"binary"}', true],
    ]);
    const bytes = avroEncoder(ORDER)({ orderId: 'o', big: -9223372036854775808n, ts: 1_700_000_000_123, lts: 5, day: '1970-01-03', price: '-1.5', id: 'a', choice: 5, raw: Buffer.from([7]) });
    expect(c.decode(bytes)).toEqual({ orderid: 'o', big: -9223372036854775808n, ts: 1_700_000_000_123, lts: 5, day: '1970-01-03', price: '-1.5000', id: 'a', choice: { int: 5 }, raw: Buffer.from([7]) });
    expect(() => c.decode(bytes.subarray(0, 5))).toThrow(/bytes do not match the Avro writer schema \(test\)/);
  });

  /** A Python with Apache Avro's library (Debian's python3-avro lives in the system Python). */
  const python = ['python3', '/usr/bin/python3'].find((py) => {
    try {
      execFileSync(py, ['-c', 'import avro.schema, avro.io'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  const hasPythonAvro = python !== undefined;
  it.skipIf(!hasPythonAvro)('reads records written by Apache Avro (python3-avro), logical types and all', () => {
    const py = `
import avro.schema, avro.io, io, sys, json, datetime, decimal, uuid
s = avro.schema.parse(sys.argv[1])
buf = io.BytesIO()
w = avro.io.DatumWriter(s)
w.write({"orderId": "py", "big": 9223372036854775807, "ts": datetime.datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=datetime.timezone.utc), "lts": 7, "day": datetime.date(2026, 12, 4), "price": decimal.Decimal("12345678901234.5678"), "id": "0b6d2f66-0000-4000-8000-000000000000", "choice": "s", "raw": b"\\x00\\xff"}, avro.io.BinaryEncoder(buf))
print(buf.getvalue().hex())`;
    const hex = execFileSync(python!, ['-c', py, ORDER]).toString().trim();
    expect(compileAvro(ORDER, 'py').decode(Buffer.from(hex, 'hex'))).toEqual({
      orderid: 'py',
      big: 9223372036854775807n,
      ts: Date.parse('2026-11-20T10:00:00.123Z'),
      lts: 7,
      day: '2026-12-04',
      price: '12345678901234.5678',
      id: '0b6d2f66-0000-4000-8000-000000000000',
      choice: { string: 's' },
      raw: Buffer.from([0, 255]),
    });
  });
});

describe('Protobuf', () => {
  const proto = `syntax = "proto2"; package p; message M { required int64 a = 1; optional uint64 b = 2; optional bytes c = 3; repeated sint32 d = 4; }`;
  it('maps proto2 required, uint64 exact as decimal(20,0), absent optional as null', () => {
    const m = compileProtobuf(proto, 't').byName('p.M');
    expect(m.columns.map((c) => `${c.name}:${JSON.stringify(c.type)}:${c.required}`)).toEqual(['a:{"kind":"bigint"}:true', 'b:{"kind":"decimal","precision":20,"scale":0}:false', 'c:{"kind":"binary"}:false', 'd:{"kind":"array","element":{"kind":"int"}}:false']);
    const enc = protobufEncoder(proto, 'p.M');
    expect(m.decode(enc.encode({ a: '9007199254740993', d: [-1, 2] }))).toEqual({ a: 9007199254740993n, b: null, c: null, d: [-1, 2] });
    expect(() => m.decode(Buffer.from([0x12, 0x05]))).toThrow(/bytes do not match the Protobuf message p.M/);
  });
});

describe('evolution rule (mergeType)', () => {
  it.each([
    ['bigint', 'int', true],
    ['double', 'float', true],
    ['double', 'bigint', true],
    ['decimal(12,2)', 'decimal(10,2)', true],
    ['decimal(12,2)', 'int', true],
    ['string', 'double', true],
    ['int', 'bigint', false],
    ['decimal(12,2)', 'decimal(12,3)', false],
    ['decimal(12,2)', 'boolean', false],
    ['timestamp', 'string', false],
    ['array<bigint>', 'array<int>', true],
    ['struct<a:int>', 'struct<a:bigint>', false],
  ])('a %s column takes %s values: %s', (table, writer, fits) => {
    expect('problem' in mergeType(t(table), t(writer), true)).toBe(!fits);
  });
  it('a struct grows by the fields a writer adds (when evolving)', () => {
    expect(mergeType(t('struct<a:int>'), t('struct<a:int,b:string>'), true)).toEqual({ type: t('struct<a:int,b:string>'), grew: true });
    expect(mergeType(t('struct<a:int>'), t('struct<a:int,b:string>'), false)).toEqual({ type: t('struct<a:int>'), grew: false });
  });
});

describe("plain JSON with unknownFields: 'evolve'", () => {
  it('grows the table by new fields, typed from their values; earlier columns unchanged', async () => {
    const p = definePipeline({ name: 'ev', topics: ['t'], valueFormat: 'json', format: 'hive', unknownFields: 'evolve', columns: [{ name: 'id', type: 'string', required: true }], partitioning: { by: 'none' }, keepKafkaCoordinates: false });
    const values = [{ id: 'a' }, { id: 'b', n: 5, price: 1.5, ok: true, userId: 'u', tags: ['x'], address: { city: 'Oslo' }, nothing: null }];
    const recs = Object.values(buildMskEvent(values.map((v, i) => ({ topic: 't', partition: 0, offset: i, timestamp: 0, value: JSON.stringify(v) }))).records)[0]!;
    const b = await prepareBatch(p, recs);
    expect(b.counts).toMatchObject({ written: 2, quarantined: 0 });
    expect(b.pipeline!.columns.map((c) => `${c.name}:${c.glueType}:${c.field}`)).toEqual(['id:string:id', 'n:bigint:n', 'price:double:price', 'ok:boolean:ok', 'userid:string:userId', 'tags:array<string>:tags', 'address:struct<city:string>:address']);
    expect(b.files[0]!.rows).toBe(2);
  });
});
