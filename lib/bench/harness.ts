/**
 * `lakeloader bench`: the loader core against single-threaded DuckDB on the same batch, plus a
 * sustained run, cold start, peak RSS and the cost model, in one run. See docs/bench.md.
 *
 * Every figure is sampled several times after a warm-up and reported as median and spread;
 * the headline ratios are medians of per-run (paired) ratios.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { MskEvent } from '../../lambdas/core/model';
import type { Pipeline } from '../../lambdas/core/pipeline';
import { LOADER_VERSION } from '../../lambdas/core/version';
import { declaredPipelines } from '../pipelines';
import { buildMskEvent } from '../local/msk-event';
import { generateClickstreamRecords } from '../gen/records';
import { measureColdStart, type ColdStartResult } from './cold-start';
import { costModel, DEFAULT_PRICES, type CostModel, type Prices } from './cost/batch';
import { computeCostTable, type CostTableRequest, type CostTableResult } from './cost/index';
import { DuckdbReference } from './duckdb';
import { measureFormats, type FormatsResult } from './formats';
import { runFilesBench, type FilesOptions, type FilesResult } from './files';
import { loadPrepareBatch, runLoader, type LoaderRun, type PrepareBatch } from './loader';
import { bundleMemoryChild, measureMemory, type MemoryResult } from './memory';
import { measureStages, STAGES, type Stage } from './stages';
import { roundSummary, summarizeSamples, type Summary } from './stats';

/**
 * A full garbage collection now, between phases, so that one phase's garbage (the stage pass keeps
 * every decoded value and conformed row alive until it ends) is not collected on the next phase's
 * clock. The loader's own garbage still counts: runs of the same phase are not separated by it.
 */
function fullGc(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  if (typeof gc === 'function') (gc as () => void)();
}

export interface BenchOptions {
  /** Records per MSK event (batch). @default 7500 (≈ 6 MB of base64 values, the ESM's payload limit) */
  records?: number;
  /** Measured runs after the warm-up. @default 9 */
  runs?: number;
  /** Discarded warm-up runs (JIT, page cache). @default 3 */
  warmup?: number;
  /** Batches in the sustained run (processed back to back). @default 20; 0 skips it */
  batches?: number;
  /** Generator seed. @default 1 */
  seed?: number;
  /** Kafka partitions the batch spreads over (prepareBatch calls per event). @default 1 */
  partitions?: number;
  /** Fresh processes per side for the cold-start measurement. @default 10; 0 skips it */
  coldStartRuns?: number;
  /** Child processes for the peak-RSS measurement. @default 3; 0 skips it */
  memoryRuns?: number;
  /** Batches each memory child processes (peak after the first, and after all). @default 5 */
  memoryRepeat?: number;
  /** Lambda memory for the cost model, MB. @default 1769 */
  memoryMb?: number;
  /** S3/Glue wall time per batch for the cost model, ms. @default 200 */
  ioMsPerBatch?: number;
  /** Share of batches that write a quarantine object, for the cost model. @default 1 */
  quarantineBatchShare?: number;
  prices?: Partial<Prices>;
  /** The cost-and-freshness table (cost/levels.ts) from this run's measured figures; `false` skips it. @default the default stack, synthesized */
  costTable?: Omit<CostTableRequest, 'measured'> | false;
  /** Records per format in the Avro/Protobuf/JSON decode-to-Parquet comparison (formats.ts). @default `records`; 0 skips it */
  formatRecords?: number;
  /** Measured rounds of that comparison (after one warm-up round). @default 5 */
  formatRounds?: number;
  /** Files per partition-hour and per query, before and after compaction (files.ts), with the cost table's assumptions; `false` skips it. @default an hour at 0.01 MB/s */
  files?: Omit<FilesOptions, 'model' | 'onProgress'> | false;
  /** Keep the scratch directory (bundles, NDJSON, Parquet) for inspection. @default false */
  keep?: boolean;
  /** Progress messages (stderr in the CLI). */
  onProgress?: (message: string) => void;
}

