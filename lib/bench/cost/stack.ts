/**
 * What the cost model needs from a stack, read from its synthesized CloudFormation template —
 * never from a copy of the construct's defaults — so that the default stack costs what the
 * table says, and a changed prop changes the figures.
 *
 * `synthesizeStack()` builds the CDK app in-process exactly as `cdk synth` does (bin/app.ts,
 * the feature flags of cdk.json, no asset bundling) and returns its template;
 * `readStackSettings()` reads the template.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildLakeApp } from '../../../bin/app';
import type { Pipeline, PipelineDeclaration } from '../../../lambdas/core/pipeline';
import { LakeloaderError } from '../../../lambdas/core/errors';
import { PROJECT_ROOT } from '../../bundling';

/** A CloudFormation template as JSON. */
export interface CfnTemplate {
  Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** Provisioned event pollers of one mapping. */
export interface PollerSettings {
  minimumPollers: number;
  maximumPollers: number;
  /** Mappings with the same group share EPUs; undefined: a dedicated EPU. */
  pollerGroupName?: string;
}

/** One Kafka event source mapping and the function it invokes. */
export interface MappingSettings {
  logicalId: string;
  topics: string[];
  batchSize: number;
  maxBatchingWindowSeconds: number;
  /** null: on-demand pollers. */
  provisioned: PollerSettings | null;
  retryAttempts: number | null;
  maxRecordAgeSeconds: number | null;
  onFailureDestination: boolean;
  /** MSK (an event source ARN) or self-managed brokers; and whether the ESM works inside a VPC. */
  source: 'msk' | 'selfManaged';
  inVpc: boolean;
  /** SASL/SCRAM or basic-auth secret (on-demand pollers in a VPC then also reach Secrets Manager). */
  usesSecret: boolean;
  function: FunctionSettings;
}

/** The loader function a mapping invokes. */
export interface FunctionSettings {
  logicalId: string;
  memoryMb: number;
  architecture: 'arm64' | 'x86_64';
  timeoutSeconds: number;
  /** Days its log group keeps logs; null: forever. */
  logRetentionDays: number | null;
  /** The pipeline it loads (its LAKELOADER_PIPELINE variable), if set. */
  pipeline?: string;
  /** LAKELOADER_COMMIT_INTERVAL_SECONDS, when the stack sets it (else the pipeline's declaration decides). */
  commitIntervalSeconds?: number;
  /** Seconds between the runs of a schedule (an EventBridge rule) that invokes it to commit, if any. */
  scheduledCommitSeconds?: number;
}

/** A Glue table the stack creates. */
export interface TableSettings {
  logicalId: string;
  name: string;
  format: 'hive' | 'iceberg';
  partitionKeys: string[];
  /** Partition projection: nothing is registered in Glue. */
  projection: boolean;
  /** The pipeline the table belongs to (its `lakeloader.pipeline` parameter), if any. */
  pipeline?: string;
  quarantine: boolean;
}

/** Everything in the template that costs money while the loader runs. */
export interface StackSettings {
  mappings: MappingSettings[];
  functions: FunctionSettings[];
  tables: TableSettings[];
  /** AWS::Glue::TableOptimizer resources, by table name and type. */
  tableOptimizers: Array<{ table: string; type: string }>;
  /** Standard-resolution alarms and the metrics they bill (a metric-math alarm bills each metric it reads). */
  alarms: { count: number; billedMetrics: number };
  dashboards: number;
  /** Customer-managed KMS key on the lake bucket, and whether S3 Bucket Keys cut its requests. */
  kms: { enabled: boolean; bucketKey: boolean };
  /** Server access logs of the lake bucket and how long their target keeps them. */
  accessLogs: { enabled: boolean; retentionDays: number | null };
}

/** A template the cost model cannot read; the message says what is missing. */
export class StackTemplateError extends LakeloaderError {
  readonly code = 'STACK_TEMPLATE';
  constructor(message: string) {
    super(message);
  }
}

type Props = Record<string, unknown>;
const refOf = (v: unknown): string | undefined => (v && typeof v === 'object' && 'Ref' in v ? String((v as { Ref: unknown }).Ref) : undefined);
const getAttOf = (v: unknown): string | undefined => (v && typeof v === 'object' && 'Fn::GetAtt' in v ? String((v as { 'Fn::GetAtt': unknown[] })['Fn::GetAtt'][0]) : undefined);
const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : fallback);

/** Partition keys that name an hourly or daily Hive layout, by the seconds one partition spans. */
export function partitionSeconds(keys: string[]): number | null {
  const k = keys.map((x) => x.toLowerCase());
  if (k.includes('hour') || k.includes('hr')) return 3600;
  if (k.includes('dt') || k.includes('date') || k.includes('day')) return 86_400;
  return null;
}

/** Seconds of an EventBridge `rate(n unit)` expression; null for anything else (cron). */
export function rateSeconds(expr: unknown): number | null {
  const m = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(String(expr ?? '').trim());
  if (!m) return null;
  const unit = m[2]!.startsWith('minute') ? 60 : m[2]!.startsWith('hour') ? 3600 : 86_400;
  return Number(m[1]) * unit;
}

