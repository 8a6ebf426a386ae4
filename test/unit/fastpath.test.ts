/**
 * The schema-directed byte parser (lambdas/core/fastpath.ts) against the old path
 * (decode → conform → partition → append), which stays the reference: on random valid,
 * near-valid and mangled clickstream records, prepareBatch with the fast path must hand
 * parquet-wasm byte-identical input for every file (the Arrow IPC stream of the column buffers,
 * the dictionary and statistics column choices, the file metadata) and return the same file list,
 * quarantine entries and counts. (The Parquet bytes themselves are not compared byte for byte:
 * parquet-wasm writes the key-value metadata in hash-map order, which differs between calls;
 * the fixed-case test reads the files back with DuckDB instead.)
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ParquetFileBuilder } from '../../lambdas/core/parquet';
import { cleanupDuckdbFiles, parquetFile, query } from '../support/duckdb';
import fc from 'fast-check';
import { prepareBatch, usesFastPath } from '../../lambdas/core/prepare';
import { fastParserFor, plainWord, type FastParser } from '../../lambdas/core/fastpath';
import type { MskRecord } from '../../lambdas/core/model';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { definePipeline } from '../../lambdas/core/pipeline';
import { generateClickstreamRecords } from '../../lib/gen/records';
import { buildMskEvent } from '../../lib/local/msk-event';

/** What each encode call handed to parquet-wasm, in call order. */
let encoded: string[] = [];
beforeEach(() => {
  encoded = [];
  const original = ParquetFileBuilder.prototype.encode;
  vi.spyOn(ParquetFileBuilder.prototype, 'encode').mockImplementation(function (this: ParquetFileBuilder, meta) {
    encoded.push(JSON.stringify({ ipc: Buffer.from(this.toIpcStream()).toString('hex'), rows: this.rows, noDictionary: this.mostlyDistinctColumns(), statistics: this.statisticsColumns(), meta }));
    return original.call(this, meta);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(() => cleanupDuckdbFiles());

const LIMITS = { maxValueBytes: 1024 * 1024, maxNestingDepth: 100 };

function toRecords(values: (Buffer | undefined)[]): MskRecord[] {
  return values.map((v, i) => ({
    topic: 'clicks',
    partition: 3,
    offset: 100 + i,
    timestamp: 1_790_000_000_000 + i * 1000,
    timestampType: 'CREATE_TIME',
    ...(v === undefined ? {} : { value: v.toString('base64') }),
    headers: [],
  }));
}

/** Whether the fast parser takes the record (appended to a scratch file, then rolled back). */
const clickstreamScratch = new ParquetFileBuilder(clickstream, 16);
function takesFastPath(parser: FastParser, r: MskRecord, scratch = clickstreamScratch): boolean {
  const ok = parser.append(r.value, r, scratch);
  scratch.rollback();
  return ok;
}

/** Everything prepareBatch returns (Parquet bodies as their length: see the header) and what it handed parquet-wasm. */
async function run(pipeline: typeof clickstream, records: MskRecord[], fast: boolean) {
  encoded = [];
  const b = await prepareBatch(pipeline, records, { fastPath: fast });
  return { batch: { ...b, files: b.files.map((f) => ({ ...f, body: f.body.length > 0 })) }, encoded, bodies: b.files.map((f) => f.body) };
}

async function bothPaths(pipeline: typeof clickstream, records: MskRecord[]) {
  const o = await run(pipeline, records, false);
  const f = await run(pipeline, records, true);
  return { old: { batch: o.batch, encoded: o.encoded }, fast: { batch: f.batch, encoded: f.encoded }, oldBodies: o.bodies, fastBodies: f.bodies };
}

/** A Parquet file's rows, column types, per-column-chunk metadata and key-value metadata, as DuckDB reads them. */
async function readBack(body: Uint8Array) {
  const f = parquetFile(body);
  return {
    rows: await query(`SELECT * FROM read_parquet('${f}')`),
    meta: await query(`SELECT path_in_schema, type, num_values, stats_min, stats_max, stats_null_count, compression, encodings, total_uncompressed_size FROM parquet_metadata('${f}') ORDER BY column_id`),
    kv: await query(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${f}') ORDER BY k`),
  };
}

// ── generators ────────────────────────────────────────────────────────────────────────────────
const ws = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n', '  ');
const unicodeString = fc.string({ unit: 'binary', maxLength: 12 });
const plainString = fc.string({ maxLength: 20 });
/** A JSON string literal: plain, with unicode, with JSON.stringify's escapes, or hand-escaped. */
const cleanString = fc.string({ unit: fc.constantFrom('a', 'b', 'Z', '0', '9', '-', '/', ' ', '?', '=', '&', '.', ':', '{', '}', '[', ',', 'é', '中', '😀', '\u007f', '\u2028', '\ufeff'), maxLength: 24 }).map((s) => JSON.stringify(s));
const jsonString = fc.oneof(
  { weight: 12, arbitrary: cleanString },
  { weight: 4, arbitrary: plainString.map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: unicodeString.map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.constantFrom('"a\\u0041b"', '"\\/x"', '"\\ud83d\\ude00"', '"\\ud800"', '"tab\\there"', '"\u00e9\u4e2d\ud83d\ude00"', '"\u2028"', '"\\u0000"', '"bad\\x"', '"\ufeff"') },
);
const isoTs = fc
  .oneof(fc.date({ min: new Date('1960-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }), fc.date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2026-01-02T00:00:00Z'), noInvalidDate: true }))
  .chain((d) => {
    const iso = d.toISOString();
    return fc.constantFrom(iso, iso, iso, iso.slice(0, 19) + 'Z', iso.slice(0, 19) + 'Z', iso.slice(0, 19), iso.slice(0, 19) + '+02:00', iso.replace('T', ' '), iso.slice(0, 23) + '4567Z', iso.toLowerCase());
  })
  .map((s) => JSON.stringify(s));
const bigDigits = fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String);
const jsonNumber = fc.oneof(
  fc.integer().map(String),
  fc.integer({ min: 0, max: 99999 }).map((c) => (c / 100).toFixed(2)),
  bigDigits,
  fc.constantFrom('9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-0', '0', '1.0', '1e3', '1E+2', '2.5e-3', '0.1', '-12.75', '1e400', '00', '1.', '.5', '-', '+1', '12345678901234567.5', '0.30000000000000004'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.integer({ min: 0, max: 9_999_999 }).chain((m) => fc.integer({ min: 0, max: 8 }).map((k) => (m / 10 ** k).toFixed(k))),
);
const scalar = fc.oneof(jsonString, jsonNumber, fc.constantFrom('null', 'true', 'false', 'nul', 'True'));
const nested = fc.json({ maxDepth: 2 });
const propKey = fc.oneof(cleanString, cleanString, fc.constantFrom('"color"', '"size"', '"0"', '"12"', '"__proto__"', '""', '"constructor"', '"é"', '"a\\u0062"'), jsonString);
const propsObject = fc
  .array(fc.tuple(propKey, fc.oneof({ weight: 6, arbitrary: jsonString }, { weight: 1, arbitrary: fc.constantFrom('null', '1', 'true', '{}', '[]') }), ws, ws), { maxLength: 5 })
  .map((entries) => `{${entries.map(([k, v, a, b]) => `${a}${k}${b}:${a}${v}`).join(',')}}`);

const FIELDS = ['event_id', 'user_id', 'session_id', 'event_type', 'ts', 'amount', 'currency', 'country', 'device', 'page_url', 'referrer', 'props'] as const;
/** A value for a field: mostly of the column's type, sometimes of any type. */
function valueFor(field: string): fc.Arbitrary<string> {
  const natural =
    field === 'user_id' ? fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String), bigDigits) : field === 'ts' ? isoTs : field === 'amount' ? jsonNumber : field === 'props' ? propsObject : jsonString;
  return fc.oneof({ weight: 40, arbitrary: natural }, { weight: 1, arbitrary: fc.constant('null') }, { weight: 1, arbitrary: scalar }, { weight: 1, arbitrary: nested });
}
/** A near-valid clickstream object: the usual fields (some missing, duplicated, reordered), maybe extra ones. */
const recordText = fc
  .tuple(
    fc.subarray([...FIELDS], { minLength: 8 }),
    fc.array(fc.tuple(fc.constantFrom('extra', 'user', 'tsx', '_topic', 'ts2', 'event_id'), fc.oneof({ weight: 3, arbitrary: scalar }, { weight: 1, arbitrary: nested })), { maxLength: 2 }),
    fc.boolean(),
  )
  .chain(([fields, extras, shuffle]) =>
    fc
      .tuple(
        fc.tuple(...fields.map((f) => fc.tuple(fc.constant(JSON.stringify(f)), valueFor(f), ws, ws))),
        fc.tuple(...extras.map(([k, v]) => fc.tuple(fc.constant(JSON.stringify(k)), fc.constant(v), ws, ws))),
        ws,
        ws,
      )
      .map(([own, extra, a, b]) => {
        const entries = [...own, ...extra];
        if (shuffle) entries.reverse();
        return `${a}{${entries.map(([k, v, x, y]) => `${x}${k}${y}:${y}${v}${x}`).join(',')}}${b}`;
      }),
  );
/** A clickstream object the fast path should take (or, for the odd value, the old path). */
const cleanValueFor = (field: string): fc.Arbitrary<string> =>
  field === 'user_id'
    ? fc.oneof(fc.integer().map(String), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String))
    : field === 'ts'
      ? fc.date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2026-01-03T00:00:00Z'), noInvalidDate: true }).chain((d) => fc.constantFrom(JSON.stringify(d.toISOString()), JSON.stringify(d.toISOString().slice(0, 19) + 'Z')))
      : field === 'amount'
        ? fc.oneof(fc.integer({ min: -99999, max: 99999 }).map((c) => (c / 100).toFixed(2)), fc.integer().map(String), fc.constantFrom('null', '0.1', '-0', '1e2'))
        : field === 'props'
          ? fc.array(fc.tuple(cleanString, fc.oneof({ weight: 9, arbitrary: cleanString }, { weight: 1, arbitrary: fc.constant('null') })), { maxLength: 4 }).map((e) => `{${e.map(([k, v]) => `${k}:${v}`).join(',')}}`)
          : fc.oneof({ weight: 9, arbitrary: cleanString }, { weight: 1, arbitrary: fc.constant('null') });
const cleanRecord = fc
  .tuple(fc.subarray([...FIELDS], { minLength: 10 }), fc.array(fc.tuple(fc.constantFrom('extra', 'n', 'b'), fc.constantFrom('1', '"x"', 'null', 'true', '-2.5e3')), { maxLength: 2 }), ws)
  .chain(([fields, extras, w]) =>
    fc.tuple(...fields.map((f) => cleanValueFor(f).map((v) => `${JSON.stringify(f)}:${w}${v}`))).map((own) => Buffer.from(`{${[...own, ...extras.map(([k, v]) => `${JSON.stringify(k)}:${v}`)].join(`,${w}`)}}`, 'utf8')),
  );
/** Mangles a record's bytes (or not). */
const mangled = fc.tuple(recordText, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 5 }) })).map(([text, at, byte, how]): Buffer | undefined => {
  const b = Buffer.from(text, 'utf8');
  const p = b.length === 0 ? 0 : at % b.length;
  switch (how) {
    case 0:
      return b.subarray(0, p);
    case 1:
      return Buffer.concat([b.subarray(0, p), Buffer.from([byte]), b.subarray(p)]);
    case 2: {
      const c = Buffer.from(b);
      if (c.length) c[p] = byte;
      return c;
    }
    case 3:
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
    case 4:
      return Buffer.concat([b, Buffer.from(' x')]);
    case 5:
      return undefined;
    default:
      return b;
  }
});

