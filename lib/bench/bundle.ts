/**
 * Bundles an entry the way the CDK construct (lib/infra/lake-loader.ts) bundles the loader Lambda
 * (esbuild: node platform, CJS, the Lambda's Node target, minified, no source map (the construct
 * default), the AWS SDK bundled, the pipeline aliased in (lib/bundling.ts), parquet-wasm's
 * `parquet_wasm_bg.wasm` copied beside `index.js`), so cold start and memory are measured on what
 * would be deployed.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { bundledFormats, LAMBDA_NODE_TARGET, loaderAliases, PROJECT_ROOT } from '../bundling';
import { loadPipelineFile } from '../pipelines';
import { LakeloaderError } from '../../lambdas/core/errors';

export { PROJECT_ROOT };

/** A bundle that could not be built (a missing entry, or an esbuild error). */
export class BundleError extends LakeloaderError {
  readonly code = 'BUNDLE';
  constructor(entry: string, cause: string) {
    super(`could not bundle ${entry}: ${cause}`);
  }
}

export interface BundleOptions {
  /** Entry file (TypeScript), absolute or relative to the project root. */
  entry: string;
  /** Output directory; `index.js` (and the .wasm) are written there. */
  outDir: string;
  /** Modules left out of the bundle (resolved at run time from node_modules). @default [] (SDK bundled) */
  external?: string[];
  /** Source contents to bundle instead of reading `entry` (for generated entries). */
  contents?: string;
  /** Write `index.js.map` (the construct does only with `enableSourceMaps: true`). @default false */
  sourcemap?: boolean;
  /** The pipeline file the bundle holds (`lakeloader-bundled-pipeline`), as the construct sets it. */
  pipelineFile?: string;
}

export interface BundleResult {
  dir: string;
  file: string;
  /** Bytes of index.js. */
  jsBytes: number;
  /** Bytes of every file in the directory (js + map + wasm). */
  dirBytes: number;
}

/** Bundles `entry` into `outDir/index.js` with the CDK construct's esbuild options and copies the wasm beside it. */
export async function bundleLikeCdk(opts: BundleOptions): Promise<BundleResult> {
  const entry = resolve(PROJECT_ROOT, opts.entry);
  if (opts.contents === undefined && !existsSync(entry)) throw new BundleError(opts.entry, 'the entry file does not exist (yet)');
  mkdirSync(opts.outDir, { recursive: true });
  const file = join(opts.outDir, 'index.js');
  try {
    await build({
      ...(opts.contents !== undefined
        ? { stdin: { contents: opts.contents, resolveDir: PROJECT_ROOT, sourcefile: opts.entry, loader: 'ts' } }
        : { entryPoints: [entry] }),
      outfile: file,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: LAMBDA_NODE_TARGET,
      ...(opts.pipelineFile ? { alias: loaderAliases(opts.pipelineFile, bundledFormats(loadPipelineFile(opts.pipelineFile))) } : {}),
      minify: true,
      sourcemap: opts.sourcemap ?? false,
      external: opts.external ?? [],
      mainFields: ['module', 'main'],
      logLevel: 'silent',
      absWorkingDir: PROJECT_ROOT,
    });
  } catch (e) {
    throw new BundleError(opts.entry, e instanceof Error ? e.message.split('\n').slice(0, 4).join(' ') : String(e));
  }
  copyFileSync(join(PROJECT_ROOT, 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm'), join(opts.outDir, 'parquet_wasm_bg.wasm'));
  const dirBytes = readdirSync(opts.outDir).reduce((s, f) => s + statSync(join(opts.outDir, f)).size, 0);
  return { dir: opts.outDir, file, jsBytes: statSync(file).size, dirBytes };
}

/**
 * Size of the deployment package: the bundle directory zipped (with `zip -9` when available, as
 * the CDK asset zip is deflate; otherwise a deflate estimate with zip headers).
 */
export function zipSize(dir: string, outZip: string): number {
  try {
    execFileSync('zip', ['-q', '-r', '-X', '-9', outZip, '.'], { cwd: dir, stdio: 'ignore' });
    return statSync(outZip).size;
  } catch {
    let total = 22;
    for (const f of readdirSync(dir)) total += deflateRawSync(readFileSync(join(dir, f)), { level: 9 }).length + 30 + 46 + 2 * f.length;
    return total;
  }
}
