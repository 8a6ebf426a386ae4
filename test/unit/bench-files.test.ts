/**
 * The files step of the bench (lib/bench/files.ts), on a small scale: ten minutes of a topic at
 * 0.01 MB/s over two Kafka partitions, loaded by the real handler into an Iceberg and a Hive table
 * on the local endpoint, at the stack's default windows (from the construct's own rule).
 */
import { Duration } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSavedFigures, resolveAssumptions } from '../../lib/bench/cost/index';
import { compareWithModel, esmBatches, formatFilesReport, measureFiles, pipelineVariant, type FilesMeasured, type FormatSettings } from '../../lib/bench/files';
import { batchingWindowFor, commitWaitFor, DEFAULT_FRESHNESS_TARGET } from '../../lib/infra/lake-loader';
import type { ProducedRecord } from '../../lib/local/msk-event';
import { clickstream } from '../fixtures/pipelines/clickstream';

const settingsFor = (format: 'iceberg' | 'hive'): FormatSettings => ({
  windowSeconds: batchingWindowFor(DEFAULT_FRESHNESS_TARGET, commitWaitFor(pipelineVariant(clickstream, format))).toSeconds(),
  batchSize: 10_000,
  commitIntervalSeconds: clickstream.iceberg.commitIntervalSeconds,
  scheduledCommitSeconds: format === 'iceberg' ? Duration.minutes(1).toSeconds() : null,
  compactionOptimizer: format === 'iceberg',
});

describe('esmBatches', () => {
  const rec = (timestamp: number): ProducedRecord => ({ topic: 't', partition: 0, offset: timestamp, timestamp, value: 'x' });
  it('closes a batch when its window since the first record ends, at BatchSize, or at the payload limit', () => {
    const s = { windowSeconds: 30, batchSize: 3 };
    const b = esmBatches([0, 10_000, 29_999, 30_000, 31_000, 95_000].map(rec), s, () => 100);
    expect(b.map((x) => x.records.map((r) => r.timestamp))).toEqual([[0, 10_000, 29_999], [30_000, 31_000], [95_000]]);
    expect(b.map((x) => x.at)).toEqual([29_999, 60_000, 125_000]);
    const big = esmBatches([0, 1, 2].map(rec), { windowSeconds: 30, batchSize: 10 }, () => 2_500_000);
    expect(big.map((x) => x.records.length)).toEqual([2, 1]);
  });
});

describe('files per partition-hour, before and after compaction (issue 12)', () => {
  let m: FilesMeasured;
  beforeAll(async () => {
    m = await measureFiles({ pipeline: clickstream, mbPerSecond: 0.01, seconds: 600, startOffsetSeconds: 1500, kafkaPartitions: 2, settings: { iceberg: settingsFor('iceberg'), hive: settingsFor('hive') } });
  }, 60_000);

  it('loads every record into both tables at the default windows, and both answer alike', () => {
    expect(m.iceberg.settings.windowSeconds).toBe(30);
    expect(m.hive.settings.windowSeconds).toBe(90);
    expect(m.iceberg.invocations).toBeGreaterThanOrEqual(20);
    expect(m.hive.invocations).toBeLessThan(m.iceberg.invocations / 2);
    expect(m.records).toBeGreaterThan(9000);
    expect(m.rowsComplete).toBe(true);
    expect(m.iceberg.before.rows).toBe(m.records);
    expect(m.hive.before.rows).toBe(m.records);
    expect(m.answersAgree).toBe(true);
    expect(Number(m.iceberg.before.answer[0])).toBe(m.records);
  });

  it('a full-table query reads every file the loader wrote; late records spread them over earlier hours', () => {
    for (const f of [m.iceberg, m.hive]) {
      expect(f.before.dataFiles).toBe(f.filesWritten);
      expect(f.before.filesRead).toBe(f.filesWritten);
      // Late records (2 %, up to 3 h) put files in the three hours before the current one.
      expect(Object.keys(f.before.perPartition).sort()).toEqual(['2026-01-15T07', '2026-01-15T08', '2026-01-15T09', '2026-01-15T10']);
      expect(f.filesPerPartitionBatch).toBeGreaterThan(1.5);
    }
    // A 30 s window makes more, smaller batches than a 90 s one: more files.
    expect(m.iceberg.filesWritten).toBeGreaterThan(1.5 * m.hive.filesWritten);
  });

  it('compaction leaves one Iceberg file per partition and the same answer; Hive has no compaction', () => {
    const after = m.iceberg.after!;
    expect(after.dataFiles).toBe(Object.keys(after.perPartition).length);
    expect(after.filesRead).toBe(after.dataFiles);
    expect(after.filesRead).toBeLessThan(m.iceberg.before.filesRead / 10);
    expect(m.iceberg.filesReadRatio).toBeCloseTo(after.filesRead / m.iceberg.before.filesRead, 12);
    expect(after.manifests).toBe(1);
    expect(after.rows).toBe(m.records);
    expect(after.answer).toEqual(m.iceberg.before.answer);
    expect(m.iceberg.answerUnchanged).toBe(true);
    expect(m.hive.after).toBeNull();
    expect(m.hive.answerUnchanged).toBeNull();
    expect(m.hive.filesReadRatio).toBe(1);
  });

  it("agrees with the cost model's simulation at the run's settings", () => {
    const check = compareWithModel(m, resolveAssumptions(readSavedFigures()));
    for (const format of ['iceberg', 'hive'] as const) {
      expect(check[format].measured).toBe(m[format].filesPerPartitionHour);
      expect(check[format].ratio).toBeGreaterThan(0.85);
      expect(check[format].ratio).toBeLessThan(1.15);
    }
    const text = formatFilesReport({ measured: m, check, hoursScanned: null, levels: null });
    expect(text).toContain('files/partition-hour');
    expect(text).toMatch(/hive .* no compaction/);
  });
});
