import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ProjectionConfigError, addUnits, compileDateFormat, dateStep, outOfRange, parseProjection, projects, type ProjectedColumn } from '../../lambdas/core/projection';
import { createPartitioner, PartitionError } from '../../lambdas/core/partition';
import { definePipeline } from '../../lambdas/core/pipeline';
import { prepareBatch } from '../../lambdas/core/prepare';
import type { MskRecord } from '../../lambdas/core/model';

const NOW = Date.parse('2026-12-04T10:30:00Z');
const col = (params: Record<string, string>, name = 'c'): ProjectedColumn =>
  parseProjection({ 'projection.enabled': 'true', ...Object.fromEntries(Object.entries(params).map(([k, v]) => [`projection.${name}.${k}`, v])) }, [name])!.columns[0]!;

describe('Java date patterns', () => {
  it('parses and formats exactly, rejecting non-canonical and impossible dates', () => {
    const f = compileDateFormat('yyyy-MM-dd');
    expect(f.parse('2026-02-28')).toBe(Date.parse('2026-02-28T00:00:00Z'));
    expect(f.parse('2026-02-30')).toBeNull();
    expect(f.parse('2026-2-28')).toBeNull();
    expect(f.format(Date.parse('2026-03-04T05:06:07Z'))).toBe('2026-03-04');
    const h = compileDateFormat("yyyy/MM/dd/HH'h'");
    expect(h.parse('2026/03/04/05h')).toBe(Date.parse('2026-03-04T05:00:00Z'));
    expect(h.precision).toBe('HOURS');
    expect(compileDateFormat('yyyyMM').precision).toBe('MONTHS');
    expect(() => compileDateFormat('yyyy-ww')).toThrow(/pattern letter "w"/);
  });

  it('adds calendar months like java.time (clamped to the month end)', () => {
    expect(new Date(addUnits(Date.parse('2026-01-31T00:00:00Z'), 1, 'MONTHS')).toISOString()).toBe('2026-02-28T00:00:00.000Z');
    expect(new Date(addUnits(Date.parse('2024-02-29T00:00:00Z'), 1, 'YEARS')).toISOString()).toBe('2025-02-28T00:00:00.000Z');
  });
});

describe('which values a projection generates', () => {
  it('integer: range, interval and digits', () => {
    const hour = col({ type: 'integer', range: '0,23', digits: '2' });
    expect(projects(hour, '07', NOW)).toBe(true);
    expect(projects(hour, '7', NOW)).toBe(false); // Athena generates 07
    expect(projects(hour, '24', NOW)).toBe(false);
    const step = col({ type: 'integer', range: '-10,10', interval: '5' });
    expect(['-10', '-5', '0', '5', '10'].every((v) => projects(step, v, NOW))).toBe(true);
    expect(projects(step, '3', NOW)).toBe(false);
  });

  it('enum: the listed values only, white space included', () => {
    const e = col({ type: 'enum', values: 'eu,us, ap' });
    expect(projects(e, 'eu', NOW)).toBe(true);
    expect(projects(e, ' ap', NOW)).toBe(true);
    expect(projects(e, 'ap', NOW)).toBe(false);
  });

  it('date: fixed start to NOW, one day a step, today included, tomorrow not yet', () => {
    const dt = col({ type: 'date', format: 'yyyy-MM-dd', range: '2020-01-01,NOW', interval: '1', 'interval.unit': 'DAYS' });
    expect(projects(dt, '2020-01-01', NOW)).toBe(true);
    expect(projects(dt, '2019-12-31', NOW)).toBe(false);
    expect(projects(dt, '2026-12-04', NOW)).toBe(true);
    expect(projects(dt, '2026-12-05', NOW)).toBe(false);
    expect(projects(dt, '2026-12-5', NOW)).toBe(false);
  });

  it('date: NOW-3DAYS style ranges, intervals and units', () => {
    const recent = col({ type: 'date', format: 'yyyy-MM-dd', range: 'NOW-3DAYS,NOW' });
    expect(['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04'].map((v) => projects(recent, v, NOW))).toEqual([true, true, true, true]);
    expect(projects(recent, '2026-11-30', NOW)).toBe(false);
    const every2h = col({ type: 'date', format: 'yyyy-MM-dd-HH', range: '2026-12-01-00,NOW', interval: '2', 'interval.unit': 'HOURS' });
    expect(projects(every2h, '2026-12-04-10', NOW)).toBe(true);
    expect(projects(every2h, '2026-12-04-09', NOW)).toBe(false);
    expect(projects(every2h, '2026-12-04-12', NOW)).toBe(false);
    const months = col({ type: 'date', format: 'yyyy-MM', range: '2025-11,NOW+1MONTH' });
    expect(dateStep(months as Extract<ProjectedColumn, { type: 'date' }>, '2027-01', NOW)).toBe(14);
    expect(projects(months, '2027-02', NOW)).toBe(false);
  });

  it('refuses invalid configurations with the property to set', () => {
    expect(() => col({ type: 'date', format: 'yyyy-MM-dd-HH', range: '2026-01-01-00,NOW' })).toThrow(/interval.unit is required/);
    expect(() => col({ type: 'integer', range: '1-5' })).toThrow(ProjectionConfigError);
    expect(() => col({ type: 'nope' })).toThrow(/integer, enum, date or injected/);
    expect(() => parseProjection({ 'projection.enabled': 'true' }, ['dt'])).toThrow(/projection.dt.type is not set/);
    expect(parseProjection({ 'projection.enabled': 'false' }, ['dt'])).toBeNull();
  });
});

