import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConformError, MapValue, MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS, conformValue, createRowConformer, daysFromCivil, parseDecimal, parseTimestamp } from '../../lambdas/core/conform';
import { definePipeline, type PipelineDeclaration } from '../../lambdas/core/pipeline';
import { parseColumnType } from '../../lambdas/core/types';
import { formatDay } from '../../lambdas/core/partition';

/** Conforms one value to a type string; returns the value or the error message. */
const c = (type: string, v: unknown): unknown => {
  const p = definePipeline({ name: 't', topics: ['a'], valueFormat: 'json', columns: [{ name: 'x', type }], partitioning: { by: 'none' }, keepKafkaCoordinates: false });
  try {
    return createRowConformer(p)({ x: v }, { topic: 'a', partition: 0, offset: 0, timestamp: 0 })[0];
  } catch (e) {
    expect(e).toBeInstanceOf(ConformError);
    return (e as Error).message;
  }
};

describe('conform: primitives', () => {
  it.each<[string, unknown, unknown]>([
    ['string', 'héllo', 'héllo'],
    ['string', 12.5, '12.5'],
    ['string', 12345678901234567890n, '12345678901234567890'],
    ['string', true, 'true'],
    ['string', { a: 1 }, 'column "x": expected a string, got object'],
    ['string', [1], 'column "x": expected a string, got array'],
    ['boolean', false, false],
    ['boolean', 'yes', 'column "x": expected a boolean (true or false), got string "yes"'],
    ['boolean', 1, 'column "x": expected a boolean (true or false), got number 1'],
    ['int', -2147483648, -2147483648],
    ['int', '17', 17],
    ['int', 2147483648, 'column "x": int overflow: 2147483648 is outside the int32 range -2147483648..2147483647'],
    ['int', 1.5, 'column "x": expected an integer, got number 1.5'],
    ['int', 'forty', 'column "x": expected an integer, got string "forty"'],
    ['bigint', 9007199254740991, 9007199254740991],
    ['bigint', 9223372036854775807n, 9223372036854775807n],
    ['bigint', '-9223372036854775808', -9223372036854775808n],
    ['bigint', 9223372036854775808n, 'column "x": bigint out of range: 9223372036854775808 is outside the int64 range -9223372036854775808..9223372036854775807'],
    ['bigint', 1e20, 'column "x": number 100000000000000000000 is beyond 2^53 and not exact: send it as a JSON integer literal or a string of digits'],
    ['bigint', 2.5, 'column "x": expected an integer, got number 2.5'],
    ['float', 1.25, 1.25],
    ['float', 1e39, 'column "x": value number 1e+39 is out of range for float'],
    ['double', '3.5e2', 350],
    ['double', 'NaN', 'column "x": expected a number, got string "NaN"'],
    ['decimal(10,2)', '12.3', 1230n],
    ['decimal(10,2)', 0.1, 10n],
    ['decimal(10,2)', -7, -700n],
    ['decimal(10,2)', '1.500', 150n],
    ['decimal(10,2)', '1.5e3', 150000n],
    ['decimal(10,2)', 1e-7, 'column "x": decimal(10,2) value number 1e-7 has more than 2 fractional digits (values are never rounded)'],
    ['decimal(10,2)', '12.345', 'column "x": decimal(10,2) value string "12.345" has more than 2 fractional digits (values are never rounded)'],
    ['decimal(5,2)', '1234.5', 'column "x": decimal(5,2) value string "1234.5" has more than 3 integer digits'],
    ['decimal(38,0)', '99999999999999999999999999999999999999', 99999999999999999999999999999999999999n],
    ['decimal(10,2)', 'abc', 'column "x": expected a decimal number, got string "abc"'],
    ['decimal(20,2)', 123456789012345.67, 'column "x": decimal(20,2) value number 123456789012345.67 has more than 15 significant digits and may have been rounded as a JSON number: send it as a string'],
    ['decimal(20,2)', '123456789012345678.91', 12345678901234567891n],
    ['decimal(20,2)', 1234567890123.45, 123456789012345n],
    ['decimal(20,0)', 12345678901234567890n, 12345678901234567890n],
    ['date', '2024-02-29', daysFromCivil(2024, 2, 29)],
    ['date', '1970-01-01', 0],
    ['date', '2026-02-29', 'column "x": invalid date string "2026-02-29": no such calendar day'],
    ['date', '21/11/2026', 'column "x": unparseable date string "21/11/2026": expected YYYY-MM-DD'],
    ['date', 20261121, 'column "x": expected a date string YYYY-MM-DD, got number 20261121'],
    ['timestamp', '2026-11-21T07:15:00.123Z', Date.UTC(2026, 10, 21, 7, 15, 0, 123)],
    ['timestamp', '2026-11-21 09:15:00.1239+02:00', Date.UTC(2026, 10, 21, 7, 15, 0, 123)],
    ['timestamp', '2026-11-21T07:15Z', Date.UTC(2026, 10, 21, 7, 15)],
    ['timestamp', '2026-11-21T07:15:09Z', Date.UTC(2026, 10, 21, 7, 15, 9)],
    ['timestamp', '1969-12-31T23:59:59.999Z', -1],
    ['timestamp', '2026-02-29T00:00:00.000Z', 'column "x": invalid timestamp string "2026-02-29T00:00:00.000Z": a field is out of its range'],
    ['timestamp', '2026-11-21T24:00:00.000Z', 'column "x": invalid timestamp string "2026-11-21T24:00:00.000Z": a field is out of its range'],
    ['timestamp', '2026-11-21T07:15:00.12xZ', 'column "x": unparseable timestamp string "2026-11-21T07:15:00.12xZ": expected ISO-8601 such as 2026-11-21T07:15:00.123Z'],
    ['timestamp', '2026-11-21T02:15:00-0500', Date.UTC(2026, 10, 21, 7, 15)],
    ['timestamp', 1763709300000, 1763709300000],
    ['timestamp', '2026-11-21T07:15:00', 'column "x": timestamp string "2026-11-21T07:15:00" has no time zone: add Z or an offset such as +02:00'],
    ['timestamp', 'yesterday', 'column "x": unparseable timestamp string "yesterday": expected ISO-8601 such as 2026-11-21T07:15:00.123Z'],
    ['timestamp', '2026-13-01T00:00:00Z', 'column "x": invalid timestamp string "2026-13-01T00:00:00Z": a field is out of its range'],
    ['timestamp', '0000-12-31T23:00:00Z', 'column "x": timestamp out of range: string "0000-12-31T23:00:00Z" is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z'],
    ['timestamp', '9999-12-31T23:30:00-01:00', 'column "x": timestamp out of range: string "9999-12-31T23:30:00-01:00" is outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z'],
    ['timestamp', 1.5, 'column "x": epoch-millisecond timestamp must be an integer, got number 1.5'],
    ['timestamp', true, 'column "x": expected an ISO-8601 timestamp string or epoch milliseconds, got boolean true'],
  ])('%s ← %s', (type, input, expected) => {
    expect(c(type, input)).toEqual(expected);
  });

  it('timestamps agree with Date.parse for any instant in range', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date(MIN_TIMESTAMP_MS), max: new Date(MAX_TIMESTAMP_MS), noInvalidDate: true }), (d) => {
        const iso = d.toISOString();
        expect(parseTimestamp(iso)).toBe(d.getTime());
        expect(formatDay(Math.floor(d.getTime() / 86_400_000))).toBe(iso.slice(0, 10));
      }),
    );
  });

  it('decimals never round: the unscaled value reproduces the text', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 12n) + 1n, max: 10n ** 12n - 1n }), (unscaled) => {
        const neg = unscaled < 0n;
        const digits = (neg ? -unscaled : unscaled).toString().padStart(5, '0');
        const text = `${neg ? '-' : ''}${digits.slice(0, -4)}.${digits.slice(-4)}`;
        expect(parseDecimal(text, 16, 4)).toBe(unscaled);
      }),
    );
  });
});

