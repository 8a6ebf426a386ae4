/** Human-readable rendering of a bench result: the targets first, then every figure with its spread. */
import type { BenchResult } from './harness';
import { formatCostTable } from './cost/levels';
import { formatFilesReport } from './files';
import { STAGES } from './stages';
import type { Summary } from './stats';

const fmt = (x: number, d = 1) => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(d));
const spread = (s: Summary, d = 1, unit = '') => `${fmt(s.median, d)}${unit}  (min ${fmt(s.min, d)}, IQR ${fmt(s.p25, d)}–${fmt(s.p75, d)}, max ${fmt(s.max, d)}, n=${s.n})`;
const usd = (x: number) => (x >= 0.01 ? `$${x.toFixed(4)}` : `$${x.toPrecision(3)}`);
const mark = (ok: boolean | null) => (ok === null ? '  n/a' : ok ? '  ok ' : ' MISS');

/** Formats the result as the text report printed by `lakeloader bench`. */
export function formatBenchReport(r: BenchResult): string {
  const L: string[] = [];
  const c = r.config;
  L.push(`Lakeloader bench — pipeline ${c.pipeline}, ${c.records} records/batch over ${c.partitions} partition(s), seed ${c.seed}, ${c.runs} runs after ${c.warmup} warm-up`);
  L.push(`${r.environment.cpuModel} ×${r.environment.cpus}, Node ${r.environment.node}, loader ${r.environment.loaderVersion}, load average ${r.environment.loadAverage.start} → ${r.environment.loadAverage.end}${r.environment.loadAverage.start > r.environment.cpus ? ' (busy machine: expect a wide spread)' : ''}`);
  L.push('');
  L.push('Targets (medians)');
  L.push(`${mark(r.ratioVsDuckdb >= 0.4)} loader / DuckDB throughput   ${r.ratioVsDuckdb.toFixed(3)}   (target ≥ 0.40)`);
  L.push(`${mark(r.coldImportRatio === null ? null : r.coldImportRatio <= 1.3)} cold import handler / SDK    ${r.coldImportRatio === null ? 'not measured' : r.coldImportRatio.toFixed(3)}   (target ≤ 1.3)`);
  L.push(`${mark(r.peakRssMb === null ? null : r.peakRssMb < 512)} peak RSS, one batch          ${r.peakRssMb === null ? 'not measured' : `${r.peakRssMb.toFixed(1)} MB`}   (target < 512 MB)`);
  L.push('');
  const b = r.batch;
  L.push(`Batch: MSK event ${(b.mskEventBytes / 1e6).toFixed(2)} MB, decoded JSON ${(b.jsonBytes / 1e6).toFixed(2)} MB (${Math.round(b.jsonBytes / b.records)} B/record), ${b.rows} rows in ${b.files} Parquet files, ${b.quarantined} quarantined`);
  L.push('');
  L.push('Loader core (MSK event → Parquet bytes, prepareBatch per topic-partition)');
  L.push(`  records/s       ${spread(r.loader.recordsPerSecond, 0)}`);
  L.push(`  JSON MB/s       ${spread(r.loader.mbPerSecond)}`);
  L.push(`  ms/batch        ${spread(r.loader.ms)}`);
  L.push(`  CPU ms/batch    ${spread(r.loader.cpuMs)}`);
  L.push(`  output          ${(r.loader.outputBytes / 1e6).toFixed(2)} MB Parquet`);
  L.push('  stages (CPU ms, measured separately: see lib/bench/stages.ts; scan = the fast path\'s fused parse, conform and append)');
  for (const st of STAGES) L.push(`    ${st.padEnd(10)} ${spread(r.loader.stagesMs[st], 1)}   ${(r.loader.stageShare[st] * 100).toFixed(0)}%`);
  L.push('DuckDB (threads=1, read_ndjson with the table\'s column types → COPY TO parquet, snappy)');
  L.push(`  records/s       ${spread(r.duckdb.recordsPerSecond, 0)}`);
  L.push(`  JSON MB/s       ${spread(r.duckdb.mbPerSecond)}`);
  L.push(`  ms/batch        ${spread(r.duckdb.ms)}`);
  L.push(`  CPU ms/batch    ${spread(r.duckdb.cpuMs)}`);
  L.push(`  output          ${(r.duckdb.outputBytes / 1e6).toFixed(2)} MB Parquet`);
  L.push(`Ratio loader/DuckDB (per run)  wall ${spread(r.ratio, 3)}`);
  L.push(`                               CPU  ${spread(r.ratioCpu, 3)}`);
  if (r.sustained) {
    const s = r.sustained;
    L.push('');
    L.push(`Sustained: ${s.batches} batches, ${s.records.toLocaleString('en-US')} records in ${s.ms} ms → ${s.recordsPerSecond.toLocaleString('en-US')} records/s, ${s.mbPerSecond} MB/s`);
    L.push(`  per batch records/s  ${spread(s.perBatchRecordsPerSecond, 0)}`);
  }
  if (r.formats) {
    const f = r.formats;
    L.push('');
    L.push(`Value formats (the same ${f.records.toLocaleString('en-US')} order rows as JSON text, Avro, Protobuf with a schema file → Parquet; median of ${f.rounds} rounds)`);
    L.push(`  json      records/s ${spread(f.recordsPerSecond.json, 0)}`);
    L.push(`  avro      records/s ${spread(f.recordsPerSecond.avro, 0)}   ${f.vsJson.avro.toFixed(2)}× JSON`);
    L.push(`  protobuf  records/s ${spread(f.recordsPerSecond.protobuf, 0)}   ${f.vsJson.protobuf.toFixed(2)}× JSON`);
  } else if (r.errors.formats) L.push(`Value formats: not measured — ${r.errors.formats}`);
  L.push('');
  if (r.coldStart) {
    const k = r.coldStart;
    L.push('Cold start (fresh node process, require of the esbuild bundle)');
    L.push(`  handler import ms   ${spread(k.handlerImportMs)}`);
    L.push(`  SDK-only import ms  ${spread(k.sdkImportMs)}   [${Object.entries(k.sdkImports).map(([p, n]) => `${p}: ${n.join(', ')}`).join('; ') || 'no SDK imports found'}]`);
    L.push(`  ratio (per pair)    ${spread(k.ratio, 3)}`);
    L.push(`  process start → handler ready ms  ${spread(k.handlerInitMs)}; → SDK ready ms  ${spread(k.sdkInitMs)}`);
    L.push(`  deployment package  ${(k.packageZipBytes / 1e6).toFixed(2)} MB zipped (${(k.packageUnzippedBytes / 1e6).toFixed(2)} MB unzipped; index.js ${(k.handlerJsBytes / 1e6).toFixed(2)} MB; SDK-only bundle ${(k.sdkJsBytes / 1e6).toFixed(2)} MB)`);
  } else L.push(`Cold start: not measured${r.errors.coldStart ? ` — ${r.errors.coldStart}` : ''}`);
  if (r.memory) {
    const m = r.memory;
    L.push('Memory (child process running the bundled core; maxRSS)');
    L.push(`  event parsed        ${spread(m.eventParsedRssMb, 1, ' MB')}`);
    L.push(`  peak, one batch     ${spread(m.peakRssMb, 1, ' MB')}`);
    L.push(`  peak, ${m.repeat} batches     ${spread(m.sustainedPeakRssMb, 1, ' MB')}`);
  } else L.push(`Memory: not measured${r.errors.memory ? ` — ${r.errors.memory}` : ''}`);
  L.push('');
  const k = r.cost;
  const pb = k.perBatch;
  L.push(`Per-batch cost model: the loader's marginal cost in full batches (${k.assumptions.memoryMb} MB Lambda, ${k.assumptions.ioMsPerBatch} ms S3/Glue time per batch, quarantine object in ${(k.assumptions.quarantineBatchShare * 100).toFixed(0)}% of batches)`);
  L.push(`  per batch: S3 PUT ${pb.s3Puts.toFixed(1)} (data ${pb.s3DataPuts.toFixed(1)}, state 2, manifest 1, quarantine ${pb.s3QuarantinePuts}), S3 GET ${pb.s3Gets} (state), Glue ${pb.glueCalls} (BatchCreatePartition); billed ${pb.billedMs} ms (compute ${pb.computeMs.toFixed(0)} ms)`);
  const g = k.perGb;
  L.push(`  per GB of JSON: ${g.batches.toFixed(1)} batches, ${g.lambdaSeconds.toFixed(1)} Lambda s, ${g.gbSeconds.toFixed(1)} GB-s`);
  L.push(`    Lambda compute ${usd(g.lambdaComputeUsd)} + requests ${usd(g.lambdaRequestsUsd)} + S3 ${usd(g.s3Usd)} + Glue ${usd(g.glueUsd)} = ${usd(g.totalUsd)} per GB`);
  L.push(`    Firehose (MSK source + Parquet conversion) ${usd(g.firehoseUsd)} per GB  →  ${(g.vsFirehose * 100).toFixed(1)}% of Firehose, before the fixed and per-level lines of the table below`);
  if (k.levels) {
    L.push('');
    L.push(formatCostTable(k as Parameters<typeof formatCostTable>[0]));
  }
  if (r.files) {
    L.push('');
    L.push(formatFilesReport(r.files));
  }
  if (Object.keys(r.errors).length) {
    L.push('');
    for (const [k2, v] of Object.entries(r.errors)) L.push(`! ${k2}: ${v}`);
  }
  return L.join('\n');
}

