/**
 * Files per partition-hour and files opened per full-table query, before and after compaction,
 * Iceberg beside Hive, at the stack's default settings (issue 12, item 9). Two parts:
 *
 * - **Measured**: one simulated stretch (default an hour) of a topic at a low traffic level is
 *   loaded through the real loader handler (lib/cli/invoke.ts `createLocalLoader`, in-process)
 *   against the local AWS endpoint, into an Iceberg and a Hive table of the same pipeline. Records
 *   come from lib/gen (seeded, 2 % late by up to 3 hours) and are batched by the ESM's rules with
 *   each format's batching window, batch size and payload limit, read from the synthesized default
 *   stack; the handler runs on a simulated clock, so the Iceberg commit interval and the scheduled
 *   committer act as they would over that hour. Then, per table: the data files per table
 *   partition (Iceberg: the live files of the current snapshot, from its manifests; Hive: the
 *   objects under the registered partitions), and the files DuckDB reads for `SELECT count(*)`
 *   over the relation the local Athena builds for the table (DuckDB's own "Total Files Read"
 *   profile counter); then the Iceberg table is compacted (lib/iceberg/compact.ts, what the local
 *   `OPTIMIZE … REWRITE DATA USING BIN_PACK` runs) and measured again, and the local Athena's
 *   answer to a checksum query must not change. A Hive table has no compaction.
 * - **Modeled**: at each traffic level of the cost table, the cost model's own figures
 *   (lib/bench/cost/model.ts `queryFiles`, fed by `simulateMapping`) for the synthesized Iceberg
 *   and Hive stacks: files per partition-hour as written, and files a query over the last 24 hours
 *   opens before and after the Glue compaction optimizer. The model at the measured run's exact
 *   settings is printed beside the measurement, as a check of the model.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { GlueCatalog } from '../../lambdas/core/catalog';
import { partitionKeysFor, PIPELINE_BRAND, type Pipeline } from '../../lambdas/core/pipeline';
import { S3ObjectStore } from '../../lambdas/core/store';
import { createLocalLoader } from '../cli/invoke';
import { resolveContext, type CliContext } from '../cli/context';
import { provision } from '../cli/provision';
import { generateClickEvents, DEFAULT_START_MS } from '../gen/clickstream';
import { generateClickstreamRecords } from '../gen/records';
import { compactTable } from '../iceberg/compact';
import { LocalGlueCatalog } from '../local/glue';
import { icebergRelation, IcebergReader, snapshotAsOf } from '../local/iceberg';
import { buildTableRelation, resolveTableFiles } from '../local/sql';
import { LocalObjectStore } from '../local/store';
import { buildMskEvent, toMskRecord, type ProducedRecord } from '../local/msk-event';
import { startLocalEndpoint } from '../local/server';
import { queryLake } from '../ops/deps';
import { declaredPipelines } from '../pipelines';
import type { MeasuredFigures } from './cost/index';
import { resolveAssumptions, readStackSettings, synthesizeStack, type CostAssumptions, type StackSettings } from './cost/index';
import { lakeloaderCost, simProcessing, type QueryFiles } from './cost/model';
import { priceTable } from './cost/prices';
import { LEVELS } from './cost/levels';
import { simulateMapping } from './cost/simulate';

export type TableFormat = 'iceberg' | 'hive';
const FORMATS: readonly TableFormat[] = ['iceberg', 'hive'];

/** The settings of one format's loader that decide its files (read from the synthesized stack). */
export interface FormatSettings {
  /** The mapping's MaximumBatchingWindowInSeconds. */
  windowSeconds: number;
  batchSize: number;
  /** Iceberg: the loader publishes when the last snapshot is at least this old. */
  commitIntervalSeconds: number;
  /** Iceberg: the scheduled committer's period, if the stack has one. */
  scheduledCommitSeconds: number | null;
  /** Iceberg: the stack enables the Glue compaction optimizer. */
  compactionOptimizer: boolean;
}

