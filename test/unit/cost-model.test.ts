/**
 * The cost model of issue 15: its arithmetic against a level worked out by hand with the price
 * list's numbers; its request counts against what the real handler does; the simulation's
 * batching against the ESM's rules; and the property that it reads the synthesized template —
 * change a stack setting and the figures change.
 */
import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/core/config';
import { createHandler } from '../../lambdas/loader/handler';
import { firehoseCost, mskConnectCost, DEFAULT_ALTERNATIVES, expectedTablePartitions } from '../../lib/bench/cost/alternatives';
import { computeCostTable, DEFAULT_SAVED_RESULT, figuresFromResult, readSavedFigures, SavedResultError, type MeasuredFigures } from '../../lib/bench/cost/index';
import { costTable, formatCostTable, LEVELS } from '../../lib/bench/cost/levels';
import { COMMIT_PROTOCOL, CUSTOM_METRICS, customMetrics, DEFAULT_ASSUMPTIONS, epus, ICEBERG_REQUESTS, lakeloaderCost, LOG_BYTES, type CostAssumptions } from '../../lib/bench/cost/model';
import { definePipeline } from '../../lambdas/core/pipeline';
import type { ProducedRecord } from '../../lib/local/msk-event';
import { FACTS, PRICES, priceTable } from '../../lib/bench/cost/prices';
import { batchCap, simulateMapping, type Processing, type Traffic } from '../../lib/bench/cost/simulate';
import { readStackSettings, StackTemplateError, synthesizeStack, type StackSettings, type CfnTemplate } from '../../lib/bench/cost/stack';
import { LakeStack } from '../../lib/infra/lake-stack';
import { generateClickstreamRecords } from '../../lib/gen/records';
import { buildMskEvent } from '../../lib/local/msk-event';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';
import { clickstream } from '../fixtures/pipelines/clickstream';

/** An Iceberg pipeline (the machinery's clickstream fixture is Hive). */
const ice = definePipeline({
  name: 'clicks_ice',
  topics: ['clicks'],
  valueFormat: 'json',
  columns: [
    { name: 'event_id', type: 'string', required: true },
    { name: 'ts', type: 'timestamp', required: true },
  ],
  partitioning: { by: 'eventTime', source: 'ts', granularity: 'hour' },
  keepKafkaCoordinates: true,
  format: 'iceberg',
  iceberg: { commitIntervalSeconds: 60 },
});

const MONTH_S = 730 * 3600;
const prices = priceTable();

/** A hand-made stack: one mapping on self-managed brokers reached over the internet (no VPC path), nothing else billed. */
function handStack(over: Partial<StackSettings['mappings'][number]> = {}): StackSettings {
  const fn = { logicalId: 'Fn', memoryMb: 1024, architecture: 'arm64' as const, timeoutSeconds: 300, logRetentionDays: 30, pipeline: 'p' };
  return {
    mappings: [
      { logicalId: 'Esm', topics: ['t'], batchSize: 1000, maxBatchingWindowSeconds: 300, provisioned: null, retryAttempts: null, maxRecordAgeSeconds: null, onFailureDestination: true, source: 'selfManaged', inVpc: false, usesSecret: true, function: fn, ...over },
    ],
    functions: [fn],
    tables: [{ logicalId: 'T', name: 'p', format: 'hive', partitionKeys: [], projection: false, pipeline: 'p', quarantine: false }],
    tableOptimizers: [],
    alarms: { count: 0, billedMetrics: 0 },
    dashboards: 0,
    kms: { enabled: false, bucketKey: false },
    accessLogs: { enabled: false, retentionDays: null },
  };
}

const handAssumptions: CostAssumptions = {
  ...DEFAULT_ASSUMPTIONS,
  recordsPerSecond: 10_000,
  recordBytes: 1000,
  eventBytesPerRecord: 1000,
  parquetBytesPerJsonByte: 0.2,
  partitions: 1,
  lateShare: 0,
  quarantineRate: 0,
  ioMsPerInvocation: 200,
  esmOverheadMs: 300,
  queriesPerDay: 0,
  sim: { seed: 7, maxRecords: 200_000 },
};

