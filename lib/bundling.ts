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

/** The module protobufjs is aliased to in the bundle of a pipeline without a Protobuf format. */
export const ABSENT_PROTOBUFJS = join(PROJECT_ROOT, 'lambdas', 'loader', 'absent-protobufjs.ts');

/** What a pipeline's bundle must hold beyond the JSON path. */
export interface BundledFormats {
  /** A value or key format is `protobuf`: protobufjs is bundled. */
  protobuf: boolean;
}

/** The formats a pipeline declaration needs in its bundle. */
export function bundledFormats(p: { valueFormat: string; keyFormat?: string | undefined }): BundledFormats {
  return { protobuf: p.valueFormat === 'protobuf' || p.keyFormat === 'protobuf' };
}

/**
 * esbuild aliases for a loader bundle holding `pipelineFile`; a pipeline without a Protobuf format
 * gets a stub for protobufjs (108 KB less to compile at every cold start).
 */
export function loaderAliases(pipelineFile: string, formats: BundledFormats = { protobuf: true }): Record<string, string> {
  return { [BUNDLED_PIPELINE_MODULE]: pipelineFile, lakeloader: PUBLIC_API, ...(formats.protobuf ? {} : { protobufjs: ABSENT_PROTOBUFJS }) };
}
