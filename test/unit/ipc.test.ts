/**
 * The Arrow IPC stream the encoder hands to parquet-wasm: written straight from the column
 * builders (lambdas/core/ipc.ts), it must decode — with apache-arrow and with parquet-wasm — to
 * exactly the rows that were appended, for every column type, with and without nulls.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { tableFromIPC, type Table } from 'apache-arrow';
import * as PW from 'parquet-wasm';
import { IpcBatchParts, IpcLayoutError, encodeIpcStream, schemaMessage } from '../../lambdas/core/ipc';
import { ParquetFileBuilder, arrowSchema } from '../../lambdas/core/parquet';
import { MapValue, type Conformed } from '../../lambdas/core/conform';
import { definePipeline } from '../../lambdas/core/pipeline';

// The builders' schemas must come from the same (CommonJS) apache-arrow the encoder loads.
const A = createRequire(import.meta.url)('apache-arrow') as typeof import('apache-arrow');

const pipeline = definePipeline({
  name: 'ipc',
  topics: ['t'],
  valueFormat: 'json',
  partitioning: { by: 'none' },
  keepKafkaCoordinates: false,
  columns: [
    { name: 's', type: 'string' },
    { name: 'b', type: 'boolean' },
    { name: 'i', type: 'int' },
    { name: 'big', type: 'bigint' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'dec', type: 'decimal(38,4)' },
    { name: 'day', type: 'date' },
    { name: 'ts', type: 'timestamp' },
    { name: 'tags', type: 'array<string>' },
    { name: 'attrs', type: 'map<string,bigint>' },
    { name: 'info', type: 'struct<color:string,dims:array<int>>' },
  ],
});

/** One row in the conformed shape (pipeline column order). */
const rowArb = fc.tuple(
  fc.option(fc.string({ unit: 'grapheme', maxLength: 12 })),
  fc.option(fc.boolean()),
  fc.option(fc.integer()),
  fc.option(fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.maxSafeInteger())),
  fc.option(fc.float({ noNaN: true, noDefaultInfinity: true }).map(Math.fround)),
  fc.option(fc.double({ noNaN: true, noDefaultInfinity: true })),
  fc.option(fc.bigInt({ min: -(10n ** 38n) + 1n, max: 10n ** 38n - 1n })),
  fc.option(fc.integer({ min: -719162, max: 2932896 })),
  fc.option(fc.integer({ min: -62135596800000, max: 253402300799999 })),
  fc.option(fc.array(fc.option(fc.string({ maxLength: 5 })), { maxLength: 4 })),
  fc.option(fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }))), { maxLength: 3 })),
  fc.option(fc.tuple(fc.option(fc.string({ maxLength: 6 })), fc.option(fc.array(fc.option(fc.integer()), { maxLength: 3 })))),
);
type Row = typeof rowArb extends fc.Arbitrary<infer T> ? T : never;

function conformed(r: Row): Conformed[] {
  const [s, b, i, big, f, d, dec, day, ts, tags, attrs, info] = r;
  return [s, b, i, big, f, d, dec, day, ts, tags, attrs === null ? null : new MapValue(attrs.map((e: [string, bigint | null]) => e[0]), attrs.map((e: [string, bigint | null]) => e[1])), info === null ? null : [info[0], info[1]]];
}

const big64 = (v: unknown) => (v === null ? null : BigInt(v as bigint | number));

/** What apache-arrow reads back for one row, in the source's shape. */
function readBack(table: Table, k: number): unknown[] {
  const col = (name: string) => table.getChild(name)!.get(k);
  const dec = col('dec') as Uint32Array | null;
  let unscaled: bigint | null = null;
  if (dec !== null) {
    unscaled = 0n;
    for (let w = 3; w >= 0; w--) unscaled = (unscaled << 32n) | BigInt(dec[w]);
    unscaled = BigInt.asIntN(128, unscaled);
  }
  const tags = col('tags') as Iterable<unknown> | null;
  const attrs = col('attrs') as Iterable<[string, unknown]> | null;
  const info = col('info') as { color: string | null; dims: Iterable<unknown> | null } | null;
  const day = col('day') as number | null;
  return [
    col('s'),
    col('b'),
    col('i'),
    big64(col('big')),
    col('f'),
    col('d'),
    unscaled,
    day === null ? null : Math.round(day / 86_400_000),
    col('ts'),
    tags === null ? null : [...tags],
    attrs === null ? null : [...attrs].map(([key, v]) => [key, big64(v)]),
    info === null ? null : [info.color, info.dims === null ? null : [...info.dims]],
  ];
}