/**
 * Reads the settings the cost model needs from a synthesized template.
 * @throws StackTemplateError when the template has no Kafka event source mapping or one points at no function
 */
export function readStackSettings(template: CfnTemplate): StackSettings {
  const resources = template.Resources ?? {};
  const byType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type) as Array<[string, { Type: string; Properties?: Props }]>;

  const logRetention = new Map(byType('AWS::Logs::LogGroup').map(([id, r]) => [id, r.Properties?.RetentionInDays === undefined ? null : num(r.Properties.RetentionInDays, 0)]));
  const functions = new Map<string, FunctionSettings>();
  for (const [id, r] of byType('AWS::Lambda::Function')) {
    const p = r.Properties ?? {};
    const logGroup = refOf((p.LoggingConfig as Props | undefined)?.LogGroup);
    const archs = (p.Architectures as string[] | undefined) ?? ['x86_64'];
    const vars = ((p.Environment as Props | undefined)?.Variables ?? {}) as Record<string, unknown>;
    const pipeline = vars.LAKELOADER_PIPELINE;
    const interval = vars.LAKELOADER_COMMIT_INTERVAL_SECONDS;
    functions.set(id, {
      ...(typeof pipeline === 'string' ? { pipeline } : {}),
      ...(interval !== undefined && Number.isFinite(Number(interval)) ? { commitIntervalSeconds: Number(interval) } : {}),
      logicalId: id,
      memoryMb: num(p.MemorySize, 128),
      architecture: archs.includes('arm64') ? 'arm64' : 'x86_64',
      timeoutSeconds: num(p.Timeout, 3),
      logRetentionDays: logGroup && logRetention.has(logGroup) ? logRetention.get(logGroup)! : null,
    });
  }

  // Scheduled commits: an EventBridge rule invoking the function with {"lakeloader":"commit"} (lib/infra/iceberg.ts).
  for (const [, r] of byType('AWS::Events::Rule')) {
    const seconds = rateSeconds(r.Properties?.ScheduleExpression);
    if (seconds === null || r.Properties?.State === 'DISABLED') continue;
    for (const t of (r.Properties?.Targets as Array<Props> | undefined) ?? []) {
      const fn = functions.get(getAttOf(t.Arn) ?? refOf(t.Arn) ?? '');
      if (fn && /"commit"/.test(String(t.Input ?? ''))) fn.scheduledCommitSeconds = Math.min(fn.scheduledCommitSeconds ?? Infinity, seconds);
    }
  }

  const mappings: MappingSettings[] = [];
  for (const [id, r] of byType('AWS::Lambda::EventSourceMapping')) {
    const p = r.Properties ?? {};
    const topics = (p.Topics as string[] | undefined) ?? [];
    const selfManaged = p.SelfManagedEventSource !== undefined;
    if (!selfManaged && p.EventSourceArn === undefined) continue; // not a Kafka mapping
    if (topics.length === 0) continue;
    const fnId = refOf(p.FunctionName) ?? getAttOf(p.FunctionName);
    const fn = fnId ? functions.get(fnId) : undefined;
    if (!fn) throw new StackTemplateError(`event source mapping ${id} invokes a function that is not in the template; synthesize the whole stack`);
    const ppc = p.ProvisionedPollerConfig as Props | undefined;
    const access = (p.SourceAccessConfigurations as Array<{ Type: string }> | undefined) ?? [];
    mappings.push({
      logicalId: id,
      topics,
      // Lambda's own defaults for a Kafka mapping when the property is absent.
      batchSize: num(p.BatchSize, 100),
      maxBatchingWindowSeconds: num(p.MaximumBatchingWindowInSeconds, 0.5),
      provisioned: ppc
        ? { minimumPollers: num(ppc.MinimumPollers, 1), maximumPollers: num(ppc.MaximumPollers, 200), ...(typeof ppc.PollerGroupName === 'string' && ppc.PollerGroupName ? { pollerGroupName: ppc.PollerGroupName } : {}) }
        : null,
      retryAttempts: p.MaximumRetryAttempts === undefined ? null : num(p.MaximumRetryAttempts, -1),
      maxRecordAgeSeconds: p.MaximumRecordAgeInSeconds === undefined ? null : num(p.MaximumRecordAgeInSeconds, -1),
      onFailureDestination: (p.DestinationConfig as Props | undefined)?.OnFailure !== undefined,
      source: selfManaged ? 'selfManaged' : 'msk',
      inVpc: !selfManaged || access.some((a) => a.Type === 'VPC_SUBNET'),
      usesSecret: access.some((a) => /SASL|BASIC_AUTH/.test(a.Type)),
      function: fn,
    });
  }
  if (mappings.length === 0) throw new StackTemplateError('the template has no Kafka event source mapping (AWS::Lambda::EventSourceMapping with Topics); is it a Lakeloader stack?');

  const tables: TableSettings[] = byType('AWS::Glue::Table').map(([id, r]) => {
    const input = (r.Properties?.TableInput ?? {}) as Props;
    const params = (input.Parameters ?? {}) as Record<string, string>;
    const iceberg = String(input.TableType ?? params.table_type ?? '').toUpperCase() === 'ICEBERG' || String(params.table_type ?? '').toUpperCase() === 'ICEBERG' || r.Properties?.OpenTableFormatInput !== undefined;
    return {
      logicalId: id,
      name: String(input.Name ?? id),
      format: iceberg ? 'iceberg' : 'hive',
      partitionKeys: ((input.PartitionKeys as Array<{ Name: string }> | undefined) ?? []).map((k) => k.Name),
      projection: String(params['projection.enabled'] ?? '').toLowerCase() === 'true',
      ...(params['lakeloader.pipeline'] ? { pipeline: params['lakeloader.pipeline'] } : {}),
      quarantine: String(input.Name ?? '').endsWith('_quarantine'),
    };
  });

  // Iceberg tables are custom resources the loader answers (lib/infra/iceberg.ts), not AWS::Glue::Table.
  for (const [id, r] of byType('Custom::LakeloaderIcebergTable')) {
    const name = String(r.Properties?.Table ?? id);
    tables.push({ logicalId: id, name, format: 'iceberg', partitionKeys: [], projection: false, pipeline: name, quarantine: false });
  }

  const tableOptimizers = byType('AWS::Glue::TableOptimizer')
    .filter(([, r]) => (r.Properties?.TableOptimizerConfiguration as Props | undefined)?.Enabled !== false)
    .map(([, r]) => ({ table: String(r.Properties?.TableName ?? ''), type: String(r.Properties?.Type ?? '').toLowerCase() }));

  let alarmMetrics = 0;
  const alarms = byType('AWS::CloudWatch::Alarm');
  for (const [, r] of alarms) {
    const metrics = r.Properties?.Metrics as Array<Props> | undefined;
    alarmMetrics += metrics ? Math.max(1, metrics.filter((m) => m.MetricStat !== undefined).length) : 1;
  }

  const buckets = byType('AWS::S3::Bucket');
  const lake = buckets.find(([, r]) => r.Properties?.LoggingConfiguration !== undefined) ?? buckets.find(([id]) => /lake/i.test(id) && !/log/i.test(id));
  const sse = ((lake?.[1].Properties?.BucketEncryption as Props | undefined)?.ServerSideEncryptionConfiguration as Array<Props> | undefined)?.[0];
  const algo = String((sse?.ServerSideEncryptionByDefault as Props | undefined)?.SSEAlgorithm ?? 'AES256');
  const logTargetId = refOf((lake?.[1].Properties?.LoggingConfiguration as Props | undefined)?.DestinationBucketName);
  const logTarget = logTargetId ? resources[logTargetId] : undefined;
  const rules = (((logTarget?.Properties?.LifecycleConfiguration as Props | undefined)?.Rules as Array<Props> | undefined) ?? []).filter((x) => x.Status !== 'Disabled' && x.ExpirationInDays !== undefined && !x.Prefix);

  return {
    mappings,
    functions: [...functions.values()],
    tables,
    tableOptimizers,
    alarms: { count: alarms.length, billedMetrics: alarmMetrics },
    dashboards: byType('AWS::CloudWatch::Dashboard').length,
    kms: { enabled: algo.startsWith('aws:kms'), bucketKey: sse?.BucketKeyEnabled === true },
    accessLogs: { enabled: logTarget !== undefined, retentionDays: rules.length ? Math.min(...rules.map((x) => num(x.ExpirationInDays, Infinity))) : null },
  };
}

