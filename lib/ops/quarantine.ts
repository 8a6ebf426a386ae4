/**
 * Reads a table's quarantine: the NDJSON objects under `quarantine/<table>/`, one line per record
 * that could not become a row (fields = QUARANTINE_COLUMNS), with the object's ETag so that a
 * replay can rewrite it conditionally. Also selects entries by time, stage and text, and turns an
 * entry back into the Kafka record it came from.
 */
import { quarantinePrefix } from '../../lambdas/core/layout';
import type { MskRecord, QuarantineEntry } from '../../lambdas/core/model';
import type { ObjectStore } from '../../lambdas/core/store';
import { LakeloaderError } from '../../lambdas/core/errors';

/** One line of a quarantine object: its exact text (kept byte for byte on rewrite) and its parsed entry. */
export interface QuarantineLine {
  raw: string;
  entry: QuarantineEntry;
}

/** One quarantine object as read: key, ETag at read time, and its lines. */
export interface QuarantineObject {
  key: string;
  etag: string;
  lines: QuarantineLine[];
}

/** Which quarantined records to select; every given criterion must hold. */
export interface QuarantineFilter {
  /** Kafka record timestamp ≥ this (epoch ms). */
  since?: number;
  /** Kafka record timestamp < this (epoch ms). */
  until?: number;
  /** The stage that failed: decode, transform, conform or partition. */
  stage?: string;
  /** Case-insensitive substring of the error message or of the record's value (as UTF-8 text). */
  match?: string;
  topic?: string;
  partition?: number;
}

/** A quarantine object that is not NDJSON of quarantine entries. */
export class QuarantineFormatError extends LakeloaderError {
  readonly code = 'QUARANTINE_FORMAT';
  constructor(
    readonly key: string,
    readonly line: number,
    detail: string,
  ) {
    super(`quarantine object "${key}" line ${line} is not a quarantine entry (${detail}); move the object aside to replay the rest`);
  }
}

const decoder = new TextDecoder();

/** Parses an NDJSON quarantine body; blank lines are ignored. */
export function parseQuarantine(key: string, body: Uint8Array): QuarantineLine[] {
  const out: QuarantineLine[] = [];
  const text = decoder.decode(body);
  let n = 0;
  for (const raw of text.split('\n')) {
    n++;
    if (raw.trim() === '') continue;
    let entry: QuarantineEntry;
    try {
      entry = JSON.parse(raw) as QuarantineEntry;
    } catch (e) {
      throw new QuarantineFormatError(key, n, (e as Error).message);
    }
    if (typeof entry?.topic !== 'string' || !Number.isInteger(entry.kafka_partition) || !Number.isInteger(entry.kafka_offset))
      throw new QuarantineFormatError(key, n, 'topic, kafka_partition or kafka_offset missing');
    out.push({ raw, entry });
  }
  return out;
}

/** Lists the keys of a table's quarantine objects with their sizes, in key order. */
export async function listQuarantine(store: ObjectStore, table: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  for await (const o of store.list(quarantinePrefix(table))) if (o.key.endsWith('.ndjson')) out.push({ key: o.key, size: o.size });
  return out;
}

/** Reads one quarantine object with its ETag; null when it vanished. */
export async function readQuarantineObject(store: ObjectStore, key: string): Promise<QuarantineObject | null> {
  const got = await store.get(key);
  if (!got) return null;
  return { key, etag: got.etag, lines: parseQuarantine(key, got.body) };
}

/** The record's value as text (lossy for binary values), for `--match`. */
export function valueText(entry: QuarantineEntry): string {
  return entry.value_base64 ? Buffer.from(entry.value_base64, 'base64').toString('utf8') : '';
}

/** True when an entry satisfies every criterion of the filter. */
export function matchesFilter(entry: QuarantineEntry, f: QuarantineFilter): boolean {
  if (f.since !== undefined && !(entry.kafka_timestamp >= f.since)) return false;
  if (f.until !== undefined && !(entry.kafka_timestamp < f.until)) return false;
  if (f.stage !== undefined && entry.stage !== f.stage) return false;
  if (f.topic !== undefined && entry.topic !== f.topic) return false;
  if (f.partition !== undefined && entry.kafka_partition !== f.partition) return false;
  if (f.match !== undefined && f.match !== '') {
    const needle = f.match.toLowerCase();
    if (!entry.error.toLowerCase().includes(needle) && !valueText(entry).toLowerCase().includes(needle)) return false;
  }
  return true;
}

/** What a fix function may change in a record; omitted fields keep the quarantined ones. */
export interface RecordPatch {
  /** The new value: a string (UTF-8), bytes, or any other JSON value (serialized with JSON.stringify); null makes a tombstone. */
  value?: string | Uint8Array | null | object | number | boolean;
  key?: string | Uint8Array | null;
  headers?: { key: string; value: string | Uint8Array }[];
}

const toB64 = (v: string | Uint8Array) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength)).toString('base64');

/**
 * Rebuilds the Kafka record of a quarantine entry, with its original topic, partition, offset and
 * timestamp, optionally patched by a fix function's result.
 */
export function entryToRecord(entry: QuarantineEntry, patch?: RecordPatch): MskRecord {
  const rec: MskRecord = {
    topic: entry.topic,
    partition: entry.kafka_partition,
    offset: entry.kafka_offset,
    timestamp: entry.kafka_timestamp,
    timestampType: entry.timestamp_type,
    headers: (entry.headers ?? []).map((h) => ({ [h.key]: [...Buffer.from(h.value_base64, 'base64')] })),
  };
  if (entry.key_base64 !== null && entry.key_base64 !== undefined) rec.key = entry.key_base64;
  if (entry.value_base64 !== null && entry.value_base64 !== undefined) rec.value = entry.value_base64;
  if (patch) {
    if ('value' in patch) {
      const v = patch.value;
      if (v === null || v === undefined) delete rec.value;
      else if (typeof v === 'string' || v instanceof Uint8Array) rec.value = toB64(v);
      else rec.value = toB64(JSON.stringify(v));
    }
    if ('key' in patch) {
      if (patch.key === null || patch.key === undefined) delete rec.key;
      else rec.key = toB64(patch.key);
    }
    if (patch.headers) rec.headers = patch.headers.map((h) => ({ [h.key]: [...(typeof h.value === 'string' ? Buffer.from(h.value, 'utf8') : h.value)] }));
  }
  return rec;
}
