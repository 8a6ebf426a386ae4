/**
 * What the loader stack costs a month at a traffic level, counted the way AWS bills it, from the
 * stack's synthesized settings (stack.ts), the simulated batches (simulate.ts) and the price list
 * (prices.ts).
 *
 * Per Kafka partition in an invocation the loader makes (lambdas/core/commit.ts; checked against
 * the real handler in test/unit/cost-model.test.ts):
 *   S3 GET   1  the commit state
 *   S3 PUT   3  pending state, manifest, committed state
 *   S3 PUT   1  per Parquet file (one per table partition the records fall in)
 *   S3 PUT   1  quarantine object, when a record of the batch was quarantined
 *   Glue     1  BatchCreatePartition when the batch brings a partition its warm container has not registered (Hive, not projected)
 * and for an Iceberg table ({@link ICEBERG_REQUESTS}, lambdas/core/iceberg/commit.ts and table.ts):
 * per invocation that staged files, Glue GetTable + the metadata GET (is the last snapshot older
 * than the commit interval?), and per snapshot commit the state and commit-manifest reads, the
 * manifest, manifest-list and metadata PUTs and Glue UpdateTable.
 *
 * Every other line — Lambda GB-s and requests, provisioned-mode EPU-hours, the on-demand ESM's
 * network path, CloudWatch metrics/alarms/dashboard/logs, KMS, the access logs the lake bucket
 * writes, Glue table optimizers, and the S3 requests Athena makes to open the files left behind —
 * is in {@link lakeloaderCost}, each as $ a month.
 */
import type { Pipeline } from '../../../lambdas/core/pipeline';
import { METRIC } from '../../../lambdas/core/report';
import { getPipeline } from '../../pipelines';
import { FACTS, type PriceTable } from './prices';
import { simulateMapping, type Processing, type SimResult, type Traffic } from './simulate';
import { partitionSeconds, type MappingSettings, type StackSettings, type TableSettings } from './stack';

/** S3/Glue requests of one run of the commit protocol for one Kafka partition (lambdas/core/commit.ts). */
export const COMMIT_PROTOCOL = {
  /** readState */
  s3GetsPerPartitionBatch: 1,
  /** pending state (step 5), manifest (step 7), committed state (step 9); data and quarantine PUTs come on top. */
  s3PutsPerPartitionBatch: 3,
} as const;

/**
 * Requests of the Iceberg commit (lambdas/core/iceberg/commit.ts `publishStaged`, table.ts
 * `commitMetadata`), by what they scale with. Checked against the real handler in
 * test/unit/cost-model.test.ts.
 */
export const ICEBERG_REQUESTS = {
  /** An invocation that staged files asks whether to publish: GetTable, GET of the current metadata.json. */
  perInvocation: { glue: 1, s3Get: 1 },
  /** A commit: UpdateTable; LIST of the state prefix; GET of the manifest list; PUTs of manifest, manifest list, metadata. */
  perCommit: { glue: 1, s3List: 1, s3Get: 1, s3Put: 3 },
  /** A commit reads every topic-partition's state object of the table. */
  perTopicPartitionPerCommit: { s3Get: 1 },
  /** ... and lists the commit manifests of each topic-partition that has staged batches. */
  perStagedTopicPartitionPerCommit: { s3List: 1 },
  /** Each staged batch's commit manifest is read once, by the commit that publishes it. */
  perPartitionBatch: { s3Get: 1 },
  /** Every MERGE_MANIFESTS_AT (8) commits, the commit reads the 8 data manifests it merges: one GET a commit on average. */
  mergeGetsPerCommit: 1,
  /**
   * A run of the scheduled committer (lib/infra/iceberg.ts: an EventBridge rule every minute) that
   * finds nothing to publish: GetTable, the metadata GET, the LIST of the state prefix and a GET
   * of every topic-partition's state. (A run that publishes is a commit, counted above.)
   */
  perScheduledRun: { glue: 1, s3Get: 1, s3List: 1, s3GetPerTopicPartition: 1 },
} as const;

/** Billed time of a scheduled-committer run that finds nothing to publish, ms (assumed: a few S3 and Glue round trips in a warm container). */
export const SCHEDULED_RUN_MS = 150;