export interface FilesOptions {
  /** JSON MB/s on the topic. @default 0.01 */
  mbPerSecond?: number;
  /** Simulated seconds of traffic. @default 3600 */
  seconds?: number;
  /**
   * Where in its hour the stretch starts, seconds. A whole hour (the default) sees late records at
   * every point of the hour; a shorter stretch centred on the half hour sees about the hour's mean
   * share of late records falling in the current partition. @default 0
   */
  startOffsetSeconds?: number;
  /** Kafka partitions of the topic. @default 4 */
  kafkaPartitions?: number;
  /** Generator seed. @default 1 */
  seed?: number;
  /** Share of late records (event time 5 min..3 h before arrival: lib/gen). @default 0.02 */
  lateShare?: number;
  /** The pipeline whose Iceberg and Hive variants are loaded. @default the declared clickstream */
  pipeline?: Pipeline;
  /** Each format's settings. @default read from the default stack synthesized for each variant */
  settings?: Record<TableFormat, FormatSettings>;
  /** The modeled part: measured loader figures and the cost model's overrides; false skips it. @default skipped */
  model?: { measured: MeasuredFigures; assumptions?: Parameters<typeof resolveAssumptions>[1]; levels?: readonly number[] } | false;
  onProgress?: (message: string) => void;
}

/** The data files of a table, as a full-table query finds them. */
export interface TableFiles {
  /** Data files per table partition (label: the partition's hour, `YYYY-MM-DDTHH`). */
  perPartition: Record<string, number>;
  dataFiles: number;
  /** Iceberg: manifests of the current snapshot (a query reads them to plan). */
  manifests: number | null;
  /** Files DuckDB read for `SELECT count(*)` over the local Athena's relation of the table (its profile's "Total Files Read"). */
  filesRead: number;
  rows: number;
  /** The local Athena's answer to the checksum query (count, distinct ids, revenue, first and last event time). */
  answer: string[];
}

export interface FormatMeasured {
  format: TableFormat;
  table: string;
  settings: FormatSettings;
  invocations: number;
  /** (invocation, Kafka partition) pairs: one commit-protocol run each. */
  partitionBatches: number;
  /** Data files the loader wrote (the handlers' summaries). */
  filesWritten: number;
  /** Iceberg snapshots the loader and the scheduled committer published. */
  commits: number;
  filesPerPartitionBatch: number;
  /**
   * Files written per hour of loading: in steady state, the files one partition-hour collects (its
   * own hour's files plus the late ones of the next three hours) — the model's figure.
   */
  filesPerPartitionHour: number;
  before: TableFiles;
  /** After compaction; null for Hive (no compaction exists for a Hive table). */
  after: TableFiles | null;
  /** after.filesRead ÷ before.filesRead (1 for Hive). */
  filesReadRatio: number;
  /** The checksum query's answer is the same after compaction (null: nothing compacted). */
  answerUnchanged: boolean | null;
}

export interface FilesMeasured {
  mbPerSecond: number;
  seconds: number;
  startOffsetSeconds: number;
  kafkaPartitions: number;
  seed: number;
  lateShare: number;
  records: number;
  /** Mean JSON bytes of a record, and bytes of invoke payload per record. */
  recordBytes: number;
  eventBytesPerRecord: number;
  iceberg: FormatMeasured;
  hive: FormatMeasured;
  /** The two tables answer the checksum query alike (before compaction). */
  answersAgree: boolean;
  /** Rows in each table = records generated. */
  rowsComplete: boolean;
}

/** One traffic level of the modeled part, per format. */
export interface FilesModelLevel {
  mbPerSecond: number;
  iceberg: QueryFiles & { windowSeconds: number; pollers: number };
  hive: QueryFiles & { windowSeconds: number; pollers: number };
}

export interface FilesResult {
  measured: FilesMeasured;
  /** The cost model at the measured run's settings (simulate.ts), beside the measurement. */
  check: Record<TableFormat, { measured: number; model: number; ratio: number }> & { tableModel: Record<TableFormat, number> | null };
  /** Hours one modeled query reads. */
  hoursScanned: number | null;
  levels: FilesModelLevel[] | null;
}

/**
 * The pipeline with another format and name: the same columns, event-time partitioning and
 * compression; the Glue partition keys of the format (pipeline.ts partitionKeysFor). Pipelines partitioned by columns
 * are refused (their Hive files hold fewer columns than their Iceberg files).
 */
export function pipelineVariant(p: Pipeline, format: TableFormat, name = `${p.name}_${format}`): Pipeline {
  const part = p.partitioning;
  if (part.by === 'columns') throw new RangeError(`pipeline ${p.name} is partitioned by columns; the files bench loads a pipeline partitioned by event time (or not at all)`);
  const v: Pipeline = { ...p, name, format, partitionKeys: partitionKeysFor(part, format) };
  return Object.defineProperty(v, PIPELINE_BRAND, { value: true, enumerable: false });
}