describe('out of range for the loader', () => {
  const p = parseProjection({ 'projection.enabled': 'true', 'projection.dt.type': 'date', 'projection.dt.format': 'yyyy-MM-dd', 'projection.dt.range': '2024-01-01,NOW', 'projection.dt.interval': '1', 'projection.dt.interval.unit': 'DAYS' }, ['dt'])!;
  it('refuses days before the start and days more than one day ahead of NOW; allows tomorrow', () => {
    expect(outOfRange(p, ['2023-12-31'], NOW)?.reason).toMatch(/dt=2023-12-31 is before the start of the partition projection range \(projection\.dt\.range = '2024-01-01,NOW'\): Athena never reads it/);
    expect(outOfRange(p, ['2024-01-01'], NOW)).toBeNull();
    expect(outOfRange(p, ['2026-12-05'], NOW)).toBeNull();
    expect(outOfRange(p, ['2026-12-07'], NOW)?.reason).toMatch(/after the end .* by more than 1 days/);
  });
});

describe('the loader quarantines rows Athena would never read (projection)', () => {
  const pipeline = definePipeline({
    name: 'proj',
    topics: ['t'],
    valueFormat: 'json',
    columns: [
      { name: 'id', type: 'string', required: true },
      { name: 'ts', type: 'timestamp', required: true },
    ],
    partitioning: { by: 'eventTime', source: 'ts', granularity: 'hour' },
    format: 'hive',
    partitionRegistration: 'projection',
    projectionStartDate: '2024-01-01',
  });
  const rec = (offset: number, ts: string): MskRecord => ({
    topic: 't',
    partition: 0,
    offset,
    timestamp: NOW,
    timestampType: 'CREATE_TIME',
    value: Buffer.from(JSON.stringify({ id: `r${offset}`, ts })).toString('base64'),
    headers: [],
  });

  it('partitioner: throws PartitionError (stage partition) before the start, not inside the range', () => {
    const part = createPartitioner(pipeline, { now: () => NOW });
    expect(() => part([null, Date.parse('2023-12-31T23:00:00Z'), null, null, null, null] as never, 0)).toThrow(PartitionError);
    expect(part([null, Date.parse('2024-01-01T00:00:00Z'), null, null, null, null] as never, 0).hivePath).toBe('dt=2024-01-01/hour=00');
  });

  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW, shouldAdvanceTime: true });
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  it('prepareBatch: out-of-range records go to the quarantine with the reason, the rest load; fast and general path agree', async () => {
    const records = [rec(1, '2026-12-04T08:00:00Z'), rec(2, '2019-06-01T00:00:00Z'), rec(3, '2026-12-04T09:00:00Z'), rec(4, '2031-01-01T00:00:00Z'), rec(5, '2026-12-05T01:00:00Z')];
    for (const fastPath of [true, false]) {
      const b = await prepareBatch(pipeline, records, { fastPath });
      expect(b.counts).toMatchObject({ in: 5, written: 3, quarantined: 2 });
      expect(b.quarantine.map((q) => [q.kafka_offset, q.stage])).toEqual([[2, 'partition'], [4, 'partition']]);
      expect(b.quarantine[0]!.error).toMatch(/dt=2019-06-01 is before the start of the partition projection range/);
      expect(b.quarantine[1]!.error).toMatch(/dt=2031-01-01 is after the end/);
      expect(b.files.map((f) => f.hivePath).sort()).toEqual(['dt=2026-12-04/hour=08', 'dt=2026-12-04/hour=09', 'dt=2026-12-05/hour=01']);
    }
  });
});