/**
 * Bytes the loader logs per invocation (measured with the real handler: the `batch loaded` line
 * and the EMF metrics; test/unit/cost-model.test.ts re-measures them), plus Lambda's own JSON
 * platform lines (start, report), which are an estimate.
 */
export const LOG_BYTES = { loaderPerInvocation: 1220, loaderPerPartition: 94, platformPerInvocation: 700 } as const;

/** Metrics only emitted when something fails (billed only in the hours they are). */
const FAILURE_METRICS: string[] = [METRIC.partitionsFailed, METRIC.commitFailures];
/** Iceberg-only metrics (emitted when a commit publishes). */
const ICEBERG_METRICS: string[] = [METRIC.batchesPublished];
/** Custom metrics (EMF → CloudWatch, one per name for the pipeline dimension) a loader emits every hour it runs. */
export function customMetrics(format: 'hive' | 'iceberg'): number {
  return Object.values(METRIC).filter((m) => !FAILURE_METRICS.includes(m) && (format === 'iceberg' || !ICEBERG_METRICS.includes(m))).length;
}
/** For a Hive table. */
export const CUSTOM_METRICS = customMetrics('hive');

/** Assumptions about the world the stack does not say; each has a CLI flag. */
export interface CostAssumptions {
  /** Loader-core records/s (the bench's measured median). */
  recordsPerSecond: number;
  /** Bytes of one record's JSON value. */
  recordBytes: number;
  /** Bytes one record takes in the MSK invoke payload. */
  eventBytesPerRecord: number;
  /** Parquet bytes per JSON byte (measured). */
  parquetBytesPerJsonByte: number;
  /** Kafka partitions per topic. @default 4 */
  partitions: number;
  /** Share of late records and how late (the example generator: 2 %, up to 3 h). */
  lateShare: number;
  lateMaxSeconds: number;
  /** Share of records quarantined. @default 0.001 (a tenth of the alarm's 1 %) */
  quarantineRate: number;
  /** S3/Glue round trips per invocation, ms. @default 200 */
  ioMsPerInvocation: number;
  /** ESM poll-to-invoke overhead, ms. @default 300 */
  esmOverheadMs: number;
  /** Billed init time of a cold start, ms (Lambda bills INIT since August 2025). @default 400 */
  initMs: number;
  /** A container idle this long is cold. @default 600 */
  keepWarmSeconds: number;
  /** Table format: from the template unless set. */
  tableFormat?: 'hive' | 'iceberg';
  /**
   * Glue table optimizers to assume for an Iceberg table whose template declares none (what-if:
   * the stack does not deploy AWS::Glue::TableOptimizer resources yet). @default none
   */
  assumeOptimizers?: Array<'compaction' | 'retention' | 'orphan_file_deletion'>;
  /** S3 PUTs of the commit protocol per Kafka-partition batch besides data and quarantine (what-if for a protocol change). @default COMMIT_PROTOCOL's 3 */
  protocolPutsPerPartitionBatch?: number;
  /** Iceberg: what the stack does not say (the commit interval comes from the function's environment or the pipeline's declaration; this is the fallback). */
  iceberg: {
    commitIntervalSeconds: number;
    commitMs: number;
    /** A scheduled committer's period, if the stack runs one (none in the stack yet). */
    scheduledCommitSeconds: number;
    /** Glue compaction starts in a partition with this many small files (the optimizer's minInputFiles default). */
    compactionMinInputFiles: number;
    compactionDpuHoursPerGb: number;
    /** Each compaction run bills at least this (DPU-hours). */
    compactionMinDpuHoursPerRun: number;
    /** Snapshot retention and orphan-file deletion: DPU-hours per run, runs per day each. */
    maintenanceDpuHoursPerRun: number;
    maintenanceRunsPerDay: number;
  };
  /**
   * How on-demand pollers of a mapping inside a VPC reach Lambda and STS (needed in on-demand mode
   * only): interface endpoints created for the loader, an existing NAT gateway, or nothing to pay
   * (endpoints already there for other reasons — their per-GB charge still applies).
   * @default 'interface-endpoints'
   */
  onDemandNetwork: 'interface-endpoints' | 'nat-gateway' | 'shared-endpoints';
  /** Availability zones of the cluster's subnets (one endpoint ENI each). @default 3 */
  endpointAzs: number;
  /** Queries a day over the table, each reading the last `hoursScanned` hours. @default 24, 24 */
  queriesPerDay: number;
  hoursScanned: number;
  /** S3 GETs to read one Parquet file (footer, column chunks). @default 2 */
  getsPerFileOpened: number;
  /** Bytes of one S3 server access log record. @default 350 */
  accessLogBytesPerRequest: number;
  /** CloudWatch Logs archive size per ingested byte. @default 0.15 */
  logsArchiveRatio: number;
  /** Simulation size and seed. */
  sim: { seed: number; maxRecords: number };
}