/** A format's loader settings from a synthesized stack (its first mapping). */
export function formatSettingsOf(stack: StackSettings, pipeline: Pipeline): FormatSettings {
  const m = stack.mappings[0];
  if (!m) throw new RangeError('the synthesized stack has no event source mapping');
  return {
    windowSeconds: m.maxBatchingWindowSeconds,
    batchSize: m.batchSize,
    commitIntervalSeconds: m.function.commitIntervalSeconds ?? pipeline.iceberg.commitIntervalSeconds,
    scheduledCommitSeconds: m.function.scheduledCommitSeconds ?? null,
    compactionOptimizer: stack.tableOptimizers.some((o) => o.type === 'compaction'),
  };
}

/** The default stack synthesized for the Iceberg and the Hive variant of a pipeline. */
export function synthesizeVariants(pipeline: Pipeline): Record<TableFormat, StackSettings> {
  return {
    iceberg: readStackSettings(synthesizeStack({ pipelines: [pipelineVariant(pipeline, 'iceberg', pipeline.name)] })),
    hive: readStackSettings(synthesizeStack({ pipelines: [pipelineVariant(pipeline, 'hive', pipeline.name)] })),
  };
}

const PAYLOAD_LIMIT = 6_000_000;

interface Batch {
  records: ProducedRecord[];
  /** When the ESM invokes with it (epoch ms). */
  at: number;
}

/** Batches records by the ESM's rules for one poller: window since the first record, BatchSize, the 6 MB payload. */
export function esmBatches(records: ProducedRecord[], s: Pick<FormatSettings, 'windowSeconds' | 'batchSize'>, payloadBytes: (r: ProducedRecord) => number): Batch[] {
  const out: Batch[] = [];
  let cur: ProducedRecord[] = [];
  let first = 0;
  let bytes = 0;
  const close = (at: number) => {
    out.push({ records: cur, at });
    cur = [];
    bytes = 0;
  };
  const W = s.windowSeconds * 1000;
  for (const r of records) {
    if (cur.length && r.timestamp >= first + W) close(first + W);
    const b = payloadBytes(r);
    if (cur.length && (cur.length + 1 > s.batchSize || bytes + b > PAYLOAD_LIMIT)) close(r.timestamp);
    if (!cur.length) first = r.timestamp;
    cur.push(r);
    bytes += b;
    if (cur.length >= s.batchSize) close(r.timestamp);
  }
  if (cur.length) close(first + W);
  return out;
}

const hourLabel = (ms: number) => new Date(ms).toISOString().slice(0, 13);

/** The data files per partition, the files a count(*) reads and the checksum answer of one table. */
async function inspectTable(ctx: CliContext, dataDir: string, pipeline: Pipeline): Promise<TableFiles> {
  const store = new LocalObjectStore(dataDir);
  const glue = await LocalGlueCatalog.open(dataDir);
  const table = glue.tablesOf(ctx.database)?.find((t) => t.Name === pipeline.name);
  if (!table) throw new RangeError(`table ${ctx.database}.${pipeline.name} is not in the local catalog`);
  const perPartition: Record<string, number> = {};
  const count = (label: string) => (perPartition[label] = (perPartition[label] ?? 0) + 1);
  const partitions = glue.partitionsOf(ctx.database, pipeline.name);
  let manifests: number | null = null;
  const span = pipeline.partitioning.by === 'eventTime' && pipeline.partitioning.granularity === 'day' ? 86_400_000 : 3_600_000;
  if (pipeline.format === 'iceberg') {
    const reader = new IcebergReader(store, table);
    const snapshot = snapshotAsOf(await reader.metadata(), table.Name);
    const list = await reader.manifests(snapshot);
    manifests = list.length;
    for (const f of await reader.entries(list)) {
      if (f.status === 2) continue;
      const values = Object.values(f.data_file.partition);
      count(values.length === 1 && typeof values[0] === 'number' ? hourLabel(values[0] * span) : JSON.stringify(values));
    }
  } else {
    for (const f of await resolveTableFiles(store, table, partitions)) {
      if (f.size === 0) continue;
      const [dt, hour] = f.values;
      count(dt && hour !== undefined ? `${dt}T${String(hour).padStart(2, '0')}` : f.values.join('/'));
    }
  }
  // What DuckDB reads for a full-table count, over the very relation the local Athena builds.
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  const profile = join(dataDir, `profile-${pipeline.name}.json`);
  let filesRead = 0;
  let rows = 0;
  try {
    const describe = async (q: string) => (await (await con.run(`DESCRIBE ${q}`)).getRows()).map((r) => String(r[0]).toLowerCase());
    const rel = pipeline.format === 'iceberg' ? await icebergRelation(store, table, describe) : await buildTableRelation(store, table, partitions, describe);
    await con.run(`PRAGMA enable_profiling = 'json'`);
    await con.run(`PRAGMA profiling_output = '${profile.replace(/'/g, "''")}'`);
    rows = Number((await (await con.run(`SELECT count(*) FROM (${rel.sql}) q`)).getRows())[0]![0]);
    await con.run(`PRAGMA disable_profiling`);
    const walk = (n: { extra_info?: Record<string, string>; children?: unknown[] }): number =>
      Number(n.extra_info?.['Total Files Read'] ?? 0) + (n.children ?? []).reduce<number>((s, c) => s + walk(c as typeof n), 0);
    filesRead = walk(JSON.parse(await readFile(profile, 'utf8')) as Parameters<typeof walk>[0]);
  } finally {
    con.closeSync();
    instance.closeSync();
  }
  const answer = (await queryLake(ctx, `SELECT count(*), count(DISTINCT event_id), round(sum(amount), 2), min(ts), max(ts) FROM ${pipeline.name}`)).rows[0]!.map(String);
  return { perPartition, dataFiles: Object.values(perPartition).reduce((s, n) => s + n, 0), manifests, filesRead, rows, answer };
}

