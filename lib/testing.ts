/**
 * Helpers for testing a pipeline file, imported as `lakeloader/testing` (the tests that
 * `lakeloader new` scaffolds use them).
 *
 * ```ts
 * import { tryPipeline } from 'lakeloader/testing';
 * import orders from '../../pipelines/orders';
 *
 * const r = await tryPipeline(orders, [{ id: 'o-1', ts: '2026-01-01T10:00:00Z' }, '{"broken']);
 * expect(r.rows).toBe(1);
 * expect(r.quarantined).toEqual([expect.objectContaining({ offset: 1, stage: 'decode' })]);
 * ```
 */
import type { Pipeline } from '../lambdas/core/pipeline';
import { prepareBatch } from '../lambdas/core/prepare';
import { buildMskEvent, type ProducedRecord } from './local/msk-event';

export interface TryResult {
  /** Rows the records became (a transform may make several of one record, or none). */
  rows: number;
  /** The table partitions the rows went to (Hive paths such as `dt=2026-01-01/hour=10`), in order. */
  partitions: string[];
  /** Records the loader would quarantine: their offset (the index in the input), stage and reason. */
  quarantined: { offset: number; stage: string; error: string }[];
  /** Records the transform filtered out. */
  filtered: number;
}

/**
 * Runs record values through the loader's real pure half (decode, transform, conform, partition,
 * Parquet encoding) as one batch of topic-partition `<first topic>-0`, offsets 0..n-1.
 * @param values each a JSON value (serialized for you), a string (sent as is), bytes, or null (a tombstone)
 */
export async function tryPipeline(pipeline: Pipeline, values: unknown[], opts: { timestamp?: number } = {}): Promise<TryResult> {
  const records: ProducedRecord[] = values.map((v, i) => ({
    topic: pipeline.topics[0]!,
    partition: 0,
    offset: i,
    timestamp: opts.timestamp ?? Date.parse('2026-01-01T00:00:00Z'),
    value: v === null ? null : typeof v === 'string' || v instanceof Uint8Array ? v : JSON.stringify(v),
  }));
  const batch = await prepareBatch(pipeline, Object.values(buildMskEvent(records).records)[0] ?? []);
  return {
    rows: batch.counts.rows,
    partitions: batch.files.map((f) => f.hivePath),
    quarantined: batch.quarantine.map((q) => ({ offset: q.kafka_offset, stage: q.stage, error: q.error })),
    filtered: batch.counts.filtered,
  };
}