/** Summaries of one side of the comparison. */
export interface SideResult {
  /** Wall time per batch (what Lambda bills). */
  ms: Summary;
  /** Process CPU time per batch (all threads); less sensitive than wall time to other load on the machine. */
  cpuMs: Summary;
  recordsPerSecond: Summary;
  /** Decoded JSON (the NDJSON / Kafka value bytes) per second, MB (10^6). */
  mbPerSecond: Summary;
  outputBytes: number;
}

export interface BenchResult {
  /** Median of per-run loader/DuckDB throughput ratios on the batch (target ≥ 0.40). */
  ratioVsDuckdb: number;
  /** Median loader-core records/s on the batch. */
  recordsPerSecond: number;
  /** Median handler/SDK-only cold import-time ratio (target ≤ 1.3); null when not measured. */
  coldImportRatio: number | null;
  /** Median peak RSS for one batch, MB (target < 512); null when not measured. */
  peakRssMb: number | null;
  config: Required<Omit<BenchOptions, 'prices' | 'keep' | 'onProgress' | 'costTable' | 'files'>> & { pipeline: string };
  batch: {
    records: number;
    partitions: number;
    /** JSON size of the MSK event as the Lambda receives it. */
    mskEventBytes: number;
    /** The decoded values (the NDJSON DuckDB reads, minus newlines). */
    jsonBytes: number;
    rows: number;
    files: number;
    quarantined: number;
  };
  /** `stagesMs`: CPU ms per stage (see stages.ts); `stageShare`: each stage's share of their sum. */
  loader: SideResult & { stagesMs: Record<Stage, Summary>; stageShare: Record<Stage, number> };
  duckdb: SideResult;
  ratio: Summary;
  /** Per-run ratio of CPU times (DuckDB cpu ms / loader cpu ms): the cross-check on a busy machine. */
  ratioCpu: Summary;
  sustained: { batches: number; records: number; ms: number; recordsPerSecond: number; mbPerSecond: number; perBatchRecordsPerSecond: Summary } | null;
  coldStart: ColdStartResult | null;
  memory: MemoryResult | null;
  /** Avro and Protobuf decode-to-Parquet beside JSON on the same rows (formats.ts); null when skipped. */
  formats: FormatsResult | null;
  /** The per-batch model, and (unless skipped or failed, see `errors.costTable`) the table by traffic level: `cost.levels[]`. */
  cost: CostModel & Partial<CostTableResult>;
  /** Files per partition-hour and files opened per query, before and after compaction, Iceberg and Hive (issue 12); null when skipped or failed. */
  files: FilesResult | null;
  /** Parts that could not be measured, with the reason. */
  errors: Record<string, string>;
  environment: {
    node: string;
    platform: string;
    arch: string;
    cpus: number;
    cpuModel: string;
    loaderVersion: string;
    date: string;
    /** 1-minute load average at the start and the end of the run: a busy machine widens the spread. */
    loadAverage: { start: number; end: number };
  };
}

const MB = 1e6;

function eventJsonBytes(event: MskEvent): number {
  return Buffer.byteLength(JSON.stringify(event));
}

type BenchConfig = { records: number; runs: number; warmup: number; batches: number; seed: number; partitions: number };

/** The paired runs: the loader core and DuckDB on the same batch, alternating which goes first. */
async function measurePaired(prepare: PrepareBatch, pipeline: Pipeline, event: MskEvent, duck: DuckdbReference, cfg: BenchConfig, progress: (m: string) => void) {
  const loaderRuns: LoaderRun[] = [];
  const duckMs: number[] = [];
  const duckCpuMs: number[] = [];
  let duckBytes = 0;
  for (let i = 0; i < cfg.warmup + cfg.runs; i++) {
    const measured = i >= cfg.warmup;
    progress(`${measured ? `run ${i - cfg.warmup + 1}/${cfg.runs}` : `warm-up ${i + 1}/${cfg.warmup}`}: loader core, DuckDB`);
    // Alternate the order so that neither side always runs right after the other's garbage.
    let l: LoaderRun;
    let d: Awaited<ReturnType<DuckdbReference['convert']>>;
    if (i % 2 === 0) {
      l = await runLoader(prepare, pipeline, event);
      d = await duck.convert();
    } else {
      d = await duck.convert();
      l = await runLoader(prepare, pipeline, event);
    }
    if (!measured) continue;
    loaderRuns.push(l);
    duckMs.push(d.ms);
    duckCpuMs.push(d.cpuMs);
    duckBytes = d.outputBytes;
  }
  return { loaderRuns, duckMs, duckCpuMs, duckBytes };
}