function expected(r: Row): unknown[] {
  const [s, b, i, big, f, d, dec, day, ts, tags, attrs, info] = r;
  return [s, b, i, big64(big), f, d, dec, day, ts, tags, attrs === null ? null : attrs.map(([key, v]: [string, bigint | null]) => [key, big64(v)]), info];
}

describe('Arrow IPC stream written from the column builders', () => {
  it('decodes with apache-arrow to exactly the appended rows, for every type (property)', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 40 }), (rows) => {
        // Map keys are unique in a JSON object; keep the last of duplicate keys.
        for (const r of rows) if (r[10] !== null) r[10] = [...new Map(r[10]).entries()];
        const builder = new ParquetFileBuilder(pipeline, 4); // small capacity: the builders grow
        for (const r of rows) builder.append(conformed(r));
        const fresh = builder.toIpcStream();
        // The reused buffer gives the same bytes, also after a longer stream left data in it.
        expect(builder.toIpcStream(true)).toEqual(fresh);
        const table = tableFromIPC(fresh);
        expect(table.numRows).toBe(rows.length);
        expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(arrowSchema(pipeline).fields.map((f) => `${f.name}:${String(f.type)}`));
        for (let k = 0; k < rows.length; k++) {
          expect(readBack(table, k)).toEqual(expected(rows[k]));
        }
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('is accepted by parquet-wasm, and the Parquet file keeps every row', () => {
    const builder = new ParquetFileBuilder(pipeline, 2);
    const rows = 37;
    for (let k = 0; k < rows; k++) {
      builder.append([k % 3 ? `s${k}` : null, k % 2 === 0, k, BigInt(k) * 10n ** 15n, k / 2, k / 3, BigInt(k), k, k * 1000, [`t${k}`], new MapValue(['a'], [BigInt(k)]), [`c${k}`, [k]]]);
    }
    const table = PW.Table.fromIPCStream(builder.toIpcStream());
    expect(table.numBatches).toBe(1);
    const parquet = PW.writeParquet(table);
    const back = tableFromIPC(PW.readParquet(parquet).intoIPCStream());
    expect(back.numRows).toBe(rows);
    expect(back.getChild('s')!.get(4)).toBe('s4');
    expect(back.getChild('s')!.get(3)).toBeNull();
    expect(back.getChild('big')!.get(36)).toBe(36n * 10n ** 15n);
  });

  it('pads every buffer to 8 bytes and ends with the end-of-stream marker', () => {
    const schema = new A.Schema([new A.Field('n', new A.Int32(), true), new A.Field('s', new A.Utf8(), true)]);
    const parts = new IpcBatchParts();
    // 3 rows: n = [7, null, -2] (validity 0b101), s = ['a', 'bcd', ''] (no validity bitmap).
    parts.node(3, 1);
    parts.buffer(Uint8Array.of(0b101));
    parts.buffer(new Uint8Array(Int32Array.of(7, 0, -2).buffer));
    parts.node(3, 0);
    parts.buffer(undefined);
    parts.buffer(new Uint8Array(Int32Array.of(0, 1, 4, 4).buffer));
    parts.buffer(new TextEncoder().encode('abcd'));
    const bytes = encodeIpcStream(schemaMessage(schema), 3, parts);
    expect(bytes.byteLength % 8).toBe(0);
    expect([...bytes.subarray(bytes.byteLength - 8)]).toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    const t = tableFromIPC(bytes);
        expect([0, 1, 2].map((k) => t.getChild('n')!.get(k))).toEqual([7, null, -2]);
    expect([0, 1, 2].map((k) => t.getChild('s')!.get(k))).toEqual(['a', 'bcd', '']);
  });

  it('refuses a record batch without columns', () => {
    const schema = new A.Schema([new A.Field('n', new A.Int32(), true)]);
    expect(() => encodeIpcStream(schemaMessage(schema), 0, new IpcBatchParts())).toThrow(IpcLayoutError);
  });
});