describe('lakeloaderCost: one level worked out by hand', () => {
  it('1 MB/s of 1,000-byte records in 1,000-record batches, one partition, no late or bad records', () => {
    const c = lakeloaderCost(handStack(), 1, handAssumptions, prices);
    // By hand: 1,000 records/s → 2.628e9 records a month → 2.628e6 batches (each fills in ~1 s, well before the 300 s window).
    const invocations = 2.628e6;
    const m = c.mappings[0]!;
    expect(m.records).toBeCloseTo(2.628e9, 0);
    expect(m.invocations).toBeCloseTo(invocations, 0);
    expect(m.partitionBatches).toBeCloseTo(invocations, 0);
    expect(m.files).toBeCloseTo(invocations, 0); // unpartitioned: one file a batch
    // Lambda: 200 ms of S3/Glue + 1,000 records at 10,000/s = 300 ms at 1 GB.
    const gbSeconds = invocations * 0.3 * 1;
    expect(c.items.lambdaCompute).toBeCloseTo(gbSeconds * 0.0000133334, 6);
    expect(c.items.lambdaRequests).toBeCloseTo(invocations * 0.2e-6, 9);
    // S3: per batch 1 GET (state), 3 PUTs (pending, manifest, committed) + 1 data file.
    expect(c.items.s3Requests).toBeCloseTo(invocations * (4 * 0.000005 + 0.0000004), 6);
    // No Glue partitions (unpartitioned table), no queries, no KMS, no VPC path, no alarms or dashboard.
    for (const k of ['glueRequests', 'queryFileRequests', 'kmsRequests', 'onDemandNetworkData', 'onDemandNetworkEndpoints', 'cloudwatchAlarms', 'cloudwatchDashboards', 'provisionedPollersEpu'])
      expect(c.items[k] ?? 0).toBe(0);
    // Logs: 1,220 + 700 + 94 bytes an invocation at $0.50/GB; kept 30 days, archived at 15 % for $0.03/GB-month.
    const logGb = (invocations * 2014) / 1e9;
    expect(c.items.cloudwatchLogsIngest).toBeCloseTo(logGb * 0.5, 6);
    expect(c.items.cloudwatchLogsStorage).toBeCloseTo(logGb * 0.15 * (30 / (730 / 24)) * 0.03, 6);
    // Ten custom metrics for the one pipeline.
    expect(CUSTOM_METRICS).toBe(10);
    expect(customMetrics('iceberg')).toBe(11); // + BatchesPublished
    expect(c.items.cloudwatchMetrics).toBeCloseTo(3, 9);
    const total = gbSeconds * 0.0000133334 + invocations * 0.2e-6 + invocations * 0.0000204 + logGb * 0.5 + logGb * 0.15 * (30 / (730 / 24)) * 0.03 + 3;
    expect(c.usdPerMonth).toBeCloseTo(total, 4);
    expect(total).toBeCloseTo(70.3187, 3);
    expect(c.gbPerMonth).toBeCloseTo(2628, 6);
    expect(c.usdPerGb).toBeCloseTo(70.3187 / 2628, 6);
    // Freshness: wait for the batch to fill (uniform over ~1 s) + 0.3 s dispatch + 0.3 s in the function.
    expect(c.freshnessP50Seconds).toBeGreaterThan(1.0);
    expect(c.freshnessP50Seconds).toBeLessThan(1.2);
    expect(c.freshnessP99Seconds).toBeGreaterThan(1.5);
    expect(c.freshnessP99Seconds).toBeLessThan(1.7);
  });

  it('provisioned pollers add EPU-hours whatever the traffic; a poller group shares them', () => {
    const prov = lakeloaderCost(handStack({ provisioned: { minimumPollers: 1, maximumPollers: 1 } }), 0.01, handAssumptions, prices);
    expect(prov.items.provisionedPollersEpu).toBeCloseTo(730 * 0.185, 9);
    // Ten ungrouped mappings: ten EPUs; grouped: one (the Lambda guide's example).
    const ten = (group?: string) => Array.from({ length: 10 }, () => ({ provisioned: { minimumPollers: 1, maximumPollers: 1, ...(group ? { pollerGroupName: group } : {}) }, pollers: 1, mbPerSecond: 1 }));
    expect(epus(ten())).toBe(10);
    expect(epus(ten('g'))).toBe(1);
    // Throughput counts too: 30 MB/s in a group needs two 20 MB/s EPUs.
    expect(epus([{ provisioned: { minimumPollers: 1, maximumPollers: 8, pollerGroupName: 'g' }, pollers: 6, mbPerSecond: 30 }])).toBe(2);
    expect(epus([{ provisioned: null, pollers: 3, mbPerSecond: 30 }])).toBe(0);
  });

  it('on-demand pollers in a VPC pay their network path: endpoints by the hour, payload by the GB', () => {
    const c = lakeloaderCost(handStack({ source: 'msk', inVpc: true, usesSecret: false }), 1, handAssumptions, prices);
    expect(c.items.onDemandNetworkEndpoints).toBeCloseTo(2 * 3 * 730 * 0.01, 9); // Lambda + STS, 3 AZs
    expect(c.items.onDemandNetworkData).toBeCloseTo(2628 * 0.01, 6); // 1,000-byte payload per record
    const nat = lakeloaderCost(handStack({ source: 'msk', inVpc: true }), 1, { ...handAssumptions, onDemandNetwork: 'nat-gateway' }, prices);
    expect(nat.items.onDemandNetworkEndpoints ?? 0).toBe(0);
    expect(nat.items.onDemandNetworkData).toBeCloseTo(2628 * 0.045, 6);
  });
});

