/**
 * The model behind the exactly-once properties (test/unit/exactly-once*.test.ts): random Kafka
 * logs of valid and invalid records, and the event source mapping that delivers them at least
 * once — a batch starts up to a few offsets before the ESM's committed position (redelivery with
 * boundaries other than the first attempt's), and the position only advances after an
 * invocation succeeded.
 */
import fc from 'fast-check';
import { CatalogError } from '../../lambdas/core/catalog';
import { ConflictingWriterError } from '../../lambdas/core/commit';
import { BatchLoadError } from '../../lambdas/core/loader';
import type { MskEvent } from '../../lambdas/core/model';
import { ObjectStoreError } from '../../lambdas/core/store';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import { CrashError } from './faults';

/** A positive integer from the environment, or the default. */
export const runs = (name: string, dflt: number): number => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : dflt;
};

/** LAKELOADER_PROPERTY_SEED, for fast-check. */
export const propertySeed = (): number | undefined => (process.env.LAKELOADER_PROPERTY_SEED ? Number(process.env.LAKELOADER_PROPERTY_SEED) : undefined);

// ─── Kafka logs ─────────────────────────────────────────────────────────────────────────────────

/** What a record is: valid (to the table) or invalid in one of several ways (to the quarantine). */
export type Kind = 'valid' | 'bigUser' | 'badJson' | 'missing' | 'badTs' | 'tombstone';
export const VALID_KINDS: ReadonlySet<Kind> = new Set<Kind>(['valid', 'bigUser']);

/** Per Kafka partition: the kind and event hour of each record, offsets from `base`. */
export type LogSpec = Array<{ base: number; records: Array<{ kind: Kind; hour: number }> }>;

/** 1–3 partitions of up to `maxRecords` records each, from offset 0, 7 or 1,000,000. */
export const logsArbOf = (maxRecords: number): fc.Arbitrary<LogSpec> =>
  fc.array(
    fc.record({
      base: fc.constantFrom(0, 0, 7, 1_000_000),
      records: fc.array(
        fc.record({
          kind: fc.constantFrom<Kind>('valid', 'valid', 'valid', 'bigUser', 'badJson', 'missing', 'badTs', 'tombstone'),
          hour: fc.integer({ min: 0, max: 2 }),
        }),
        { minLength: 1, maxLength: maxRecords },
      ),
    }),
    { minLength: 1, maxLength: 3 },
  );

export const logsArb: fc.Arbitrary<LogSpec> = logsArbOf(10);

/**
 * One Kafka record of a clickstream-like table (event_id string, user_id bigint, ts timestamp,
 * all required; country): valid, with a user id beyond 2^53, or invalid (broken JSON, a missing
 * required field, an unparseable timestamp, a tombstone).
 */
export function produce(topic: string, partition: number, offset: number, kind: Kind, hour: number): ProducedRecord {
  const ts = `2026-01-01T0${hour}:15:00Z`;
  const base = { topic, partition, offset, timestamp: Date.parse(ts) };
  const id = `e-${partition}-${offset}`;
  switch (kind) {
    case 'valid':
      return { ...base, value: JSON.stringify({ event_id: id, user_id: offset, ts, country: 'NL' }) };
    case 'bigUser':
      return { ...base, value: `{"event_id":"${id}","user_id":9223372036854775807,"ts":"${ts}"}` };
    case 'badJson':
      return { ...base, value: `{"event_id":"${id}",` };
    case 'missing':
      return { ...base, value: JSON.stringify({ event_id: id, ts }) };
    case 'badTs':
      return { ...base, value: JSON.stringify({ event_id: id, user_id: 1, ts: 'yesterday' }) };
    case 'tombstone':
      return { ...base, value: null };
  }
}

// ─── The event source mapping ───────────────────────────────────────────────────────────────────

/** The offsets `[from, to)` of Kafka partition `p` a batch holds. */
export interface BatchRange {
  p: number;
  from: number;
  to: number;
}

/** The ESM over one topic's logs: its committed position per partition, and the batches it builds from there. */
export class EsmModel {
  /** Per partition: the produced records with their kinds. */
  readonly logs: Array<Array<{ kind: Kind; hour: number; record: ProducedRecord }>>;
  /** Per partition: one past the last offset. */
  readonly end: number[];
  /** Per partition: the ESM's committed position (the next offset it must deliver). */
  readonly pos: number[];

  constructor(
    readonly spec: LogSpec,
    topic: string,
  ) {
    this.logs = spec.map((l, p) => l.records.map((r, i) => ({ ...r, record: produce(topic, p, l.base + i, r.kind, r.hour) })));
    this.end = this.logs.map((l, p) => spec[p]!.base + l.length);
    this.pos = spec.map((l) => l.base);
  }

  /** True once every offset of every partition has been delivered successfully. */
  get done(): boolean {
    return this.pos.every((x, p) => x >= this.end[p]!);
  }

  /** The kind of the record at `p:offset`. */
  kindOf(p: number, offset: number): Kind {
    return this.logs[p]![offset - this.spec[p]!.base]!.kind;
  }

  /**
   * A batch over the unfinished partitions in `mask` (bit p = partition p; none = all unfinished),
   * each starting up to `back` offsets before the position and `len` records long, always
   * reaching at least one offset past the position.
   */
  batch(mask: number, back: number, len: number): { ranges: BatchRange[]; event: MskEvent } {
    const unfinished = this.logs.map((_, p) => p).filter((p) => this.pos[p]! < this.end[p]!);
    let chosen = unfinished.filter((p) => mask & (1 << p));
    if (chosen.length === 0) chosen = unfinished;
    const ranges = chosen.map((p) => {
      const base = this.spec[p]!.base;
      const from = Math.max(base, this.pos[p]! - back);
      return { p, from, to: Math.min(this.end[p]!, Math.max(from + len, this.pos[p]! + 1)) };
    });
    const records = ranges.flatMap(({ p, from, to }) => this.logs[p]!.slice(from - this.spec[p]!.base, to - this.spec[p]!.base).map((x) => x.record));
    return { ranges, event: buildMskEvent(records) };
  }

  /** The invocation of a batch with these ranges succeeded: the ESM moves on. */
  succeeded(ranges: BatchRange[]): void {
    for (const { p, to } of ranges) this.pos[p] = Math.max(this.pos[p]!, to);
  }
}

/**
 * A loader attempt may only fail because of an injected crash, a fenced/conflicting writer, or
 * (against a real endpoint) an S3 transport failure — or a Glue one when `catalogErrors` — never
 * because of a protocol or data error.
 */
export function expectRetryable(e: unknown, catalogErrors = false): void {
  if (!(e instanceof BatchLoadError)) throw e;
  for (const f of e.failures) {
    const ok = f.error instanceof CrashError || f.error instanceof ConflictingWriterError || f.error instanceof ObjectStoreError || (catalogErrors && f.error instanceof CatalogError);
    if (!ok) throw f.error;
  }
}

/**
 * Runs every operation (and the observation after it) one at a time, so that each observation
 * sees exactly the state after one operation — a linearization of the concurrent attempts, which
 * still interleave between calls.
 */
export function serializer(): <R>(fn: () => Promise<R>) => Promise<R> {
  let queue: Promise<unknown> = Promise.resolve();
  return <R>(fn: () => Promise<R>): Promise<R> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
}
