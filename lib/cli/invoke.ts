/**
 * `lakeloader invoke --pipeline NAME --event FILE`: runs the real loader handler in-process on an
 * MSK event file, against the local endpoint (or AWS), and prints the batch summary as one JSON
 * object. Also home of {@link createLocalLoader}, the handler wiring the demo and the end-to-end
 * test use, so that every local path runs the production handler.
 */
import { Console } from 'node:console';
import { readFile } from 'node:fs/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Command } from 'commander';
import { GlueCatalog } from '../../lambdas/core/catalog';
import { loadConfig } from '../../lambdas/core/config';
import type { MskEvent } from '../../lambdas/core/model';
import type { Pipeline } from '../../lambdas/core/pipeline';
import type { BatchSummary } from '../../lambdas/core/report';
import { S3ObjectStore } from '../../lambdas/core/store';
import { createHandler, type PipelineHandler } from '../../lambdas/loader/handler';
import { getPipeline } from '../pipelines';
import { resolveContext, withContextOptions, type CliContext, type ContextFlags } from './context';
import { printJson } from './output';
import { LakeloaderError } from '../../lambdas/core/errors';

/** An event file that is not an MSK event. */
export class EventFileError extends LakeloaderError {
  readonly code = 'EVENT_FILE';
  constructor(message: string) {
    super(message);
  }
}

export interface LocalLoaderOptions {
  /** Powertools log level for the handler's logs (on stderr). @default 'SILENT' */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Iceberg commit interval for this loader (0: every batch publishes a snapshot). @default the pipeline's */
  commitIntervalSeconds?: number;
  /** The handler's clock (the Iceberg commit interval is measured on it), e.g. a simulated one. @default Date.now */
  now?: () => number;
}

/**
 * The production loader handler wired to the context's SDK clients (so dummy local credentials and
 * path-style S3 apply), with logs sent to stderr at `logLevel` and EMF metrics off. The pipeline is
 * a declared one's name, or a pipeline object (the bench loads variants of one declaration).
 */
export function createLocalLoader(ctx: CliContext, pipelineOrName: string | Pipeline, options: LocalLoaderOptions = {}): PipelineHandler {
  const pipeline = typeof pipelineOrName === 'string' ? getPipeline(pipelineOrName) : pipelineOrName;
  const pipelineName = pipeline.name;
  const env = ctx.loaderEnv(pipelineName);
  if (options.commitIntervalSeconds !== undefined) env.LAKELOADER_COMMIT_INTERVAL_SECONDS = String(options.commitIntervalSeconds);
  const config = loadConfig(pipeline, env);
  const logger = new Logger({
    serviceName: 'lakeloader',
    logLevel: options.logLevel ?? 'SILENT',
    persistentKeys: { pipeline: pipelineName },
    // Logs must never mix with the one JSON object the CLI prints on stdout.
    logRecordOrder: ['level', 'message'],
  });
  (logger as unknown as { console: Console }).console = new Console({ stdout: process.stderr, stderr: process.stderr });
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  // Its warnings (e.g. a scheduled commit with nothing to publish has no metrics) go to the handler's logger.
  const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: 'lakeloader', logger });
  if (previous === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
  else process.env.POWERTOOLS_METRICS_DISABLED = previous;
  return createHandler({ config, store: new S3ObjectStore(ctx.s3(), ctx.bucket), catalog: new GlueCatalog(ctx.glue()), glue: ctx.glue(), logger, metrics, ...(options.now ? { now: options.now } : {}) });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads and checks an MSK event JSON file (`-` reads standard input). */
export async function readEventFile(file: string): Promise<MskEvent> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(file === '-' ? await readStdin() : await readFile(file, 'utf8'));
  } catch (e) {
    throw new EventFileError(`cannot read the event file ${file}: ${(e as Error).message}`);
  }
  const ev = parsed as Partial<MskEvent> | null;
  if (!ev || typeof ev !== 'object' || !ev.records || typeof ev.records !== 'object') {
    throw new EventFileError(`${file} is not an MSK event: expected an object with "eventSource" and "records" keyed by "topic-partition" (see test/fixtures/)`);
  }
  return ev as MskEvent;
}

/** The summary keys `invoke` prints, in this order. */
export const INVOKE_SUMMARY_KEYS = ['in', 'written', 'quarantined', 'filtered', 'duplicates', 'files', 'partitionsRegistered', 'rows', 'bytes'] as const;

/** Picks the printed keys from the handler's summary. */
export function invokeSummary(s: BatchSummary): Record<(typeof INVOKE_SUMMARY_KEYS)[number], number> {
  return Object.fromEntries(INVOKE_SUMMARY_KEYS.map((k) => [k, s[k]])) as Record<(typeof INVOKE_SUMMARY_KEYS)[number], number>;
}

/** Registers `lakeloader invoke`. */
export function register(program: Command): void {
  withContextOptions(
    program
      .command('invoke')
      .description('run the real loader handler in-process on an MSK event file; prints the batch summary as one JSON object')
      .requiredOption('--pipeline <name>', 'a pipeline declared in pipelines/ (one file each)')
      .requiredOption('--event <file>', 'MSK event JSON (the shape the event source mapping delivers); - reads stdin')
      .option('--log-level <level>', 'handler log level on stderr: DEBUG, INFO, WARN, ERROR, SILENT', 'SILENT'),
    ['endpoint', 'region', 'bucket', 'database', 'outputs'],
  ).action(async (flags: ContextFlags & { pipeline: string; event: string; logLevel: string }) => {
    const ctx = resolveContext(flags);
    const event = await readEventFile(flags.event);
    // One invocation, then the process ends: publish its batch at once (no scheduled committer runs here).
    const handler = createLocalLoader(ctx, flags.pipeline, { logLevel: flags.logLevel.toUpperCase() as LocalLoaderOptions['logLevel'], commitIntervalSeconds: 0 });
    printJson(invokeSummary(await handler(event)));
  });
}
