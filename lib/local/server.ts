/**
 * The offline AWS endpoint: one HTTP server on 127.0.0.1 that speaks S3 (REST, path-style), Glue
 * (JSON 1.1) and Athena (JSON 1.1, SQL by DuckDB over the lake files), so the production code
 * paths — the real AWS SDK v3 clients — run unchanged without an account.
 *
 * Routing: `X-Amz-Target: AWSGlue.<Op>` → Glue, `X-Amz-Target: AmazonAthena.<Op>` → Athena,
 * everything else → S3. By default any SigV4 signature is accepted and not verified; with
 * `enforceIam` each request must be signed by a configured key and is judged against the IAM
 * policies of a synthesized stack (lib/local/iam/).
 *
 * ```ts
 * const ep = await startLocalEndpoint({ dataDir: '.lakeloader/data', port: 0 });
 * const s3 = new S3Client({ endpoint: ep.url, forcePathStyle: true, region: 'us-east-1', credentials });
 * ```
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { AthenaService } from './athena';
import { AwsJsonError, S3Error } from './errors';
import { LocalGlueCatalog } from './glue';
import { IamEnforcer, type EnforceIamOptions, type Identity } from './iam/enforcer';
import { statementsOf, type PolicyDocument, type PolicyStatement } from './iam/policy';
import { handleS3, sendS3Error, type S3Context } from './s3';
import { MultipartUploads } from './s3/multipart-store';
import { LocalObjectStore } from './store';
import { GLUE_SCHEMA_REGISTRY_OPERATIONS, LocalGlueSchemaRegistry } from './registry/glue-sr';
import { RegistryStore } from './registry/store';
import { LakeloaderError } from '../../lambdas/core/errors';

export interface LocalEndpointOptions {
  /** TCP port; 0 picks an ephemeral port. @default 4566 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Directory for all state: `s3/` (objects as plain files), `s3-meta/`, `glue/`, `athena/`. */
  dataDir: string;
  /** Region reported to clients. @default 'us-east-1' */
  region?: string;
  /** Called once per request, after routing, before the operation runs. */
  onRequest?: (info: { service: 's3' | 'glue' | 'athena'; operation: string; bucket?: string; key?: string }) => void;
  /** How many Athena queries run in DuckDB at the same time (more wait as QUEUED). @default 2 */
  athenaConcurrency?: number;
  /** The schema registries' state (shared with the Confluent REST registry of `lakeloader dev`). @default opened under dataDir */
  registryStore?: RegistryStore;
  /**
   * Verify SigV4 signatures and evaluate IAM policies of a synthesized stack (off by default, as
   * in LocalStack). See lib/local/iam/enforcer.ts.
   * @default undefined (every request is accepted)
   */
  enforceIam?: EnforceIamOptions;
}

/** A running endpoint. */
export interface LocalEndpoint {
  /** Base URL for SDK clients' `endpoint`, e.g. `http://127.0.0.1:4566`. */
  url: string;
  port: number;
  /** Absolute data directory. */
  dataDir: string;
  /** The schema registries' state (Glue Schema Registry actions; hand it to startConfluentRegistry to share it). */
  registryStore: RegistryStore;
  /** With `enforceIam`: the accepted keys and what they act as, and the stack outputs read. */
  iam?: { describe(): string[]; outputs(): Record<string, string> };
  /** Stops accepting connections, cancels running queries and waits for in-flight requests. */
  close(): Promise<void>;
}

