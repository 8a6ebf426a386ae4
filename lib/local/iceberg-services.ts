/**
 * What AWS runs around an Iceberg pipeline besides its Lambda, for the local loop: the scheduled
 * committer (the stack's EventBridge rule, every minute, invokes the loader with
 * `{"lakeloader":"commit"}`) and the Glue Data Catalog's compaction optimizer (here: bin-pack
 * compaction when a partition holds `minSmallFiles` small files).
 */
import type { Pipeline } from '../../lambdas/core/pipeline';
import type { IcebergDeps } from '../../lambdas/core/iceberg/table';
import type { PublishResult } from '../../lambdas/core/iceberg/commit';
import { compactTable, type CompactResult } from '../iceberg/compact';

export interface IcebergServicesOptions {
  pipeline: Pipeline;
  /** The loader's scheduled commit (PipelineHandler.commit). */
  commit: () => Promise<PublishResult | null>;
  /** Store and catalog for the compactor. */
  deps: IcebergDeps;
  /** @default 60_000 (the stack's rate(1 minute)) */
  everyMs?: number;
  /** Small files in a partition that start a compaction. @default 5 */
  minSmallFiles?: number;
  onError?: (e: unknown) => void;
  onCompacted?: (r: CompactResult) => void;
}

export interface IcebergServices {
  /** Runs the commit and the optimizer once now. */
  tick(): Promise<{ published: PublishResult | null; compacted: CompactResult | null }>;
  stop(): Promise<void>;
}

/** Starts the scheduled committer and the compaction optimizer; a Hive pipeline gets neither. */
export function startIcebergServices(o: IcebergServicesOptions): IcebergServices {
  let running: Promise<unknown> = Promise.resolve();
  const tick = async () => {
    const published = await o.commit();
    const compacted = o.pipeline.iceberg.optimizers.compaction ? await compactTable(o.deps, { minInputFiles: o.minSmallFiles ?? 5 }) : null;
    if (compacted?.snapshot) o.onCompacted?.(compacted);
    return { published, compacted };
  };
  const timer =
    o.pipeline.format === 'iceberg'
      ? setInterval(() => {
          running = running.then(tick).catch((e) => o.onError?.(e));
        }, o.everyMs ?? 60_000)
      : null;
  timer?.unref();
  return {
    tick: () => {
      const r = running.then(tick);
      running = r.catch(() => undefined);
      return r;
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running.catch(() => undefined);
    },
  };
}
