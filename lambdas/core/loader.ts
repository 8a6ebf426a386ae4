/**
 * The loader's orchestration: split an MSK event into its topic-partitions, run the commit
 * protocol on each (independent, bounded concurrency), and aggregate the results. If any
 * topic-partition failed, the others still finish, then one {@link BatchLoadError} is thrown so
 * the event source mapping retries the whole batch; committed partitions' records are then
 * skipped as duplicates.
 */
import { settleLimited } from './concurrency';
import { commitPartition, type CommitDeps, type PartitionResult } from './commit';
import type { MskEvent, MskRecord } from './model';
import type { Pipeline } from './pipeline';
import { LakeloaderError } from './errors';

export interface LoaderDeps extends CommitDeps {
  pipeline: Pipeline;
  /** Topic-partitions processed at once. @default 4 */
  concurrency?: number;
}

/** One topic-partition that failed, with its error. */
export interface PartitionFailure {
  topic: string;
  partition: number;
  records: number;
  error: unknown;
}

/** Some topic-partitions of the batch failed; the others were committed (see `results`). */
export class BatchLoadError extends LakeloaderError {
  readonly code = 'BATCH_LOAD';
  constructor(
    readonly failures: PartitionFailure[],
    readonly results: PartitionResult[],
  ) {
    const first = failures[0]!;
    super(
      `${failures.length} of ${failures.length + results.length} topic-partitions failed and the batch will be retried ` +
        `(committed ones are skipped as duplicates); first: ${first.topic}-${first.partition}: ${first.error instanceof Error ? first.error.message : String(first.error)}`,
    );
  }
}

/** One topic-partition's records from the event. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  records: MskRecord[];
}

/**
 * Groups the event's records by (topic, partition), trusting each record's own coordinates rather
 * than the `topic-partition` map key (topic names may contain `-`). Sorted for determinism.
 */
export function splitEvent(event: MskEvent): PartitionBatch[] {
  const byTp = new Map<string, PartitionBatch>();
  for (const list of Object.values(event.records ?? {})) {
    for (const r of list) {
      const k = `${r.topic}\u0000${r.partition}`;
      let b = byTp.get(k);
      if (!b) byTp.set(k, (b = { topic: r.topic, partition: r.partition, records: [] }));
      b.records.push(r);
    }
  }
  return [...byTp.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/**
 * Loads an MSK event exactly once.
 * @returns one result per topic-partition.
 * @throws BatchLoadError if any topic-partition failed (after all others finished).
 */
export async function loadEvent(deps: LoaderDeps, event: MskEvent): Promise<PartitionResult[]> {
  const batches = splitEvent(event);
  const settled = await settleLimited(batches, deps.concurrency ?? 4, (b) => commitPartition(deps, deps.pipeline, b.topic, b.partition, b.records));
  const results: PartitionResult[] = [];
  const failures: PartitionFailure[] = [];
  settled.forEach((s, i) => {
    const b = batches[i]!;
    if (s.ok) results.push(s.value);
    else failures.push({ topic: b.topic, partition: b.partition, records: b.records.length, error: s.error });
  });
  if (failures.length) throw new BatchLoadError(failures, results);
  return results;
}