describe('the model counts what the loader really does', () => {
  it('per Kafka partition of an invocation: 1 GET, 3 PUTs, a PUT per file and per quarantine object (the real handler, in-memory S3)', async () => {
    const env = { LAKELOADER_PIPELINE: 'clickstream', LAKELOADER_BUCKET: 'lake-bucket', LAKELOADER_GLUE_DATABASE: 'db', AWS_REGION: 'us-east-1' };
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    for (const partitions of [1, 4]) {
      const store = new MemoryStore(1000);
      const handler = createHandler({ config: loadConfig(clickstream, env), store, catalog: new MemoryCatalog() });
      const gen = generateClickstreamRecords({ seed: 5, count: 1200, partitions, malformed: 24 });
      out.length = 0;
      process.stdout.write = ((c: string | Uint8Array) => (out.push(String(c)), true)) as typeof process.stdout.write;
      let summary;
      try {
        summary = await handler(buildMskEvent(gen.records), { awsRequestId: 'r', functionName: 'f' });
      } finally {
        process.stdout.write = write;
      }
      const quarantineObjects = store.keys('quarantine/').length;
      expect(summary.quarantined).toBeGreaterThan(0);
      expect(store.calls.get).toBe(partitions * COMMIT_PROTOCOL.s3GetsPerPartitionBatch);
      expect(store.calls.put).toBe(partitions * COMMIT_PROTOCOL.s3PutsPerPartitionBatch + summary.files + quarantineObjects);
      // What the loader logs (its line and the EMF metrics) is within 25 % of the model's per-invocation bytes.
      const logged = Buffer.byteLength(out.join(''));
      const modelled = LOG_BYTES.loaderPerInvocation + LOG_BYTES.loaderPerPartition * partitions;
      expect(Math.abs(logged - modelled) / modelled).toBeLessThan(0.25);
    }
  });
});