export const DEFAULT_ASSUMPTIONS: Omit<CostAssumptions, 'recordsPerSecond' | 'recordBytes' | 'eventBytesPerRecord' | 'parquetBytesPerJsonByte'> = {
  partitions: 4,
  lateShare: 0.02,
  lateMaxSeconds: 3 * 3600,
  quarantineRate: 0.001,
  ioMsPerInvocation: 200,
  esmOverheadMs: 300,
  initMs: 400,
  keepWarmSeconds: 600,
  iceberg: {
    commitIntervalSeconds: 60,
    commitMs: 1000,
    scheduledCommitSeconds: 0,
    compactionMinInputFiles: 100,
    compactionDpuHoursPerGb: 0.01,
    compactionMinDpuHoursPerRun: 1 / 60,
    maintenanceDpuHoursPerRun: 0.05,
    maintenanceRunsPerDay: 1,
  },
  onDemandNetwork: 'interface-endpoints',
  endpointAzs: 3,
  queriesPerDay: 24,
  hoursScanned: 24,
  getsPerFileOpened: 2,
  accessLogBytesPerRequest: 350,
  logsArchiveRatio: 0.15,
  sim: { seed: 1, maxRecords: 300_000 },
};

const MONTH_S = FACTS.secondsPerMonth.value;
const MONTH_H = MONTH_S / 3600;
const DAYS_PER_MONTH = MONTH_H / 24;
const GB = 1e9;

/** Monthly counts of one mapping at one level. */
export interface MappingMonth {
  logicalId: string;
  pipeline: string | undefined;
  format: 'hive' | 'iceberg';
  pollers: number;
  provisioned: boolean;
  records: number;
  jsonGb: number;
  payloadGb: number;
  invocations: number;
  partitionBatches: number;
  files: number;
  quarantineObjects: number;
  glueCalls: number;
  coldStarts: number;
  gbSeconds: number;
  commits: number;
  s3Puts: number;
  s3Gets: number;
  glueRequests: number;
  /** Table partitions a month (for query-side listing). */
  tablePartitions: number;
  /** The files a query over the last `hoursScanned` hours opens, before and after compaction. */
  query: QueryFiles;
  sim: SimResult;
}

/** One level's cost of the loader stack. */
export interface LakeloaderLevelCost {
  mbPerSecondPerTopic: number;
  topics: number;
  gbPerMonth: number;
  usdPerMonth: number;
  usdPerGb: number;
  /** $ a month per line; they add up to usdPerMonth. */
  items: Record<string, number>;
  /** Not in usdPerMonth: what storing one month of this level's Parquet costs each month it is kept (the same for every alternative). */
  storageUsdPerMonthOfData: number;
  freshnessP50Seconds: number;
  freshnessP99Seconds: number;
  mappings: MappingMonth[];
}

