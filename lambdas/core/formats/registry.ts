/**
 * Writer schemas from a schema registry, fetched once per id and kept for the life of the warm
 * container; concurrent misses for one id share one request.
 *
 * - Confluent Schema Registry (REST): `GET /schemas/ids/{id}` (+ `GET /subjects/{s}/versions/{v}`
 *   for a Protobuf schema's references), basic auth from a Secrets Manager secret
 *   (`{"username", "password"}`, or `{"key", "secret"}` as Confluent Cloud names them).
 * - AWS Glue Schema Registry: `GetSchemaVersion` by the version id in the frame, through the AWS
 *   SDK's Glue client (IAM: `glue:GetSchemaVersion`).
 *
 * An unknown id is the record's fault (its frame names a schema that does not exist: quarantined);
 * anything else — network, 5xx, throttling, credentials — is infrastructure: a
 * {@link SchemaRegistryUnavailableError} fails the batch, which the ESM retries.
 */
import { GetSchemaVersionCommand, type GlueClient } from '@aws-sdk/client-glue';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LakeloaderError } from '../errors';
import { SchemaRegistryUnavailableError } from './errors';

/** A writer schema as the registry stores it. */
export interface WriterSchema {
  /** How the id reads in messages: `schema id 7`, `schema version 1b4e…`. */
  label: string;
  format: 'AVRO' | 'PROTOBUF' | 'JSON';
  text: string;
  /** For Protobuf: imported file name → text (Confluent references). */
  imports: Record<string, string>;
}

/** The registry has no schema with this id: the record that names it is quarantined. */
export class UnknownSchemaError extends LakeloaderError {
  readonly code = 'UNKNOWN_SCHEMA';
  constructor(message: string) {
    super(message);
  }
}

/** Where writer schemas come from. */
export interface SchemaSource {
  /** @throws UnknownSchemaError | SchemaRegistryUnavailableError */
  get(id: string): Promise<WriterSchema>;
}

/** A {@link SchemaSource} that fetches each id once; concurrent requests for one id share the fetch; failures are not cached. */
export class CachedSchemaSource implements SchemaSource {
  private readonly known = new Map<string, Promise<WriterSchema>>();
  /** Fetches made (for tests and logs). */
  fetches = 0;
  constructor(private readonly inner: SchemaSource) {}
  get(id: string): Promise<WriterSchema> {
    let p = this.known.get(id);
    if (!p) {
      this.fetches++;
      p = this.inner.get(id);
      this.known.set(id, p);
      // An unknown id stays unknown (cached); an unavailable registry is asked again next time.
      p.catch((e) => {
        if (!(e instanceof UnknownSchemaError)) this.known.delete(id);
      });
    }
    return p;
  }
}

/** Basic-auth credentials, or a function that loads them (from Secrets Manager) on first use. */
export type Credentials = { username: string; password: string } | (() => Promise<{ username: string; password: string }>);

export interface ConfluentRegistryOptions {
  /** Base URL, e.g. `https://psrc-123.eu-west-1.aws.confluent.cloud` or `http://127.0.0.1:8081`. */
  url: string;
  credentials?: Credentials;
  /** Per-request timeout. @default 10000 ms */
  timeoutMs?: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

const SR_ACCEPT = 'application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json';

/** {@link SchemaSource} over the Confluent Schema Registry REST API. */
export class ConfluentSchemaRegistry implements SchemaSource {
  private auth?: Promise<string | undefined>;
  constructor(private readonly opts: ConfluentRegistryOptions) {}

  private async authorization(): Promise<string | undefined> {
    const c = this.opts.credentials;
    if (!c) return undefined;
    this.auth ??= (async () => {
      const { username, password } = typeof c === 'function' ? await c() : c;
      return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    })();
    this.auth.catch(() => (this.auth = undefined));
    return this.auth;
  }

