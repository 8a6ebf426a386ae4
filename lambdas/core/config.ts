/**
 * The loader's configuration, from the environment variables the CDK construct sets:
 *
 * | variable                      | meaning                                                     |
 * |-------------------------------|-------------------------------------------------------------|
 * | `LAKELOADER_PIPELINE`         | name of the bundled pipeline (a check: a bundle holds one)  |
 * | `LAKELOADER_BUCKET`           | the lake bucket                                             |
 * | `LAKELOADER_GLUE_DATABASE`    | the Glue database of the pipeline's table                   |
 * | `LAKELOADER_CONCURRENCY`      | topic-partitions loaded at once (optional, default 4)       |
 * | `AWS_REGION`                  | set by Lambda                                               |
 * | `AWS_ENDPOINT_URL`            | optional: a local or LocalStack endpoint (S3 path-style)   |
 * | `LAKELOADER_COMMIT_INTERVAL_SECONDS` | optional: Iceberg commit interval (default: the pipeline's) |
 */
import type { Pipeline } from './pipeline';
import { LakeloaderError } from './errors';

export interface LoaderConfig {
  pipeline: Pipeline;
  bucket: string;
  glueDatabase: string;
  /** Topic-partitions of one event loaded at once. */
  concurrency: number;
  region?: string;
  /** When set, clients talk to this endpoint and S3 uses path-style addressing. */
  endpointUrl?: string;
  /** CloudWatch namespace of the EMF metrics. */
  metricsNamespace: string;
  /** Iceberg tables: publish staged batches when the last snapshot is at least this old (0: after every batch). */
  commitIntervalSeconds: number;
}

/** A missing or invalid setting; the message names the environment variable to set. */
export class ConfigError extends LakeloaderError {
  readonly code = 'CONFIG';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const GLUE_NAME = /^[a-z0-9_]{1,255}$/;
export const DEFAULT_CONCURRENCY = 4;

function commitInterval(env: Record<string, string | undefined>, pipeline: Pipeline): number {
  const raw = env.LAKELOADER_COMMIT_INTERVAL_SECONDS?.trim();
  if (!raw) return pipeline.iceberg.commitIntervalSeconds;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 3600) throw new ConfigError('LAKELOADER_COMMIT_INTERVAL_SECONDS', `must be a number of seconds 0..3600, got "${raw}"`);
  return n;
}

/**
 * Reads and validates the configuration of the loader for `pipeline` (the one its bundle holds,
 * see lambdas/loader/main.ts; `LAKELOADER_PIPELINE` must name it).
 * @throws ConfigError naming the variable to set.
 */
export function loadConfig(pipeline: Pipeline, env: Record<string, string | undefined> = process.env): LoaderConfig {
  const required = (name: string, what: string): string => {
    const v = env[name]?.trim();
    if (!v) throw new ConfigError(name, `not set; set it to ${what}`);
    return v;
  };
  const pipelineName = required('LAKELOADER_PIPELINE', `the name of the pipeline this loader loads ("${pipeline.name}")`);
  if (pipelineName !== pipeline.name) throw new ConfigError('LAKELOADER_PIPELINE', `this loader holds pipeline "${pipeline.name}", not "${pipelineName}"; each loader bundle holds one pipeline`);
  const bucket = required('LAKELOADER_BUCKET', 'the lake bucket name');
  if (!BUCKET.test(bucket)) throw new ConfigError('LAKELOADER_BUCKET', `"${bucket}" is not a valid S3 bucket name (a name, not an ARN or s3:// URI)`);
  const glueDatabase = required('LAKELOADER_GLUE_DATABASE', 'the Glue database that holds the table');
  if (!GLUE_NAME.test(glueDatabase)) throw new ConfigError('LAKELOADER_GLUE_DATABASE', `"${glueDatabase}" is not a valid Glue database name (lower case letters, digits, _)`);
  let concurrency = DEFAULT_CONCURRENCY;
  const c = env.LAKELOADER_CONCURRENCY?.trim();
  if (c) {
    concurrency = Number(c);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new ConfigError('LAKELOADER_CONCURRENCY', `must be an integer 1..64, got "${c}"`);
  }
  const endpointUrl = env.AWS_ENDPOINT_URL?.trim() || undefined;
  if (endpointUrl && !/^https?:\/\//.test(endpointUrl)) throw new ConfigError('AWS_ENDPOINT_URL', `must be an http(s) URL, got "${endpointUrl}"`);
  return {
    pipeline,
    bucket,
    glueDatabase,
    concurrency,
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || undefined,
    endpointUrl,
    metricsNamespace: env.POWERTOOLS_METRICS_NAMESPACE?.trim() || 'Lakeloader',
    commitIntervalSeconds: commitInterval(env, pipeline),
  };
}
