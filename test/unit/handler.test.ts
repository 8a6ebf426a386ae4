/**
 * The Lambda handler with the in-memory store and catalog injected: the returned summary, the
 * EMF metrics and the structured log line on stdout, the aggregated failure, and configuration.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../lambdas/core/config';
import { BatchLoadError } from '../../lambdas/core/loader';
import { createAwsClients, createHandler } from '../../lambdas/loader/handler';
import { handler as bundledHandler } from '../../lambdas/loader/main';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import { FaultInjector } from '../support/faults';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';
import { clickstream } from '../fixtures/pipelines/clickstream';

const ENV = { LAKELOADER_PIPELINE: 'clickstream', LAKELOADER_BUCKET: 'lake-bucket', LAKELOADER_GLUE_DATABASE: 'lakeloader', AWS_REGION: 'us-east-1' };
const NOW = Date.parse('2026-01-02T05:00:00Z');

const click = (offset: number, partition: number, ts: string, extra: object = {}): ProducedRecord => ({
  topic: 'clicks',
  partition,
  offset,
  timestamp: Date.parse(ts),
  value: JSON.stringify({ event_id: `e-${partition}-${offset}`, user_id: 9007199254740993n.toString(), ts, amount: 1.5, ...extra }).replace(/"9007199254740993"/, '9007199254740993'),
});

function records(): ProducedRecord[] {
  return [
    click(10, 0, '2026-01-02T03:10:00Z'),
    click(11, 0, '2026-01-02T04:20:00Z'),
    { topic: 'clicks', partition: 0, offset: 12, timestamp: 0, value: '{"broken' },
    click(7, 1, '2026-01-02T04:59:00Z'),
    { topic: 'clicks', partition: 1, offset: 8, timestamp: 0, value: JSON.stringify({ event_id: 'x', ts: '2026-01-02T04:00:00Z' }) }, // no user_id
  ];
}

/** Everything written to stdout and stderr (Powertools logs errors to stderr). */
let stdout: string[];
beforeEach(() => {
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

const jsonLines = () =>
  stdout
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const emf = () => jsonLines().filter((l) => '_aws' in l);

describe('loader handler', () => {
  it('loads an MSK event, returns the summary, logs it and emits EMF metrics', async () => {
    const store = new MemoryStore();
    const catalog = new MemoryCatalog();
    const handler = createHandler({ config: loadConfig(clickstream, ENV), store, catalog, now: () => NOW });
    const summary = await handler(buildMskEvent(records()), { awsRequestId: 'req-1', functionName: 'loader' });
    expect(summary).toMatchObject({ in: 5, written: 3, rows: 3, quarantined: 2, filtered: 0, duplicates: 0, files: 3, partitionsRegistered: 2 });
    expect(summary.in).toBe(summary.written + summary.quarantined + summary.filtered + summary.duplicates);
    expect(summary.bytes).toBe(
      store.keys('tables/').reduce((n, k) => n + store.objects.get(k)!.body.byteLength, 0) + store.keys('quarantine/').reduce((n, k) => n + store.objects.get(k)!.body.byteLength, 0),
    );
    expect(catalog.list('lakeloader', 'clickstream')).toEqual([
      ['2026-01-02', '03'],
      ['2026-01-02', '04'],
    ]);
    expect(store.keys('_lakeloader/state/')).toEqual(['_lakeloader/state/clickstream/clicks/0.json', '_lakeloader/state/clickstream/clicks/1.json']);

    const [metrics] = emf();
    expect(metrics).toBeDefined();
    const aws = metrics!._aws as { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
    expect(aws.CloudWatchMetrics[0]!.Namespace).toBe('Lakeloader');
    expect(aws.CloudWatchMetrics[0]!.Dimensions[0]).toContain('pipeline');
    expect(metrics!.pipeline).toBe('clickstream');
    expect(metrics).toMatchObject({ RecordsIn: 5, RowsWritten: 3, RecordsWritten: 3, RecordsQuarantined: 2, RecordsFiltered: 0, RecordsDuplicate: 0, FilesWritten: 3, PartitionsRegistered: 2 });
    expect(metrics!.BytesWritten).toBe(summary.bytes);
    expect(metrics!.EventTimeLagMs).toBe(NOW - Date.parse('2026-01-02T04:59:00Z'));
    const units = Object.fromEntries(aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit]));
    expect(units).toMatchObject({ RecordsIn: 'Count', BytesWritten: 'Bytes', EventTimeLagMs: 'Milliseconds' });

    const log = jsonLines().find((l) => l.message === 'batch loaded');
    expect(log).toMatchObject({ level: 'INFO', pipeline: 'clickstream', service: 'lakeloader', summary: { in: 5, written: 3, quarantined: 2 } });

    // A redelivery of the same batch is all duplicates; the warm container's Glue cache is used.
    stdout.length = 0;
    const glueCalls = catalog.calls.length;
    const again = await handler(buildMskEvent(records()));
    expect(again).toMatchObject({ in: 5, written: 0, quarantined: 0, duplicates: 5, files: 0, partitionsRegistered: 0 });
    expect(emf()[0]).toMatchObject({ RecordsIn: 5, RecordsDuplicate: 5 });
    expect(catalog.calls).toHaveLength(glueCalls);
  });

  it('commits healthy partitions, then throws an aggregated error naming the failed one', async () => {
    const store = new MemoryStore();
    const faults = new FaultInjector();
    const wrapped = faults.wrapStore(store);
    const failing = { ...wrapped, put: (key: string, body: Uint8Array, o?: Parameters<typeof wrapped.put>[2]) => (key.includes('/clicks/1') || key.includes('clicks-1-') ? Promise.reject(new Error('S3 is down')) : wrapped.put(key, body, o)) };
    const handler = createHandler({ config: loadConfig(clickstream, ENV), store: failing, catalog: new MemoryCatalog(), now: () => NOW });
    const err = await handler(buildMskEvent(records())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchLoadError);
    expect((err as BatchLoadError).failures.map((f) => `${f.topic}-${f.partition}`)).toEqual(['clicks-1']);
    expect((err as Error).message).toMatch(/1 of 2 topic-partitions failed.*clicks-1: S3 is down/);
    expect(store.keys('_lakeloader/state/')).toEqual(['_lakeloader/state/clickstream/clicks/0.json']);
    const log = jsonLines().find((l) => l.level === 'ERROR');
    expect(log).toMatchObject({ failures: [{ topic: 'clicks', partition: 1, records: 2, error: { message: 'S3 is down' } }], committed: { in: 3, written: 2 } });
    expect(emf()[0]).toMatchObject({ RecordsIn: 3, PartitionsFailed: 1 });

    // The ESM retries the whole batch: partition 0 is now duplicates, partition 1 loads.
    const retry = await createHandler({ config: loadConfig(clickstream, ENV), store, catalog: new MemoryCatalog(), now: () => NOW })(buildMskEvent(records()));
    expect(retry).toMatchObject({ in: 5, duplicates: 3, written: 1, quarantined: 1 });
  });
});

describe('the Lambda entry point (main.ts, with its bundled pipeline)', () => {
  it('fails with the variable to set when the environment is incomplete, and retries the setup next time', async () => {
    vi.stubEnv('LAKELOADER_PIPELINE', '');
    try {
      await expect(bundledHandler(buildMskEvent([]))).rejects.toThrow(/^LAKELOADER_PIPELINE: not set/);
      // An environment naming another pipeline than the bundled one is refused too.
      for (const [k, v] of Object.entries({ ...ENV, LAKELOADER_PIPELINE: 'orders' })) vi.stubEnv(k, v);
      await expect(bundledHandler(buildMskEvent([]))).rejects.toThrow(/holds pipeline "clickstream", not "orders"/);
      vi.stubEnv('LAKELOADER_PIPELINE', 'clickstream');
      // Configured now: an empty event loads nothing and touches no AWS service.
      expect(await bundledHandler(buildMskEvent([]))).toMatchObject({ in: 0 });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('loadConfig', () => {
  it('reads the environment', () => {
    const c = loadConfig(clickstream, { ...ENV, LAKELOADER_CONCURRENCY: '8', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', POWERTOOLS_METRICS_NAMESPACE: 'X' });
    expect(c).toMatchObject({ bucket: 'lake-bucket', glueDatabase: 'lakeloader', concurrency: 8, region: 'us-east-1', endpointUrl: 'http://127.0.0.1:4566', metricsNamespace: 'X' });
    expect(c.pipeline.name).toBe('clickstream');
    expect(loadConfig(clickstream, ENV).concurrency).toBe(4);
  });

  it.each([
    [{ LAKELOADER_PIPELINE: undefined }, 'LAKELOADER_PIPELINE', /not set/],
    [{ LAKELOADER_PIPELINE: 'nope' }, 'LAKELOADER_PIPELINE', /this loader holds pipeline "clickstream", not "nope"/],
    [{ LAKELOADER_BUCKET: '' }, 'LAKELOADER_BUCKET', /not set/],
    [{ LAKELOADER_BUCKET: 's3://lake' }, 'LAKELOADER_BUCKET', /not a valid S3 bucket name/],
    [{ LAKELOADER_GLUE_DATABASE: undefined }, 'LAKELOADER_GLUE_DATABASE', /not set/],
    [{ LAKELOADER_CONCURRENCY: '0' }, 'LAKELOADER_CONCURRENCY', /integer 1\.\.64/],
    [{ AWS_ENDPOINT_URL: 'localhost:4566' }, 'AWS_ENDPOINT_URL', /http\(s\) URL/],
  ])('rejects %o naming %s', (patch, variable, message) => {
    const err = (() => {
      try {
        loadConfig(clickstream, { ...ENV, ...patch });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as Error).message).toMatch(new RegExp(`^${variable}: `));
    expect((err as Error).message).toMatch(message);
  });

  it('uses path-style S3 and the endpoint when AWS_ENDPOINT_URL is set', async () => {
    const local = createAwsClients(loadConfig(clickstream, { ...ENV, AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }));
    expect(local.s3.config.forcePathStyle).toBe(true);
    expect((await local.s3.config.endpoint!()).hostname).toBe('127.0.0.1');
    const aws = createAwsClients(loadConfig(clickstream, ENV));
    expect(aws.s3.config.forcePathStyle).toBe(false);
  });
});