describe('the model counts what the Iceberg commit really does', () => {
  const env = { LAKELOADER_PIPELINE: 'clicks_ice', LAKELOADER_BUCKET: 'lake-bucket', LAKELOADER_GLUE_DATABASE: 'db', AWS_REGION: 'us-east-1' };
  const T0 = Date.parse('2026-12-04T10:00:00Z');
  const batch = (from: number, partitions: number): ProducedRecord[] =>
    Array.from({ length: 40 }, (_, i) => ({ topic: 'clicks', partition: i % partitions, offset: from + Math.floor(i / partitions), timestamp: T0, value: JSON.stringify({ event_id: `e${from}-${i}`, ts: new Date(T0 - (i % 3) * 3_600_000).toISOString() }) }));

  it('per invocation a GetTable and a metadata GET; per commit the state, manifest and metadata requests of ICEBERG_REQUESTS', async () => {
    const P = 3;
    const store = new MemoryStore(1000);
    const catalog = new MemoryCatalog();
    const glue: Record<string, number> = {};
    const counted = new Proxy(catalog, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          glue[String(prop)] = (glue[String(prop)] ?? 0) + 1;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    let now = T0;
    const handler = createHandler({ config: loadConfig(ice, env), store, catalog: counted, now: () => now });
    await handler.ensureTable();
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    const run = async (from: number) => {
      for (const k of Object.keys(glue)) delete glue[k];
      const before = { ...store.calls };
      const summary = await handler(buildMskEvent(batch(from, P)));
      return { summary, get: store.calls.get - before.get, put: store.calls.put - before.put, list: store.calls.list - before.list, glue: { ...glue } };
    };
    try {
      // 1. The table has no snapshot yet: the invocation publishes (no manifest list to read yet).
      const a = await run(0);
      expect(a.summary.published?.batches).toBe(P);
      const I = ICEBERG_REQUESTS;
      const protocolPuts = P * COMMIT_PROTOCOL.s3PutsPerPartitionBatch + a.summary.files;
      expect(a.glue).toEqual({ getTable: I.perInvocation.glue, updateTable: I.perCommit.glue });
      expect(a.list).toBe(I.perCommit.s3List + P * I.perStagedTopicPartitionPerCommit.s3List);
      expect(a.put).toBe(protocolPuts + I.perCommit.s3Put);
      expect(a.get).toBe(P * COMMIT_PROTOCOL.s3GetsPerPartitionBatch + I.perInvocation.s3Get + P * I.perTopicPartitionPerCommit.s3Get + P * I.perPartitionBatch.s3Get);
      // 2. Ten seconds later: the snapshot is fresh, the invocation only asks.
      now += 10_000;
      const b = await run(100);
      expect(b.summary.published?.skipped).toBe('fresh');
      expect(b.glue).toEqual({ getTable: I.perInvocation.glue });
      expect(b.list).toBe(0);
      expect(b.get).toBe(P * COMMIT_PROTOCOL.s3GetsPerPartitionBatch + I.perInvocation.s3Get);
      // 3. A minute later: it publishes both staged batches, reading the current manifest list too.
      now += 60_000;
      const c = await run(200);
      expect(c.summary.published?.batches).toBe(2 * P);
      expect(c.glue).toEqual({ getTable: 1, updateTable: 1 });
      expect(c.get).toBe(P * COMMIT_PROTOCOL.s3GetsPerPartitionBatch + I.perInvocation.s3Get + I.perCommit.s3Get + P * I.perTopicPartitionPerCommit.s3Get + 2 * P * I.perPartitionBatch.s3Get);
      expect(c.put).toBe(P * COMMIT_PROTOCOL.s3PutsPerPartitionBatch + c.summary.files + I.perCommit.s3Put);
      // 4. The scheduled committer with nothing staged: it only looks.
      for (const k of Object.keys(glue)) delete glue[k];
      const before = { ...store.calls };
      expect((await handler.commit())?.skipped).toBe('nothing');
      const R = I.perScheduledRun;
      expect(glue).toEqual({ getTable: R.glue });
      expect(store.calls.get - before.get).toBe(R.s3Get + P * R.s3GetPerTopicPartition);
      expect(store.calls.list - before.list).toBe(R.s3List);
      expect(store.calls.put - before.put).toBe(0);
    } finally {
      process.stdout.write = write;
    }
  });
});

describe('the ESM batching simulation', () => {
  const traffic = (mbPerSecond: number, over: Partial<Traffic> = {}): Traffic => ({ mbPerSecond, recordBytes: 500, eventBytesPerRecord: 800, partitions: 4, lateShare: 0, lateMaxSeconds: 0, partitionSeconds: 3600, ...over });
  const processing: Processing = { recordsPerSecond: 50_000, ioMsPerInvocation: 200, esmOverheadMs: 300, initMs: 400, keepWarmSeconds: 600, format: 'hive', commitIntervalSeconds: 0, commitMs: 0, registersPartitions: true };

  it('caps a batch at BatchSize records or the 6 MB payload', () => {
    expect(batchCap({ batchSize: 10_000 }, 940)).toBe(6382);
    expect(batchCap({ batchSize: 100 }, 940)).toBe(100);
    expect(FACTS.invokePayloadBytes.value).toBe(6_000_000);
  });

  it('at low traffic the window closes each batch: one invocation per window, latency up to the window', () => {
    // 0.001 MB/s of 500 B records: 2 records/s; a 60 s window holds ~120, far below the cap.
    const r = simulateMapping(traffic(0.001), { batchSize: 10_000, windowSeconds: 60, pollers: 1 }, processing, { maxRecords: 50_000 });
    const perHour = (r.invocations / r.seconds) * 3600;
    expect(perHour).toBeGreaterThan(3600 / 61 - 3);
    expect(perHour).toBeLessThan(3600 / 60 + 1);
    expect(r.partitionBatches / r.invocations).toBeGreaterThan(3.9); // every partition has records in a minute
    expect(r.latency.p99).toBeGreaterThan(58);
    expect(r.latency.p99).toBeLessThan(61);
    expect(r.latency.p50).toBeGreaterThan(28);
    expect(r.latency.p50).toBeLessThan(33);
    // A longer window: fewer, bigger batches and staler rows.
    const slow = simulateMapping(traffic(0.001), { batchSize: 10_000, windowSeconds: 240, pollers: 1 }, processing, { maxRecords: 50_000 });
    expect(slow.invocations / slow.seconds).toBeLessThan((r.invocations / r.seconds) / 3.5);
    expect(slow.latency.p99).toBeGreaterThan(230);
  });

  it('at high traffic the payload cap closes batches; more pollers split the partitions', () => {
    const one = simulateMapping(traffic(4), { batchSize: 10_000, windowSeconds: 60, pollers: 1 }, processing);
    expect(one.records / one.invocations).toBeCloseTo(batchCap({ batchSize: 10_000 }, 800), -1);
    expect(one.partitionBatches / one.invocations).toBeCloseTo(4, 1);
    const four = simulateMapping(traffic(4), { batchSize: 10_000, windowSeconds: 60, pollers: 4 }, processing);
    expect(four.pollers).toBe(4);
    expect(four.partitionBatches / four.invocations).toBe(1);
    // Same records, a quarter of the commit-protocol runs per record.
    expect(four.partitionBatches / four.records).toBeLessThan((one.partitionBatches / one.records) / 3.5);
  });

  it('late records add files; Iceberg commits add their interval to freshness', () => {
    const onTime = simulateMapping(traffic(1), { batchSize: 10_000, windowSeconds: 60, pollers: 1 }, processing);
    const late = simulateMapping(traffic(1, { lateShare: 0.02, lateMaxSeconds: 3 * 3600 }), { batchSize: 10_000, windowSeconds: 60, pollers: 1 }, processing);
    expect(onTime.files / onTime.partitionBatches).toBeLessThan(1.05);
    expect(late.files / late.partitionBatches).toBeGreaterThan(3);
    const iceberg = simulateMapping(traffic(1), { batchSize: 10_000, windowSeconds: 60, pollers: 1 }, { ...processing, format: 'iceberg', commitIntervalSeconds: 60, commitMs: 1000 });
    expect(iceberg.latency.p50 - onTime.latency.p50).toBeGreaterThan(25);
    expect(iceberg.latency.p99).toBeGreaterThan(59);
    expect(iceberg.commits).toBeGreaterThan(0);
  });
});

describe('alternatives', () => {
  const a = { ...handAssumptions, partitions: 4 };
  it('Firehose: MSK ingestion + Parquet conversion + private-connectivity data per GB, the connectivity hours fixed', () => {
    const f = firehoseCost({ mbPerSecondPerTopic: 1, topics: 1, partitionSeconds: 3600 }, a, DEFAULT_ALTERNATIVES.firehose, prices);
    expect(f.variableUsdPerGb).toBeCloseTo(0.055 + 0.018 + 0.006, 9);
    expect(f.items.mskPrivateConnectivityHours).toBeCloseTo(730 * 0.0225, 9);
    expect(f.items.firehoseIngest).toBeCloseTo(2628 * 0.055, 6);
    // 128 MiB at 1 MB/s flushes every 134 s (before the 300 s interval).
    expect(f.freshnessP99Seconds).toBeCloseTo(134.2 * 0.99 + 30, 0);
  });
  it('MSK Connect: at least one MCU all month; more as throughput needs', () => {
    expect(mskConnectCost({ mbPerSecondPerTopic: 0.01, topics: 1, partitionSeconds: 3600 }, a, DEFAULT_ALTERNATIVES.mskConnect, prices).items.mskConnectMcu).toBeCloseTo(730 * 0.11, 9);
    expect(mskConnectCost({ mbPerSecondPerTopic: 10, topics: 1, partitionSeconds: 3600 }, a, DEFAULT_ALTERNATIVES.mskConnect, prices).items.mskConnectMcu).toBeCloseTo(3 * 730 * 0.11, 9);
  });
  it('expected table partitions of a batch: the current one, a boundary, and the late records\' hours', () => {
    expect(expectedTablePartitions(1000, 0, 3600, 0, 0)).toBe(1);
    expect(expectedTablePartitions(1000, 1800, 3600, 0, 0)).toBe(1.5);
    expect(expectedTablePartitions(100_000, 0, 3600, 0.02, 3 * 3600)).toBeCloseTo(4, 5);
    expect(expectedTablePartitions(1000, 0, null, 0.5, 3600)).toBe(1);
  });
});

describe('the price list', () => {
  it('gives every price a source URL and the day it was read; unconfirmed ones say why', () => {
    for (const [k, p] of Object.entries(PRICES)) {
      expect(p.source, k).toMatch(/^https:\/\//);
      expect(p.read, k).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      if (!p.confirmed) expect(p.note, k).toBeTruthy();
    }
    expect(PRICES.epuHour).toMatchObject({ usd: 0.185, confirmed: true });
    expect(priceTable({ epuHour: 0.2 }).epuHour).toBe(0.2);
    expect(() => priceTable({ nope: 1 } as never)).toThrow(/unknown price "nope"/);
    expect(() => priceTable({ s3Put: -1 })).toThrow(/non-negative/);
  });
});

describe('reads the synthesized template', () => {
  let base: CfnTemplate;
  const measured: MeasuredFigures = { recordsPerSecond: 90_000, recordBytes: 571, eventBytesPerRecord: 940, parquetBytesPerJsonByte: 0.166, from: 'test' };
  const fast = { sim: { maxRecords: 40_000 } };
  beforeAll(() => {
    base = synthesizeStack({ pipelines: [clickstream] });
  }, 60_000);

  it('takes the mapping, function, alarms and bucket settings from the template', () => {
    const s = readStackSettings(base);
    expect(s.mappings).toHaveLength(1);
    expect(s.mappings[0]).toMatchObject({ topics: ['clicks'], batchSize: 10_000, maxBatchingWindowSeconds: 90, provisioned: null, source: 'msk', inVpc: true, onFailureDestination: true });
    expect(s.mappings[0]!.function).toMatchObject({ memoryMb: 1769, architecture: 'arm64', logRetentionDays: 30, pipeline: 'clickstream' });
    expect(s.alarms).toEqual({ count: 4, billedMetrics: 5 }); // the quarantine-rate alarm reads two metrics
    expect(s.dashboards).toBe(1);
    expect(s.kms).toEqual({ enabled: false, bucketKey: false });
    expect(s.accessLogs).toEqual({ enabled: true, retentionDays: 365 });
    expect(s.tables.find((t) => !t.quarantine)).toMatchObject({ name: 'clickstream', format: 'hive', partitionKeys: ['dt', 'hour'] });
    expect(() => readStackSettings({ Resources: {} })).toThrow(StackTemplateError);
  });

  it('the table format comes from the template: an Iceberg table adds the commit\'s requests and its interval to freshness', () => {
    const t = synthesizeStack({ pipelines: [ice] });
    const s = readStackSettings(t);
    expect(s.tables.find((x) => !x.quarantine)).toMatchObject({ name: 'clicks_ice', format: 'iceberg', partitionKeys: [] });
    // The stack's scheduled committer (an EventBridge rule every minute) and its Glue optimizers are read too.
    expect(s.mappings[0]!.function.scheduledCommitSeconds).toBe(60);
    expect(s.tableOptimizers.map((o) => o.type).sort()).toEqual(['compaction', 'orphan_file_deletion', 'retention']);
    expect(s.mappings[0]!.maxBatchingWindowSeconds).toBe(30);
    const hive = computeCostTable({ measured, template: base, levels: [1], assumptions: fast });
    const iceberg = computeCostTable({ measured, template: t, levels: [1], assumptions: fast });
    expect(hive.stack.format).toBe('hive');
    expect(iceberg.stack.format).toBe('iceberg');
    // GetTable per invocation + UpdateTable per commit, against Hive's rare BatchCreatePartition.
    expect(iceberg.levels[0]!.items.glueRequests!).toBeGreaterThan(5 * (hive.levels[0]!.items.glueRequests ?? 0) + 0.5);
    // At 1 MB/s invocations come every few seconds; rows wait up to the 60 s commit interval.
    expect(iceberg.levels[0]!.freshnessP99Seconds).toBeGreaterThan(55);
    expect(hive.levels[0]!.freshnessP99Seconds).toBeLessThan(10);
    expect(iceberg.levels[0]!.items.scheduledCommitter).toBeGreaterThan(0);
    expect(iceberg.levels[0]!.items.glueOptimizerDpu).toBeGreaterThan(0);
    expect(hive.levels[0]!.items.scheduledCommitter ?? 0).toBe(0);
  }, 60_000);

  it('a KMS key on the bucket adds KMS requests (fewer with S3 Bucket Keys)', () => {
    const kms = synthesizeStack({ pipelines: [clickstream], context: { kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555' } });
    const s = readStackSettings(kms);
    expect(s.kms).toEqual({ enabled: true, bucketKey: true });
    const a = computeCostTable({ measured, template: base, levels: [1], assumptions: fast }).levels[0]!;
    const b = computeCostTable({ measured, template: kms, levels: [1], assumptions: fast }).levels[0]!;
    expect(a.items.kmsRequests ?? 0).toBe(0);
    expect(b.items.kmsRequests).toBeGreaterThan(0);
    expect(b.usdPerMonth).toBeGreaterThan(a.usdPerMonth);
  }, 60_000);

  it('a loader asking for bounded retries is provisioned: its EPU-hours appear; a shorter freshness target costs more at low traffic', () => {
    const stackWith = (loader: ConstructorParameters<typeof LakeStack>[2]['loader']) => {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      return Template.fromStack(new LakeStack(app, 'Lakeloader', { pipelines: [clickstream], kafka: { kind: 'msk', clusterArn: 'arn:aws:kafka:us-east-1:123456789012:cluster/c/abc-1' }, loader })).toJSON() as CfnTemplate;
    };
    const level = (template: CfnTemplate) => computeCostTable({ measured, template, levels: [0.01], assumptions: fast }).levels[0]!;
    const dflt = level(base);
    const retries = level(stackWith({ retryAttempts: 5 }));
    expect(dflt.items.provisionedPollersEpu ?? 0).toBe(0);
    expect(retries.items.provisionedPollersEpu).toBeCloseTo(730 * 0.185, 6);
    expect(retries.items.onDemandNetworkEndpoints ?? 0).toBe(0); // provisioned mode needs no endpoints
    const fresh = level(stackWith({ freshnessTarget: Duration.minutes(1) }));
    const cheap = level(stackWith({ freshnessTarget: Duration.minutes(5) }));
    expect(readStackSettings(stackWith({ freshnessTarget: Duration.minutes(1) })).mappings[0]!.maxBatchingWindowSeconds).toBe(30);
    expect(readStackSettings(stackWith({ freshnessTarget: Duration.minutes(5) })).mappings[0]!.maxBatchingWindowSeconds).toBe(270);
    expect(fresh.items.s3Requests!).toBeGreaterThan(dflt.items.s3Requests! * 2);
    expect(dflt.items.s3Requests!).toBeGreaterThan(cheap.items.s3Requests! * 2);
    expect(fresh.freshnessP99Seconds).toBeLessThan(40);
    // The default target (2 minutes) holds at the lowest level; 5 minutes is cheaper and staler.
    expect(dflt.freshnessP99Seconds).toBeGreaterThan(60);
    expect(dflt.freshnessP99Seconds).toBeLessThan(120);
    expect(cheap.freshnessP99Seconds).toBeGreaterThan(240);
    expect(cheap.freshnessP99Seconds).toBeLessThan(300);
  }, 120_000);

  it('the table: four levels, every alternative, the targets checked, printable', () => {
    const t = costTable(readStackSettings(base), { assumptions: { ...DEFAULT_ASSUMPTIONS, ...measured, sim: { seed: 1, maxRecords: 40_000 } }, prices });
    expect(t.levels.map((l) => l.mbPerSecond)).toEqual([...LEVELS]);
    for (const l of t.levels) {
      expect(l.usdPerMonth).toBeCloseTo(Object.values(l.items).reduce((s, x) => s + x, 0), 9);
      expect(l.usdPerGb).toBeCloseTo(l.usdPerMonth / l.gbPerMonth, 12);
      expect(l.gbPerMonth).toBeCloseTo((l.mbPerSecond * MONTH_S) / 1000, 6);
      expect(l.firehoseUsdPerGb).toBe(l.alternatives.firehose.usdPerGb);
      expect(l.freshnessP99Seconds).toBeGreaterThanOrEqual(l.freshnessP50Seconds);
      expect(l.alternatives.mskDelivery.usdPerGb).toBeNull();
      expect(l.targets.ratioVsFirehose).toBeCloseTo(l.usdPerGb / l.alternatives.firehose.variableUsdPerGb!, 12);
    }
    expect(t.levels[0]!.targets.maxRatio).toBeNull();
    expect(t.levels[1]!.targets.maxRatio).toBeCloseTo(1 / 3, 12);
    expect(t.levels[3]!.targets.maxRatio).toBeCloseTo(1 / 10, 12);
    // $/GB falls as traffic rises (fixed monthly lines spread over more data).
    expect(t.levels[3]!.usdPerGb).toBeLessThan(t.levels[0]!.usdPerGb);
    const text = formatCostTable(t);
    expect(text).toContain('Lakeloader $/GB');
    expect(text).toContain('on-demand ESM network path (Lambda/STS interface endpoints)');
    expect(text.split('\n').filter((l) => /^\s+(0\.01|0\.1|1|10)\s/.test(l)).length).toBeGreaterThanOrEqual(4);
  }, 60_000);
});

describe('saved results', () => {
  it('reads the measured figures of a saved bench run, and says what is missing otherwise', () => {
    const f = readSavedFigures(DEFAULT_SAVED_RESULT);
    expect(f.recordsPerSecond).toBeGreaterThan(10_000);
    expect(f.recordBytes).toBeGreaterThan(400);
    expect(f.eventBytesPerRecord).toBeGreaterThan(f.recordBytes);
    expect(f.parquetBytesPerJsonByte).toBeLessThan(1);
    expect(() => figuresFromResult({ recordsPerSecond: 1 }, 'x.json')).toThrow(SavedResultError);
    expect(() => readSavedFigures('/nonexistent.json')).toThrow(/cannot read it/);
  });
});
