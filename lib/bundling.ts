/**
 * How a loader Lambda is bundled, in one place for the CDK construct (lib/infra/lake-loader.ts)
 * and the bench (lib/bench/bundle.ts), which must build the same bundle.
 */
import { join, resolve } from 'node:path';

/** Repository root. */
export const PROJECT_ROOT = resolve(__dirname, '..');
/** The loader's entry file: it imports the one pipeline its bundle holds. */
export const LOADER_ENTRY = join(PROJECT_ROOT, 'lambdas', 'loader', 'main.ts');
/** The public API that pipeline files import as `lakeloader` (package.json `exports`). */
export const PUBLIC_API = join(PROJECT_ROOT, 'lambdas', 'api.ts');
/** The module name the entry imports its pipeline from; esbuild aliases it to the pipeline's file. */
export const BUNDLED_PIPELINE_MODULE = 'lakeloader-bundled-pipeline';

/**
 * The Node.js major version the loader runs on: one target for the Lambda runtime (`nodejs24.x`,
 * the latest, as cdk-nag's AwsSolutions-L1 asks) and esbuild (`node24`). The same code also runs
 * in the local tools on Node 20.19+ (package.json engines), so tsconfig's `lib` is ES2023, what
 * both have: a newer API would fail the type check, not a user.
 */
export const LAMBDA_NODE_MAJOR = 24;
export const LAMBDA_NODE_TARGET = `node${LAMBDA_NODE_MAJOR}`;

/** esbuild aliases for a loader bundle holding `pipelineFile`. */
export function loaderAliases(pipelineFile: string): Record<string, string> {
  return { [BUNDLED_PIPELINE_MODULE]: pipelineFile, lakeloader: PUBLIC_API };
}