/** CPU ms per stage (stages.ts) of each measured pass over the batch. */
function measureStageSplit(pipeline: Pipeline, event: MskEvent, cfg: BenchConfig, progress: (m: string) => void): Record<Stage, number[]> {
  const samples = Object.fromEntries(STAGES.map((st) => [st, [] as number[]])) as Record<Stage, number[]>;
  for (let i = 0; i < cfg.warmup + cfg.runs; i++) {
    progress(`stages ${i + 1}/${cfg.warmup + cfg.runs}`);
    const stageMs = Object.fromEntries(STAGES.map((st) => [st, 0])) as Record<Stage, number>;
    for (const records of Object.values(event.records)) {
      const s = measureStages(pipeline, records);
      for (const st of STAGES) stageMs[st] += s.ms[st];
    }
    if (i >= cfg.warmup) for (const st of STAGES) samples[st].push(stageMs[st]);
  }
  return samples;
}

/** `batches` batches back to back in one process, as a warm container would run them. */
async function measureSustained(prepare: PrepareBatch, pipeline: Pipeline, cfg: BenchConfig, progress: (m: string) => void): Promise<NonNullable<BenchResult['sustained']>> {
  progress(`sustained: generating ${cfg.batches} batches of ${cfg.records}`);
  // Only the MSK events stay reachable while timing (the generator's output is dropped).
  const { events, sustainedJson } = (() => {
    const big = generateClickstreamRecords({ seed: cfg.seed + 1, count: cfg.records * cfg.batches, partitions: cfg.partitions });
    const evs: MskEvent[] = [];
    for (let b = 0; b < cfg.batches; b++) evs.push(buildMskEvent(big.records.slice(b * cfg.records, (b + 1) * cfg.records)));
    return { events: evs, sustainedJson: big.valid.reduce((s, v) => s + Buffer.byteLength(v.json), 0) };
  })();
  progress(`sustained: ${cfg.batches} batches back to back`);
  const perBatch: number[] = [];
  const t0 = performance.now();
  for (const e of events) {
    const r = await runLoader(prepare, pipeline, e);
    perBatch.push((cfg.records / r.ms) * 1000);
  }
  const ms = performance.now() - t0;
  return {
    batches: cfg.batches,
    records: cfg.records * cfg.batches,
    ms: Math.round(ms),
    recordsPerSecond: Math.round((cfg.records * cfg.batches * 1000) / ms),
    mbPerSecond: Math.round((sustainedJson / MB / (ms / 1000)) * 100) / 100,
    perBatchRecordsPerSecond: roundSummary(summarizeSamples(perBatch), 0),
  };
}

/** The options with their defaults, validated. */
function resolveConfig(options: BenchOptions) {
  const cfg = {
    records: options.records ?? 7500,
    runs: options.runs ?? 9,
    warmup: options.warmup ?? 3,
    batches: options.batches ?? 20,
    seed: options.seed ?? 1,
    partitions: options.partitions ?? 1,
    coldStartRuns: options.coldStartRuns ?? 10,
    memoryRuns: options.memoryRuns ?? 3,
    memoryRepeat: options.memoryRepeat ?? 5,
    memoryMb: options.memoryMb ?? 1769,
    ioMsPerBatch: options.ioMsPerBatch ?? 200,
    quarantineBatchShare: options.quarantineBatchShare ?? 1,
    formatRecords: options.formatRecords ?? options.records ?? 7500,
    formatRounds: options.formatRounds ?? 5,
  };
  for (const [k, v] of Object.entries(cfg)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`bench option ${k} must be a non-negative number, got ${v}`);
  }
  if (cfg.records < 1 || cfg.runs < 1 || cfg.partitions < 1) throw new RangeError('records, runs and partitions must be at least 1');
  return cfg;
}

