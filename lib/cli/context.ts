/**
 * Where the CLI's commands point: endpoint, region, bucket, Glue database and Athena workgroup,
 * resolved in this order (first found wins):
 *
 * 1. flags (`--endpoint`, `--region`, `--bucket`, `--database`, `--workgroup`, `--outputs`);
 * 2. environment: `LAKELOADER_ENDPOINT` or `AWS_ENDPOINT_URL`, `AWS_REGION` / `AWS_DEFAULT_REGION`,
 *    `LAKELOADER_BUCKET`, `LAKELOADER_DATABASE`, `LAKELOADER_WORKGROUP`;
 * 3. a `cdk deploy --outputs-file` JSON (`--outputs FILE` or `LAKELOADER_OUTPUTS`): the stack
 *    outputs `LakeBucketName`, `GlueDatabaseName`, `AthenaWorkGroupName`;
 * 4. local defaults: bucket `lakeloader-local`, database `lakeloader`, workgroup `lakeloader`,
 *    endpoint `http://127.0.0.1:4566` (only when nothing points at AWS: no outputs file and no
 *    AWS credentials in the environment), region `us-east-1`.
 *
 * With an endpoint set and no AWS credentials in the environment, dummy credentials are used (the
 * local endpoint accepts any signature). S3 clients use path-style addressing behind an endpoint.
 */
import { readFileSync } from 'node:fs';
import { AthenaClient } from '@aws-sdk/client-athena';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { LakeloaderError } from '../../lambdas/core/errors';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4566';
export const DEFAULT_BUCKET = 'lakeloader-local';
export const DEFAULT_DATABASE = 'lakeloader';
export const DEFAULT_WORKGROUP = 'lakeloader';
export const DEFAULT_REGION = 'us-east-1';

/** Flags every command that talks to AWS (or the local endpoint) accepts. */
export interface ContextFlags {
  endpoint?: string;
  region?: string;
  bucket?: string;
  database?: string;
  workgroup?: string;
  outputs?: string;
}

/** Where each value came from, for `--verbose` output and error messages. */
export type Source = 'flag' | 'env' | 'outputs' | 'default';

export interface CliContext {
  /** Undefined when talking to real AWS. */
  endpoint: string | undefined;
  region: string;
  bucket: string;
  database: string;
  workgroup: string;
  sources: Record<'endpoint' | 'region' | 'bucket' | 'database' | 'workgroup', Source>;
  s3(): S3Client;
  glue(): GlueClient;
  athena(): AthenaClient;
  /** Environment variables for a loader handler run against this context. */
  loaderEnv(pipeline: string): Record<string, string>;
}

/** A problem with the CLI's settings; the message says which flag or variable to fix. */
export class CliContextError extends LakeloaderError {
  readonly code = 'CLI_CONTEXT';
  constructor(message: string) {
    super(message);
  }
}

/** Reads the three lake outputs from a `cdk deploy --outputs-file` JSON (any stack that has them). */
export function readStackOutputs(file: string): { bucket?: string; database?: string; workgroup?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliContextError(`cannot read the CDK outputs file ${file}: ${(e as Error).message}; write it with \`cdk deploy --outputs-file ${file}\``);
  }
  const stacks = Object.values((parsed ?? {}) as Record<string, Record<string, unknown>>);
  const find = (key: string) => {
    for (const s of stacks) {
      if (s && typeof s === 'object' && typeof s[key] === 'string') return s[key] as string;
    }
    return undefined;
  };
  return { bucket: find('LakeBucketName'), database: find('GlueDatabaseName'), workgroup: find('AthenaWorkGroupName') };
}

/**
 * Resolves the context from flags, then `env`, then a CDK outputs file, then local defaults.
 * @throws CliContextError for an unreadable outputs file or an endpoint that is not an http(s) URL.
 */
