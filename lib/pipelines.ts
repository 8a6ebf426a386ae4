/**
 * The declared pipelines: every `pipelines/*.ts` file that declares one with `definePipeline`.
 * Dropping a file into the directory is all it takes — the CDK app synthesizes its table and
 * loader, `lakeloader provision` creates its tables, the CLI commands and the demo tooling find it.
 *
 * Rules: one pipeline per file (its default export or its one exported pipeline); files whose
 * name starts with `_` are helpers and are not read, nor are `*.test.ts` and `*.d.ts`; a file
 * that declares no pipeline, or two, is an error naming the file. `LAKELOADER_PIPELINES_DIR`
 * points the tools at another directory (the tests use their own fixture pipelines this way).
 *
 * Files are loaded with tsx's CommonJS loader, so this works wherever the tools run (the CLI,
 * the CDK app, the test runner). The Lambda never reads this: each loader bundle holds only its
 * own pipeline file (see lib/infra/lake-loader.ts).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { require as tsxRequire } from 'tsx/cjs/api';
import { isPipeline, type Pipeline } from '../lambdas/core/pipeline';
import { LakeloaderError } from '../lambdas/core/errors';

/** The project's pipelines directory. */
export const DEFAULT_PIPELINES_DIR = resolve(__dirname, '..', 'pipelines');

/** A pipelines directory or file that cannot be read as declared pipelines; the message names the file and the fix. */
export class PipelineDiscoveryError extends LakeloaderError {
  readonly code = 'PIPELINE_DISCOVERY';
  constructor(message: string) {
    super(message);
  }
}

/** Thrown when no declared pipeline has the name asked for. */
export class UnknownPipelineError extends LakeloaderError {
  readonly code = 'UNKNOWN_PIPELINE';
  constructor(
    readonly pipeline: string,
    declared: string[],
    dir: string,
  ) {
    super(`unknown pipeline "${pipeline}"; declared pipelines: ${declared.join(', ') || '(none)'} (one file each in ${dir})`);
  }
}

/** A declared pipeline and the file that declares it (the loader bundle is built from that file). */
export interface DeclaredPipeline {
  pipeline: Pipeline;
  file: string;
}

const sourceFiles = new WeakMap<Pipeline, string>();
const cache = new Map<string, DeclaredPipeline[]>();

/** The directory the tools read: `LAKELOADER_PIPELINES_DIR`, else the project's `pipelines/`. */
export function pipelinesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.LAKELOADER_PIPELINES_DIR ? resolve(env.LAKELOADER_PIPELINES_DIR) : DEFAULT_PIPELINES_DIR;
}

/** The pipeline a module file declares. @throws PipelineDiscoveryError when it declares none or several */
export function loadPipelineFile(file: string): Pipeline {
  const mod = tsxRequire(file, __filename) as Record<string, unknown>;
  const found = [...new Set(Object.values(mod).filter(isPipeline))];
  if (found.length === 0) {
    throw new PipelineDiscoveryError(`${file} declares no pipeline: export the result of definePipeline({...}) (export default), or rename the file to start with "_" if it is a helper`);
  }
  if (found.length > 1) throw new PipelineDiscoveryError(`${file} declares ${found.length} pipelines (${found.map((p) => p.name).join(', ')}): one pipeline per file`);
  sourceFiles.set(found[0]!, file);
  return found[0]!;
}

/** Every pipeline declared in `dir`, sorted by name. @throws PipelineDiscoveryError for a bad file or a name used twice */
export function declaredPipelines(dir: string = pipelinesDir()): DeclaredPipeline[] {
  const abs = resolve(dir);
  const hit = cache.get(abs);
  if (hit) return hit;
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new PipelineDiscoveryError(`the pipelines directory ${abs} does not exist`);
  const files = readdirSync(abs)
    .filter((f) => /\.(ts|js|mts|cts)$/.test(f) && !f.startsWith('_') && !/\.(test|spec|d)\.[mc]?[tj]s$/.test(f))
    .sort();
  const out = files.map((f) => ({ pipeline: loadPipelineFile(join(abs, f)), file: join(abs, f) }));
  const seen = new Map<string, string>();
  for (const d of out) {
    const other = seen.get(d.pipeline.name);
    if (other) throw new PipelineDiscoveryError(`pipeline "${d.pipeline.name}" is declared twice, in ${other} and ${d.file}; table names must be unique`);
    seen.set(d.pipeline.name, d.file);
  }
  out.sort((a, b) => a.pipeline.name.localeCompare(b.pipeline.name));
  cache.set(abs, out);
  return out;
}

/** The declared pipelines (without their files). */
export function listPipelines(dir?: string): Pipeline[] {
  return declaredPipelines(dir).map((d) => d.pipeline);
}

/** The declared pipeline named `name`. @throws UnknownPipelineError listing the declared names */
export function getPipeline(name: string, dir: string = pipelinesDir()): Pipeline {
  const all = declaredPipelines(dir);
  const found = all.find((d) => d.pipeline.name === name);
  if (!found) throw new UnknownPipelineError(name, all.map((d) => d.pipeline.name), dir);
  return found.pipeline;
}

/** The file a pipeline was loaded from, when it came through this module. */
export function pipelineSourceFile(p: Pipeline): string | undefined {
  return sourceFiles.get(p);
}
