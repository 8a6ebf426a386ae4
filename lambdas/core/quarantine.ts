/**
 * Quarantine entries: a record that cannot become a row, with its Kafka coordinates, raw key and
 * value (base64, as delivered), headers, the failing stage and the reason. Serialized as NDJSON,
 * one object per line, fields exactly those of the quarantine Glue table (QUARANTINE_COLUMNS).
 */
import type { MskRecord, QuarantineEntry, QuarantineStage } from './model';
import { LOADER_VERSION } from './version';

/** Headers of an ESM record (`[{ name: bytes[] }]`) as `{ key, value_base64 }` pairs. */
export function quarantineHeaders(headers: MskRecord['headers'] | undefined): QuarantineEntry['headers'] {
  const out: QuarantineEntry['headers'] = [];
  for (const h of headers ?? []) {
    for (const key of Object.keys(h)) out.push({ key, value_base64: Buffer.from(h[key]).toString('base64') });
  }
  return out;
}

/** The quarantine entry of one record. */
export function quarantineEntry(pipeline: string, record: MskRecord, stage: QuarantineStage, error: string): QuarantineEntry {
  return {
    pipeline,
    topic: record.topic,
    kafka_partition: record.partition,
    kafka_offset: record.offset,
    kafka_timestamp: record.timestamp,
    timestamp_type: record.timestampType,
    key_base64: record.key ?? null,
    value_base64: record.value ?? null,
    headers: quarantineHeaders(record.headers),
    stage,
    error,
    loader_version: LOADER_VERSION,
  };
}

/**
 * Quarantine entries as NDJSON bytes: one JSON object per line, each line ending in `\n`, fields
 * in QUARANTINE_COLUMNS order. No entries → zero bytes.
 */
export function serializeQuarantine(entries: QuarantineEntry[]): Uint8Array {
  let text = '';
  for (const e of entries) {
    text +=
      JSON.stringify({
        pipeline: e.pipeline,
        topic: e.topic,
        kafka_partition: e.kafka_partition,
        kafka_offset: e.kafka_offset,
        kafka_timestamp: e.kafka_timestamp,
        timestamp_type: e.timestamp_type,
        key_base64: e.key_base64,
        value_base64: e.value_base64,
        headers: e.headers.map((h) => ({ key: h.key, value_base64: h.value_base64 })),
        stage: e.stage,
        error: e.error,
        loader_version: e.loader_version,
      }) + '\n';
  }
  return new Uint8Array(Buffer.from(text, 'utf8'));
}
