/**
 * Avro and Protobuf decode-to-Parquet throughput beside the JSON path, on the same rows: N
 * order-like records encoded three ways (JSON text, Avro, Protobuf; unframed, with a schema), each
 * loaded by prepareBatch in the same process, alternating, the median of `rounds` after a warm-up
 * round. Part of `npm run bench` (`formats` in `--json`); alone: `npx tsx lib/bench/formats.ts
 * [records] [rounds]`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { avroEncoder } from '../../lambdas/core/formats/avro';
import { protobufEncoder } from '../../lambdas/core/formats/protobuf';
import type { MskRecord } from '../../lambdas/core/model';
import { definePipeline, type Pipeline } from '../../lambdas/core/pipeline';
import { prepareBatch } from '../../lambdas/core/prepare';
import { roundSummary, summarizeSamples, type Summary } from './stats';

const AVSC = JSON.stringify({
  type: 'record', name: 'Order', fields: [
    { name: 'order_id', type: 'string' }, { name: 'user_id', type: 'long' }, { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'amount', type: 'double' }, { name: 'country', type: 'string' }, { name: 'page', type: 'string' }, { name: 'props', type: { type: 'map', values: 'string' } },
  ],
});
const PROTO = `syntax = "proto3"; package b; import "google/protobuf/timestamp.proto";
message Order { string order_id = 1; int64 user_id = 2; google.protobuf.Timestamp ts = 3; double amount = 4; string country = 5; string page = 6; map<string, string> props = 7; }`;

/** Records/s of each value format on the same rows (median of the rounds), and each typed format's ratio to JSON. */
export interface FormatsResult {
  records: number;
  rounds: number;
  recordsPerSecond: { json: Summary; avro: Summary; protobuf: Summary };
  /** Median records/s ÷ JSON's. */
  vsJson: { avro: number; protobuf: number };
}

/** Measures the three formats (see the module comment). */
export async function measureFormats(n = 7500, rounds = 7): Promise<FormatsResult> {
  const samples = await run(n, rounds);
  const med = (k: keyof typeof samples) => roundSummary(summarizeSamples(samples[k]!), 0);
  const recordsPerSecond = { json: med('json'), avro: med('avro'), protobuf: med('protobuf') };
  const ratio = (k: 'avro' | 'protobuf') => Math.round((recordsPerSecond[k].median / recordsPerSecond.json.median) * 100) / 100;
  return { records: n, rounds, recordsPerSecond, vsJson: { avro: ratio('avro'), protobuf: ratio('protobuf') } };
}

/** Records/s samples per format (one per round after the warm-up round). */
export async function run(n = 7500, rounds = 7): Promise<Record<string, number[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'lakeloader-bench-formats-'));
  try {
    return await runIn(dir, n, rounds);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runIn(dir: string, n: number, rounds: number): Promise<Record<string, number[]>> {
  writeFileSync(join(dir, 'o.avsc'), AVSC);
  writeFileSync(join(dir, 'o.proto'), PROTO);
  const base = { topics: ['o'], format: 'hive' as const, partitioning: { by: 'eventTime' as const, source: 'ts', granularity: 'hour' as const }, unknownFields: 'ignore' as const };
  const cols = [
    { name: 'order_id', type: 'string', required: true }, { name: 'user_id', type: 'bigint' }, { name: 'ts', type: 'timestamp', required: true },
    { name: 'amount', type: 'double' }, { name: 'country', type: 'string' }, { name: 'page', type: 'string' }, { name: 'props', type: 'map<string,string>' },
  ];
  const json = definePipeline({ ...base, name: 'bench_json', valueFormat: 'json', columns: cols });
  const avro = definePipeline({ ...base, name: 'bench_avro', valueFormat: 'avro', schemaFile: join(dir, 'o.avsc'), columns: cols });
  const proto = definePipeline({ ...base, name: 'bench_proto', valueFormat: 'protobuf', schemaFile: join(dir, 'o.proto'), columns: cols });
  const encA = avroEncoder(AVSC);
  const encP = protobufEncoder(PROTO, 'b.Order');
  const t0 = Date.parse('2026-11-20T00:00:00Z');
  const rows = Array.from({ length: n }, (_, i) => ({ order_id: `ord-${i.toString(36)}-${(i * 7919).toString(36)}`, user_id: 1_000_000 + ((i * 31) % 50_000), ts: t0 + i * 400, amount: (i % 1000) / 10, country: ['NO', 'DE', 'FR', 'US'][i % 4]!, page: `/p/${i % 300}`, props: { color: ['red', 'blue'][i % 2]!, size: String(i % 5) } }));
  const rec = (i: number, value: Buffer): MskRecord => ({ topic: 'o', partition: 0, offset: i, timestamp: t0, timestampType: 'CREATE_TIME', headers: [], value: value.toString('base64') });
  const sets: [string, Pipeline, MskRecord[]][] = [
    ['json', json, rows.map((r, i) => rec(i, Buffer.from(JSON.stringify({ ...r, ts: new Date(r.ts).toISOString() }))))],
    ['avro', avro, rows.map((r, i) => rec(i, encA(r)))],
    ['protobuf', proto, rows.map((r, i) => rec(i, Buffer.from(encP.encode({ ...r, ts: { seconds: Math.floor(r.ts / 1000), nanos: (r.ts % 1000) * 1e6 } }))))],
  ];
  return runRounds(sets, rounds);
}

async function runRounds(sets: [string, Pipeline, MskRecord[]][], rounds: number): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (let r = 0; r <= rounds; r++) {
    for (const [name, p, recs] of sets) {
      const t = performance.now();
      const b = await prepareBatch(p, recs);
      const ms = performance.now() - t;
      if (b.counts.written !== recs.length) throw new Error(`${name}: ${b.counts.quarantined} quarantined: ${b.quarantine[0]?.error}`);
      const rps = recs.length / (ms / 1000);
      if (r > 0) (out[name] ??= []).push(rps); // round 0 warms up
    }
  }
  return out;
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 7500);
  const rounds = Number(process.argv[3] ?? 7);
  void measureFormats(n, rounds).then((f) => {
    for (const [k, v] of Object.entries(f.recordsPerSecond)) process.stdout.write(`${k.padEnd(9)} ${Math.round(v.median).toLocaleString('en-US').padStart(9)} records/s  (${(v.median / f.recordsPerSecond.json.median).toFixed(2)}× JSON)\n`);
  });
}
