/**
 * `lakeloader bench`: measures the loader core against single-threaded DuckDB on the same batch,
 * cold start, peak RSS, and prints the cost model and the cost-and-freshness table by traffic
 * level. `--json` prints one JSON object. `--cost-only` prints just the table, from a saved
 * result's measured figures (no measurement: a few seconds). The files step (files per
 * partition-hour and per query, before and after compaction, Iceberg beside Hive) runs in a full
 * run unless `--no-files`; `--files-only` runs just it.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatBenchReport, formatComparison } from '../bench/report';
import { runBench, type BenchResult } from '../bench/harness';
import { computeCostTable, DEFAULT_SAVED_RESULT, formatCostTable, readSavedFigures, type CostTableRequest } from '../bench/cost/index';
import { PRICES, type PriceKey } from '../bench/cost/prices';
import { formatFilesReport, runFilesBench, type FilesOptions } from '../bench/files';

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${v}"`);
  return n;
};
const int = (name: string) => (v: string) => {
  const n = num(name)(v);
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got "${v}"`);
  return n;
};

interface BenchFlags {
  json?: boolean;
  records: number;
  runs: number;
  warmup: number;
  batches: number;
  seed: number;
  partitions: number;
  coldRuns: number;
  memoryRuns: number;
  memoryRepeat: number;
  formatRecords?: number;
  formatRounds: number;
  memoryMb: number;
  ioMs: number;
  quarantineShare: number;
  priceLambdaGbS: number;
  priceLambdaRequests: number;
  priceS3Put: number;
  priceS3Get: number;
  priceGlue: number;
  priceFirehose: number;
  priceFirehoseConversion: number;
  keep?: boolean;
  compare?: string;
  costOnly?: boolean;
  from?: string;
  recordsPerSecond?: number;
  topicPartitions: number;
  lateShare: number;
  quarantineRate: number;
  tableFormat?: 'hive' | 'iceberg';
  icebergCommitSeconds: number;
  onDemandNetwork: 'interface-endpoints' | 'nat-gateway' | 'shared-endpoints';
  queriesPerDay: number;
  hoursScanned: number;
  levels?: number[];
  assumeOptimizers?: Array<'compaction' | 'retention' | 'orphan_file_deletion'>;
  protocolPuts?: number;
  price: Record<string, number>;
  context: Record<string, string>;
  files: boolean;
  filesOnly?: boolean;
  filesMinutes: number;
  filesMbPerSecond: number;
}

const oneOf =
  <T extends string>(name: string, values: readonly T[]) =>
  (v: string): T => {
    if (!(values as readonly string[]).includes(v)) throw new Error(`--${name} must be one of ${values.join(', ')}, got "${v}"`);
    return v as T;
  };
const keyValue =
  (name: string, check: (k: string, v: string) => unknown) =>
  (v: string, acc: Record<string, unknown>) => {
    const i = v.indexOf('=');
    if (i < 1) throw new Error(`--${name} takes key=value, got "${v}"`);
    const k = v.slice(0, i);
    return { ...acc, [k]: check(k, v.slice(i + 1)) };
  };
const priceFlag = keyValue('price', (k, v) => {
  if (!(k in PRICES)) throw new Error(`--price: unknown price "${k}"; known: ${Object.keys(PRICES).join(', ')}`);
  return num('price')(v);
});

/** The cost table's request from the flags (measured figures come separately). */
function tableRequest(f: BenchFlags): Omit<CostTableRequest, 'measured'> {
  const prices: Partial<Record<PriceKey, number>> = {
    lambdaArmGbSecond: f.priceLambdaGbS,
    lambdaRequest: f.priceLambdaRequests / 1e6,
    s3Put: f.priceS3Put / 1000,
    s3Get: f.priceS3Get / 1000,
    glueRequest: f.priceGlue / 1e6,
    firehoseMskIngestGb: f.priceFirehose,
    firehoseFormatConversionGb: f.priceFirehoseConversion,
    ...(f.price as Partial<Record<PriceKey, number>>),
  };
  return {
    synth: { context: f.context },
    prices,
    ...(f.levels ? { levels: f.levels } : {}),
    assumptions: {
      partitions: f.topicPartitions,
      lateShare: f.lateShare,
      quarantineRate: f.quarantineRate,
      ioMsPerInvocation: f.ioMs,
      onDemandNetwork: f.onDemandNetwork,
      queriesPerDay: f.queriesPerDay,
      hoursScanned: f.hoursScanned,
      ...(f.tableFormat ? { tableFormat: f.tableFormat } : {}),
      ...(f.assumeOptimizers ? { assumeOptimizers: f.assumeOptimizers } : {}),
      ...(f.protocolPuts !== undefined ? { protocolPutsPerPartitionBatch: f.protocolPuts } : {}),
      iceberg: { commitIntervalSeconds: f.icebergCommitSeconds },
    },
  };
}