describe('conform: nested types', () => {
  it('conforms arrays, maps and structs recursively, keeping null elements', () => {
    expect(conformValue([1, null, '3'], parseColumnType('array<int>'))).toEqual([1, null, 3]);
    expect(conformValue({ a: 1, b: null }, parseColumnType('map<string,bigint>'))).toEqual(new MapValue(['a', 'b'], [1, null]));
    expect(conformValue({ color: 'red', size: 2, extra: 'ignored' }, parseColumnType('struct<color:string,size:int,tags:array<string>>'))).toEqual(['red', 2, null]);
  });

  it.each<[string, unknown, string]>([
    ['map<string,string>', { color: { r: 1 } }, 'column "x.color": expected a string, got object'],
    ['struct<color:string,size:int>', { color: 'red', size: 'XL' }, 'column "x.size": expected an integer, got string "XL"'],
    ['array<struct<a:array<int>>>', [{ a: [1] }, { a: [1, 2147483648] }], 'column "x[1].a[1]": int overflow: 2147483648 is outside the int32 range -2147483648..2147483647'],
    ['array<int>', { not: 'an array' }, 'column "x": expected an array, got object'],
    ['map<string,int>', [1], 'column "x": expected an object (map), got array'],
    ['struct<a:int>', 'str', 'column "x": expected an object (struct), got string "str"'],
  ])('names the failing path: %s', (type, input, expected) => {
    expect(c(type, input)).toBe(expected);
  });
});