/** The figures compared by `--compare`: [label, getter, higher is better]. */
const COMPARED: [string, (r: BenchResult) => number | null | undefined, boolean][] = [
  ['loader / DuckDB (wall)', (r) => r.ratioVsDuckdb, true],
  ['loader / DuckDB (CPU)', (r) => r.ratioCpu?.median, true],
  ['loader records/s', (r) => r.recordsPerSecond, true],
  ['loader CPU ms/batch', (r) => r.loader.cpuMs?.median, false],
  ['  decode ms', (r) => r.loader.stagesMs.decode.median, false],
  ['  scan ms (fast path)', (r) => r.loader.stagesMs.scan?.median ?? 0, false],
  ['  conform ms', (r) => r.loader.stagesMs.conform.median, false],
  ['  columns ms', (r) => r.loader.stagesMs.columns.median, false],
  ['  encode ms', (r) => r.loader.stagesMs.encode.median, false],
  ['sustained records/s', (r) => r.sustained?.recordsPerSecond, true],
  ['cold import ratio', (r) => r.coldImportRatio, false],
  ['handler import ms', (r) => r.coldStart?.handlerImportMs.median, false],
  ['package zip MB', (r) => (r.coldStart ? r.coldStart.packageZipBytes / 1e6 : null), false],
  ['peak RSS MB', (r) => r.peakRssMb, false],
  ['$ per GB', (r) => r.cost.perGb.totalUsd, false],
  ['$ per GB at 1 MB/s', (r) => r.cost.levels?.find((l) => l.mbPerSecond === 1)?.usdPerGb, false],
];

/** A before → after table of the headline figures of two results (e.g. the committed baseline and this run). */
export function formatComparison(before: BenchResult, after: BenchResult): string {
  const L = ['Compared with the baseline', `${''.padEnd(24)} ${'before'.padStart(12)} ${'after'.padStart(12)}   change`];
  for (const [label, get, higherBetter] of COMPARED) {
    const a = get(before);
    const b = get(after);
    if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b)) continue;
    const change = a === 0 ? 0 : (b - a) / a;
    const better = change === 0 ? '' : (change > 0) === higherBetter ? ' better' : ' worse';
    const show = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3));
    L.push(`${label.padEnd(24)} ${show(a).padStart(12)} ${show(b).padStart(12)}   ${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%${better}`);
  }
  return L.join('\n');
}