/** One deterministic byte change of a clean record (a near-valid record). */
function mangleOnce(b: Buffer): Buffer {
  const c = Buffer.from(b);
  const p = (c.length * 7) >> 3;
  c[p] = c[p] === 0x22 ? 0x5c : c[p] ^ 0x80;
  return c;
}

describe('fast path (schema-directed byte parser) = old path', () => {
  it('takes every record of the generated clickstream, with identical output', async () => {
    const records = Object.values(buildMskEvent(generateClickstreamRecords({ seed: 7, count: 600, partitions: 1 }).records).records)[0];
    const parser = fastParserFor(clickstream, LIMITS)!;
    expect(parser).not.toBeNull();
    for (const r of records) expect(takesFastPath(parser, r)).toBe(true);
    const { old, fast, oldBodies, fastBodies } = await bothPaths(clickstream, records);
    expect(fast).toEqual(old);
    for (let i = 0; i < oldBodies.length; i++) expect(await readBack(fastBodies[i])).toEqual(await readBack(oldBodies[i]));
  });

  it('identical parquet-wasm input, files, quarantine entries and counts on random valid, near-valid and mangled records', async () => {
    const parser = fastParserFor(clickstream, LIMITS)!;
    let records = 0;
    let tookFastPath = 0;
    let written = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(cleanRecord, mangled, cleanRecord.map((b) => (b.length > 0 ? mangleOnce(b) : b))), { minLength: 1, maxLength: 12 }), async (values) => {
        const recs = toRecords(values);
        const { old, fast } = await bothPaths(clickstream, recs);
        expect(fast).toEqual(old);
        records += recs.length;
        written += old.batch.counts.written;
        for (const r of recs) if (takesFastPath(parser, r)) tookFastPath++;
      }),
      { numRuns: Number(process.env.FASTPATH_RUNS ?? 300) },
    );
    // The generators reach both paths: a good share of records is taken by the fast path, and many are not.
    expect(tookFastPath).toBeGreaterThan(records * 0.1);
    expect(tookFastPath).toBeLessThan(written);
    console.log(`fast path property: ${records} records, ${written} written, ${tookFastPath} on the fast path`);
  });

  it('handles escaped, unicode and big-integer records the same way one by one', async () => {
    const texts = [
      '{"event_id":"e\\u0031","user_id":1,"ts":"2026-11-21T07:15:00Z"}',
      '{"event_id":"é中😀","user_id":18446744073709551615,"ts":"2026-11-21T07:15:00Z"}',
      '{"event_id":"a","user_id":9223372036854775807,"ts":"2026-11-21T07:15:00.123Z","amount":1e2,"props":{"0":"x","b":"y"}}',
      '{"event_id":"a","user_id":12345678901234567,"ts":"2026-11-21T07:15:00Z","props":{"a":"1","a":"2"}}',
      '{"event_id":"a","event_id":"b","user_id":1,"ts":"2026-11-21T07:15:00Z"}',
      '{"event_id":"a","user_id":"42","ts":1790000000000,"amount":"1.5","props":{"n":null,"m":1}}',
      '{"event_id":null,"user_id":1,"ts":"2026-11-21T07:15:00Z"}',
      ' {"event_id":"a","user_id":-0,"ts":"2026-11-21T07:15:00Z","amount":-0,"extra":{"deep":[1,2,{"x":null}]}} ',
    ];
    const bad = Buffer.from('{"event_id":"a\xff","user_id":1,"ts":"2026-11-21T07:15:00Z"}', 'latin1');
    const { old, fast, oldBodies, fastBodies } = await bothPaths(clickstream, toRecords([...texts.map((t) => Buffer.from(t, 'utf8')), bad]));
    expect(fast).toEqual(old);
    expect(old.batch.quarantine.length).toBeGreaterThan(0);
    expect(old.batch.files.length).toBeGreaterThan(0);
    for (let i = 0; i < oldBodies.length; i++) expect(await readBack(fastBodies[i])).toEqual(await readBack(oldBodies[i]));
  });

  it('file builders reused from earlier batches give the same parquet-wasm input as new ones', async () => {
    const batch = Object.values(buildMskEvent(generateClickstreamRecords({ seed: 11, count: 400, partitions: 1 }).records).records)[0];
    // Another batch first: other partitions, nulls, escapes and long values, through both paths.
    const messy = toRecords([
      ...generateClickstreamRecords({ seed: 12, count: 300, partitions: 1 }).records.map((r) => Buffer.from(r.value as string, 'utf8')),
      Buffer.from('{"event_id":"e\\u0031","user_id":1,"ts":"2030-01-01T00:00:00Z","country":null,"props":{"k":null}}'),
      Buffer.from(`{"event_id":"${'x'.repeat(5000)}","user_id":2,"ts":"1999-01-01T00:00:00Z","amount":1.5}`),
    ]);
    const fresh = { ...clickstream };
    encoded = [];
    await prepareBatch(fresh, batch);
    const first = encoded;
    const reused = { ...clickstream };
    encoded = [];
    await prepareBatch(reused, messy);
    expect(encoded.length).toBeGreaterThan(2);
    encoded = [];
    await prepareBatch(reused, batch);
    expect(encoded.length).toBeGreaterThan(1);
    expect(encoded).toEqual(first);
  });

  it('matches short and long field names by their predicted key order, and falls back when the order or spacing changes', async () => {
    const p = definePipeline({
      name: 'keys',
      topics: ['clicks'],
      valueFormat: 'json',
      columns: [
        { name: 'a', type: 'string' },
        { name: 'bc', type: 'bigint' },
        { name: 'def', type: 'string' },
        { name: 'ghij', type: 'double' },
        { name: 'klmnopqrs', type: 'string' },
        { name: 't', type: 'timestamp', required: true },
      ],
      partitioning: { by: 'eventTime', source: 't', granularity: 'hour' },
    });
    const texts = [
      '{"a":"1","bc":2,"def":"3","ghij":4.5,"klmnopqrs":"6","t":"2026-11-21T07:00:00Z"}',
      '{"a":"x","bc":-2,"def":"y","ghij":0.5,"klmnopqrs":"z","t":"2026-11-21T07:10:00Z"}',
      '{"a":"x","bc":-2,"def":"y","ghij":0.5,"klmnopqrs":"z","t":"2026-11-21T08:10:00Z"}',
      '{"ab":"x","bc":3,"defg":"y","t":"2026-11-21T07:20:00Z","klmnopqr":"z","klmnopqrs":"w"}',
      '{"a" :"x", "bc": 3,"def":"y","t":"2026-11-21T07:30:00Z"}',
      '{"t":"2026-11-21T07:40:00Z","klmnopqrs":"s","ghij":1,"def":"d","bc":7,"a":"a"}',
      '{"a":"1","bc":2,"def":"3","ghij":4.5,"klmnopqrs":"6","t":"2026-11-21T07:50:00Z","a":"dup"}',
      '{"a":"1","b":2,"de":"3","ghi":4.5,"klmnopqrst":"6","t":"2026-11-21T07:55:00Z"}',
    ];
    const recs = toRecords([...texts, ...texts].map((t) => Buffer.from(t, 'utf8')));
    const { old, fast } = await bothPaths(p, recs);
    expect(fast).toEqual(old);
    expect(old.batch.counts.written).toBe(recs.length);
    const parser = fastParserFor(p, LIMITS)!;
    const scratch = new ParquetFileBuilder(p, 16);
    const taken = recs.map((r) => takesFastPath(parser, r, scratch));
    // All but the duplicate-key records (the old path keeps the last value, as JSON.parse does).
    expect(taken.filter(Boolean).length).toBe(recs.length - 2);
  });

  it('is not used where it does not apply (transform, unknownFields quarantine, unsupported column types)', () => {
    const base = { name: 'p', topics: ['t'], valueFormat: 'json' as const, partitioning: { by: 'none' as const } };
    expect(fastParserFor(definePipeline({ ...base, columns: [{ name: 'a', type: 'string' }], unknownFields: 'quarantine' }), LIMITS)).toBeNull();
    expect(fastParserFor(definePipeline({ ...base, columns: [{ name: 'a', type: 'int' }] }), LIMITS)).toBeNull();
    const plain = definePipeline({ ...base, columns: [{ name: 'a', type: 'string' }] });
    expect(fastParserFor(plain, LIMITS)).not.toBeNull();
    // A transform needs the decoded value, so prepareBatch reads such a pipeline on the general path.
    expect(usesFastPath(plain)).toBe(true);
    expect(usesFastPath(definePipeline({ ...base, columns: [{ name: 'a', type: 'string' }], transform: (v) => v as { a: string } }))).toBe(false);
  });

  it('builds a parser per limits: a pipeline asked with other limits does not reuse the first ones', () => {
    const p = definePipeline({ name: 'lim', topics: ['t'], valueFormat: 'json', partitioning: { by: 'none' }, columns: [{ name: 'a', type: 'string' }] });
    const small = fastParserFor(p, { maxValueBytes: 8, maxNestingDepth: 100 })!;
    const large = fastParserFor(p, LIMITS)!;
    expect(large).not.toBe(small);
    const value = Buffer.from(JSON.stringify({ a: 'a long enough value' })).toString('base64');
    const scratch = new ParquetFileBuilder(p, 4);
    expect(small.append(value, { topic: 't', partition: 0, offset: 0, timestamp: 0 }, scratch)).toBe(false);
    scratch.rollback();
    expect(large.append(value, { topic: 't', partition: 0, offset: 0, timestamp: 0 }, scratch)).toBe(true);
    scratch.rollback();
    expect(fastParserFor(p, LIMITS)).toBe(large);
  });
});

describe('plainWord (the four-bytes-at-a-time string scan)', () => {
  /** The byte loop's rule: `"`, `\`, control characters and non-ASCII end a plain run. */
  const stops = (b: number) => b === 0x22 || b === 0x5c || b < 0x20 || b >= 0x80;
  const word = (b: number[]) => Buffer.from(b).readInt32LE(0);

  it('reports a word with any stop byte in any position as not plain, and every other byte as plain', () => {
    for (let b = 0; b < 256; b++) {
      for (let at = 0; at < 4; at++) {
        const bytes = [0x61, 0x7e, 0x20, 0x23];
        bytes[at] = b;
        expect(plainWord(word(bytes)), `byte 0x${b.toString(16)} at ${at}`).toBe(!stops(b));
      }
    }
  });

  it('agrees with the byte loop on random words', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), (bytes) => {
        expect(plainWord(word(bytes))).toBe(!bytes.some(stops));
      }),
      { numRuns: 20000 },
    );
  });
});
