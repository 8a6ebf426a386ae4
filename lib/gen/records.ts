/**
 * Turns generated clickstream events (and malformed records) into Kafka records and MSK events:
 * keys by user, partitions by a stable hash of the key, offsets per partition, Kafka timestamps
 * from arrival time, a malformed record mixed in at seeded positions.
 */
import type { MskEvent } from '../../lambdas/core/model';
import type { QuarantineStage } from '../../lambdas/core/model';
import { buildMskEvent, type ProducedRecord } from '../local/msk-event';
import { DEFAULT_START_MS, generateClickEvents, type ClickEvent, type ClickstreamOptions } from './clickstream';
import { malformedRecords, type MalformedReason } from './malformed';
import { deriveSeed, mulberry32 } from './prng';

export interface ClickstreamRecordsOptions extends ClickstreamOptions {
  /** Topic. @default 'clicks' */
  topic?: string;
  /** Number of Kafka partitions; records are spread by a stable hash of the key. @default 1 */
  partitions?: number;
  /** First offset of every partition. @default 0 */
  startOffset?: number;
  /** Malformed records mixed in at seeded positions (in addition to `count` valid ones). @default 0 */
  malformed?: number;
  /** Add a `source` header (`web`/`ios`/`android`) to each record. @default true */
  headers?: boolean;
}

/** A record whose value is a valid event, with its expectation. */
export interface ValidRecord {
  record: ProducedRecord;
  event: ClickEvent;
  json: string;
}

/** A malformed record with its category and the stage expected to quarantine it. */
export interface BadRecord {
  record: ProducedRecord;
  reason: MalformedReason;
  stage: QuarantineStage;
}

export interface ClickstreamRecords {
  /** All records in production order (offsets increase per partition). */
  records: ProducedRecord[];
  valid: ValidRecord[];
  bad: BadRecord[];
}

/** FNV-1a of the key text: a stable partitioner (not Kafka's murmur2, but as even and as sticky). */
export function partitionFor(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h % partitions;
}

/**
 * Generates `count` valid clickstream records plus `malformed` bad ones, keyed by user and spread
 * over `partitions` partitions of `topic`, reproducibly from `seed`.
 */
export function generateClickstreamRecords(options: ClickstreamRecordsOptions): ClickstreamRecords {
  const topic = options.topic ?? 'clicks';
  const partitions = options.partitions ?? 1;
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  const malformedCount = options.malformed ?? 0;
  const withHeaders = options.headers ?? true;
  const events = generateClickEvents(options);
  const bad = malformedRecords(options.seed, malformedCount, { start: options.start });
  const rng = mulberry32(deriveSeed(options.seed, 'mix'));
  // Positions (in the combined stream) where the malformed records go.
  const total = events.length + bad.length;
  const badAt = new Set<number>();
  while (badAt.size < bad.length) badAt.add(rng.int(0, total - 1));

  const nextOffset = new Array<number>(partitions).fill(options.startOffset ?? 0);
  const out: ClickstreamRecords = { records: [], valid: [], bad: [] };
  let e = 0;
  let b = 0;
  let lastArrival = events[0]?.arrivalMs ?? options.start?.getTime() ?? DEFAULT_START_MS;
  for (let i = 0; i < total; i++) {
    const isBad = badAt.has(i);
    const key = isBad ? bad[b].key : events[e].key;
    const partition = partitionFor(key, partitions);
    const timestamp = isBad ? lastArrival : (lastArrival = events[e].arrivalMs);
    const record: ProducedRecord = {
      topic,
      partition,
      offset: nextOffset[partition]++,
      timestamp,
      timestampType: 'CREATE_TIME',
      key,
      value: isBad ? bad[b].value : events[e].json,
      headers: withHeaders ? [{ key: 'source', value: rng.pick(['web', 'ios', 'android']) }] : [],
    };
    out.records.push(record);
    if (isBad) {
      out.bad.push({ record, reason: bad[b].reason, stage: bad[b].stage });
      b++;
    } else {
      out.valid.push({ record, event: events[e].event, json: events[e].json });
      e++;
    }
  }
  return out;
}

/** Convenience: generated records as one MSK event (records grouped by `topic-partition`). */
export function generateClickstreamMskEvent(options: ClickstreamRecordsOptions): { event: MskEvent } & ClickstreamRecords {
  const generated = generateClickstreamRecords(options);
  return { event: buildMskEvent(generated.records), ...generated };
}
