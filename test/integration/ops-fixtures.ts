/**
 * Shared fixtures of the operations tests (replay, audit, status, query): the loader's real
 * codec, a clickstream pipeline with a "buggy" transform, and a loader over any store/catalog.
 */
import type { Catalog } from '../../lambdas/core/catalog';
import { PartitionRegistrar } from '../../lambdas/core/catalog';
import type { PrepareCodec } from '../../lambdas/core/commit';
import { loadEvent } from '../../lambdas/core/loader';
import type { MskEvent } from '../../lambdas/core/model';
import type { Pipeline } from '../../lambdas/core/pipeline';
import { encodeEmptyParquet, prepareBatch, serializeQuarantine } from '../../lambdas/core/prepare';
import type { ObjectStore } from '../../lambdas/core/store';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import { clickstream } from '../fixtures/pipelines/clickstream';

export const codec: PrepareCodec = { prepareBatch, encodeEmptyParquet, serializeQuarantine };

export const BUG_MESSAGE = 'search events are not supported yet';

/** clickstream whose transform throws on search events (the "bug" a replay fixes). */
export const buggyClickstream: Pipeline = {
  ...clickstream,
  transform: (value) => {
    if ((value as { event_type?: string }).event_type === 'search') throw new Error(BUG_MESSAGE);
    return value as Record<string, unknown>;
  },
};

/** clickstream after the fix: the same table, a transform that passes everything. */
export const fixedClickstream: Pipeline = { ...clickstream, transform: (value) => value as Record<string, unknown> };

/** Loads records through the loader's real commit protocol, in batches of `batchSize` per call. */
export async function loadRecords(
  env: { store: ObjectStore; catalog: Catalog; bucket: string; database: string },
  pipeline: Pipeline,
  records: ProducedRecord[],
  batchSize = 200,
): Promise<void> {
  const registrar = new PartitionRegistrar(env.catalog);
  for (let i = 0; i < records.length; i += batchSize) {
    const event: MskEvent = buildMskEvent(records.slice(i, i + batchSize));
    await loadEvent({ store: env.store, codec, bucket: env.bucket, database: env.database, registrar, pipeline }, event);
  }
}

/** Inserts `"ts":"<iso>"` into a JSON object text without re-parsing it (user ids may exceed 2^53). */
export function withTs(json: string, iso: string): string {
  return json.replace(/^\s*\{/, `{"ts":"${iso}",`);
}
