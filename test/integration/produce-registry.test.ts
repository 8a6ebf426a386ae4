/**
 * Producing with a registered schema and the typed demo: `lakeloader produce --format
 * avro|protobuf --schema …` registers the schema in the local Confluent-compatible registry when
 * absent and frames each value as Confluent's serializers do — checked by decoding what a kafkajs
 * consumer reads with @kafkajs/confluent-schema-registry, a client this project did not write —
 * and `lakeloader demo --format avro|protobuf` runs the whole loop and lands the same rows as the
 * JSON demo (its query results are identical for one seed).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoOptions } from '../../lib/cli/demo';
import { runProduce } from '../../lib/cli/produce';
import { CLICKSTREAM_SCHEMAS } from '../../lib/gen/typed';
import { startKafkaBroker, type KafkaBroker } from '../../lib/local/kafka/broker';
import { startConfluentRegistry, type LocalSchemaRegistry } from '../../lib/local/registry/confluent';
import { RegistryStore } from '../../lib/local/registry/store';

let dir: string;
let broker: KafkaBroker;
let sr: LocalSchemaRegistry;
let kafka: Kafka;
const io = () => {
  const o = { out: '', err: '', io: { out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s) } };
  return o;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'produce-registry-'));
  broker = await startKafkaBroker({ port: 0, partitions: 1 });
  sr = await startConfluentRegistry({ store: await RegistryStore.open(join(dir, 'registry')), port: 0 });
  kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
});
afterAll(async () => {
  await sr?.close();
  await broker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function consumeValues(topic: string, n: number): Promise<Buffer[]> {
  const c = kafka.consumer({ groupId: `check-${topic}`, maxWaitTimeInMs: 200 });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  const got: Buffer[] = [];
  await new Promise<void>((resolve) => void c.run({ eachMessage: async ({ message }) => void (got.push(message.value!), got.length === n && resolve()) }));
  await c.disconnect();
  return got;
}

const click = (i: number, extra: object = {}) => ({
  event_id: `e-${i}`,
  user_id: 1000 + i,
  session_id: `s-${i}`,
  event_type: 'purchase',
  ts: `2026-01-15T10:00:0${i}.250Z`,
  amount: 10.5 + i,
  currency: 'EUR',
  country: 'NO',
  device: 'ios',
  page_url: 'https://shop.example.com/',
  referrer: null,
  props: { ab: 'b' },
  ...extra,
});

describe('lakeloader produce --format avro|protobuf', () => {
  it('Avro: registers the schema once, frames each line with its id; a line that does not fit is reported, not produced (exit 1)', async () => {
    const file = join(dir, 'clicks.ndjson');
    await writeFile(file, [JSON.stringify(click(1)), JSON.stringify(click(2, { referrer: 'https://x.example/' })), JSON.stringify(click(3, { event_type: 'teleport' })), 'not json', ''].join('\n'));
    const out = io();
    const code = await runProduce({ topic: 'avro-clicks', file, format: 'avro', schema: CLICKSTREAM_SCHEMAS.avro, registry: sr.url, partitions: '1', bootstrap: broker.bootstrap }, out.io);
    expect(code).toBe(1);
    const summary = JSON.parse(out.out) as { produced: number; unencodable: number; schema: { id: number; subject: string; registered: boolean }; errors: string[] };
    expect(summary).toMatchObject({ produced: 2, unencodable: 2, schema: { subject: 'avro-clicks-value', registered: true } });
    expect(summary.errors[0]).toMatch(/^line 3: does not fit the avro schema/);
    expect(summary.errors[1]).toMatch(/^line 4: not JSON/);
    expect(out.err).toContain('2 line(s) did not fit the avro schema and were not produced');

    // An independent consumer and deserializer read what was produced.
    const reader = new SchemaRegistry({ host: sr.url });
    const values = await consumeValues('avro-clicks', 2);
    for (const v of values) expect(v.readUInt32BE(1)).toBe(summary.schema.id);
    const decoded = (await Promise.all(values.map((v) => reader.decode(v)))) as Record<string, unknown>[];
    expect(decoded.map((d) => [d.event_id, d.user_id, d.event_type, d.ts, d.referrer, d.props])).toEqual([
      ['e-1', 1001, 'purchase', Date.parse('2026-01-15T10:00:01.250Z'), null, { ab: 'b' }],
      ['e-2', 1002, 'purchase', Date.parse('2026-01-15T10:00:02.250Z'), 'https://x.example/', { ab: 'b' }],
    ]);

    // Again with the same schema and subject: found, not registered anew.
    const again = io();
    const code2 = await runProduce({ topic: 'avro-clicks-2', subject: 'avro-clicks-value', partitions: '1', format: 'avro', schema: CLICKSTREAM_SCHEMAS.avro, registry: sr.url, bootstrap: broker.bootstrap }, again.io, (await import('node:stream')).Readable.from([JSON.stringify(click(4)) + '\n']));
    expect(code2, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ produced: 1, schema: { id: summary.schema.id, registered: false } });
  });

  it('Protobuf: message-index framing, 64-bit ids exact, ISO-8601 text as a Timestamp (read by an independent wire reader)', async () => {
    const file = join(dir, 'clicks-pb.ndjson');
    await writeFile(file, JSON.stringify(click(5, { user_id: '9007199254740993' })) + '\n');
    const out = io();
    expect(await runProduce({ topic: 'pb-clicks', file, format: 'protobuf', schema: CLICKSTREAM_SCHEMAS.protobuf, subject: 'pb-clicks-value', registry: sr.url, partitions: '1', bootstrap: broker.bootstrap }, out.io), out.err).toBe(0);
    const [v] = await consumeValues('pb-clicks', 1);
    const summary = JSON.parse(out.out) as { schema: { id: number } };
    expect([v![0], v!.readUInt32BE(1), v![5]]).toEqual([0, summary.schema.id, 0]); // magic, id, message indexes [0] as the single 0 byte
    // The fields, read with @bufbuild/protobuf's wire reader (field numbers from schemas/clickstream.proto).
    const r = new BinaryReader(v!.subarray(6));
    const got: Record<number, unknown> = {};
    while (r.pos < r.len) {
      const [no, wt] = r.tag();
      if (no === 1 || no === 7) got[no] = r.string();
      else if (no === 2) got[no] = r.int64().toString();
      else if (no === 4) got[no] = r.int32();
      else if (no === 6) got[no] = r.double();
      else if (no === 5) {
        const ts = new BinaryReader(r.bytes());
        const t: number[] = [0, 0];
        while (ts.pos < ts.len) {
          const [n] = ts.tag();
          t[n - 1] = n === 1 ? Number(ts.int64()) : ts.int32();
        }
        got[no] = t;
      } else r.skip(wt);
    }
    expect(got).toEqual({ 1: 'e-5', 2: '9007199254740993', 4: 7, 5: [Date.parse('2026-01-15T10:00:05Z') / 1000, 250_000_000], 6: 15.5, 7: 'EUR' });
  });

  it('says what to set: --format without --schema, --schema without --format, an unreachable registry', async () => {
    const a = io();
    expect(await runProduce({ topic: 't', format: 'avro', bootstrap: broker.bootstrap }, a.io)).toBe(1);
    expect(a.err).toMatch(/--format avro needs --schema <file>/);
    const b = io();
    expect(await runProduce({ topic: 't', schema: CLICKSTREAM_SCHEMAS.avro, bootstrap: broker.bootstrap }, b.io)).toBe(1);
    expect(b.err).toMatch(/add --format avro or --format protobuf/);
    const c = io();
    expect(await runProduce({ topic: 't', format: 'avro', schema: CLICKSTREAM_SCHEMAS.avro, registry: 'http://127.0.0.1:9', bootstrap: broker.bootstrap }, c.io)).toBe(1);
    expect(c.err).toMatch(/SCHEMA_REGISTRY_CLIENT: schema registry http:\/\/127\.0\.0\.1:9 unreachable/);
  });
});

describe('lakeloader demo --format avro|protobuf', () => {
  const options: DemoOptions = { events: 1500, malformed: 12, partitions: 2, seed: 11, batchSize: 10_000, windowMs: 100, keep: false, progress: false };
  /** The demo's query results, up to the quarantine (whose reasons differ by format). */
  const queries = (text: string) => text.slice(text.indexOf('■ Events per type'), text.indexOf('■ Quarantine by stage'));
  let json = '';

  it('JSON (the reference)', async () => {
    let text = '';
    const r = await runDemo({ ...options, out: (s) => void (text += s) });
    expect(r.reconciled).toBe(true);
    json = queries(text);
    expect(json).toContain('Revenue per currency');
  }, 90_000);

  for (const format of ['avro', 'protobuf'] as const) {
    it(`${format}: registers the schema, loads every event, quarantines the unframed records, and queries exactly as JSON does`, async () => {
      let text = '';
      const r = await runDemo({ ...options, format, out: (s) => void (text += s) });
      expect(r).toMatchObject({ reconciled: true, loaded: 1500, quarantined: 12, schema: { format, subject: 'clicks-value' } });
      expect(text).toMatch(new RegExp(`value format\\s+│ ${format}, Confluent-framed \\(schema id \\d+\\)`));
      expect(queries(text)).toBe(json);
    }, 90_000);
  }
});