type FullConfig = ReturnType<typeof resolveConfig>;

/** The bench's events are lib/gen's clickstream: the declared pipeline of that name, and its file for the bundles. */
function clickstreamPipeline(): { pipeline: Pipeline; pipelineFile: string } {
  const declared = declaredPipelines().find((d) => d.pipeline.name === 'clickstream');
  if (!declared) throw new RangeError('the bench loads the clickstream pipeline; declare it in pipelines/ (or LAKELOADER_PIPELINES_DIR)');
  return { pipeline: declared.pipeline, pipelineFile: declared.file };
}

/** The batch: generated records as an MSK event, written (for DuckDB and the memory children) as NDJSON and event JSON in `work`. */
function generateBatch(cfg: BenchConfig, work: string, progress: (m: string) => void) {
  progress(`generating ${cfg.records} events (seed ${cfg.seed})`);
  const gen = generateClickstreamRecords({ seed: cfg.seed, count: cfg.records, partitions: cfg.partitions });
  const event = buildMskEvent(gen.records);
  const jsonBytes = gen.valid.reduce((s, v) => s + Buffer.byteLength(v.json), 0);
  const ndjsonPath = join(work, 'batch.ndjson');
  writeFileSync(ndjsonPath, gen.valid.map((v) => v.json).join('\n') + '\n');
  const eventPath = join(work, 'event.json');
  writeFileSync(eventPath, JSON.stringify(event));
  return { event, jsonBytes, ndjsonPath, eventPath };
}

/** The in-process measurements on the batch: the paired loader/DuckDB runs, then the stage split, each phase after a full GC. */
async function measureBatch(prepare: PrepareBatch, pipeline: Pipeline, event: MskEvent, ndjsonPath: string, work: string, cfg: BenchConfig, progress: (m: string) => void) {
  const duck = await DuckdbReference.open(pipeline, ndjsonPath, work, pipeline.compression);
  try {
    fullGc(); // the generator's garbage
    const paired = await measurePaired(prepare, pipeline, event, duck, cfg, progress);
    // The stage split in its own phase: its passes retain a whole batch of intermediate values,
    // whose collection would otherwise land in the paired runs above.
    fullGc();
    const stageSamples = measureStageSplit(pipeline, event, cfg, progress);
    fullGc();
    return { paired, stageSamples };
  } finally {
    duck.close();
  }
}

/** Summaries of the paired runs and the stage split: both sides, the per-run ratios, the stage medians and shares, the loader's median records/s. */
function summarizeBatch(paired: Awaited<ReturnType<typeof measurePaired>>, stageSamples: Record<Stage, number[]>, records: number, jsonBytes: number) {
  const { loaderRuns, duckMs, duckCpuMs, duckBytes } = paired;
  const loaderMs = loaderRuns.map((r) => r.ms);
  const loaderCpuMs = loaderRuns.map((r) => r.cpuMs);
  const side = (ms: number[], cpuMs: number[], outputBytes: number): SideResult => ({
    ms: roundSummary(summarizeSamples(ms)),
    cpuMs: roundSummary(summarizeSamples(cpuMs)),
    recordsPerSecond: roundSummary(summarizeSamples(ms.map((x) => (records / x) * 1000)), 0),
    mbPerSecond: roundSummary(summarizeSamples(ms.map((x) => jsonBytes / MB / (x / 1000)))),
    outputBytes,
  });
  const ratio = summarizeSamples(loaderMs.map((l, i) => duckMs[i] / l));
  const ratioCpu = summarizeSamples(loaderCpuMs.map((l, i) => duckCpuMs[i] / l));
  const stagesMs = Object.fromEntries(STAGES.map((st) => [st, roundSummary(summarizeSamples(stageSamples[st]))])) as Record<Stage, Summary>;
  const stageTotal = STAGES.reduce((s, st) => s + stagesMs[st].median, 0);
  const stageShare = Object.fromEntries(STAGES.map((st) => [st, stageTotal > 0 ? Math.round((stagesMs[st].median / stageTotal) * 1000) / 1000 : 0])) as Record<Stage, number>;
  const last = loaderRuns[loaderRuns.length - 1];
  const loaderRps = summarizeSamples(loaderMs.map((x) => (records / x) * 1000)).median;
  return {
    ratio,
    ratioCpu,
    last,
    loaderRps,
    loader: { ...side(loaderMs, loaderCpuMs, last.outputBytes), stagesMs, stageShare },
    duckdb: side(duckMs, duckCpuMs, duckBytes),
  };
}