/** Loads the batches into one table through the real handler on a simulated clock. */
async function loadTable(ctx: CliContext, pipeline: Pipeline, s: FormatSettings, batches: Batch[], start: number) {
  let clock = start;
  const handler = createLocalLoader(ctx, pipeline, { commitIntervalSeconds: s.commitIntervalSeconds, now: () => clock });
  const sched = pipeline.format === 'iceberg' && s.scheduledCommitSeconds ? s.scheduledCommitSeconds * 1000 : 0;
  let nextTick = sched ? start + sched : Infinity;
  const totals = { invocations: 0, partitionBatches: 0, filesWritten: 0, commits: 0, rows: 0 };
  const scheduled = async (until: number) => {
    while (nextTick <= until) {
      clock = nextTick;
      if ((await handler.commit())?.snapshotId != null) totals.commits++;
      nextTick += sched;
    }
  };
  for (const b of batches) {
    await scheduled(b.at);
    clock = b.at + 1000; // the invocation: about a second after the batch closes
    const event = buildMskEvent(b.records);
    const summary = await handler(event);
    totals.invocations++;
    totals.partitionBatches += Object.keys(event.records).length;
    totals.filesWritten += summary.files;
    totals.rows += summary.rows;
    if (summary.published?.snapshotId != null) totals.commits++;
    if (summary.published?.error) throw new Error(`Iceberg commit failed: ${summary.published.error}`);
  }
  // The next scheduled run (or a last commit) publishes what is still staged.
  if (pipeline.format === 'iceberg') {
    clock = Math.max(clock + 1000, Number.isFinite(nextTick) ? nextTick : 0);
    if ((await handler.commit())?.snapshotId != null) totals.commits++;
  }
  return { ...totals, clock };
}