describe('createRowConformer', () => {
  const p = definePipeline({
    name: 't',
    topics: ['a'],
    valueFormat: 'json',
    columns: [
      { name: 'id', type: 'string', required: true },
      { name: 'user', type: 'bigint', field: 'userId' },
      { name: 'ts', type: 'timestamp', required: true },
    ],
    partitioning: { by: 'eventTime', source: 'ts', granularity: 'day' },
    unknownFields: 'quarantine',
  });
  const meta = { topic: 'a', partition: 3, offset: 42, timestamp: 1763709300000 };
  const conform = createRowConformer(p);

  it('reads declared fields, fills Kafka coordinates from the record, and keeps column order', () => {
    expect(conform({ id: 'e1', userId: 7, ts: 0 }, meta)).toEqual(['e1', 7, 0, 'a', 3, 42, 1763709300000]);
  });
  it('quarantines missing/null required columns and unknown fields with distinct reasons', () => {
    expect(() => conform({ ts: 0 }, meta)).toThrow('missing required column "id"');
    expect(() => conform({ id: null, ts: 0 }, meta)).toThrow('missing required column "id"');
    expect(() => conform({ id: 'x', ts: 0, color: 'red' }, meta)).toThrow(`unknown field "color": it is not a declared column and unknownFields is 'quarantine'`);
    expect(() => conform({ id: 'x', ts: 0, user: 1 }, meta)).toThrow(/unknown field "user"/); // the column reads field userId
  });
  it('never reads a field inherited from Object.prototype', () => {
    const decl: PipelineDeclaration = { ...p, name: 'proto', columns: [{ name: 'constructor', type: 'string' }, { name: 'info', type: 'struct<constructor:string,valueof:int>' }, { name: 'x', type: 'string', field: 'toString' }], partitioning: { by: 'none' }, keepKafkaCoordinates: false, unknownFields: 'drop' };
    const q = definePipeline(decl);
    const conformProto = createRowConformer(q);
    expect(conformProto({ info: {} }, meta)).toEqual([null, [null, null], null]);
    expect(conformProto({ constructor: 'c', toString: 't' }, meta)).toEqual(['c', null, 't']);
  });
  it('drops unknown fields by default', () => {
    const drop = createRowConformer(definePipeline({ ...p, name: 'd', columns: [{ name: 'id', type: 'string' }], partitioning: { by: 'none' }, keepKafkaCoordinates: false, unknownFields: undefined } as never));
    expect(drop({ id: 'x', other: 1 }, meta)).toEqual(['x']);
  });
});