/** Avro and Protobuf decode-to-Parquet beside JSON (skipped when `formatRecords` or `formatRounds` is 0), after a full GC; a failure goes to `errors.formats`. */
async function formatsPhase(cfg: FullConfig, errors: Record<string, string>, progress: (m: string) => void): Promise<FormatsResult | null> {
  if (!(cfg.formatRecords > 0 && cfg.formatRounds > 0)) return null;
  progress(`formats: json, avro, protobuf, ${cfg.formatRecords} records × ${cfg.formatRounds} rounds`);
  fullGc();
  try {
    return await measureFormats(cfg.formatRecords, cfg.formatRounds);
  } catch (e) {
    errors.formats = e instanceof Error ? e.message : String(e);
    return null;
  }
}

/** Cold start in fresh processes (skipped when `coldStartRuns` is 0); a failure goes to `errors.coldStart`. */
async function coldStartPhase(cfg: FullConfig, work: string, pipelineFile: string, errors: Record<string, string>, progress: (m: string) => void): Promise<ColdStartResult | null> {
  if (cfg.coldStartRuns <= 0) return null;
  progress(`cold start: bundling the handler, ${cfg.coldStartRuns} fresh processes per side`);
  try {
    const c = await measureColdStart({ runs: cfg.coldStartRuns, workDir: join(work, 'cold'), pipelineFile });
    return { ...c, handlerImportMs: roundSummary(c.handlerImportMs), sdkImportMs: roundSummary(c.sdkImportMs), handlerInitMs: roundSummary(c.handlerInitMs), sdkInitMs: roundSummary(c.sdkInitMs), ratio: roundSummary(c.ratio) };
  } catch (e) {
    errors.coldStart = e instanceof Error ? e.message : String(e);
    return null;
  }
}

/** Peak RSS in child processes (skipped when `memoryRuns` is 0); a failure goes to `errors.memory`. */
async function memoryPhase(cfg: FullConfig, work: string, pipeline: Pipeline, pipelineFile: string, eventPath: string, errors: Record<string, string>, progress: (m: string) => void): Promise<MemoryResult | null> {
  if (cfg.memoryRuns <= 0) return null;
  progress(`peak RSS: ${cfg.memoryRuns} child processes × ${cfg.memoryRepeat} batches`);
  try {
    const child = await bundleMemoryChild(work, pipelineFile);
    const m = measureMemory(child, eventPath, pipeline.name, cfg.memoryRuns, cfg.memoryRepeat);
    return { ...m, peakRssMb: roundSummary(m.peakRssMb, 1), sustainedPeakRssMb: roundSummary(m.sustainedPeakRssMb, 1), eventParsedRssMb: roundSummary(m.eventParsedRssMb, 1) };
  } catch (e) {
    errors.memory = e instanceof Error ? e.message : String(e);
    return null;
  }
}

/**
 * The cost model from the measured figures, then (unless skipped) the cost-and-freshness table and
 * the files bench; their failures go to `errors.costTable` and `errors.files`.
 */
