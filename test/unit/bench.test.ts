import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findSdkImports } from '../../lib/bench/cold-start';
import { costModel, DEFAULT_PRICES } from '../../lib/bench/cost/batch';
import { DuckdbReference, duckdbType, ndjsonColumns } from '../../lib/bench/duckdb';
import { runBench, type BenchResult } from '../../lib/bench/harness';
import { formatBenchReport, formatComparison } from '../../lib/bench/report';
import { STAGES } from '../../lib/bench/stages';
import { summarizeSamples } from '../../lib/bench/stats';
import { generateClickEvents } from '../../lib/gen/clickstream';
import { parseColumnType } from '../../lambdas/core/types';
import { clickstream } from '../fixtures/pipelines/clickstream';

const scratch = mkdtempSync(join(tmpdir(), 'bench-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('summarizeSamples', () => {
  it('gives median, quartiles and range', () => {
    const s = summarizeSamples([4, 1, 3, 2]);
    expect(s).toEqual({ median: 2.5, min: 1, max: 4, p25: 1.75, p75: 3.25, n: 4 });
    expect(summarizeSamples([7]).median).toBe(7);
    expect(() => summarizeSamples([])).toThrow(RangeError);
  });
});

describe('costModel', () => {
  it('counts requests per batch and prices a GB from the inputs', () => {
    const m = costModel({ recordsPerSecond: 1000, bytesPerRecord: 1000, recordsPerBatch: 1000, filesPerBatch: 3, ioMsPerBatch: 0, memoryMb: 1024, quarantineBatchShare: 0.5 });
    expect(m.perBatch.s3Puts).toBe(3 + 2 + 1 + 0.5);
    expect(m.perBatch.s3Gets).toBe(1);
    expect(m.perBatch.billedMs).toBe(1000);
    // 1 MB per batch → 1000 batches per GB, 1 s each at 1 GB.
    expect(m.perGb.batches).toBeCloseTo(1000, 9);
    expect(m.perGb.gbSeconds).toBeCloseTo(1000, 9);
    expect(m.perGb.lambdaComputeUsd).toBeCloseTo(1000 * DEFAULT_PRICES.lambdaGbSecond, 12);
    expect(m.perGb.s3Usd).toBeCloseTo(1000 * (6.5 * DEFAULT_PRICES.s3Put + DEFAULT_PRICES.s3Get), 12);
    expect(m.perGb.totalUsd).toBeCloseTo(m.perGb.lambdaComputeUsd + m.perGb.lambdaRequestsUsd + m.perGb.s3Usd + m.perGb.glueUsd, 12);
    // Firehose from an MSK source with Parquet conversion (issue 15: was the Direct PUT price, $0.029 + $0.018).
    expect(m.perGb.firehoseUsd).toBeCloseTo(0.055 + 0.018, 12);
    // Twice the speed halves the compute cost.
    const fast = costModel({ recordsPerSecond: 2000, bytesPerRecord: 1000, recordsPerBatch: 1000, filesPerBatch: 3, ioMsPerBatch: 0, memoryMb: 1024 });
    expect(fast.perGb.lambdaComputeUsd).toBeCloseTo(m.perGb.lambdaComputeUsd / 2, 12);
    expect(() => costModel({ recordsPerSecond: 0, bytesPerRecord: 1, recordsPerBatch: 1, filesPerBatch: 1 })).toThrow(RangeError);
  });
});

describe('DuckDB reference', () => {
  it('maps column types and converts the same NDJSON with exact big user_ids', { timeout: 60_000 }, async () => {
    expect(duckdbType(parseColumnType('map<string,array<decimal(12,2)>>'))).toBe('MAP(VARCHAR, DECIMAL(12,2)[])');
    expect(duckdbType(parseColumnType('struct<a:int,b:timestamp>'))).toBe('STRUCT("a" INTEGER, "b" TIMESTAMP)');
    expect(ndjsonColumns(clickstream)).toContain(`'user_id': 'BIGINT'`);
    expect(ndjsonColumns(clickstream)).not.toContain('_offset');
    const events = generateClickEvents({ seed: 8, count: 150, bigUserIdShare: 0.3 });
    const path = join(scratch, 'x.ndjson');
    writeFileSync(path, events.map((e) => e.json).join('\n') + '\n');
    const ref = await DuckdbReference.open(clickstream, path, scratch);
    try {
      const run = await ref.convert();
      expect(run.rows).toBe(150);
      expect(run.outputBytes).toBeGreaterThan(1000);
      expect(run.ms).toBeGreaterThan(0);
    } finally {
      ref.close();
    }
  });
});