export function resolveContext(flags: ContextFlags = {}, env: Record<string, string | undefined> = process.env): CliContext {
  const e = (name: string) => env[name]?.trim() || undefined;
  const outputsFile = flags.outputs ?? e('LAKELOADER_OUTPUTS');
  const outputs = outputsFile ? readStackOutputs(outputsFile) : {};
  const hasAwsCredentials = Boolean(e('AWS_ACCESS_KEY_ID') || e('AWS_PROFILE') || e('AWS_WEB_IDENTITY_TOKEN_FILE') || e('AWS_CONTAINER_CREDENTIALS_FULL_URI'));
  const sources = {} as CliContext['sources'];
  const pick = <K extends keyof CliContext['sources']>(key: K, flag: string | undefined, envValue: string | undefined, outputValue: string | undefined, def: string | undefined) => {
    if (flag) return ((sources[key] = 'flag'), flag);
    if (envValue) return ((sources[key] = 'env'), envValue);
    if (outputValue) return ((sources[key] = 'outputs'), outputValue);
    sources[key] = 'default';
    return def;
  };
  // Without an outputs file or AWS credentials, the CLI assumes the local endpoint.
  const localByDefault = !outputsFile && !hasAwsCredentials;
  const endpoint = pick('endpoint', flags.endpoint, e('LAKELOADER_ENDPOINT') ?? e('AWS_ENDPOINT_URL'), undefined, localByDefault ? DEFAULT_ENDPOINT : undefined);
  if (endpoint && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new CliContextError(`the endpoint must be an http(s) URL such as ${DEFAULT_ENDPOINT}, got "${endpoint}" (from --endpoint, LAKELOADER_ENDPOINT or AWS_ENDPOINT_URL)`);
  }
  const region = pick('region', flags.region, e('AWS_REGION') ?? e('AWS_DEFAULT_REGION'), undefined, DEFAULT_REGION)!;
  const bucket = pick('bucket', flags.bucket, e('LAKELOADER_BUCKET'), outputs.bucket, DEFAULT_BUCKET)!;
  const database = pick('database', flags.database, e('LAKELOADER_DATABASE'), outputs.database, DEFAULT_DATABASE)!;
  const workgroup = pick('workgroup', flags.workgroup, e('LAKELOADER_WORKGROUP'), outputs.workgroup, DEFAULT_WORKGROUP)!;

  const credentials = endpoint && !hasAwsCredentials ? { accessKeyId: 'test', secretAccessKey: 'test' } : undefined;
  const common = { region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) };
  let s3: S3Client | undefined;
  let glue: GlueClient | undefined;
  let athena: AthenaClient | undefined;
  return {
    endpoint: endpoint ?? undefined,
    region,
    bucket,
    database,
    workgroup,
    sources,
    s3: () => (s3 ??= new S3Client({ ...common, forcePathStyle: Boolean(endpoint) })),
    glue: () => (glue ??= new GlueClient(common)),
    athena: () => (athena ??= new AthenaClient(common)),
    loaderEnv(pipeline) {
      const out: Record<string, string> = { LAKELOADER_PIPELINE: pipeline, LAKELOADER_BUCKET: bucket, LAKELOADER_GLUE_DATABASE: database, AWS_REGION: region };
      if (endpoint) out.AWS_ENDPOINT_URL = endpoint;
      if (credentials) Object.assign(out, { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey });
      return out;
    },
  };
}

/** Adds the context flags to a command. */
export function withContextOptions(cmd: Command, which: ReadonlyArray<keyof ContextFlags> = ['endpoint', 'region', 'bucket', 'database', 'workgroup', 'outputs']): Command {
  const help: Record<keyof ContextFlags, [string, string]> = {
    endpoint: ['--endpoint <url>', 'AWS endpoint (local: http://127.0.0.1:4566); env LAKELOADER_ENDPOINT or AWS_ENDPOINT_URL'],
    region: ['--region <region>', 'AWS region; env AWS_REGION (default us-east-1)'],
    bucket: ['--bucket <name>', 'lake bucket; env LAKELOADER_BUCKET (default lakeloader-local)'],
    database: ['--database <name>', 'Glue database; env LAKELOADER_DATABASE (default lakeloader)'],
    workgroup: ['--workgroup <name>', 'Athena workgroup; env LAKELOADER_WORKGROUP (default lakeloader)'],
    outputs: ['--outputs <file>', 'a `cdk deploy --outputs-file` JSON to read bucket, database and workgroup from; env LAKELOADER_OUTPUTS'],
  };
  for (const k of which) cmd.option(help[k][0], help[k][1]);
  return cmd;
}
