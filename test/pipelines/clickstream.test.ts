/**
 * The example pipeline, pipelines/clickstream.ts: the events lib/gen generates (and the demo
 * produces) load as rows in their event-time hour, and the malformed ones are quarantined.
 */
import { describe, expect, it } from 'vitest';
import { tryPipeline } from 'lakeloader/testing';
import { generateClickstreamRecords } from '../../lib/gen/records';
import clickstream from '../../pipelines/clickstream';

describe('pipeline clickstream (the example)', () => {
  it('loads generated events and quarantines the malformed ones', async () => {
    const gen = generateClickstreamRecords({ seed: 3, count: 200, malformed: 12, partitions: 1 });
    const r = await tryPipeline(clickstream, gen.records.map((x) => x.value ?? null));
    expect(r.rows).toBe(gen.valid.length);
    expect(r.quarantined).toHaveLength(gen.bad.length);
    expect(r.partitions.every((p) => /^dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}$/.test(p))).toBe(true);
  });

  it('keeps a user_id beyond 2^53 and puts the row in the hour of its ts', async () => {
    const r = await tryPipeline(clickstream, ['{"event_id":"e","user_id":9007199254740993,"ts":"2026-03-01T23:59:59Z"}']);
    expect(r).toMatchObject({ rows: 1, partitions: ['dt=2026-03-01/hour=23'], quarantined: [] });
  });
});