/** Pollers a mapping runs at a rate: enough to keep each at most 70 % busy, within 1..partitions (and the provisioned bounds). */
/** The simulation's processing settings for a format (one place for the cost table and the files bench). */
export function simProcessing(
  a: Pick<CostAssumptions, 'recordsPerSecond' | 'ioMsPerInvocation' | 'esmOverheadMs' | 'initMs' | 'keepWarmSeconds' | 'iceberg'>,
  format: 'hive' | 'iceberg',
  commitIntervalSeconds: number,
  scheduledCommitSeconds: number | null | undefined,
  registersPartitions: boolean,
): Processing {
  return {
    recordsPerSecond: a.recordsPerSecond,
    ioMsPerInvocation: a.ioMsPerInvocation,
    esmOverheadMs: a.esmOverheadMs,
    initMs: a.initMs,
    keepWarmSeconds: a.keepWarmSeconds,
    format,
    commitIntervalSeconds,
    commitMs: a.iceberg.commitMs,
    ...(scheduledCommitSeconds ? { scheduledCommitSeconds } : {}),
    registersPartitions,
  };
}

export function pollersFor(mapping: MappingSettings, traffic: Traffic, a: Pick<CostAssumptions, 'recordsPerSecond' | 'ioMsPerInvocation' | 'esmOverheadMs'>, cap: number): number {
  const full = ((a.esmOverheadMs + a.ioMsPerInvocation) / 1000 + cap / a.recordsPerSecond);
  const perPollerMBps = Math.min(FACTS.kafkaPollerMBps.value, (cap * traffic.recordBytes) / 1e6 / full);
  let k = Math.ceil(traffic.mbPerSecond / (0.7 * perPollerMBps));
  if (mapping.provisioned) k = Math.min(mapping.provisioned.maximumPollers, Math.max(mapping.provisioned.minimumPollers, k));
  return Math.max(1, Math.min(traffic.partitions, k));
}

/** The declaration of a pipeline by name (the one the function's bundle holds), if it can be found. */
function declaredPipeline(name: string | undefined): Pipeline | undefined {
  if (!name) return undefined;
  try {
    return getPipeline(name);
  } catch {
    return undefined;
  }
}

/** Seconds one table partition spans, from a declaration's partitioning. */
function granularitySeconds(p: Pipeline): number | null {
  const part = p.partitioning;
  if (part.by === 'eventTime') return part.granularity === 'hour' ? 3600 : 86_400;
  return part.by === 'none' ? null : 86_400; // plain columns: assume a day's worth of distinct values per partition
}

/**
 * Seconds one partition of a mapping's table spans. Hive: its partition keys; Iceberg partitions
 * are hidden (no keys in Glue), so the pipeline's declaration says.
 */
export function tablePartitionSeconds(settings: StackSettings, m: MappingSettings): number | null {
  const table = tableOf(settings, m);
  if (table && table.partitionKeys.length) return partitionSeconds(table.partitionKeys);
  const declared = declaredPipeline(m.function.pipeline);
  return declared ? granularitySeconds(declared) : table ? null : 3600;
}

/** The Glue table optimizers of a table: the template's, or the assumed ones when it has none. */
function optimizersOf(settings: Pick<StackSettings, 'tableOptimizers'>, table: TableSettings | undefined, a: Pick<CostAssumptions, 'assumeOptimizers'>): string[] {
  const declared = settings.tableOptimizers.filter((o) => !table || o.table === table.name).map((o) => o.type);
  return declared.length ? declared : [...(a.assumeOptimizers ?? [])];
}

/** The data table a mapping's function loads. */
function tableOf(settings: StackSettings, mapping: MappingSettings): TableSettings | undefined {
  const data = settings.tables.filter((t) => !t.quarantine);
  return data.find((t) => t.pipeline !== undefined && t.pipeline === mapping.function.pipeline) ?? (data.length === 1 ? data[0] : undefined);
}

/** Provisioned-mode EPUs: one group shares EPUs (10 pollers, 20 MB/s each); a mapping without a group has its own. */
export function epus(mappings: Array<{ provisioned: MappingSettings['provisioned']; pollers: number; mbPerSecond: number }>): number {
  const groups = new Map<string, { pollers: number; mbps: number }>();
  let total = 0;
  for (const m of mappings) {
    if (!m.provisioned) continue;
    const pollers = Math.max(m.provisioned.minimumPollers, m.pollers);
    if (m.provisioned.pollerGroupName) {
      const g = groups.get(m.provisioned.pollerGroupName) ?? { pollers: 0, mbps: 0 };
      g.pollers += pollers;
      g.mbps += m.mbPerSecond;
      groups.set(m.provisioned.pollerGroupName, g);
    } else total += Math.max(1, Math.ceil(pollers / FACTS.pollersPerEpu.value), Math.ceil(m.mbPerSecond / FACTS.epuMBps.value));
  }
  for (const g of groups.values()) total += Math.max(1, Math.ceil(g.pollers / FACTS.pollersPerEpu.value), Math.ceil(g.mbps / FACTS.epuMBps.value));
  return total;
}

