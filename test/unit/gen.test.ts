import { describe, expect, it } from 'vitest';
import { generateClickEvents } from '../../lib/gen/clickstream';
import { MALFORMED_REASONS, malformedRecords } from '../../lib/gen/malformed';
import { generateClickstreamMskEvent, generateClickstreamRecords } from '../../lib/gen/records';
import { mulberry32 } from '../../lib/gen/prng';
import { prepareBatch } from '../../lambdas/core/prepare';
import { clickstream } from '../fixtures/pipelines/clickstream';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('mulberry32', () => {
  it('is reproducible and seed-dependent', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const sa = Array.from({ length: 20 }, () => a.uint32());
    expect(Array.from({ length: 20 }, () => b.uint32())).toEqual(sa);
    expect(Array.from({ length: 20 }, () => c.uint32())).not.toEqual(sa);
    const r = mulberry32(7);
    for (let i = 0; i < 1000; i++) {
      const x = r.int(3, 5);
      expect(x >= 3 && x <= 5 && Number.isInteger(x)).toBe(true);
    }
  });
});

describe('generateClickEvents', () => {
  it('same seed gives identical output; a different seed differs', () => {
    const a = generateClickEvents({ seed: 1, count: 300 });
    const b = generateClickEvents({ seed: 1, count: 300 });
    const c = generateClickEvents({ seed: 2, count: 300 });
    expect(b.map((e) => e.json)).toEqual(a.map((e) => e.json));
    expect(c.map((e) => e.json)).not.toEqual(a.map((e) => e.json));
    expect(new Set(a.map((e) => e.event.event_id)).size).toBe(300);
  });

  it('emits JSON that matches its expectation, with user_id exact beyond 2^53', () => {
    const events = generateClickEvents({ seed: 11, count: 2000, bigUserIdShare: 0.2 });
    let big = 0;
    for (const { json, event } of events) {
      const parsed = JSON.parse(json) as Record<string, unknown>;
      // The exact digits of user_id as written in the text.
      const digits = /"user_id":(-?\d+)/.exec(json)![1];
      expect(BigInt(digits)).toBe(event.user_id);
      expect(event.user_id > 0n && event.user_id <= 2n ** 63n - 1n).toBe(true);
      if (event.user_id > 2n ** 53n) big++;
      expect(parsed.event_id).toBe(event.event_id);
      expect(parsed.ts).toBe(event.ts);
      expect(event.ts).toMatch(ISO_UTC);
      expect(Date.parse(event.ts)).toBe(event.tsMs);
      expect(parsed.props).toEqual(event.props);
      expect(parsed.referrer).toBe(event.referrer);
      if (event.event_type === 'purchase') {
        expect(parsed.amount).toBe(event.amount);
        expect(Math.round(event.amount! * 100)).toBe(event.amountCents);
        expect(typeof parsed.currency).toBe('string');
      } else {
        expect('amount' in parsed).toBe(false);
        expect('currency' in parsed).toBe(false);
      }
      // Every field is a declared column of the example pipeline.
      for (const k of Object.keys(parsed)) expect(clickstream.columns.some((c) => c.name === k)).toBe(true);
    }
    expect(big).toBeGreaterThan(100);
    expect(new Set(events.map((e) => e.event.event_type)).size).toBeGreaterThanOrEqual(6);
  });

  it('has non-decreasing arrival, mostly-increasing event time and some late events spanning hours', () => {
    const events = generateClickEvents({ seed: 5, count: 7500 });
    for (let i = 1; i < events.length; i++) expect(events[i].arrivalMs).toBeGreaterThanOrEqual(events[i - 1].arrivalMs);
    const late = events.filter((e) => e.arrivalMs - e.event.tsMs >= 300_000);
    expect(late.length).toBeGreaterThan(50);
    expect(late.length).toBeLessThan(400);
    for (const e of events) expect(e.arrivalMs - e.event.tsMs).toBeLessThanOrEqual(3 * 3_600_000);
    expect(new Set(events.map((e) => e.event.ts.slice(0, 13))).size).toBeGreaterThanOrEqual(3);
    const avg = events.reduce((s, e) => s + Buffer.byteLength(e.json), 0) / events.length;
    expect(avg).toBeGreaterThan(500);
    expect(avg).toBeLessThan(700);
  });
});

