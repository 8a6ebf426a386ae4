/**
 * The cost model's front door: measured loader figures (a bench run, or a saved `bench --json`
 * result) + the synthesized stack → the cost-and-freshness table. Quick: no loader measurement
 * runs here, only the synth (a few seconds) and the simulation (well under a second a level).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../bundling';
import { DEFAULT_ALTERNATIVES, type AlternativeAssumptions } from './alternatives';
import { costTable, LEVELS, type CostTable } from './levels';
import { DEFAULT_ASSUMPTIONS, type CostAssumptions } from './model';
import { priceTable, type PriceTable } from './prices';
import { readStackSettings, synthesizeStack, type CfnTemplate, type SynthOptions } from './stack';
import { LakeloaderError } from '../../../lambdas/core/errors';

export { costTable, formatCostTable, LEVELS, TARGETS, type CostLevel, type CostTable } from './levels';
export { readStackSettings, synthesizeStack, type StackSettings, type CfnTemplate } from './stack';
export { DEFAULT_ASSUMPTIONS, type CostAssumptions } from './model';
export { PRICES, priceTable, type PriceTable } from './prices';

/** The saved full bench run whose measured figures the cost table uses when none are given (docs/bench.md, round four). */
export const DEFAULT_SAVED_RESULT = join(PROJECT_ROOT, 'lib', 'bench', 'results', 'round4-after-full-2.json');

/** The loader figures the cost model takes from a bench run. */
export interface MeasuredFigures {
  recordsPerSecond: number;
  recordBytes: number;
  eventBytesPerRecord: number;
  parquetBytesPerJsonByte: number;
  /** Where they come from (a file, or 'this run'). */
  from: string;
}

/** A saved result the cost table cannot use. */
export class SavedResultError extends LakeloaderError {
  readonly code = 'SAVED_RESULT';
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}; pass the file a \`lakeloader bench --json\` run wrote, or --records-per-second`);
  }
}

/** The figures of a `bench --json` result (the shape of BenchResult, read loosely so older results work). */
export function figuresFromResult(result: unknown, from: string): MeasuredFigures {
  const r = result as { recordsPerSecond?: number; batch?: { records?: number; jsonBytes?: number; mskEventBytes?: number }; loader?: { outputBytes?: number } };
  const records = r.batch?.records;
  if (!(typeof r.recordsPerSecond === 'number' && r.recordsPerSecond > 0) || !records || !r.batch?.jsonBytes || !r.batch.mskEventBytes || !r.loader?.outputBytes)
    throw new SavedResultError(from, 'not a bench result (needs recordsPerSecond, batch.records/jsonBytes/mskEventBytes and loader.outputBytes)');
  return {
    recordsPerSecond: r.recordsPerSecond,
    recordBytes: r.batch.jsonBytes / records,
    eventBytesPerRecord: r.batch.mskEventBytes / records,
    parquetBytesPerJsonByte: r.loader.outputBytes / r.batch.jsonBytes,
    from,
  };
}

/** Reads the measured figures of a saved `bench --json` result. */
export function readSavedFigures(file: string = DEFAULT_SAVED_RESULT): MeasuredFigures {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SavedResultError(file, `cannot read it (${e instanceof Error ? e.message : String(e)})`);
  }
  return figuresFromResult(parsed, file);
}

export interface CostTableRequest {
  measured: MeasuredFigures;
  /** The template to cost. @default the default stack, synthesized now */
  template?: CfnTemplate;
  synth?: SynthOptions;
  assumptions?: Partial<Omit<CostAssumptions, 'iceberg' | 'sim'>> & { iceberg?: Partial<CostAssumptions['iceberg']>; sim?: Partial<CostAssumptions['sim']> };
  alternatives?: AlternativeAssumptions;
  prices?: Partial<PriceTable>;
  levels?: readonly number[];
}

/** The table with the figures it was computed from (the `cost` part of `bench --json`). */
export type CostTableResult = CostTable & { measured: MeasuredFigures };

/** The model's assumptions: the defaults, the measured figures, then the request's overrides. */
export function resolveAssumptions(measured: MeasuredFigures, overrides: CostTableRequest['assumptions'] = {}): CostAssumptions {
  const { iceberg, sim, ...rest } = overrides;
  return {
    ...DEFAULT_ASSUMPTIONS,
    recordsPerSecond: measured.recordsPerSecond,
    recordBytes: measured.recordBytes,
    eventBytesPerRecord: measured.eventBytesPerRecord,
    parquetBytesPerJsonByte: measured.parquetBytesPerJsonByte,
    ...rest,
    iceberg: { ...DEFAULT_ASSUMPTIONS.iceberg, ...iceberg },
    sim: { ...DEFAULT_ASSUMPTIONS.sim, ...sim },
  };
}

/** Synthesizes (or takes) the stack's template and computes the table. */
export function computeCostTable(req: CostTableRequest): CostTableResult {
  const template = req.template ?? synthesizeStack(req.synth);
  const settings = readStackSettings(template);
  const assumptions = resolveAssumptions(req.measured, req.assumptions);
  const table = costTable(settings, { assumptions, prices: priceTable(req.prices), alternatives: req.alternatives ?? DEFAULT_ALTERNATIVES, levels: req.levels ?? LEVELS });
  return { ...table, measured: req.measured };
}

// The per-batch marginal model (S3 PUTs and Lambda time per GB at full batches), kept for the bench's `cost.perBatch`/`cost.perGb`.
export { costModel, DEFAULT_PRICES, type CostInputs, type CostModel, type Prices } from './batch';