/**
 * The loader stack's monthly cost with every mapping carrying `mbPerSecond` per topic.
 * @param settings read from the synthesized template
 */
export function lakeloaderCost(settings: StackSettings, mbPerSecond: number, a: CostAssumptions, prices: PriceTable): LakeloaderLevelCost {
  const items: Record<string, number> = {};
  const add = (k: string, usd: number) => {
    if (usd !== 0) items[k] = (items[k] ?? 0) + usd;
  };
  const months: MappingMonth[] = [];
  const scheduledFunctions = new Set<string>();
  let latencyWeighted = { p50: 0, p99: 0, weight: 0 };

  for (const m of settings.mappings) {
    const table = tableOf(settings, m);
    const format = a.tableFormat ?? table?.format ?? 'hive';
    const declared = declaredPipeline(m.function.pipeline);
    const span = tablePartitionSeconds(settings, m);
    // The interval the function runs with: its environment, else its pipeline's declaration, else the assumption.
    const commitInterval = m.function.commitIntervalSeconds ?? declared?.iceberg?.commitIntervalSeconds ?? a.iceberg.commitIntervalSeconds;
    // The stack's scheduled committer (read from the template), else the assumption's (0: none).
    const scheduled = format === 'iceberg' ? (m.function.scheduledCommitSeconds ?? (a.iceberg.scheduledCommitSeconds || undefined)) : undefined;
    if (scheduled && !scheduledFunctions.has(m.function.logicalId)) {
      scheduledFunctions.add(m.function.logicalId);
      const runs = MONTH_S / scheduled;
      const topicPartitions = settings.mappings.filter((x) => x.function.logicalId === m.function.logicalId).reduce((n, x) => n + x.topics.length, 0) * a.partitions;
      const R = ICEBERG_REQUESTS.perScheduledRun;
      const gbSecondPrice = m.function.architecture === 'arm64' ? prices.lambdaArmGbSecond : prices.lambdaX86GbSecond;
      add('scheduledCommitter', runs * ((SCHEDULED_RUN_MS / 1000) * (m.function.memoryMb / 1024) * gbSecondPrice + prices.lambdaRequest));
      add('scheduledCommitter', runs * (R.glue * prices.glueRequest + (R.s3Get + topicPartitions * R.s3GetPerTopicPartition) * prices.s3Get + R.s3List * prices.s3Put));
      add('scheduledCommitter', ((runs * (LOG_BYTES.loaderPerInvocation + LOG_BYTES.platformPerInvocation)) / GB) * prices.cloudwatchLogsIngestGb);
    }
    for (const _topic of m.topics) {
      const traffic: Traffic = {
        mbPerSecond,
        recordBytes: a.recordBytes,
        eventBytesPerRecord: a.eventBytesPerRecord,
        partitions: a.partitions,
        lateShare: a.lateShare,
        lateMaxSeconds: a.lateMaxSeconds,
        partitionSeconds: span,
        quarantineRate: a.quarantineRate,
      };
      const cap = Math.max(1, Math.min(m.batchSize, Math.floor(FACTS.invokePayloadBytes.value / a.eventBytesPerRecord)));
      const pollers = pollersFor(m, traffic, a, cap);
      const sim = simulateMapping(
        traffic,
        { batchSize: m.batchSize, windowSeconds: m.maxBatchingWindowSeconds, pollers },
        simProcessing(a, format, commitInterval, scheduled, format === 'hive' && !table?.projection && (table?.partitionKeys.length ?? 1) > 0),
        a.sim,
      );
      const records = ((mbPerSecond * 1e6) / a.recordBytes) * MONTH_S;
      const scale = records / sim.records;
      const s = (x: number) => x * scale;
      const commits = format === 'iceberg' ? s(sim.commits) : 0;
      const files = s(sim.files);
      const jsonGb = (records * a.recordBytes) / GB;
      const tablePartitions = span ? MONTH_S / span : 1;
      const month: MappingMonth = {
        logicalId: m.logicalId,
        pipeline: m.function.pipeline,
        format,
        pollers,
        provisioned: m.provisioned !== null,
        records,
        jsonGb,
        payloadGb: (records * a.eventBytesPerRecord) / GB,
        invocations: s(sim.invocations),
        partitionBatches: s(sim.partitionBatches),
        files,
        quarantineObjects: s(sim.quarantineObjects),
        glueCalls: s(sim.glueCalls),
        coldStarts: s(sim.coldStarts),
        gbSeconds: (s(sim.billedMs) / 1000) * (m.function.memoryMb / 1024),
        commits,
        s3Puts: 0,
        s3Gets: 0,
        glueRequests: 0,
        tablePartitions,
        query: queryFiles({ files, tablePartitions, jsonGb }, format, settings, table, a),
        sim,
      };
      month.s3Puts = month.partitionBatches * (a.protocolPutsPerPartitionBatch ?? COMMIT_PROTOCOL.s3PutsPerPartitionBatch) + month.files + month.quarantineObjects;
      month.s3Gets = month.partitionBatches * COMMIT_PROTOCOL.s3GetsPerPartitionBatch;
      month.glueRequests = month.glueCalls;
      if (format === 'iceberg') {
        const I = ICEBERG_REQUESTS;
        const stagedPartitions = commits > 0 ? Math.min(a.partitions, month.partitionBatches / commits) : 0;
        month.s3Puts += commits * (I.perCommit.s3Put + I.perCommit.s3List + stagedPartitions * I.perStagedTopicPartitionPerCommit.s3List); // LIST bills as PUT
        month.s3Gets += month.invocations * I.perInvocation.s3Get + commits * (I.perCommit.s3Get + I.mergeGetsPerCommit + a.partitions * I.perTopicPartitionPerCommit.s3Get) + month.partitionBatches * I.perPartitionBatch.s3Get;
        month.glueRequests += month.invocations * I.perInvocation.glue + commits * I.perCommit.glue;
      }
      months.push(month);
      latencyWeighted = {
        p50: latencyWeighted.p50 + sim.latency.p50 * records,
        p99: Math.max(latencyWeighted.p99, sim.latency.p99),
        weight: latencyWeighted.weight + records,
      };

      // Lambda.
      const gbSecondPrice = m.function.architecture === 'arm64' ? prices.lambdaArmGbSecond : prices.lambdaX86GbSecond;
      add('lambdaCompute', month.gbSeconds * gbSecondPrice);
      add('lambdaRequests', month.invocations * prices.lambdaRequest);
      // The commit protocol's and the Iceberg commits' requests.
      add('s3Requests', month.s3Puts * prices.s3Put + month.s3Gets * prices.s3Get);
      add('glueRequests', month.glueRequests * prices.glueRequest);
      if (settings.kms.enabled) add('kmsRequests', (month.s3Puts + month.s3Gets) * (settings.kms.bucketKey ? 0.01 : 1) * prices.kmsRequest);
      if (settings.accessLogs.enabled) {
        const monthlyGb = ((month.s3Puts + month.s3Gets) * a.accessLogBytesPerRequest) / GB;
        const keptMonths = (settings.accessLogs.retentionDays ?? 365) / DAYS_PER_MONTH;
        add('s3AccessLogStorage', monthlyGb * keptMonths * prices.s3StorageGbMonth);
      }
      // CloudWatch Logs.
      const partitionsPerInvocation = month.invocations > 0 ? month.partitionBatches / month.invocations : 0;
      const logGb = (month.invocations * (LOG_BYTES.loaderPerInvocation + LOG_BYTES.platformPerInvocation + LOG_BYTES.loaderPerPartition * partitionsPerInvocation)) / GB;
      add('cloudwatchLogsIngest', logGb * prices.cloudwatchLogsIngestGb);
      const logKeptMonths = (m.function.logRetentionDays ?? 3650) / DAYS_PER_MONTH;
      add('cloudwatchLogsStorage', logGb * a.logsArchiveRatio * logKeptMonths * prices.cloudwatchLogsStorageGbMonth);
      // On-demand pollers inside a VPC reach Lambda and STS through the cluster's network: the invoke payloads cross it.
      if (!m.provisioned && m.inVpc) add('onDemandNetworkData', month.payloadGb * (a.onDemandNetwork === 'nat-gateway' ? prices.natGatewayGb : prices.interfaceEndpointGb));
      // Iceberg table optimizers (read from the template; assumed when the format is set by hand).
      if (format === 'iceberg') {
        const optimizers = optimizersOf(settings, table, a);
        const filesPerPartition = month.files / month.tablePartitions;
        const parquetGb = month.jsonGb * a.parquetBytesPerJsonByte;
        if (optimizers.includes('compaction') && filesPerPartition >= a.iceberg.compactionMinInputFiles) {
          const runs = month.tablePartitions;
          add('glueOptimizerDpu', Math.max(parquetGb * a.iceberg.compactionDpuHoursPerGb, runs * a.iceberg.compactionMinDpuHoursPerRun) * prices.glueDpuHour);
        }
        const maintenance = optimizers.filter((o) => o !== 'compaction').length;
        add('glueOptimizerDpu', maintenance * a.iceberg.maintenanceRunsPerDay * DAYS_PER_MONTH * a.iceberg.maintenanceDpuHoursPerRun * prices.glueDpuHour);
      }
      // Queries: Athena opens every file in the hours it scans (the scan itself is the same for every alternative and left out).
      add('queryFileRequests', queryRequestsUsd(month, format, settings, table, a, prices));
    }
  }

  // Provisioned pollers: EPU-hours, whatever the traffic.
  const epuCount = epus(settings.mappings.flatMap((m) => m.topics.map(() => ({ provisioned: m.provisioned, pollers: months.find((x) => x.logicalId === m.logicalId)?.pollers ?? 1, mbPerSecond }))));
  add('provisionedPollersEpu', epuCount * MONTH_H * prices.epuHour);
  // On-demand pollers in a VPC: interface endpoints for Lambda and STS (and Secrets Manager for SASL), once per VPC.
  const onDemandVpc = settings.mappings.filter((m) => !m.provisioned && m.inVpc);
  if (onDemandVpc.length && a.onDemandNetwork === 'interface-endpoints') {
    const services = 2 + (onDemandVpc.some((m) => m.usesSecret) ? 1 : 0);
    add('onDemandNetworkEndpoints', services * a.endpointAzs * MONTH_H * prices.interfaceEndpointAzHour);
  }
  // CloudWatch: custom metrics per pipeline, alarms, dashboards.
  const pipelines = new Map(months.map((m) => [m.pipeline ?? m.logicalId, m.format]));
  for (const format of pipelines.values()) add('cloudwatchMetrics', customMetrics(format) * prices.cloudwatchMetricMonth);
  add('cloudwatchAlarms', settings.alarms.billedMetrics * prices.cloudwatchAlarmMetricMonth);
  add('cloudwatchDashboards', settings.dashboards * prices.cloudwatchDashboardMonth);

  const gbPerMonth = months.reduce((s, x) => s + x.jsonGb, 0);
  const usdPerMonth = Object.values(items).reduce((s, x) => s + x, 0);
  return {
    mbPerSecondPerTopic: mbPerSecond,
    topics: months.length,
    gbPerMonth,
    usdPerMonth,
    usdPerGb: usdPerMonth / gbPerMonth,
    items,
    storageUsdPerMonthOfData: gbPerMonth * a.parquetBytesPerJsonByte * prices.s3StorageGbMonth,
    freshnessP50Seconds: latencyWeighted.p50 / latencyWeighted.weight,
    freshnessP99Seconds: latencyWeighted.p99,
    mappings: months,
  };
}