describe('malformedRecords', () => {
  it('covers every category reproducibly, and none of them is a valid event', () => {
    const a = malformedRecords(9, 36);
    expect(malformedRecords(9, 36)).toEqual(a);
    expect(new Set(a.map((r) => r.reason))).toEqual(new Set(MALFORMED_REASONS));
    for (const r of a) {
      if (r.reason === 'tombstone') {
        expect(r.value).toBeNull();
        continue;
      }
      if (r.reason === 'invalid-utf8') {
        expect(() => new TextDecoder('utf-8', { fatal: true }).decode(r.value as Uint8Array)).toThrow();
        continue;
      }
      const text = r.value as string;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        expect(['invalid-json', 'trailing-garbage', 'empty-value']).toContain(r.reason);
        continue;
      }
      if (r.reason === 'not-an-object') {
        expect(parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)).toBe(true);
        continue;
      }
      const o = parsed as Record<string, unknown>;
      expect(r.stage).toBe('conform');
      if (r.reason === 'missing-user-id') expect('user_id' in o).toBe(false);
      if (r.reason === 'missing-ts') expect('ts' in o).toBe(false);
      if (r.reason === 'bad-ts') expect(typeof o.ts !== 'string' || Number.isNaN(Date.parse(o.ts as string)) || !/Z$/.test(o.ts as string) || /-13-/.test(o.ts as string)).toBe(true);
      if (r.reason === 'user-id-out-of-range') {
        const digits = /"user_id":(-?\d+)/.exec(text)![1];
        const v = BigInt(digits);
        expect(v > 2n ** 63n - 1n || v < -(2n ** 63n)).toBe(true);
      }
      if (r.reason === 'user-id-not-integer') expect(Number.isInteger(o.user_id)).toBe(false);
      if (r.reason === 'bad-amount') expect(typeof o.amount).not.toBe('number');
    }
  });
});

describe('generateClickstreamRecords', () => {
  it('spreads records over partitions with per-partition offsets and mixes the bad ones in', () => {
    const g = generateClickstreamRecords({ seed: 3, count: 500, malformed: 24, partitions: 3, startOffset: 100 });
    expect(g.records).toHaveLength(524);
    expect(g.valid).toHaveLength(500);
    expect(g.bad).toHaveLength(24);
    for (let p = 0; p < 3; p++) {
      const offsets = g.records.filter((r) => r.partition === p).map((r) => r.offset);
      expect(offsets.length).toBeGreaterThan(50);
      expect(offsets).toEqual(offsets.map((_, i) => 100 + i));
    }
    expect(g.records.every((r) => r.topic === 'clicks')).toBe(true);
    // The valid records carry their event's JSON and key; the same key always lands in the same partition.
    const byKey = new Map<string, number>();
    for (const v of g.valid) {
      expect(v.record.value).toBe(v.json);
      expect(v.record.key).toBe(v.event.user_id.toString());
      const seen = byKey.get(v.record.key as string);
      if (seen !== undefined) expect(v.record.partition).toBe(seen);
      byKey.set(v.record.key as string, v.record.partition);
    }
    const again = generateClickstreamRecords({ seed: 3, count: 500, malformed: 24, partitions: 3, startOffset: 100 });
    expect(again.records).toEqual(g.records);
  });

  it('builds an MSK event whose base64 values decode to the generated JSON', () => {
    const { event, valid, bad } = generateClickstreamMskEvent({ seed: 4, count: 100, malformed: 5, partitions: 2 });
    const all = Object.values(event.records).flat();
    expect(all).toHaveLength(105);
    expect(Object.keys(event.records).sort()).toEqual(['clicks-0', 'clicks-1']);
    const byOffset = new Map(all.map((r) => [`${r.partition}/${r.offset}`, r]));
    for (const v of valid) expect(Buffer.from(byOffset.get(`${v.record.partition}/${v.record.offset}`)!.value!, 'base64').toString('utf8')).toBe(v.json);
    const tomb = bad.filter((b) => b.reason === 'tombstone');
    for (const t of tomb) expect(byOffset.get(`${t.record.partition}/${t.record.offset}`)!.value).toBeUndefined();
  });
});

describe('generated records through the loader core', () => {
  it('loads every valid record and quarantines exactly the malformed ones at their expected stage', { timeout: 30_000 }, async () => {
    const g = generateClickstreamMskEvent({ seed: 5, count: 300, malformed: 48, partitions: 2 });
    const bad = new Map(g.bad.map((b) => [`${b.record.partition}/${b.record.offset}`, b]));
    const quarantined = new Map<string, string>();
    let rows = 0;
    for (const records of Object.values(g.event.records)) {
      const batch = await prepareBatch(clickstream, records);
      rows += batch.counts.rows;
      for (const q of batch.quarantine) quarantined.set(`${q.kafka_partition}/${q.kafka_offset}`, q.stage);
    }
    expect(rows).toBe(300);
    expect(quarantined.size).toBe(48);
    for (const [at, b] of bad) expect({ at, reason: b.reason, stage: quarantined.get(at) }).toEqual({ at, reason: b.reason, stage: b.stage });
  });
});

describe('start time', () => {
  it('places events (and the Kafka timestamps of malformed records) around the given start', () => {
    const start = new Date('2030-06-01T00:00:00.000Z');
    const g = generateClickstreamRecords({ seed: 12, count: 50, malformed: 6, start });
    for (const r of g.records) expect(Math.abs(r.timestamp - start.getTime())).toBeLessThan(3_600_000);
    for (const v of g.valid) expect(Math.abs(v.event.tsMs - start.getTime())).toBeLessThan(4 * 3_600_000);
    const onlyBad = generateClickstreamRecords({ seed: 12, count: 0, malformed: 3 });
    expect(onlyBad.records.every((r) => r.timestamp > Date.UTC(2020, 0, 1))).toBe(true);
  });
});
