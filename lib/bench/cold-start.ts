/**
 * Cold start: the bundled loader handler `require`d in a fresh Node process, compared with a fresh
 * process that requires only the AWS SDK clients the handler uses (bundled the same way). The
 * ratio of the two import times is what the loader adds to a Lambda init over the SDK floor.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LOADER_ENTRY } from '../bundling';
import { bundleLikeCdk, PROJECT_ROOT, zipSize } from './bundle';
import { summarizeSamples, type Summary } from './stats';

export interface ColdStartOptions {
  /** Fresh processes per side. */
  runs: number;
  /** Scratch directory for the two bundles. */
  workDir: string;
  /** The pipeline file the handler bundle holds. */
  pipelineFile: string;
  /** The handler entry. @default lambdas/loader/main.ts */
  handlerEntry?: string;
  /** Environment the handler reads at import. */
  env?: Record<string, string>;
}

export interface ColdStartResult {
  /** Time to `require` the bundled handler in a fresh process, ms. */
  handlerImportMs: Summary;
  /** Time to `require` the SDK-only bundle in a fresh process, ms. */
  sdkImportMs: Summary;
  /** Process start to handler imported (includes Node's own start), ms. */
  handlerInitMs: Summary;
  sdkInitMs: Summary;
  /** Per-pair ratio handlerImportMs / sdkImportMs. */
  ratio: Summary;
  /** The AWS SDK imports found in the handler's sources, re-exported by the SDK-only entry. */
  sdkImports: Record<string, string[]>;
  handlerJsBytes: number;
  sdkJsBytes: number;
  /** Zip of the handler bundle directory (index.js, parquet_wasm_bg.wasm): the deployment package. */
  packageZipBytes: number;
  packageUnzippedBytes: number;
}

/** Source files under lambdas/ and pipelines/ (what the handler bundle can contain). */
function runtimeSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) out.push(p);
    }
  };
  walk(join(PROJECT_ROOT, 'lambdas'));
  walk(join(PROJECT_ROOT, 'pipelines'));
  return out;
}

/** The named imports from `@aws-sdk/*` packages in the runtime's sources, per package. */
export function findSdkImports(files: string[] = runtimeSources()): Record<string, string[]> {
  const found: Record<string, Set<string>> = {};
  const re = /import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+['"](@aws-sdk\/[^'"]+)['"]/g;
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(re)) {
      if (/import\s+type\s/.test(m[0])) continue;
      const names = m[1]
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s && !s.startsWith('type '))
        .map((s) => s.split(/\s+as\s+/)[0].trim());
      for (const n of names) (found[m[2]] ??= new Set()).add(n);
    }
  }
  return Object.fromEntries(Object.entries(found).map(([k, v]) => [k, [...v].sort()]));
}

/**
 * Requires `file` in a fresh Node process, with no flags (as the construct runs it by default; its
 * `enableSourceMaps` prop would add `--enable-source-maps`); returns [import ms, ms since process start].
 */
function importOnce(file: string, env: Record<string, string>): [number, number] {
  const script =
    'const t0=performance.now();require(process.argv[1]);const t1=performance.now();' +
    'process.stdout.write(JSON.stringify([t1-t0,t1]))';
  const out = execFileSync(process.execPath, ['-e', script, file], { env: { ...process.env, ...env, NODE_OPTIONS: '' }, encoding: 'utf8' });
  const [importMs, sinceStart] = JSON.parse(out) as [number, number];
  return [importMs, sinceStart];
}

/**
 * Bundles the handler and an SDK-only entry, then alternates fresh-process imports of each
 * (`runs` each, after one discarded warm-up pair that fills the OS file cache).
 * @throws BundleError when the handler does not exist or does not bundle.
 */
export async function measureColdStart(opts: ColdStartOptions): Promise<ColdStartResult> {
  const handler = await bundleLikeCdk({ entry: opts.handlerEntry ?? LOADER_ENTRY, outDir: join(opts.workDir, 'handler'), pipelineFile: opts.pipelineFile });
  const sdkImports = findSdkImports();
  const contents =
    Object.entries(sdkImports)
      .map(([pkg, names], i) => `import { ${names.join(', ')} } from '${pkg}';\nexport const m${i} = [${names.join(', ')}];`)
      .join('\n') || 'export {};';
  const sdk = await bundleLikeCdk({ entry: 'sdk-only.ts', contents, outDir: join(opts.workDir, 'sdk') });
  const env = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    LAKELOADER_PIPELINE: 'clickstream',
    LAKELOADER_BUCKET: 'bench-lake',
    LAKELOADER_GLUE_DATABASE: 'bench',
    POWERTOOLS_SERVICE_NAME: 'lakeloader',
    POWERTOOLS_METRICS_NAMESPACE: 'Lakeloader',
    ...opts.env,
  };
  importOnce(handler.file, env);
  importOnce(sdk.file, env);
  const h: number[] = [];
  const s: number[] = [];
  const hInit: number[] = [];
  const sInit: number[] = [];
  const ratio: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const [hi, ht] = importOnce(handler.file, env);
    const [si, st] = importOnce(sdk.file, env);
    h.push(hi);
    s.push(si);
    hInit.push(ht);
    sInit.push(st);
    ratio.push(hi / si);
  }
  return {
    handlerImportMs: summarizeSamples(h),
    sdkImportMs: summarizeSamples(s),
    handlerInitMs: summarizeSamples(hInit),
    sdkInitMs: summarizeSamples(sInit),
    ratio: summarizeSamples(ratio),
    sdkImports,
    handlerJsBytes: handler.jsBytes,
    sdkJsBytes: sdk.jsBytes,
    packageZipBytes: zipSize(handler.dir, join(opts.workDir, 'handler.zip')),
    packageUnzippedBytes: handler.dirBytes,
  };
}
