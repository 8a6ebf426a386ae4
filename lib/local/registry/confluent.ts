/**
 * A Confluent-compatible Schema Registry REST API, served by `lakeloader dev` on
 * `--registry-port` (default 8081, as Confluent's): subjects and their versions, schemas by id,
 * lookups, soft and permanent deletes, compatibility checks (BACKWARD by default, all seven
 * levels, globally and per subject; Avro by Avro's resolution rules, see compat.ts), with
 * Confluent's error codes (40401 subject, 40402 version, 40403 schema not found, 409
 * incompatible, 42201 invalid schema, 42202 invalid version, 42203 invalid level). Serializers
 * and clients made for Confluent's registry (kafkajs' @kafkajs/confluent-schema-registry,
 * Confluent's own clients, curl) work against it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { COMPATIBILITY_LEVELS, compatibilityProblems, schemaProblem, type Compatibility, type SchemaType } from './compat';
import { RegistryStore, type Reference, type RegistryState, type StoredSchema } from './store';

class SrError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}
const notFound = {
  subject: (s: string) => new SrError(404, 40401, `Subject '${s}' not found.`),
  version: (v: string) => new SrError(404, 40402, `Version ${v} not found.`),
  schema: (what = 'Schema not found') => new SrError(404, 40403, what),
};

export interface LocalSchemaRegistry {
  url: string;
  port: number;
  store: RegistryStore;
  close(): Promise<void>;
}

const TYPES: SchemaType[] = ['AVRO', 'PROTOBUF', 'JSON'];
/** Canonical text for "the same schema" (JSON schemas compared without insignificant whitespace). */
const canonical = (type: SchemaType, text: string) => {
  if (type === 'PROTOBUF') return text.trim();
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text.trim();
  }
};

/** The subject's live versions, oldest first. */
const live = (st: RegistryState, subject: string) => (st.subjects[subject]?.deleted ? [] : (st.subjects[subject]?.versions ?? []).filter((v) => !v.deleted));

function schemaById(st: RegistryState, id: number): StoredSchema | undefined {
  return st.schemas.find((s) => s.id === id);
}

function referencedTexts(st: RegistryState, refs: Reference[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of refs) {
    const v = (st.subjects[r.subject]?.versions ?? []).find((x) => x.version === r.version);
    const s = v && schemaById(st, v.id);
    if (!s) throw new SrError(422, 42201, `Invalid schema: reference ${r.name} (subject ${r.subject} version ${r.version}) not found`);
    out[r.name] = s.schema;
  }
  return out;
}

function versionOf(st: RegistryState, subject: string, v: string) {
  const versions = live(st, subject);
  if (!st.subjects[subject] || st.subjects[subject].deleted || versions.length === 0) throw notFound.subject(subject);
  if (v === 'latest' || v === '-1') return versions[versions.length - 1]!;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new SrError(422, 42202, `The specified version '${v}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`);
  const found = versions.find((x) => x.version === Number(v));
  if (!found) throw notFound.version(v);
  return found;
}

function levelOf(st: RegistryState, subject: string): Compatibility {
  return st.subjects[subject]?.compatibility ?? st.compatibility;
}

function versionBody(st: RegistryState, subject: string, v: { version: number; id: number }) {
  const s = schemaById(st, v.id)!;
  return { subject, version: v.version, id: v.id, schema: s.schema, ...(s.schemaType !== 'AVRO' ? { schemaType: s.schemaType } : {}), ...(s.references.length ? { references: s.references } : {}) };
}

function parseBody(body: unknown): { schema: string; schemaType: SchemaType; references: Reference[] } {
  const b = body as { schema?: unknown; schemaType?: unknown; references?: unknown };
  if (typeof b?.schema !== 'string') throw new SrError(422, 42201, 'Invalid schema: the request needs a "schema" string');
  const schemaType = (typeof b.schemaType === 'string' ? b.schemaType.toUpperCase() : 'AVRO') as SchemaType;
  if (!TYPES.includes(schemaType)) throw new SrError(422, 42201, `Invalid schema type ${String(b.schemaType)}; supported: AVRO, PROTOBUF, JSON`);
  const references = Array.isArray(b.references) ? (b.references as Reference[]) : [];
  return { schema: b.schema, schemaType, references };
}

