/**
 * Test helper: an AWS endpoint plus configured SDK v3 clients. By default it starts the local
 * endpoint on an ephemeral port over a fresh temp directory; with `LAKELOADER_TEST_ENDPOINT` set
 * (e.g. `http://localhost:4566` for LocalStack, or `aws` for the real AWS endpoints) the same
 * tests run against that instead, and `isLocal` is false so local-only checks can skip.
 *
 * ```ts
 * let env: TestEndpoint;
 * beforeAll(async () => { env = await startTestEndpoint(); });
 * afterAll(() => env.close());
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AthenaClient } from '@aws-sdk/client-athena';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { startLocalEndpoint, type LocalEndpoint, type LocalEndpointOptions } from '../../lib/local/server';

export interface TestEndpoint {
  /** Endpoint URL, or undefined for real AWS. */
  url: string | undefined;
  /** True when this is the in-process local endpoint (local-only assertions may run). */
  isLocal: boolean;
  /** The local endpoint's data directory ('' when remote). */
  dataDir: string;
  region: string;
  s3: S3Client;
  glue: GlueClient;
  athena: AthenaClient;
  /** A name unique to this run, for buckets, databases and workgroups (lower-case, `prefix-xxxx`). */
  unique(prefix: string): string;
  /** Restarts the local endpoint on the same data directory (persistence tests); remote: no-op. */
  restart(): Promise<void>;
  /** Stops the endpoint (if local), destroys the clients and removes the temp directory. */
  close(): Promise<void>;
}

/**
 * True when the suite runs against another endpoint (`LAKELOADER_TEST_ENDPOINT`: LocalStack or
 * AWS). Checks of the local endpoint's own internals (its files, restarts, its error wording) are
 * declared `it.skipIf(remoteEndpoint)` — reported as skipped there, never as passed.
 */
export const remoteEndpoint = !!process.env.LAKELOADER_TEST_ENDPOINT;

/**
 * `LAKELOADER_TEST_SERVER=<path of another checkout's lib/local/server.ts>` runs the suite against
 * that version of the endpoint, in process (the before/after comparison of docs/local-endpoint.md).
 */
async function startFunction(): Promise<typeof startLocalEndpoint> {
  const other = process.env.LAKELOADER_TEST_SERVER;
  if (!other) return startLocalEndpoint;
  return ((await import(resolve(other))) as { startLocalEndpoint: typeof startLocalEndpoint }).startLocalEndpoint;
}

/** Builds SDK clients for `url` (undefined = AWS defaults). */
export function makeClients(url: string | undefined, region = 'us-east-1') {
  const credentials = url ? { accessKeyId: 'test', secretAccessKey: 'test' } : undefined;
  const common = { region, ...(url ? { endpoint: url } : {}), ...(credentials ? { credentials } : {}), maxAttempts: 2 };
  return {
    s3: new S3Client({ ...common, forcePathStyle: true }),
    glue: new GlueClient(common),
    athena: new AthenaClient(common),
  };
}

/** Starts the endpoint for a test file (see module docs). */
export async function startTestEndpoint(opts: Partial<LocalEndpointOptions> = {}): Promise<TestEndpoint> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const remote = process.env.LAKELOADER_TEST_ENDPOINT;
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const unique = (prefix: string) => `${prefix}-${suffix}`.toLowerCase();
  if (remote) {
    const url = remote === 'aws' ? undefined : remote;
    const clients = makeClients(url, region);
    return {
      url,
      isLocal: false,
      dataDir: '',
      region,
      ...clients,
      unique,
      async restart() {},
      async close() {
        clients.s3.destroy();
        clients.glue.destroy();
        clients.athena.destroy();
      },
    };
  }
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'lakeloader-endpoint-')));
  const start = await startFunction();
  let ep: LocalEndpoint = await start({ ...opts, dataDir, port: 0 });
  let clients = makeClients(ep.url, region);
  const env: TestEndpoint = {
    url: ep.url,
    isLocal: true,
    dataDir,
    region,
    ...clients,
    unique,
    async restart() {
      await ep.close();
      clients.s3.destroy();
      clients.glue.destroy();
      clients.athena.destroy();
      ep = await start({ ...opts, dataDir, port: 0 });
      clients = makeClients(ep.url, region);
      Object.assign(env, { url: ep.url, ...clients });
    },
    async close() {
      clients.s3.destroy();
      clients.glue.destroy();
      clients.athena.destroy();
      await ep.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return env;
}