/** The files step's options from the flags (the measured run; the model takes the cost table's assumptions). */
function filesRequest(f: BenchFlags): Omit<FilesOptions, 'model' | 'onProgress'> {
  return { mbPerSecond: f.filesMbPerSecond, seconds: f.filesMinutes * 60, kafkaPartitions: f.topicPartitions, seed: f.seed, lateShare: f.lateShare };
}

/** Registers the `bench` command on the CLI program. */
export function register(program: Command): void {
  program
    .command('bench')
    .description('measure the loader core vs single-threaded DuckDB, cold start, peak RSS, and the cost per GB (see docs/bench.md)')
    .option('--json', 'print one JSON object instead of the report')
    .option('--records <n>', 'records per batch (7,500 ≈ 6 MB MSK event)', int('records'), 7500)
    .option('--runs <n>', 'measured runs after the warm-up', int('runs'), 9)
    .option('--warmup <n>', 'warm-up runs (discarded)', int('warmup'), 3)
    .option('--batches <n>', 'batches in the sustained run (0 skips it)', int('batches'), 20)
    .option('--seed <n>', 'generator seed', int('seed'), 1)
    .option('--partitions <n>', 'Kafka partitions per batch', int('partitions'), 1)
    .option('--cold-runs <n>', 'fresh processes per side for cold start (0 skips it)', int('cold-runs'), 10)
    .option('--memory-runs <n>', 'child processes for peak RSS (0 skips it)', int('memory-runs'), 3)
    .option('--memory-repeat <n>', 'batches per memory child', int('memory-repeat'), 5)
    .option('--format-records <n>', 'records per format in the json/avro/protobuf comparison (default: --records; 0 skips it)', int('format-records'))
    .option('--format-rounds <n>', 'measured rounds of the json/avro/protobuf comparison', int('format-rounds'), 5)
    .option('--memory-mb <n>', 'Lambda memory size for the cost model, MB', num('memory-mb'), 1769)
    .option('--io-ms <n>', 'S3/Glue wall time per batch for the cost model, ms', num('io-ms'), 200)
    .option('--quarantine-share <x>', 'share of batches writing a quarantine object (0..1)', num('quarantine-share'), 1)
    .option('--price-lambda-gb-s <usd>', 'Lambda arm64 $ per GB-second', num('price-lambda-gb-s'), 0.0000133334)
    .option('--price-lambda-requests <usd>', 'Lambda $ per 1M requests', num('price-lambda-requests'), 0.2)
    .option('--price-s3-put <usd>', 'S3 PUT $ per 1,000 requests', num('price-s3-put'), 0.005)
    .option('--price-s3-get <usd>', 'S3 GET $ per 1,000 requests', num('price-s3-get'), 0.0004)
    .option('--price-glue <usd>', 'Glue Data Catalog $ per 1M requests (beyond the free tier)', num('price-glue'), 1)
    .option('--price-firehose <usd>', 'Firehose ingestion from an MSK source, $ per GB', num('price-firehose'), PRICES.firehoseMskIngestGb.usd)
    .option('--price-firehose-conversion <usd>', 'Firehose format conversion $ per GB', num('price-firehose-conversion'), 0.018)
    .option('--cost-only', `print only the cost-and-freshness table, from a saved result's measured figures (--from; default ${DEFAULT_SAVED_RESULT.replace(/.*lib\//, 'lib/')})`)
    .option('--from <file>', 'a `bench --json` result whose records/s and batch shape the cost table uses (with --cost-only)')
    .option('--records-per-second <n>', 'loader-core records/s for the cost table (with --cost-only; overrides --from)', num('records-per-second'))
    .option('--topic-partitions <n>', 'Kafka partitions per topic, for the cost table', int('topic-partitions'), 4)
    .option('--late-share <x>', 'share of records arriving late (their event time in an earlier partition), 0..1', num('late-share'), 0.02)
    .option('--quarantine-rate <x>', 'share of records quarantined, 0..1', num('quarantine-rate'), 0.001)
    .option('--table-format <format>', 'cost the table as hive or iceberg (default: what the stack declares)', oneOf('table-format', ['hive', 'iceberg'] as const))
    .option('--iceberg-commit-seconds <s>', 'seconds between Iceberg table commits (0: every invocation commits)', num('iceberg-commit-seconds'), 60)
    .option('--on-demand-network <path>', 'how on-demand pollers reach Lambda/STS: interface-endpoints, nat-gateway, shared-endpoints', oneOf('on-demand-network', ['interface-endpoints', 'nat-gateway', 'shared-endpoints'] as const), 'interface-endpoints')
    .option('--queries-per-day <n>', 'Athena queries a day over the table (each opens the files of --hours-scanned hours)', num('queries-per-day'), 24)
    .option('--hours-scanned <n>', 'hours of data one query reads', num('hours-scanned'), 24)
    .option('--levels <list>', 'traffic levels, MB/s per topic (comma-separated)', (v: string) => v.split(',').map((x) => num('levels')(x.trim())), undefined)
    .option('--assume-optimizers <list>', 'what-if: Glue table optimizers of an Iceberg table whose stack deploys none (compaction,retention,orphan_file_deletion)', (v: string) => v.split(',').map((x) => oneOf('assume-optimizers', ['compaction', 'retention', 'orphan_file_deletion'] as const)(x.trim())))
    .option('--protocol-puts <n>', 'what-if: commit-protocol PUTs per Kafka-partition batch besides data and quarantine (the loader makes 3)', num('protocol-puts'))
    .option('--price <key=usd>', 'override one price of lib/bench/cost/prices.ts (repeatable), e.g. --price epuHour=0.2', priceFlag, {})
    .option('--context <key=value>', 'CDK context for the synthesized stack (repeatable), e.g. --context kmsKeyArn=arn:aws:kms:…', keyValue('context', (_k, v) => v), {})
    .option('--no-files', 'skip the files step (files per partition-hour and per query, before and after compaction, Iceberg and Hive)')
    .option('--files-only', 'print only the files step: a simulated stretch loaded into the local endpoint, and the model at every level (measured figures as for --cost-only)')
    .option('--files-minutes <n>', 'simulated minutes of traffic the files step loads', num('files-minutes'), 60)
    .option('--files-mb-per-second <x>', 'traffic the files step loads, JSON MB/s', num('files-mb-per-second'), 0.01)
    .option('--keep', 'keep the scratch directory (bundles, NDJSON, Parquet)')
    .option('--compare <file>', 'print a before → after table against an earlier --json result (e.g. lib/bench/results/baseline.json)')
    .action(async (f: BenchFlags) => {
      if (f.costOnly || f.filesOnly) {
        const saved = readSavedFigures(f.from ?? DEFAULT_SAVED_RESULT);
        const measured = f.recordsPerSecond ? { ...saved, recordsPerSecond: f.recordsPerSecond, from: `${saved.from} (records/s ${f.recordsPerSecond} from --records-per-second)` } : saved;
        if (f.filesOnly) {
          const req = tableRequest(f);
          const files = await runFilesBench({ ...filesRequest(f), model: { measured, assumptions: req.assumptions, levels: req.levels }, onProgress: (m) => process.stderr.write(`bench: ${m}\n`) });
          if (f.json) process.stdout.write(`${JSON.stringify({ files })}\n`);
          else process.stdout.write(`${formatFilesReport(files)}\n`);
          return;
        }
        const table = computeCostTable({ ...tableRequest(f), measured });
        if (f.json) process.stdout.write(`${JSON.stringify({ cost: table })}\n`);
        else process.stdout.write(`${formatCostTable(table)}\nMeasured figures: ${Math.round(measured.recordsPerSecond).toLocaleString('en-US')} records/s, ${Math.round(measured.recordBytes)} B/record from ${measured.from}\n`);
        return;
      }
      let before: BenchResult | undefined;
      if (f.compare) {
        try {
          before = JSON.parse(readFileSync(f.compare, 'utf8')) as BenchResult;
        } catch (e) {
          throw new Error(`--compare ${f.compare}: cannot read an earlier \`bench --json\` result (${e instanceof Error ? e.message : String(e)})`);
        }
      }
      const result = await runBench({
        records: f.records,
        runs: f.runs,
        warmup: f.warmup,
        batches: f.batches,
        seed: f.seed,
        partitions: f.partitions,
        coldStartRuns: f.coldRuns,
        memoryRuns: f.memoryRuns,
        memoryRepeat: f.memoryRepeat,
        ...(f.formatRecords !== undefined ? { formatRecords: f.formatRecords } : {}),
        formatRounds: f.formatRounds,
        memoryMb: f.memoryMb,
        ioMsPerBatch: f.ioMs,
        quarantineBatchShare: f.quarantineShare,
        prices: {
          lambdaGbSecond: f.priceLambdaGbS,
          lambdaRequest: f.priceLambdaRequests / 1e6,
          s3Put: f.priceS3Put / 1000,
          s3Get: f.priceS3Get / 1000,
          glueRequest: f.priceGlue / 1e6,
          firehoseGb: f.priceFirehose,
          firehoseConversionGb: f.priceFirehoseConversion,
        },
        costTable: tableRequest(f),
        files: f.files ? filesRequest(f) : false,
        keep: f.keep,
        onProgress: (m) => process.stderr.write(`bench: ${m}\n`),
      });
      if (f.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stdout.write(`${formatBenchReport(result)}\n${before ? `\n${formatComparison(before, result)}\n` : ''}`);
    });
}