/** Thrown when the endpoint cannot start (port in use, unwritable data directory). */
export class LocalEndpointStartError extends LakeloaderError {
  readonly code = 'LOCAL_ENDPOINT_START';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** The account the endpoint reports (owner ids, ARNs), as LocalStack does. */
export const ACCOUNT_ID = '000000000000';

/**
 * Starts the offline endpoint and resolves once it listens.
 * @throws LocalEndpointStartError when the port is taken or the data directory cannot be created.
 */
export async function startLocalEndpoint(opts: LocalEndpointOptions): Promise<LocalEndpoint> {
  const dataDir = resolve(opts.dataDir);
  const region = opts.region ?? 'us-east-1';
  const host = opts.host ?? '127.0.0.1';
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (e) {
    throw new LocalEndpointStartError(`cannot create the data directory ${dataDir}: ${(e as Error).message}; pass a writable --data directory`, { cause: e });
  }
  const store = new LocalObjectStore(dataDir);
  const s3: S3Context = { store, uploads: new MultipartUploads(dataDir), region, accountId: ACCOUNT_ID };
  const iam = opts.enforceIam ? IamEnforcer.create(opts.enforceIam, region, ACCOUNT_ID) : undefined;
  const glue = await LocalGlueCatalog.open(dataDir);
  const athena = await AthenaService.open({ dataDir, region, store, glue, concurrency: opts.athenaConcurrency ?? 2 });
  const registryStore = opts.registryStore ?? (await RegistryStore.open(dataDir));
  const schemaRegistry = new LocalGlueSchemaRegistry(registryStore, region);

  /** The bucket policy set through the S3 API, if any (it replaces the stack's). */
  const storedPolicy = async (bucket: string | undefined): Promise<PolicyStatement[] | undefined> => {
    if (!bucket || !(await store.bucketExists(bucket))) return undefined;
    const doc = (await store.bucketInfo(bucket)).config?.policy;
    return doc ? statementsOf(JSON.parse(doc) as PolicyDocument) : undefined;
  };
  /** The workgroups of the query executions a call names (for the Athena IAM resource). */
  const workGroups = async (input: Record<string, unknown>): Promise<Map<string, string>> => {
    const ids = [input.QueryExecutionId, ...((input.QueryExecutionIds as unknown[] | undefined) ?? [])].filter((x): x is string => typeof x === 'string');
    const out = new Map<string, string>();
    for (const id of ids) {
      const wg = await athena.handle('GetQueryExecution', { QueryExecutionId: id }).then((r) => (r as { QueryExecution?: { WorkGroup?: string } }).QueryExecution?.WorkGroup, () => undefined);
      if (wg) out.set(id, wg);
    }
    return out;
  };

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    // The endpoint's own clock, the one its SigV4 checks use: SDKs correct their clock skew from
    // this header (Node's default comes from a clock of its own that a faked test clock misses).
    res.setHeader('Date', new Date().toUTCString());
    // Not `new URL()`: it would normalize `.` and `..` segments, which are legal in S3 keys.
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    const searchParams = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const target = String(req.headers['x-amz-target'] ?? '');
    const service = target.startsWith('AWSGlue.') ? 'glue' : target.startsWith('AmazonAthena.') ? 'athena' : 's3';
    const rawQuery = q < 0 ? '' : raw.slice(q + 1);
    if (service === 's3') {
      try {
        let ctx = s3;
        if (iam) {
          const id: Identity = iam.authenticate('s3', { req, path: pathname, rawQuery });
          ctx = { ...s3, authorize: async (call) => iam.authorizeS3(id, call, req, await storedPolicy(call.bucket)) };
        }
        await handleS3(ctx, req, res, pathname, searchParams, (info) => opts.onRequest?.({ service: 's3', ...info }));
      } catch (e) {
        const err = e instanceof S3Error ? e : new S3Error('InternalError', `local endpoint failure: ${(e as Error).message}`, 500);
        // An error may come before the body was read (NoSuchBucket on a PUT): drain it, so the
        // client is not reset while still sending, and keep the connection usable.
        if (!req.readableEnded) req.resume();
        if (!res.headersSent) sendS3Error(res, err, req.method ?? 'GET', pathname, requestId);
        else res.destroy(err);
      }
      return;
    }
    const operation = target.slice(target.indexOf('.') + 1);
    opts.onRequest?.({ service, operation });
    res.setHeader('x-amzn-RequestId', requestId);
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      const id = iam?.authenticate(service, { req, path: pathname, rawQuery, body: bytes });
      const text = bytes.toString('utf8');
      let input: Record<string, unknown>;
      try {
        input = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        throw new AwsJsonError('SerializationException', 'the request body is not valid JSON');
      }
      if (iam && id) {
        const groups = service === 'athena' ? await workGroups(input) : new Map<string, string>();
        const registryCall = service === 'glue' && GLUE_SCHEMA_REGISTRY_OPERATIONS.has(operation);
        iam.authorizeJson(id, service, operation, input, req, (x) => groups.get(x), registryCall ? schemaRegistry.iamResources(input) : undefined);
      }
      const out =
        service === 'athena' ? await athena.handle(operation, input) : GLUE_SCHEMA_REGISTRY_OPERATIONS.has(operation) ? await schemaRegistry.handle(operation, input) : await glue.handle(operation, input);
      const body = JSON.stringify(out ?? {});
      res.statusCode = 200;
      res.setHeader('Content-Type', JSON_CONTENT_TYPE);
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(body);
    } catch (e) {
      const err = e instanceof AwsJsonError ? e : new AwsJsonError('InternalServiceException', `local endpoint failure: ${(e as Error).message}`, 500);
      const body = JSON.stringify({ __type: err.type, message: err.message, Message: err.message });
      res.statusCode = err.status;
      res.setHeader('Content-Type', JSON_CONTENT_TYPE);
      res.setHeader('x-amzn-ErrorType', err.type);
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(body);
    }
  };

  // A long keep-alive: SDK clients pool sockets, and a server-side idle close racing a client's
  // reuse of the socket surfaces as ECONNRESET (fatal for clients with maxAttempts: 1).
  const trace = process.env.LAKELOADER_ENDPOINT_TRACE === '1';
  const server = createServer({ keepAliveTimeout: 600_000 }, (req, res) => {
    if (trace) {
      const t0 = performance.now();
      process.stderr.write(`[endpoint] > ${req.method} ${req.headers['x-amz-target'] ?? req.url}\n`);
      res.on('close', () =>
        process.stderr.write(`[endpoint] ${req.method} ${req.headers['x-amz-target'] ?? req.url} ${res.statusCode} ${(performance.now() - t0).toFixed(1)}ms\n`),
      );
    }
    handler(req, res).catch((e: unknown) => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end(String(e));
      } else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(new LocalEndpointStartError(
        e.code === 'EADDRINUSE' ? `port ${opts.port ?? 4566} on ${host} is already in use; stop the other process or choose another --port (0 = any free port)` : `cannot listen on ${host}:${opts.port ?? 4566}: ${e.message}`,
        { cause: e },
      )),
    );
    server.listen(opts.port ?? 4566, host, () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    dataDir,
    registryStore,
    ...(iam ? { iam: { describe: () => iam.describe(), outputs: () => iam.outputs() } } : {}),
    close() {
      closed ??= (async () => {
        const done = new Promise<void>((ok) => server.close(() => ok()));
        server.closeIdleConnections();
        await athena.close();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
        await done;
      })();
      return closed;
    },
  };
}