/** The feature flags of cdk.json, so the in-process synth is what `npx cdk synth` produces. */
function cdkJsonContext(): Record<string, unknown> {
  try {
    return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
  } catch {
    return {};
  }
}

/** The MSK cluster ARN the default stack is synthesized with (any valid ARN: the template's cost does not depend on it). */
export const EXAMPLE_MSK_ARN = 'arn:aws:kafka:us-east-1:123456789012:cluster/lakeloader/00000000-0000-0000-0000-000000000000-1';

export interface SynthOptions {
  /** Extra `-c key=value` context, e.g. `{ kmsKeyArn }`. @default an MSK cluster ARN only */
  context?: Record<string, unknown>;
  /** The pipelines to deploy. @default every declared pipeline (lib/pipelines.ts) */
  pipelines?: ReadonlyArray<Pipeline | PipelineDeclaration>;
}

/**
 * Synthesizes the stack of bin/app.ts in-process (no asset bundling: the Lambda code does not
 * change what the template bills) and returns its template.
 */
export function synthesizeStack(options: SynthOptions = {}): CfnTemplate {
  const app = new App({ context: { ...cdkJsonContext(), mskClusterArn: EXAMPLE_MSK_ARN, ...options.context, 'aws:cdk:bundling-stacks': [] } });
  const stack = options.pipelines ? buildLakeApp(app, options.pipelines) : buildLakeApp(app);
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}