/** The files one query over the last `hoursScanned` hours opens, as the data is written and as compaction leaves it. */
export interface QueryFiles {
  /** Table partitions the query reads (at least 1). */
  partitionsScanned: number;
  /** Data files per table partition as the loader writes them (a month's files ÷ its table partitions). */
  filesPerPartition: number;
  /** Data files per table partition as queries find them: after the compaction optimizer where it runs, else as written. */
  filesPerPartitionCompacted: number;
  /** Whether compaction runs on this table at this level: an Iceberg table with the compaction optimizer and at least `compactionMinInputFiles` files in a partition. */
  compacted: boolean;
  /** Files the query opens before and after compaction. */
  filesOpened: number;
  filesOpenedCompacted: number;
}

/**
 * The files a query over the last `hoursScanned` hours opens (the rule {@link queryRequestsUsd}
 * prices): every data file of the partitions it scans; for an Iceberg table whose compaction
 * optimizer runs (≥ `compactionMinInputFiles` small files in a partition), the partition's data
 * bin-packed into files of 512 MB (the optimizer's target), at least one. A Hive table is never compacted.
 */
export function queryFiles(
  month: Pick<MappingMonth, 'files' | 'tablePartitions' | 'jsonGb'>,
  format: 'hive' | 'iceberg',
  settings: Pick<StackSettings, 'tableOptimizers'>,
  table: TableSettings | undefined,
  a: Pick<CostAssumptions, 'hoursScanned' | 'iceberg' | 'parquetBytesPerJsonByte' | 'assumeOptimizers'>,
): QueryFiles {
  const window = Math.min(a.hoursScanned, MONTH_H) / MONTH_H; // share of a month's files one query opens
  const partitionsScanned = Math.max(1, month.tablePartitions * window);
  const filesPerPartition = month.files / month.tablePartitions;
  let filesPerPartitionCompacted = filesPerPartition;
  let compacted = false;
  if (format === 'iceberg') {
    const compaction = optimizersOf(settings, table, a).includes('compaction');
    if (compaction && filesPerPartition >= a.iceberg.compactionMinInputFiles) {
      compacted = true;
      filesPerPartitionCompacted = Math.max(1, Math.ceil((month.jsonGb * a.parquetBytesPerJsonByte * GB) / month.tablePartitions / COMPACTION_TARGET_BYTES));
    }
  }
  return {
    partitionsScanned,
    filesPerPartition,
    filesPerPartitionCompacted,
    compacted,
    filesOpened: filesPerPartition * partitionsScanned,
    filesOpenedCompacted: filesPerPartitionCompacted * partitionsScanned,
  };
}