  private async request(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const url = `${this.opts.url.replace(/\/+$/, '')}${path}`;
    let res: Response;
    try {
      const auth = await this.authorization();
      res = await (this.opts.fetch ?? fetch)(url, {
        headers: { Accept: SR_ACCEPT, ...(auth ? { Authorization: auth } : {}) },
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch (e) {
      throw new SchemaRegistryUnavailableError(`schema registry ${this.opts.url} unreachable (GET ${path}): ${(e as Error).message}; the batch will be retried`, { cause: e });
    }
    const text = await res.text().catch(() => '');
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      if (res.ok) throw new SchemaRegistryUnavailableError(`schema registry ${this.opts.url} answered GET ${path} with a body that is not JSON`);
    }
    return { status: res.status, body };
  }

  async get(id: string): Promise<WriterSchema> {
    const { status, body } = await this.request(`/schemas/ids/${encodeURIComponent(id)}`);
    if (status === 404) throw new UnknownSchemaError(`unknown schema id ${id}: the registry at ${this.opts.url} has no such schema (${String(body.message ?? 'not found')})`);
    if (status === 401 || status === 403) throw new SchemaRegistryUnavailableError(`schema registry ${this.opts.url} refused the credentials (HTTP ${status}): check the credentialsSecret; the batch will be retried`);
    if (status !== 200 || typeof body.schema !== 'string') throw new SchemaRegistryUnavailableError(`schema registry ${this.opts.url} answered GET /schemas/ids/${id} with HTTP ${status}: ${String(body.message ?? '')}; the batch will be retried`);
    const format = (typeof body.schemaType === 'string' ? body.schemaType : 'AVRO').toUpperCase();
    if (format !== 'AVRO' && format !== 'PROTOBUF' && format !== 'JSON') throw new UnknownSchemaError(`schema id ${id} has the unsupported schema type ${format}`);
    const imports: Record<string, string> = {};
    await this.references(body.references, imports, 0);
    return { label: `schema id ${id}`, format, text: body.schema, imports };
  }

  /** Fetches the schemas a schema references (recursively), keyed by the name it imports them by. */
  private async references(refs: unknown, into: Record<string, string>, depth: number): Promise<void> {
    if (!Array.isArray(refs) || depth > 16) return;
    for (const r of refs as { name: string; subject: string; version: number }[]) {
      if (into[r.name] !== undefined) continue;
      const { status, body } = await this.request(`/subjects/${encodeURIComponent(r.subject)}/versions/${encodeURIComponent(String(r.version))}`);
      if (status === 404) throw new UnknownSchemaError(`reference ${r.name} (subject ${r.subject} version ${r.version}) is not in the registry`);
      if (status !== 200 || typeof body.schema !== 'string') throw new SchemaRegistryUnavailableError(`schema registry ${this.opts.url} answered a reference lookup with HTTP ${status}`);
      into[r.name] = body.schema;
      await this.references(body.references, into, depth + 1);
    }
  }
}

/** {@link SchemaSource} over the AWS Glue Schema Registry (GetSchemaVersion by version id). */
export class GlueSchemaRegistry implements SchemaSource {
  constructor(
    private readonly glue: Pick<GlueClient, 'send'>,
    /** The registry the pipeline reads; a version of another registry is refused. */
    private readonly registryName: string,
  ) {}

  async get(id: string): Promise<WriterSchema> {
    let out;
    try {
      out = await this.glue.send(new GetSchemaVersionCommand({ SchemaVersionId: id }));
    } catch (e) {
      const name = (e as Error).name;
      if (name === 'EntityNotFoundException') throw new UnknownSchemaError(`unknown schema version ${id}: the Glue Schema Registry has no such version`);
      if (name === 'InvalidInputException') throw new UnknownSchemaError(`schema version id ${id} is not valid for the Glue Schema Registry: ${(e as Error).message}`);
      throw new SchemaRegistryUnavailableError(`Glue Schema Registry GetSchemaVersion ${id} failed: ${name}: ${(e as Error).message}; the batch will be retried (the loader role needs glue:GetSchemaVersion)`, { cause: e });
    }
    const registry = /:schema\/([^/]+)\//.exec(out.SchemaArn ?? '')?.[1];
    if (registry !== undefined && registry !== this.registryName) throw new UnknownSchemaError(`schema version ${id} belongs to Glue registry "${registry}", not "${this.registryName}" which this pipeline reads`);
    if (out.Status && out.Status !== 'AVAILABLE') throw new UnknownSchemaError(`schema version ${id} has status ${out.Status}, not AVAILABLE`);
    const format = (out.DataFormat ?? 'AVRO').toUpperCase();
    if ((format !== 'AVRO' && format !== 'PROTOBUF' && format !== 'JSON') || typeof out.SchemaDefinition !== 'string') throw new UnknownSchemaError(`schema version ${id} has the unsupported data format ${format}`);
    return { label: `schema version ${id}`, format, text: out.SchemaDefinition, imports: {} };
  }
}

/**
 * Loads `{ username, password }` (or Confluent Cloud's `{ key, secret }`) from a Secrets Manager
 * secret. Imported statically so that the bundle holds this one command, not the whole client.
 */
export function secretsManagerCredentials(secretId: string, clientConfig: Record<string, unknown>): () => Promise<{ username: string; password: string }> {
  return async () => {
    let text: string | undefined;
    try {
      text = (await new SecretsManagerClient(clientConfig).send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
    } catch (e) {
      throw new SchemaRegistryUnavailableError(`cannot read the schema registry credentials secret ${secretId}: ${(e as Error).name}: ${(e as Error).message} (the loader role needs secretsmanager:GetSecretValue on it)`, { cause: e });
    }
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(text ?? '') as Record<string, unknown>;
    } catch {
      throw new SchemaRegistryUnavailableError(`the schema registry credentials secret ${secretId} is not JSON; store {"username": "...", "password": "..."}`);
    }
    const username = v.username ?? v.key;
    const password = v.password ?? v.secret;
    if (typeof username !== 'string' || typeof password !== 'string') throw new SchemaRegistryUnavailableError(`the schema registry credentials secret ${secretId} needs "username" and "password" (or "key" and "secret")`);
    return { username, password };
  };
}
