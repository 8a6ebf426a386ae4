/**
 * The conformance suite's harness: clients this project did not write, pointed at an endpoint.
 *
 * - the AWS SDK v3 clients (always) — `env.s3`, `env.glue`, `env.athena`;
 * - the AWS CLI v1 where installed — `env.aws(['s3', 'cp', …])`; a CLI case is declared with
 *   `describe.skipIf(!hasAwsCli)` so that it is reported *skipped* (with {@link NO_AWS_CLI}) when
 *   the CLI is absent, never passed.
 *
 * Which endpoint (see test/support/endpoint.ts): the local endpoint of this checkout, started in
 * process on an ephemeral port (default); another checkout's (`LAKELOADER_TEST_SERVER=<path of its
 * lib/local/server.ts>`, the "before" column); or any running endpoint
 * (`LAKELOADER_TEST_ENDPOINT=http://127.0.0.1:5000`, e.g. moto server), where the cases that need
 * the local endpoint itself (`--enforce-iam`, files on disk) skip via `remoteEndpoint`.
 *
 * One file per service (s3.test.ts, glue.test.ts, iam.test.ts, athena.test.ts, …); each case's
 * title is its row in the table of docs/local-endpoint.md (`npx tsx test/conformance/table.ts`).
 *
 * ```ts
 * let env: ConformanceEnv;
 * beforeAll(async () => { env = await startConformance(); });
 * afterAll(() => env?.close());
 * describe.skipIf(!hasAwsCli)('S3 — AWS CLI', () => { it('…', async () => { const r = await env.aws(['s3', 'ls']); … }); });
 * ```
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalEndpointOptions } from '../../lib/local/server';
import { remoteEndpoint, startTestEndpoint, type TestEndpoint } from '../support/endpoint';

export { remoteEndpoint };

/** True when the `aws` command (AWS CLI v1 or v2) runs here. */
export const hasAwsCli = spawnSync('aws', ['--version'], { stdio: 'ignore' }).status === 0;
/** The reason CLI cases skip. */
export const NO_AWS_CLI = 'the AWS CLI (`aws`) is not installed on this machine';

/** What one CLI run printed. */
export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (the harness passes `--output json`). */
  json<T = Record<string, unknown>>(): T;
}

export interface CliOptions {
  /** Access key pair to sign with. @default test/test */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  cwd?: string;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Kill after this many ms. @default 120000 */
  timeoutMs?: number;
}

export interface ConformanceEnv extends TestEndpoint {
  /** Runs the AWS CLI against the endpoint (`--endpoint-url`, path-style, `--output json`). Never throws for a non-zero exit. */
  aws(args: string[], opts?: CliOptions): Promise<CliResult>;
  /** A fresh temp directory removed by close(). */
  tempDir(): Promise<string>;
}

/**
 * Runs `aws` asynchronously (the endpoint may run in this process, so a synchronous child would
 * block it), with a config file of its own: path-style addressing, no retries, no profile.
 */
async function runAws(url: string | undefined, region: string, configFile: string, args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const creds = opts.credentials ?? { accessKeyId: 'test', secretAccessKey: 'test' };
  const full = [...(url ? ['--endpoint-url', url] : []), '--region', region, '--output', 'json', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('aws', full, {
      cwd: opts.cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? tmpdir(),
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_CONFIG_FILE: configFile,
        AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'lakeloader-no-aws-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_PAGER: '',
        ...(opts.env ?? {}),
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr, json: <T>() => (stdout.trim() ? JSON.parse(stdout) : {}) as T });
    });
  });
}

/** Starts the endpoint under test (see the module docs) with the SDK clients and the CLI runner. */
export async function startConformance(opts: Partial<LocalEndpointOptions> = {}): Promise<ConformanceEnv> {
  const env = await startTestEndpoint(opts);
  const dir = await mkdtemp(join(tmpdir(), 'lakeloader-conformance-'));
  const configFile = join(dir, 'aws-config');
  await writeFile(configFile, '[default]\ns3 =\n    addressing_style = path\nretry_mode = standard\nmax_attempts = 1\n');
  const close = env.close.bind(env);
  return Object.assign(env, {
    aws: (args: string[], o?: CliOptions) => runAws(env.url, env.region, configFile, args, o),
    tempDir: () => mkdtemp(join(dir, 't-')),
    async close() {
      await close();
      await rm(dir, { recursive: true, force: true });
    },
  });
}

/** The error name and HTTP status of a failing SDK call (fails the test when the call succeeds). */
export async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    if (err.$metadata) return { name: err.name ?? '', status: err.$metadata.httpStatusCode, message: err.message ?? '' };
    throw e;
  }
  throw new Error('expected the call to fail, it succeeded');
}