/** Handles one REST call against the state. */
async function route(store: RegistryStore, method: string, path: string, query: URLSearchParams, body: unknown): Promise<unknown> {
  const st = store.state;
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (seg.length === 0 && method === 'GET') return {};
  if (seg[0] === 'schemas') {
    if (seg[1] === 'types' && seg.length === 2) return TYPES;
    if (seg[1] === 'ids' && seg[2]) {
      const s = schemaById(st, Number(seg[2]));
      if (!s || !/^\d+$/.test(seg[2])) throw notFound.schema();
      if (seg.length === 3) return { schema: s.schema, ...(s.schemaType !== 'AVRO' ? { schemaType: s.schemaType } : {}), ...(s.references.length ? { references: s.references } : {}) };
      if (seg[3] === 'schema') return s.schema;
      if (seg[3] === 'versions' || seg[3] === 'subjects') {
        const out: { subject: string; version: number }[] = [];
        for (const [subject, sub] of Object.entries(st.subjects)) for (const v of sub.versions) if (v.id === s.id && !v.deleted && !sub.deleted) out.push({ subject, version: v.version });
        return seg[3] === 'subjects' ? [...new Set(out.map((o) => o.subject))] : out;
      }
    }
  }
  if (seg[0] === 'subjects') {
    if (seg.length === 1 && method === 'GET') return Object.keys(st.subjects).filter((s) => live(st, s).length > 0 || (query.get('deleted') === 'true' && st.subjects[s].versions.length > 0));
    const subject = seg[1]!;
    if (seg.length === 2 && method === 'POST') {
      const { schema, schemaType } = parseBody(body);
      if (!st.subjects[subject] || live(st, subject).length === 0) throw notFound.subject(subject);
      const c = canonical(schemaType, schema);
      for (const v of live(st, subject)) {
        const s = schemaById(st, v.id)!;
        if (s.schemaType === schemaType && canonical(s.schemaType, s.schema) === c) return versionBody(st, subject, v);
      }
      throw notFound.schema();
    }
    if (seg.length === 2 && method === 'DELETE') {
      return store.mutate((s) => {
        const sub = s.subjects[subject];
        if (!sub || (sub.deleted && query.get('permanent') !== 'true')) throw notFound.subject(subject);
        const versions = sub.versions.map((v) => v.version);
        if (query.get('permanent') === 'true') delete s.subjects[subject];
        else sub.deleted = true;
        return versions;
      });
    }
    if (seg[2] === 'versions') {
      if (seg.length === 3 && method === 'GET') {
        if (!st.subjects[subject] || live(st, subject).length === 0) throw notFound.subject(subject);
        return live(st, subject).map((v) => v.version);
      }
      if (seg.length === 3 && method === 'POST') {
        const { schema, schemaType, references } = parseBody(body);
        const imports = referencedTexts(st, references);
        const problem = schemaProblem(schemaType, schema, imports);
        if (problem) throw new SrError(422, 42201, `Invalid schema: ${problem}`);
        return store.mutate((s) => {
          const c = canonical(schemaType, schema);
          const versions = live(s, subject);
          for (const v of versions) {
            const old = schemaById(s, v.id)!;
            if (old.schemaType === schemaType && canonical(old.schemaType, old.schema) === c) return { id: v.id };
          }
          const earlier = versions.map((v) => schemaById(s, v.id)!).filter((x) => x.schemaType === schemaType).map((x) => x.schema);
          const problems = compatibilityProblems(schemaType, levelOf(s, subject), schema, earlier);
          if (problems.length) throw new SrError(409, 409, `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: ${problems.join('; ')}`);
          let stored = s.schemas.find((x) => x.schemaType === schemaType && canonical(x.schemaType, x.schema) === c && JSON.stringify(x.references) === JSON.stringify(references));
          if (!stored) {
            stored = { id: s.nextId++, schemaType, schema, references };
            s.schemas.push(stored);
          }
          const sub = (s.subjects[subject] ??= { versions: [] });
          if (sub.deleted) sub.deleted = false;
          const next = Math.max(0, ...sub.versions.map((v) => v.version)) + 1;
          sub.versions.push({ version: next, id: stored.id });
          return { id: stored.id };
        });
      }
      if (seg.length >= 4) {
        if (method === 'DELETE') {
          return store.mutate((s) => {
            const v = versionOf(s, subject, seg[3]!);
            v.deleted = true;
            return v.version;
          });
        }
        const v = versionOf(st, subject, seg[3]!);
        if (seg.length === 4) return versionBody(st, subject, v);
        if (seg[4] === 'schema') return schemaById(st, v.id)!.schema;
        if (seg[4] === 'referencedby') return st.schemas.filter((x) => x.references.some((r) => r.subject === subject && r.version === v.version)).map((x) => x.id);
      }
    }
  }
  if (seg[0] === 'compatibility' && seg[1] === 'subjects' && method === 'POST') {
    const subject = seg[2]!;
    const { schema, schemaType } = parseBody(body);
    const problem = schemaProblem(schemaType, schema);
    if (problem) throw new SrError(422, 42201, `Invalid schema: ${problem}`);
    const level = levelOf(st, subject);
    let earlier: string[];
    if (seg[3] === 'versions' && seg[4]) {
      const v = versionOf(st, subject, seg[4]);
      earlier = level.endsWith('_TRANSITIVE') ? live(st, subject).filter((x) => x.version <= v.version).map((x) => schemaById(st, x.id)!.schema) : [schemaById(st, v.id)!.schema];
    } else earlier = live(st, subject).map((x) => schemaById(st, x.id)!.schema);
    const problems = compatibilityProblems(schemaType, level, schema, earlier);
    return { is_compatible: problems.length === 0, ...(query.get('verbose') === 'true' ? { messages: problems } : {}) };
  }
  if (seg[0] === 'config') {
    const subject = seg[1];
    if (method === 'GET') {
      if (subject && !st.subjects[subject]?.compatibility && query.get('defaultToGlobal') !== 'true') throw new SrError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`);
      return { compatibilityLevel: subject ? levelOf(st, subject) : st.compatibility };
    }
    if (method === 'PUT') {
      const level = String((body as { compatibility?: unknown })?.compatibility ?? '').toUpperCase() as Compatibility;
      if (!COMPATIBILITY_LEVELS.includes(level)) throw new SrError(422, 42203, `Invalid compatibility level. Valid values are ${COMPATIBILITY_LEVELS.join(', ')}`);
      return store.mutate((s) => {
        if (subject) (s.subjects[subject] ??= { versions: [] }).compatibility = level;
        else s.compatibility = level;
        return { compatibility: level };
      });
    }
    if (method === 'DELETE' && subject) {
      return store.mutate((s) => {
        const old = levelOf(s, subject);
        if (s.subjects[subject]) delete s.subjects[subject].compatibility;
        return { compatibilityLevel: old };
      });
    }
  }
  if (seg[0] === 'mode' && method === 'GET') return { mode: 'READWRITE' };
  throw new SrError(404, 404, `HTTP 404 Not Found: ${method} ${path} is not part of the Schema Registry API served by lakeloader dev`);
}

/**
 * Starts the Confluent-compatible registry on `port` (0 = any free port).
 * @param store the shared registry state (see {@link RegistryStore.open})
 */
export async function startConfluentRegistry(opts: { store: RegistryStore; port?: number; host?: string }): Promise<LocalSchemaRegistry> {
  const host = opts.host ?? '127.0.0.1';
  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/vnd.schemaregistry.v1+json');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown;
    const text = Buffer.concat(chunks).toString('utf8');
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return send(res, 422, { error_code: 42201, message: 'Invalid request body: not JSON' });
    }
    try {
      send(res, 200, await route(opts.store, req.method ?? 'GET', url.pathname, url.searchParams, body));
    } catch (e) {
      if (e instanceof SrError) send(res, e.status, { error_code: e.errorCode, message: e.message });
      else send(res, 500, { error_code: 50001, message: `Error in the backend data store: ${(e as Error).message}` });
    }
  };
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => void handle(req, res));
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(new Error(e.code === 'EADDRINUSE' ? `port ${opts.port ?? 8081} on ${host} is already in use; choose another --registry-port (0 = any free port)` : e.message)));
    server.listen(opts.port ?? 8081, host, () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    store: opts.store,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
