/**
 * `lakeloader bench`: measures the loader core against single-threaded DuckDB on the same batch,
 * cold start, peak RSS, and prints the cost model. `--json` prints one JSON object.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatBenchReport, formatComparison } from '../bench/report';
import { runBench, type BenchResult } from '../bench/harness';

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
    .option('--memory-mb <n>', 'Lambda memory size for the cost model, MB', num('memory-mb'), 1769)
    .option('--io-ms <n>', 'S3/Glue wall time per batch for the cost model, ms', num('io-ms'), 200)
    .option('--quarantine-share <x>', 'share of batches writing a quarantine object (0..1)', num('quarantine-share'), 1)
    .option('--price-lambda-gb-s <usd>', 'Lambda arm64 $ per GB-second', num('price-lambda-gb-s'), 0.0000133334)
    .option('--price-lambda-requests <usd>', 'Lambda $ per 1M requests', num('price-lambda-requests'), 0.2)
    .option('--price-s3-put <usd>', 'S3 PUT $ per 1,000 requests', num('price-s3-put'), 0.005)
    .option('--price-s3-get <usd>', 'S3 GET $ per 1,000 requests', num('price-s3-get'), 0.0004)
    .option('--price-glue <usd>', 'Glue Data Catalog $ per 1M requests (beyond the free tier)', num('price-glue'), 1)
    .option('--price-firehose <usd>', 'Firehose ingestion $ per GB', num('price-firehose'), 0.029)
    .option('--price-firehose-conversion <usd>', 'Firehose format conversion $ per GB', num('price-firehose-conversion'), 0.018)
    .option('--keep', 'keep the scratch directory (bundles, NDJSON, Parquet)')
    .option('--compare <file>', 'print a before → after table against an earlier --json result (e.g. lib/bench/results/baseline.json)')
    .action(async (f: BenchFlags) => {
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
        keep: f.keep,
        onProgress: (m) => process.stderr.write(`bench: ${m}\n`),
      });
      if (f.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stdout.write(`${formatBenchReport(result)}\n${before ? `\n${formatComparison(before, result)}\n` : ''}`);
    });
}