async function costPhase(
  options: BenchOptions,
  cfg: FullConfig,
  m: { loaderRps: number; jsonBytes: number; event: MskEvent; last: LoaderRun },
  errors: Record<string, string>,
  progress: (m: string) => void,
): Promise<{ cost: BenchResult['cost']; files: FilesResult | null }> {
  const { loaderRps, jsonBytes, event, last } = m;
  const prices: Prices = { ...DEFAULT_PRICES, ...options.prices };
  const cost = costModel(
    {
      recordsPerSecond: loaderRps,
      bytesPerRecord: jsonBytes / cfg.records,
      recordsPerBatch: cfg.records / cfg.partitions,
      filesPerBatch: last.files / cfg.partitions,
      quarantineBatchShare: cfg.quarantineBatchShare,
      memoryMb: cfg.memoryMb,
      ioMsPerBatch: cfg.ioMsPerBatch,
    },
    prices,
  );
  let table: CostTableResult | undefined;
  const measured = { recordsPerSecond: loaderRps, recordBytes: jsonBytes / cfg.records, eventBytesPerRecord: eventJsonBytes(event) / cfg.records, parquetBytesPerJsonByte: last.outputBytes / jsonBytes, from: 'this run' };
  if (options.costTable !== false) {
    progress('cost and freshness by traffic level: synthesizing the stack');
    try {
      table = computeCostTable({ ...options.costTable, measured });
    } catch (e) {
      errors.costTable = e instanceof Error ? e.message : String(e);
    }
  }
  let files: FilesResult | null = null;
  if (options.files !== false) {
    try {
      files = await runFilesBench({ ...options.files, model: { measured, assumptions: options.costTable ? options.costTable.assumptions : undefined, levels: options.costTable ? options.costTable.levels : undefined }, onProgress: progress });
    } catch (e) {
      errors.files = e instanceof Error ? e.message : String(e);
    }
  }
  return { cost: { ...cost, ...table }, files };
}

/** The machine and the run: Node, platform, CPUs, loader version, date, load average at the start and now. */
function environment(loadStart: number): BenchResult['environment'] {
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loaderVersion: LOADER_VERSION,
    date: new Date().toISOString(),
    loadAverage: { start: Math.round(loadStart * 100) / 100, end: Math.round(loadavg()[0] * 100) / 100 },
  };
}

/** Runs the whole bench. Never throws for an unmeasurable part (see `errors`); throws if the loader core is missing. */
export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const cfg = resolveConfig(options);
  const progress = options.onProgress ?? (() => {});
  const { pipeline, pipelineFile } = clickstreamPipeline();
  const errors: Record<string, string> = {};
  const work = mkdtempSync(join(tmpdir(), 'lakeloader-bench-'));
  const loadStart = loadavg()[0];

  try {
    const prepare = await loadPrepareBatch();
    const { event, jsonBytes, ndjsonPath, eventPath } = generateBatch(cfg, work, progress);
    const { paired, stageSamples } = await measureBatch(prepare, pipeline, event, ndjsonPath, work, cfg, progress);
    const batch = summarizeBatch(paired, stageSamples, cfg.records, jsonBytes);
    const { last, loaderRps, ratio } = batch;

    const sustained = cfg.batches > 0 ? await measureSustained(prepare, pipeline, cfg, progress) : null;
    const formats = await formatsPhase(cfg, errors, progress);
    const coldStart = await coldStartPhase(cfg, work, pipelineFile, errors, progress);
    const memory = await memoryPhase(cfg, work, pipeline, pipelineFile, eventPath, errors, progress);
    const { cost, files } = await costPhase(options, cfg, { loaderRps, jsonBytes, event, last }, errors, progress);

    return {
      ratioVsDuckdb: Math.round(ratio.median * 1000) / 1000,
      recordsPerSecond: Math.round(loaderRps),
      coldImportRatio: coldStart ? coldStart.ratio.median : null,
      peakRssMb: memory ? memory.peakRssMb.median : null,
      config: { ...cfg, pipeline: pipeline.name },
      batch: {
        records: cfg.records,
        partitions: cfg.partitions,
        mskEventBytes: eventJsonBytes(event),
        jsonBytes,
        rows: last.rows,
        files: last.files,
        quarantined: last.quarantined,
      },
      loader: batch.loader,
      duckdb: batch.duckdb,
      ratio: roundSummary(ratio),
      ratioCpu: roundSummary(batch.ratioCpu),
      sustained,
      coldStart,
      memory,
      formats,
      cost,
      files,
      errors,
      environment: environment(loadStart),
    };
  } finally {
    if (!options.keep) rmSync(work, { recursive: true, force: true });
    else progress(`scratch kept in ${work}`);
  }
}