/** The Glue compaction optimizer's target file size (512 MB). */
export const COMPACTION_TARGET_BYTES = 512e6;

/**
 * The S3 (and Glue) requests a month of queries makes to open the files a layout leaves: per query,
 * every file in the hours it scans (`getsPerFileOpened` GETs each; {@link queryFiles}), a LIST per partition (Hive), a
 * GetPartitions (Hive) or the metadata, manifest list and one manifest per commit in the window (Iceberg, no manifest rewriting).
 */
export function queryRequestsUsd(
  month: Pick<MappingMonth, 'files' | 'tablePartitions' | 'commits' | 'jsonGb'>,
  format: 'hive' | 'iceberg',
  settings: Pick<StackSettings, 'tableOptimizers'>,
  table: TableSettings | undefined,
  a: Pick<CostAssumptions, 'queriesPerDay' | 'hoursScanned' | 'getsPerFileOpened' | 'iceberg' | 'parquetBytesPerJsonByte' | 'assumeOptimizers'>,
  prices: PriceTable,
): number {
  const window = Math.min(a.hoursScanned, MONTH_H) / MONTH_H;
  const q = queryFiles(month, format, settings, table, a);
  const queries = a.queriesPerDay * DAYS_PER_MONTH;
  const perQuery =
    q.filesOpenedCompacted * a.getsPerFileOpened * prices.s3Get +
    (format === 'hive'
      ? q.partitionsScanned * Math.ceil(Math.max(1, q.filesPerPartitionCompacted) / 1000) * prices.s3Put + prices.glueRequest
      : (2 + month.commits * window) * prices.s3Get + prices.glueRequest);
  return queries * perQuery;
}