describe('findSdkImports', () => {
  it('collects value imports from @aws-sdk packages and skips type-only ones', () => {
    const f = join(scratch, 'h.ts');
    writeFileSync(
      f,
      `import { S3Client, PutObjectCommand as Put } from '@aws-sdk/client-s3';\nimport type { GlueClient } from '@aws-sdk/client-glue';\nimport { type Foo, GetObjectCommand } from "@aws-sdk/client-s3";\n`,
    );
    expect(findSdkImports([f])).toEqual({ '@aws-sdk/client-s3': ['GetObjectCommand', 'PutObjectCommand', 'S3Client'] });
  });
});

describe('runBench (tiny configuration)', () => {
  let result: BenchResult;
  it('measures every part and reports a consistent JSON object', { timeout: 180_000 }, async () => {
    result = await runBench({ records: 200, runs: 2, warmup: 0, batches: 2, coldStartRuns: 1, memoryRuns: 1, memoryRepeat: 2, seed: 3, formatRecords: 300, formatRounds: 2, files: { seconds: 120, startOffsetSeconds: 1800, kafkaPartitions: 1 } });
    const json = JSON.parse(JSON.stringify(result)) as BenchResult;
    expect(json.errors).toEqual({});
    for (const k of ['ratioVsDuckdb', 'recordsPerSecond', 'coldImportRatio', 'peakRssMb'] as const) {
      expect(typeof json[k]).toBe('number');
      expect(json[k] as number).toBeGreaterThan(0);
    }
    // The headline figures agree with the raw timings (not with themselves): the throughput ratio
    // is DuckDB's time over the loader's, within the extremes of the runs, and records/s is rows
    // over the loader's time.
    expect(json.ratioVsDuckdb).toBeGreaterThanOrEqual(json.duckdb.ms.min / json.loader.ms.max - 1e-9);
    expect(json.ratioVsDuckdb).toBeLessThanOrEqual(json.duckdb.ms.max / json.loader.ms.min + 1e-9);
    expect(json.recordsPerSecond).toBeGreaterThanOrEqual((json.batch.rows / json.loader.ms.max) * 1000 * 0.99);
    expect(json.recordsPerSecond).toBeLessThanOrEqual((json.batch.rows / json.loader.ms.min) * 1000 * 1.01);
    expect(json.batch.rows).toBe(200);
    expect(json.batch.quarantined).toBe(0);
    expect(json.batch.files).toBeGreaterThanOrEqual(1);
    expect(json.batch.mskEventBytes).toBeGreaterThan(json.batch.jsonBytes);
    expect(json.loader.outputBytes).toBeGreaterThan(0);
    expect(json.duckdb.outputBytes).toBeGreaterThan(0);
    expect(json.loader.ms.n).toBe(2);
    expect(json.loader.cpuMs.median).toBeGreaterThan(0);
    expect(json.duckdb.cpuMs.median).toBeGreaterThan(0);
    expect(json.ratioCpu.n).toBe(2);
    expect(json.ratioCpu.median).toBeGreaterThan(0);
    // The fixture clickstream takes the fast path: decode, scan and encode took time, the general path's stages none;
    // together they are not more than the whole run's CPU.
    expect(STAGES.filter((st) => json.loader.stagesMs[st].median > 0)).toEqual(['decode', 'scan', 'encode']);
    expect(STAGES.reduce((s, st) => s + json.loader.stagesMs[st].min, 0)).toBeLessThanOrEqual(json.loader.cpuMs.max * 1.5);
    expect(json.sustained!.records).toBe(400);
    expect(json.sustained!.recordsPerSecond).toBeGreaterThan(0);
    expect(json.coldStart!.sdkImports['@aws-sdk/client-s3']).toContain('S3Client');
    expect(json.coldStart!.packageZipBytes).toBeGreaterThan(0);
    expect(json.coldStart!.packageZipBytes).toBeLessThan(json.coldStart!.packageUnzippedBytes);
    // A Node process holding the bundle and one small batch: tens of MB, not nothing and not gigabytes.
    expect(json.memory!.peakRssMb.median).toBeGreaterThan(30);
    expect(json.memory!.peakRssMb.median).toBeLessThan(1024);
    // Avro and Protobuf beside JSON on the same rows, each format's ratio its median over JSON's.
    expect(json.formats).toMatchObject({ records: 300, rounds: 2 });
    for (const f of ['json', 'avro', 'protobuf'] as const) {
      expect(json.formats!.recordsPerSecond[f].n).toBe(2);
      expect(json.formats!.recordsPerSecond[f].median).toBeGreaterThan(0);
    }
    expect(json.formats!.vsJson.avro).toBeCloseTo(json.formats!.recordsPerSecond.avro.median / json.formats!.recordsPerSecond.json.median, 1);
    expect(json.cost.perBatch.s3DataPuts).toBe(json.batch.files);
    expect(json.cost.perGb.totalUsd).toBeGreaterThan(0);
    // The cost-and-freshness table by traffic level, from this run's records/s and the synthesized stack.
    expect(json.cost.levels!.map((l) => l.mbPerSecond)).toEqual([0.01, 0.1, 1, 10]);
    for (const l of json.cost.levels!) {
      for (const k of ['usdPerGb', 'usdPerMonth', 'firehoseUsdPerGb', 'freshnessP50Seconds', 'freshnessP99Seconds'] as const) expect(l[k]).toBeGreaterThan(0);
      expect(l.freshnessP99Seconds).toBeGreaterThanOrEqual(l.freshnessP50Seconds);
    }
    expect(json.cost.measured!.recordsPerSecond).toBeCloseTo(result.cost.measured!.recordsPerSecond, 6);
    expect(json.cost.measured!.recordsPerSecond).toBeGreaterThan(0);
    // The files step (bench-files.test.ts tests it closely): measured at the stack's windows, modeled at every level.
    expect(json.files!.measured.iceberg.settings.windowSeconds).toBe(30);
    expect(json.files!.measured.hive.settings.windowSeconds).toBe(90);
    expect(json.files!.measured.iceberg.answerUnchanged).toBe(true);
    expect(json.files!.levels!.map((l) => l.mbPerSecond)).toEqual([0.01, 0.1, 1, 10]);
    for (const l of json.files!.levels!) {
      expect(l.hive.filesOpenedCompacted).toBe(l.hive.filesOpened);
      expect(l.iceberg.filesOpenedCompacted).toBeLessThan(l.iceberg.filesOpened);
    }
    expect(json.files!.check.tableModel!.iceberg).toBeGreaterThan(0);
    const text = formatBenchReport(result);
    expect(text).toContain('Files per partition-hour');
    expect(text).toContain('loader / DuckDB throughput');
    expect(text).toContain(json.ratioVsDuckdb.toFixed(3));
    expect(text).toContain('Cost and freshness by traffic');
    expect(text).toMatch(/avro {6}records\/s .*× JSON/);
    // A baseline at half the throughput and twice the peak RSS: this run reads as better on both.
    const before: BenchResult = { ...json, recordsPerSecond: json.recordsPerSecond / 2, peakRssMb: json.peakRssMb! * 2 };
    const cmp = formatComparison(before, json);
    expect(cmp).toMatch(/loader records\/s .*\+100\.0% better/);
    expect(cmp).toMatch(/peak RSS MB .*-50\.0% better/);
    expect(formatComparison(json, before)).toMatch(/loader records\/s .*-50\.0% worse/);
  });
});
