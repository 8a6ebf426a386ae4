/**
 * Producing with a registered schema, as Confluent's serializers do: the schema is looked up under
 * its subject and registered when absent (a Confluent-compatible REST API: the local one of
 * `lakeloader dev`, or Confluent's), then each value is encoded with it and framed with magic
 * byte 0, the schema id and — for Protobuf — the message-index array. Values come as JSON: Avro
 * takes ISO-8601 text for timestamps and dates and decimal text for decimals, Protobuf ISO-8601
 * text for `google.protobuf.Timestamp`; integers beyond 2^53 stay exact.
 */
import { readFile } from 'node:fs/promises';
import { LakeloaderError } from '../../lambdas/core/errors';
import { avroEncoder } from '../../lambdas/core/formats/avro';
import { protobufEncoder } from '../../lambdas/core/formats/protobuf';
import { confluentFrame } from '../../lambdas/core/formats/wire';
import { parseJsonExact } from '../../lambdas/core/json';

/** The registry refused or could not be reached; the message says what it answered. */
export class RegistryClientError extends LakeloaderError {
  readonly code = 'SCHEMA_REGISTRY_CLIENT';
}

/** A value that does not fit the schema (or is not JSON). */
export class EncodeError extends LakeloaderError {
  readonly code = 'ENCODE';
}

export type EncodedFormat = 'avro' | 'protobuf';

export interface RegisteredEncoder {
  /** The schema id values are framed with. */
  schemaId: number;
  /** Whether this call registered the schema (false: it was registered already). */
  registered: boolean;
  subject: string;
  /** Encodes one value (a JS object) and frames it. @throws EncodeError */
  encode(value: unknown): Buffer;
  /** Encodes one JSON text (big integers exact). @throws EncodeError */
  encodeJson(text: string): Buffer;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

async function call(url: string, init: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { 'Content-Type': CONTENT_TYPE, Accept: CONTENT_TYPE, ...(init.headers ?? {}) } });
  } catch (e) {
    throw new RegistryClientError(`schema registry ${new URL(url).origin} unreachable: ${(e as Error).message}; start it (lakeloader dev serves one on :8081) or pass --registry`, { cause: e });
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { message: text };
  }
  return { status: res.status, body };
}

/**
 * The id of `schema` under `subject`, registering it when the subject does not hold it yet.
 * @throws RegistryClientError when the registry refuses it (e.g. 409: incompatible with the subject's compatibility level)
 */
export async function registerIfAbsent(registryUrl: string, subject: string, format: EncodedFormat, schema: string): Promise<{ id: number; registered: boolean }> {
  const base = registryUrl.replace(/\/+$/, '');
  const payload = JSON.stringify({ schema, ...(format === 'protobuf' ? { schemaType: 'PROTOBUF' } : {}) });
  const subjectPath = `${base}/subjects/${encodeURIComponent(subject)}`;
  const found = await call(subjectPath, { method: 'POST', body: payload });
  if (found.status === 200 && typeof found.body.id === 'number') return { id: found.body.id, registered: false };
  if (found.status !== 404) throw new RegistryClientError(`schema lookup under subject "${subject}" failed: HTTP ${found.status} ${String(found.body.message ?? '')}`);
  const reg = await call(`${subjectPath}/versions`, { method: 'POST', body: payload });
  if (reg.status !== 200 || typeof reg.body.id !== 'number') {
    throw new RegistryClientError(`registering the schema under subject "${subject}" failed: HTTP ${reg.status} ${String(reg.body.message ?? '')}${reg.status === 409 ? ' (incompatible with the subject; see its /config compatibility level)' : ''}`);
  }
  return { id: reg.body.id, registered: true };
}

/**
 * An encoder for `format` with `schema` (text), registered under `subject` if absent.
 * @param message Protobuf: the message's full name (default: the file's first message)
 */
export async function registeredEncoder(opts: { registryUrl: string; subject: string; format: EncodedFormat; schema: string; message?: string }): Promise<RegisteredEncoder> {
  let encodeValue: (value: unknown) => Uint8Array;
  let indexes: number[] | undefined;
  try {
    if (opts.format === 'avro') encodeValue = avroEncoder(opts.schema);
    else {
      const p = protobufEncoder(opts.schema, opts.message);
      encodeValue = (v) => p.encode(v);
      indexes = p.indexes;
    }
  } catch (e) {
    throw new EncodeError(`the ${opts.format} schema cannot be used: ${(e as Error).message}`, { cause: e });
  }
  const { id, registered } = await registerIfAbsent(opts.registryUrl, opts.subject, opts.format, opts.schema);
  const encode = (value: unknown): Buffer => {
    try {
      return confluentFrame(id, encodeValue(opts.format === 'protobuf' ? bigintsAsText(value) : value), indexes);
    } catch (e) {
      throw new EncodeError(`does not fit the ${opts.format} schema (id ${id}): ${(e as Error).message}`, { cause: e });
    }
  };
  return {
    schemaId: id,
    registered,
    subject: opts.subject,
    encode,
    encodeJson(text) {
      let v: unknown;
      try {
        v = parseJsonExact(text, 100);
      } catch (e) {
        throw new EncodeError(`not JSON: ${(e as Error).message}`, { cause: e });
      }
      return encode(v);
    },
  };
}

/** An encoder from a schema file: `.avsc` → Avro, `.proto` → Protobuf. */
export async function registeredEncoderFromFile(opts: { registryUrl: string; subject: string; format: EncodedFormat; schemaFile: string; message?: string }): Promise<RegisteredEncoder> {
  let schema: string;
  try {
    schema = await readFile(opts.schemaFile, 'utf8');
  } catch (e) {
    throw new EncodeError(`cannot read the schema file ${opts.schemaFile}: ${(e as Error).message}`, { cause: e });
  }
  return registeredEncoder({ ...opts, schema });
}

/** protobufjs takes 64-bit integers as decimal text, not bigint. */
function bigintsAsText(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(bigintsAsText);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bigintsAsText(x)]));
  return v;
}
