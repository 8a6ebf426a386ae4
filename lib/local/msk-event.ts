/**
 * Builds MSK events exactly in the shape the Lambda event source mapping delivers them: records
 * grouped under `topic-partition`, key and value base64, headers as arrays of `{ name: bytes[] }`.
 * Used by the local event source mapping, the bench and the tests.
 */
import type { MskEvent, MskRecord } from '../../lambdas/core/model';

export interface ProducedRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Epoch milliseconds. */
  timestamp: number;
  timestampType?: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  key?: Uint8Array | string | null;
  /** Bytes, a string (UTF-8), or null/undefined for a tombstone. */
  value?: Uint8Array | string | null;
  headers?: { key: string; value: Uint8Array | string }[];
}

const b64 = (v: Uint8Array | string) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength)).toString('base64');

/** One record in the ESM's wire shape. */
export function toMskRecord(r: ProducedRecord): MskRecord {
  const out: MskRecord = {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    timestampType: r.timestampType ?? 'CREATE_TIME',
    headers: (r.headers ?? []).map((h) => ({ [h.key]: [...(typeof h.value === 'string' ? Buffer.from(h.value, 'utf8') : h.value)] })),
  };
  if (r.key !== undefined && r.key !== null) out.key = b64(r.key);
  if (r.value !== undefined && r.value !== null) out.value = b64(r.value);
  return out;
}

/**
 * Groups records into an MSK event (`records["topic-partition"]`), keeping each partition's
 * records in the order given.
 */
export function buildMskEvent(
  records: ProducedRecord[],
  source: { eventSource?: 'aws:kafka' | 'SelfManagedKafka'; eventSourceArn?: string; bootstrapServers?: string } = {},
): MskEvent {
  const grouped: Record<string, MskRecord[]> = {};
  for (const r of records) (grouped[`${r.topic}-${r.partition}`] ??= []).push(toMskRecord(r));
  return {
    eventSource: source.eventSource ?? 'aws:kafka',
    eventSourceArn: source.eventSourceArn ?? 'arn:aws:kafka:us-east-1:000000000000:cluster/local/00000000-0000-0000-0000-000000000000-1',
    bootstrapServers: source.bootstrapServers ?? 'localhost:9092',
    records: grouped,
  };
}
