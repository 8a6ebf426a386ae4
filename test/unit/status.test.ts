/**
 * `status`'s time window: `--days N` is the last N × 24 hours of event time before a fixed `now`,
 * covering every table partition the window touches, whatever the granularity — right after
 * midnight, across a month end and across a year end. Data is loaded through the loader's real
 * commit protocol into an in-memory bucket; the pipelines are this test's own fixtures.
 */
import { describe, expect, it } from 'vitest';
import { definePipeline, type Pipeline } from '../../lambdas/core/pipeline';
import { pipelineStatus, partitionSpan } from '../../lib/ops/status';
import type { ProducedRecord } from '../../lib/local/msk-event';
import { loadRecords } from '../integration/ops-fixtures';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';

const HOUR = 3_600_000;

function fixture(granularity: 'hour' | 'day'): Pipeline {
  return definePipeline({
    name: `window_${granularity}`,
    topics: ['window'],
    valueFormat: 'json',
    columns: [
      { name: 'id', type: 'string', required: true },
      { name: 'ts', type: 'timestamp', required: true },
    ],
    partitioning: { by: 'eventTime', source: 'ts', granularity },
  });
}

/** One event per hour over the `hours` hours before `now` (the newest 30 minutes before it). */
function hourlyEvents(now: number, hours: number): ProducedRecord[] {
  return Array.from({ length: hours }, (_, i) => {
    const ts = now - (hours - i) * HOUR + HOUR / 2;
    return { topic: 'window', partition: 0, offset: i, timestamp: ts, value: JSON.stringify({ id: `e${i}`, ts: new Date(ts).toISOString() }) };
  });
}

async function statusAt(granularity: 'hour' | 'day', nowIso: string, days: number, loadedHours = 72) {
  const now = Date.parse(nowIso);
  const pipeline = fixture(granularity);
  const store = new MemoryStore(100);
  const events = hourlyEvents(now, loadedHours);
  await loadRecords({ store, catalog: new MemoryCatalog(), bucket: 'lake', database: 'db' }, pipeline, events, 500);
  // The oracle: events whose hour (or day) ends after the window's start, by plain arithmetic.
  const unit = granularity === 'hour' ? HOUR : 24 * HOUR;
  const expectedRows = events.filter((e) => Math.floor(e.timestamp / unit) * unit + unit > now - days * 24 * HOUR).length;
  return { ...(await pipelineStatus(store, pipeline, { days, now })), expectedRows };
}

describe('status --days N is the last N × 24 hours of event time', () => {
  it.each([
    ['00:30 right after midnight', '2026-03-15T00:30:00Z'],
    ['across a month end', '2026-05-01T00:30:00Z'],
    ['across a leap-day month end', '2028-03-01T01:10:00Z'],
    ['across a year end', '2027-01-01T00:30:00Z'],
    ['in the middle of a day', '2026-07-04T13:45:00Z'],
  ])('hour partitions, %s: every event of the hours the last 24 hours touch, in 24 or 25 hour partitions', async (_, nowIso) => {
    const s = await statusAt('hour', nowIso, 1);
    expect(s.totals.rows).toBe(s.expectedRows);
    expect(s.totals.rows).toBeGreaterThanOrEqual(24);
    const now = Date.parse(nowIso);
    for (const p of s.tablePartitions) expect(partitionSpan(p.partition)!.end).toBeGreaterThan(now - 24 * HOUR);
    expect(s.tablePartitions.length).toBeGreaterThanOrEqual(24);
    expect(s.tablePartitions.length).toBeLessThanOrEqual(25);
    expect(s.window.from).toBe(new Date(now - 24 * HOUR).toISOString());
  });

  it.each([
    ['right after midnight', '2027-01-01T00:30:00Z', ['2026-12-31', '2027-01-01']],
    ['across a month end', '2026-05-01T02:00:00Z', ['2026-04-30', '2026-05-01']],
  ])('day partitions, %s: the day the window starts in and today', async (_, nowIso, dates) => {
    const s = await statusAt('day', nowIso, 1);
    expect(s.tablePartitions.map((p) => p.partition).sort()).toEqual(dates.map((d) => `dt=${d}`));
    // Whole day partitions are shown: more rows than the 24 hours hold, never fewer.
    expect(s.totals.rows).toBe(s.expectedRows);
    expect(s.totals.rows).toBeGreaterThan(24);
    expect(s.totals.rows).toBe(s.tablePartitions.reduce((n, p) => n + p.rows, 0));
  });

  it('--days 2 right after a year end reaches back 48 hours', async () => {
    const s = await statusAt('hour', '2027-01-01T00:30:00Z', 2);
    expect(s.totals.rows).toBe(s.expectedRows);
    expect(s.totals.rows).toBe(49); // 48 whole hours and the half hour 2026-12-30T00:30-01:00
    expect(s.tablePartitions.at(-1)!.partition).toBe('dt=2026-12-30/hour=00');
    expect(s.tablePartitions[0]!.partition).toBe('dt=2027-01-01/hour=00');
  });
});

describe('partitionSpan', () => {
  it('reads hour and day partition paths as UTC spans, and nothing else', () => {
    expect(partitionSpan('dt=2026-12-31/hour=23')).toEqual({ start: Date.parse('2026-12-31T23:00:00Z'), end: Date.parse('2027-01-01T00:00:00Z') });
    expect(partitionSpan('dt=2028-02-29')).toEqual({ start: Date.parse('2028-02-29T00:00:00Z'), end: Date.parse('2028-03-01T00:00:00Z') });
    expect(partitionSpan('country=DE/dt=2026-01-02')).toEqual({ start: Date.parse('2026-01-02T00:00:00Z'), end: Date.parse('2026-01-03T00:00:00Z') });
    expect(partitionSpan('country=DE')).toBeNull();
    expect(partitionSpan('dt=__HIVE_DEFAULT_PARTITION__')).toBeNull();
  });
});
