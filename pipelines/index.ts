/**
 * The declared pipelines, one per table. Add yours here: the CDK app creates a table and a loader
 * for each, and the Lambda bundle finds its own by the `LAKELOADER_PIPELINE` environment variable.
 */
import type { Pipeline } from '../lambdas/core/pipeline';
import { clickstream } from './clickstream';

export const pipelines: readonly Pipeline[] = [clickstream];

/** Returns the pipeline named `name`, or throws with the list of declared names. */
export function getPipeline(name: string): Pipeline {
  const p = pipelines.find((x) => x.name === name);
  if (!p) throw new Error(`unknown pipeline "${name}"; declared pipelines: ${pipelines.map((x) => x.name).join(', ')} (see pipelines/index.ts)`);
  return p;
}
