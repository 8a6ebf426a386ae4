/**
 * The loader core under measurement: from the MSK event to Parquet bytes ready to put, i.e.
 * `prepareBatch` once per topic-partition, exactly as the handler calls it (minus the I/O).
 */
import type { MskEvent, MskRecord, PreparedBatch } from '../../lambdas/core/model';
import type { Pipeline } from '../../lambdas/core/pipeline';
import { prepareBatch } from '../../lambdas/core/prepare';

export type PrepareBatch = (pipeline: Pipeline, records: MskRecord[]) => Promise<PreparedBatch>;

/** The loader core's entry point, from lambdas/core/prepare.ts. */
export const loadPrepareBatch = async (): Promise<PrepareBatch> => prepareBatch;

/** What one pass of the loader core over one MSK event produced. */
export interface LoaderRun {
  ms: number;
  /** Process CPU time (user + system, all threads) during the pass, ms: robust to a busy machine. */
  cpuMs: number;
  rows: number;
  files: number;
  outputBytes: number;
  quarantined: number;
  /** Topic-partitions (prepareBatch calls). */
  partitions: number;
}

/** Runs prepareBatch over every topic-partition of `event` and times the whole pass. */
export async function runLoader(prepare: PrepareBatch, pipeline: Pipeline, event: MskEvent): Promise<LoaderRun> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const batches: PreparedBatch[] = [];
  for (const records of Object.values(event.records)) batches.push(await prepare(pipeline, records));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const run: LoaderRun = { ms, cpuMs: (cpu.user + cpu.system) / 1000, rows: 0, files: 0, outputBytes: 0, quarantined: 0, partitions: batches.length };
  for (const b of batches) {
    run.rows += b.counts.rows;
    run.quarantined += b.counts.quarantined;
    run.files += b.files.length;
    for (const f of b.files) run.outputBytes += f.body.length;
  }
  return run;
}