/** The measured part (see the module comment). */
export async function measureFiles(options: FilesOptions & { settings: Record<TableFormat, FormatSettings> }): Promise<FilesMeasured> {
  const progress = options.onProgress ?? (() => {});
  const mbPerSecond = options.mbPerSecond ?? 0.01;
  const seconds = options.seconds ?? 3600;
  const kafkaPartitions = options.kafkaPartitions ?? 4;
  const seed = options.seed ?? 1;
  const lateShare = options.lateShare ?? 0.02;
  if (!(mbPerSecond > 0) || !(seconds > 0) || !Number.isInteger(kafkaPartitions) || kafkaPartitions < 1) throw new RangeError('files: mbPerSecond and seconds must be > 0, kafkaPartitions a positive integer');
  const base = options.pipeline ?? declaredPipelines().find((d) => d.pipeline.name === 'clickstream')?.pipeline;
  if (!base) throw new RangeError('the files bench loads the clickstream pipeline; declare it in pipelines/ (or LAKELOADER_PIPELINES_DIR)');
  const variants: Record<TableFormat, Pipeline> = { iceberg: pipelineVariant(base, 'iceberg'), hive: pipelineVariant(base, 'hive') };
  const topic = base.topics[0]!;

  // The traffic: the generator's mean record size decides the event rate for the MB/s asked.
  const sample = generateClickEvents({ seed, count: 2000, lateShare });
  const meanBytes = sample.reduce((s, e) => s + Buffer.byteLength(e.json), 0) / sample.length;
  const rate = (mbPerSecond * 1e6) / meanBytes;
  const startOffsetSeconds = options.startOffsetSeconds ?? 0;
  const start = DEFAULT_START_MS + startOffsetSeconds * 1000; // the generator starts on the hour
  const end = start + seconds * 1000;
  const gen = generateClickstreamRecords({ seed, count: Math.ceil(rate * seconds * 1.05) + 100, partitions: kafkaPartitions, topic, eventsPerSecond: rate, lateShare, start: new Date(start) });
  const records = gen.records.filter((r) => r.timestamp < end);
  const payload = new Map<ProducedRecord, number>();
  const payloadBytes = (r: ProducedRecord) => {
    let b = payload.get(r);
    if (b === undefined) payload.set(r, (b = Buffer.byteLength(JSON.stringify(toMskRecord(r))) + 1));
    return b;
  };
  const jsonBytes = gen.valid.filter((v) => v.record.timestamp < end).reduce((s, v) => s + Buffer.byteLength(v.json), 0);

  const dataDir = await mkdtemp(join(tmpdir(), 'lakeloader-bench-files-'));
  const endpoint = await startLocalEndpoint({ port: 0, dataDir });
  try {
    const ctx = resolveContext({ endpoint: endpoint.url }, {});
    await provision(ctx, [variants.iceberg, variants.hive]);
    const out = {} as Record<TableFormat, FormatMeasured>;
    for (const format of FORMATS) {
      const p = variants[format];
      const s = options.settings[format];
      const batches = esmBatches(records, s, payloadBytes);
      progress(`files: loading ${records.length.toLocaleString('en-US')} records (${seconds} s at ${mbPerSecond} MB/s) into the ${format} table: ${batches.length} invocations of a ${s.windowSeconds} s window`);
      const loaded = await loadTable(ctx, p, s, batches, start);
      progress(`files: measuring the ${format} table`);
      const before = await inspectTable(ctx, dataDir, p);
      let after: TableFiles | null = null;
      if (format === 'iceberg') {
        progress('files: compacting the Iceberg table (bin-pack, as OPTIMIZE … REWRITE DATA USING BIN_PACK)');
        await compactTable({ store: new S3ObjectStore(ctx.s3(), ctx.bucket), catalog: new GlueCatalog(ctx.glue()), bucket: ctx.bucket, database: ctx.database, pipeline: p, now: () => loaded.clock + 60_000 });
        after = await inspectTable(ctx, dataDir, p);
      }
      out[format] = {
        format,
        table: p.name,
        settings: s,
        invocations: loaded.invocations,
        partitionBatches: loaded.partitionBatches,
        filesWritten: loaded.filesWritten,
        commits: loaded.commits,
        filesPerPartitionBatch: loaded.filesWritten / Math.max(1, loaded.partitionBatches),
        filesPerPartitionHour: loaded.filesWritten / (seconds / 3600),
        before,
        after,
        filesReadRatio: after ? after.filesRead / Math.max(1, before.filesRead) : 1,
        answerUnchanged: after ? JSON.stringify(after.answer) === JSON.stringify(before.answer) && after.rows === before.rows : null,
      };
    }
    return {
      mbPerSecond,
      seconds,
      startOffsetSeconds,
      kafkaPartitions,
      seed,
      lateShare,
      records: records.length,
      recordBytes: jsonBytes / Math.max(1, records.length),
      eventBytesPerRecord: records.reduce((s, r) => s + payloadBytes(r), 0) / Math.max(1, records.length),
      iceberg: out.iceberg,
      hive: out.hive,
      answersAgree: JSON.stringify(out.iceberg.before.answer) === JSON.stringify(out.hive.before.answer),
      rowsComplete: out.iceberg.before.rows === records.length && out.hive.before.rows === records.length,
    };
  } finally {
    await endpoint.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * The cost model's files per partition-hour at a measured run's exact settings (simulate.ts: the
 * same traffic, window, batch size and one poller, 2 % late records up to 3 hours), for comparison.
 */
export function modelAtRun(m: FilesMeasured, format: TableFormat, a: CostAssumptions, partitionSeconds = 3600): number {
  const r = m[format];
  const sim = simulateMapping(
    { mbPerSecond: m.mbPerSecond, recordBytes: m.recordBytes, eventBytesPerRecord: m.eventBytesPerRecord, partitions: m.kafkaPartitions, lateShare: m.lateShare, lateMaxSeconds: a.lateMaxSeconds, partitionSeconds },
    { batchSize: r.settings.batchSize, windowSeconds: r.settings.windowSeconds, pollers: 1 },
    simProcessing(a, format, r.settings.commitIntervalSeconds, r.settings.scheduledCommitSeconds, format === 'hive'),
    { seed: a.sim.seed, maxRecords: a.sim.maxRecords },
  );
  const recordsPerHour = ((m.mbPerSecond * 1e6) / m.recordBytes) * 3600;
  return (sim.files / sim.records) * recordsPerHour * (partitionSeconds / 3600);
}

/** The modeled part: the cost model's query files at each level, for the synthesized Iceberg and Hive stacks. */
export function modelFiles(stacks: Record<TableFormat, StackSettings>, a: CostAssumptions, levels: readonly number[] = LEVELS): FilesModelLevel[] {
  const prices = priceTable();
  const { tableFormat: _ignored, ...assumptions } = a; // each stack's own format
  return levels.map((mbps) => {
    const row = {} as Record<TableFormat, FilesModelLevel['iceberg']>;
    for (const format of FORMATS) {
      const month = lakeloaderCost(stacks[format], mbps, assumptions, prices).mappings[0]!;
      row[format] = { ...month.query, windowSeconds: stacks[format].mappings[0]!.maxBatchingWindowSeconds, pollers: month.pollers };
    }
    return { mbPerSecond: mbps, ...row };
  });
}

/** Both parts, with the stack's default settings synthesized once for each format. */
export async function runFilesBench(options: FilesOptions = {}): Promise<FilesResult> {
  const progress = options.onProgress ?? (() => {});
  const base = options.pipeline ?? declaredPipelines().find((d) => d.pipeline.name === 'clickstream')?.pipeline;
  if (!base) throw new RangeError('the files bench loads the clickstream pipeline; declare it in pipelines/ (or LAKELOADER_PIPELINES_DIR)');
  let stacks: Record<TableFormat, StackSettings> | undefined;
  let settings = options.settings;
  if (!settings || options.model) {
    progress('files: synthesizing the default stack for an Iceberg and a Hive table');
    stacks = synthesizeVariants(base);
    settings ??= { iceberg: formatSettingsOf(stacks.iceberg, base), hive: formatSettingsOf(stacks.hive, base) };
  }
  const measured = await measureFiles({ ...options, pipeline: base, settings });
  let levels: FilesModelLevel[] | null = null;
  let check: FilesResult['check'] = {
    iceberg: { measured: measured.iceberg.filesPerPartitionHour, model: NaN, ratio: NaN },
    hive: { measured: measured.hive.filesPerPartitionHour, model: NaN, ratio: NaN },
    tableModel: null,
  };
  let hoursScanned: number | null = null;
  if (options.model && stacks) {
    const a = resolveAssumptions(options.model.measured, options.model.assumptions);
    hoursScanned = a.hoursScanned;
    const wanted = options.model.levels ?? LEVELS;
    const all = modelFiles(stacks, a, wanted.includes(measured.mbPerSecond) ? wanted : [...wanted, measured.mbPerSecond]);
    const atRun = all.find((l) => l.mbPerSecond === measured.mbPerSecond)!;
    levels = all.filter((l) => wanted.includes(l.mbPerSecond));
    check = compareWithModel(measured, a);
    check.tableModel = { iceberg: atRun.iceberg.filesPerPartition, hive: atRun.hive.filesPerPartition };
  }
  return { measured, check, hoursScanned, levels };
}

/** Measured files per partition-hour beside the model at the run's settings. */
export function compareWithModel(m: FilesMeasured, a: CostAssumptions): FilesResult['check'] {
  const one = (format: TableFormat) => {
    const model = modelAtRun(m, format, a);
    return { measured: m[format].filesPerPartitionHour, model, ratio: m[format].filesPerPartitionHour / model };
  };
  return { iceberg: one('iceberg'), hive: one('hive'), tableModel: null };
}

const n = (x: number, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');

/** The text report of the files step. */
export function formatFilesReport(r: FilesResult): string {
  const m = r.measured;
  const L: string[] = [];
  L.push(`Files per partition-hour and files a full-table query opens, before and after compaction (issue 12)`);
  L.push(
    `Measured: ${n(m.seconds / 60)} min at ${m.mbPerSecond} MB/s (${n(m.records)} records of ${n(m.recordBytes)} B, ${(m.lateShare * 100).toFixed(0)} % late by up to 3 h) over ${m.kafkaPartitions} Kafka partitions, one poller, loaded by the real handler into the local endpoint at the stack's defaults`,
  );
  L.push(`  ${'table'.padEnd(8)} ${'window'.padStart(6)} ${'invocations'.padStart(11)} ${'files/partition-batch'.padStart(21)} ${'files/partition-hour'.padStart(20)} ${'query opens: before'.padStart(19)} ${'after'.padStart(6)} ${'after/before'.padStart(12)}  answer unchanged`);
  for (const format of FORMATS) {
    const f = m[format];
    L.push(
      `  ${format.padEnd(8)} ${`${f.settings.windowSeconds} s`.padStart(6)} ${n(f.invocations).padStart(11)} ${n(f.filesPerPartitionBatch, 2).padStart(21)} ${n(f.filesPerPartitionHour).padStart(20)} ${n(f.before.filesRead).padStart(19)} ${(f.after ? n(f.after.filesRead) : '—').padStart(6)} ${(f.after ? f.filesReadRatio.toFixed(4) : 'no compaction').padStart(12)}  ${f.answerUnchanged === null ? '— (Hive: nothing compacts it)' : f.answerUnchanged ? 'yes' : 'NO'}`,
    );
  }
  const parts = (t: TableFiles | null) => (t ? Object.entries(t.perPartition).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}h ${v}`).join(', ') : '');
  L.push(`  per partition, Iceberg before: ${parts(m.iceberg.before)}; after: ${parts(m.iceberg.after)}; manifests ${m.iceberg.before.manifests} → ${m.iceberg.after?.manifests ?? '—'}; ${m.iceberg.commits} snapshots published`);
  L.push(`  per partition, Hive: ${parts(m.hive.before)}`);
  L.push(`  rows: ${n(m.iceberg.before.rows)} Iceberg, ${n(m.hive.before.rows)} Hive (${m.rowsComplete ? 'every record' : 'NOT every record'}); Iceberg and Hive answer alike: ${m.answersAgree ? 'yes' : 'NO'}`);
  const c = r.check;
  if (Number.isFinite(c.iceberg.model)) {
    L.push(
      `  model at the run's settings (simulate.ts): files/partition-hour Iceberg ${n(c.iceberg.model)} (measured ÷ model ${c.iceberg.ratio.toFixed(2)}), Hive ${n(c.hive.model)} (${c.hive.ratio.toFixed(2)})${c.tableModel ? `; the table's row at ${m.mbPerSecond} MB/s: Iceberg ${n(c.tableModel.iceberg)}, Hive ${n(c.tableModel.hive)}` : ''}`,
    );
  }
  if (r.levels) {
    L.push('');
    L.push(`Modeled (the cost model's queryFiles at the default stacks; a query over the last ${r.hoursScanned} hours; Glue compaction: 512 MB files where a partition has ≥ 100)`);
    L.push(`  ${'MB/s'.padStart(6)}  ${'Iceberg files/partition-hour'.padStart(28)} ${'query opens before → after'.padStart(28)}   ${'Hive files/partition-hour'.padStart(25)} ${'query opens (no compaction)'.padStart(27)}`);
    for (const l of r.levels) {
      L.push(
        `  ${String(l.mbPerSecond).padStart(6)}  ${`${n(l.iceberg.filesPerPartition)} → ${n(l.iceberg.filesPerPartitionCompacted)}`.padStart(28)} ${`${n(l.iceberg.filesOpened)} → ${n(l.iceberg.filesOpenedCompacted)}`.padStart(28)}   ${n(l.hive.filesPerPartition).padStart(25)} ${n(l.hive.filesOpened).padStart(27)}`,
      );
    }
  }
  return L.join('\n');
}
