/**
 * `LakeLoader`: one pipeline's loader Lambda, its Kafka event source mappings (one per topic),
 * least-privilege IAM, alarms and a dashboard. Drop it into any CDK app next to a lake bucket
 * and a Glue database (see `LakeStack` for the complete lake).
 */
import * as path from 'node:path';
import { CfnElement, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { quarantineTableName } from '../../lambdas/core/glue-table';
import { dataPrefix, manifestsPrefix, quarantinePrefix, statePrefix } from '../../lambdas/core/layout';
import type { Pipeline } from '../../lambdas/core/pipeline';
import { bundledFormats, LAMBDA_NODE_MAJOR, LAMBDA_NODE_TARGET, LOADER_ENTRY, loaderAliases, PROJECT_ROOT, PUBLIC_API } from '../bundling';
import { pipelineSourceFile } from '../pipelines';
import { LakeFailureDestination } from './failure-destination';
import { glueArns } from './glue';
import { IcebergTable } from './iceberg';
import { eniStatements, mskStatements, selfManagedAccessProblem, sourceAccessConfigurations, type KafkaSource } from './kafka-source';
import { LoaderMonitoring, METRICS_NAMESPACE, SERVICE_NAME } from './monitoring';
import { LakeloaderError } from '../../lambdas/core/errors';

export { LOADER_ENTRY };
/** The parquet-wasm binary the bundled handler reads from `__dirname`. */
export const PARQUET_WASM_FILE = 'parquet_wasm_bg.wasm';

/** The Lambda runtime of {@link LAMBDA_NODE_MAJOR} (lib/bundling.ts), the one Node.js target. */
export const LAMBDA_RUNTIME = (lambda.Runtime as unknown as Record<string, lambda.Runtime>)[`NODEJS_${LAMBDA_NODE_MAJOR}_X`]!;

export interface ProvisionedPollers {
  /** @default 1 */
  readonly minimumPollers?: number;
  /** @default 3 */
  readonly maximumPollers?: number;
  /**
   * Mappings with the same group share event poller units (EPUs, billed per hour whatever the
   * traffic) instead of one EPU each; up to 100 mappings in the cluster's VPC per group.
   * @default `lakeloader-<stack name>`: every provisioned mapping of the stack in one group
   */
  readonly pollerGroupName?: string;
}

/** Produce-to-queryable time the default batching window leaves for polling, the invocation and the commit. */
export const FRESHNESS_ALLOWANCE = Duration.seconds(30);
/** The freshness target of a loader whose props set none. */
/**
 * The freshness target of a loader whose props set none: 2 minutes, produce-to-queryable at default
 * settings (docs/exactly-once.md, "Iceberg: freshness"). A longer target is cheaper below about
 * 0.02 MB/s per topic (docs/bench.md): 5 minutes saves ≈ $11 a month of S3 requests at 0.01 MB/s.
 */
export const DEFAULT_FRESHNESS_TARGET = Duration.minutes(2);

/**
 * The batching window for a freshness target: the target minus {@link FRESHNESS_ALLOWANCE} and the
 * longest wait for an Iceberg commit ({@link commitWaitFor}), within the ESM's 1..300 seconds. At low traffic a batch closes when its window ends, and every batch
 * costs the same S3 requests whatever its size (docs/bench.md, "Cost and freshness"), so the
 * longest window the target allows is the cheapest; at higher traffic batches fill (10,000
 * records or the 6 MB payload) before the window ends and it no longer matters.
 */
export function batchingWindowFor(freshnessTarget: Duration, commitWait: Duration = Duration.seconds(0)): Duration {
  const s = Math.floor(freshnessTarget.toSeconds() - FRESHNESS_ALLOWANCE.toSeconds() - commitWait.toSeconds());
  return Duration.seconds(Math.min(300, Math.max(1, s)));
}

/**
 * The longest an Iceberg row can wait after its batch for a snapshot: the handler publishes when
 * the last snapshot is older than the commit interval, and the scheduled committer every minute
 * (lib/infra/iceberg.ts), so at most the shorter of the two; nothing for a Hive table or an
 * interval of 0 (every batch publishes).
 */
export function commitWaitFor(p: Pipeline): Duration {
  if (p.format !== 'iceberg' || p.iceberg.commitIntervalSeconds <= 0) return Duration.seconds(0);
  return Duration.seconds(Math.min(p.iceberg.commitIntervalSeconds, 60));
}

/** Properties of a {@link LakeLoader}. */
export interface LakeLoaderProps {
  /** The pipeline to load (from `definePipeline`). */
  readonly pipeline: Pipeline;
  /**
   * The module that declares the pipeline; the function's bundle holds this file and no other
   * pipeline's. Needed only when the stack is bundled.
   * @default the file the pipeline was discovered in (pipelines/<name>.ts, see lib/pipelines.ts)
   */
  readonly pipelineFile?: string;
  /** The lake bucket. */
  readonly bucket: s3.IBucket;
  /** The lake bucket's KMS key, when it is KMS-encrypted. @default none (SSE-S3) */
  readonly encryptionKey?: kms.IKey;
  /** The Glue database holding the pipeline's table. */
  readonly databaseName: string;
  /** The Kafka cluster to read the pipeline's topics from. */
  readonly kafka: KafkaSource;
  /**
   * Prefix of the consumer group ids; each topic's group is `<prefix>-<pipeline>-<topic>`. The id
   * cannot change once a mapping exists, and keeping it stable keeps the resume position when a
   * mapping is re-created. @default `lakeloader-<stack name>`
   */
  readonly consumerGroupIdPrefix?: string;
  /** Where a new consumer group starts. @default lambda.StartingPosition.TRIM_HORIZON */
  readonly startingPosition?: lambda.StartingPosition;
  /** Records per invocation (the payload is capped at 6 MB regardless). @default 10000 */
  readonly batchSize?: number;
  /**
   * The one knob between cost and freshness: how old the newest rows may be at low traffic
   * (produce-to-queryable, p99). It sets the batching window ({@link batchingWindowFor}: the
   * target minus 30 s, minus up to a minute's wait for the commit of an Iceberg table, at most
   * 300 s); longer is cheaper, down to the ESM's 300-second maximum.
   * Below about 0.02 MB/s per topic the window decides how many batches — and so how many S3
   * requests — there are; above it batches fill first and the target costs nothing.
   * @default Duration.minutes(2) (a 90-second window for a Hive table, 30 s for an Iceberg table committing every minute)
   */
  readonly freshnessTarget?: Duration;
  /** How long the ESM gathers records before invoking; set this or `freshnessTarget`, not both. @default from freshnessTarget */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failed batch before it goes to the on-failure destination. Kafka ESM error
   * handling is a provisioned-mode feature: setting this turns provisioned pollers on.
   * @default on-demand pollers: retried until it succeeds or leaves the topic; with provisioned pollers, 10
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to the on-failure destination unprocessed. Setting this turns
   * provisioned pollers on (as retryAttempts does).
   * @default on-demand pollers: none; with provisioned pollers, Duration.days(7)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Provisioned event pollers (billed per event poller unit-hour whatever the traffic, shared
   * through a poller group), or `false` for on-demand polling (no poller charge). On-demand is
   * the default because it is the cheaper mode below about 1 MB/s per topic (docs/bench.md, "Cost
   * and freshness"): there, a batch that keeps failing is retried until it succeeds or leaves
   * the topic (the loader only fails on infrastructure errors, and the errors alarm fires at
   * once), and the on-failure destination receives only batches over the 6 MB payload limit.
   * An on-demand mapping in a VPC reaches Lambda and STS through the cluster's network (a NAT
   * gateway or interface endpoints); provisioned ones need neither.
   * @default on-demand, unless retryAttempts or maxRecordAge is set: then `{ minimumPollers: 1, maximumPollers: 3 }` in the stack's poller group
   */
  readonly provisionedPollers?: ProvisionedPollers | false;
  /**
   * The event source mapping's own schema registry integration (a provisioned-mode feature:
   * setting this turns provisioned pollers on, as retryAttempts does; with `provisionedPollers:
   * false` the synth fails). The mapping then reads the pipeline's registry (its `schemaRegistry`:
   * the Glue registry, or the Confluent URL with `credentialsSecret` as BASIC_AUTH) and validates
   * each record's value (and key, for Avro/Protobuf keys) against its writer schema before invoking
   * the loader; records are still delivered in their source format (`EventRecordFormat: SOURCE`),
   * because the loader needs the writer schema id and the original bytes for typed columns,
   * exact 64-bit values and schema evolution, which JSON delivery drops. Worth its poller cost
   * when the stack runs provisioned pollers anyway (throughput, bounded retries) or when you add
   * ESM filter criteria on decoded fields that drop a large share of records before they are
   * paid for as invocations; otherwise the loader decodes with the same registry itself, on
   * on-demand pollers (docs/schema-registry.md, "The event source mapping's registry integration").
   * @default false (the loader decodes; no registry access by the mapping)
   */
  readonly esmSchemaRegistry?: boolean | { readonly validate?: ReadonlyArray<'key' | 'value'> };
  /** Memory of the function; 1769 MB is one full vCPU, enough for a 6 MB batch. @default 1769 */
  readonly memorySize?: number;
  /** Function timeout. @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /** Log retention of the function's log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Ship a source map and run with `--enable-source-maps`, so stack traces point at the
   * TypeScript sources. Off by default: measured on the bench (`npm run bench`), the flag adds
   * about 20 % to the handler's cold import (it parses the map of the whole bundle at load); the
   * loader's errors are typed and carry their reason, so operators rarely need the traces.
   * @default false
   */
  readonly enableSourceMaps?: boolean;
  /** The handler entry file. @default lambdas/loader/handler.ts of this package */
  readonly entry?: string;
  /** Alarm thresholds and action. @default see {@link LoaderMonitoring} */
  readonly monitoring?: {
    readonly offsetLagThreshold?: number;
    readonly freshnessThreshold?: Duration;
    readonly quarantineRatePercent?: number;
    readonly alarmAction?: cloudwatch.IAlarmAction;
  };
}

/** Invalid {@link LakeLoaderProps}; the message names the prop and what to set. */
export class LakeLoaderPropsError extends LakeloaderError {
  readonly code = 'LAKE_LOADER_PROPS';
  constructor(pipeline: string, message: string) {
    super(`LakeLoader "${pipeline}": ${message}`);
  }
}

const GROUP_ID = /^[a-zA-Z0-9\-/*:_+=.@]{1,200}$/;
/** What Lambda accepts as a PollerGroupName (letters, digits, - and _; at most 128). */
const POLLER_GROUP = /^[a-zA-Z0-9_-]{1,128}$/;

/** The poller group every provisioned mapping of a stack shares unless told otherwise. */
export function defaultPollerGroup(stackName: string): string {
  return Token.isUnresolved(stackName) ? 'lakeloader' : `lakeloader-${stackName}`.replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 128);
}

/** One pipeline's loader: function, event source mappings, IAM, alarms and dashboard. */
export class LakeLoader extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** One per topic, in `pipeline.topics` order. */
  readonly eventSourceMappings: lambda.EventSourceMapping[] = [];
  /** Consumer group id per topic. */
  readonly consumerGroupIds: Record<string, string> = {};
  readonly monitoring: LoaderMonitoring;
  readonly pipeline: Pipeline;
  /** An Iceberg pipeline's table, scheduled committer and optimizers (undefined for Hive). */
  readonly iceberg?: IcebergTable;
  private readonly props: LakeLoaderProps;

  constructor(scope: Construct, id: string, props: LakeLoaderProps) {
    super(scope, id);
    this.props = props;
    this.pipeline = props.pipeline;
    const p = props.pipeline;
    const fail = (msg: string): never => {
      throw new LakeLoaderPropsError(p.name, msg);
    };
    const batchSize = props.batchSize ?? 10_000;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) fail(`batchSize must be an integer in 1..10000, got ${batchSize}`);
    if (props.maxBatchingWindow !== undefined && props.freshnessTarget !== undefined) fail('set maxBatchingWindow or freshnessTarget, not both (freshnessTarget chooses the window)');
    if (props.freshnessTarget !== undefined && props.freshnessTarget.toSeconds() <= FRESHNESS_ALLOWANCE.toSeconds())
      fail(`freshnessTarget must be more than ${FRESHNESS_ALLOWANCE.toSeconds()} seconds (the time polling, the invocation and the commit take); for sub-second delivery set maxBatchingWindow and provisioned pollers`);
    const window = props.maxBatchingWindow ?? batchingWindowFor(props.freshnessTarget ?? DEFAULT_FRESHNESS_TARGET, commitWaitFor(p));
    if (window.toSeconds() > 300) fail(`maxBatchingWindow must be at most 300 seconds, got ${window.toSeconds()}`);
    if (batchSize > 10 && window.toSeconds() < 1) fail('maxBatchingWindow must be at least 1 second when batchSize > 10');
    const wantsErrorHandling = props.retryAttempts !== undefined || props.maxRecordAge !== undefined;
    const esmRegistry = props.esmSchemaRegistry === true ? {} : props.esmSchemaRegistry || undefined;
    if (esmRegistry) {
      if (!p.schemaRegistry) fail(`esmSchemaRegistry validates records against the pipeline's schema registry, and pipeline "${p.name}" declares none: set schemaRegistry in its declaration, or drop esmSchemaRegistry`);
      if (props.provisionedPollers === false)
        fail('esmSchemaRegistry is a provisioned-mode feature of the event source mapping: remove provisionedPollers: false (provisioned pollers are then turned on), or drop esmSchemaRegistry and let the loader decode with the registry');
      if (p.schemaRegistry?.type === 'confluent' && p.schemaRegistry.credentialsSecret && !p.schemaRegistry.credentialsSecret.startsWith('arn:'))
        fail(`esmSchemaRegistry names the Confluent registry's credentials by secret ARN: set schemaRegistry.credentialsSecret to the full ARN of "${p.schemaRegistry.credentialsSecret}"`);
      for (const a of esmRegistry.validate ?? []) if (a !== 'key' && a !== 'value') fail(`esmSchemaRegistry.validate lists 'key' and/or 'value', got "${String(a)}"`);
      if (esmRegistry.validate?.includes('key') && (p.keyFormat === undefined || p.keyFormat === 'string'))
        fail(`esmSchemaRegistry.validate: 'key' needs keys framed by the registry; pipeline "${p.name}" has keyFormat ${p.keyFormat ?? '(none)'}`);
    }
    const needsProvisioned = wantsErrorHandling || esmRegistry !== undefined;
    const stackName = Stack.of(this).stackName;
    const pollers =
      props.provisionedPollers === false || (props.provisionedPollers === undefined && !needsProvisioned)
        ? undefined
        : { minimumPollers: 1, maximumPollers: 3, pollerGroupName: defaultPollerGroup(stackName), ...(props.provisionedPollers || {}) };
    if (pollers) {
      if (pollers.minimumPollers < 1 || pollers.minimumPollers > 200) fail(`provisionedPollers.minimumPollers must be in 1..200, got ${pollers.minimumPollers}`);
      if (pollers.maximumPollers < pollers.minimumPollers || pollers.maximumPollers > 2000)
        fail(`provisionedPollers.maximumPollers must be in minimumPollers..2000, got ${pollers.maximumPollers}`);
      if (!POLLER_GROUP.test(pollers.pollerGroupName)) fail(`provisionedPollers.pollerGroupName "${pollers.pollerGroupName}" must match ${POLLER_GROUP}`);
    } else if (wantsErrorHandling) {
      fail('retryAttempts and maxRecordAge need provisioned pollers; remove provisionedPollers: false or drop these two props');
    }
    const retryAttempts = pollers ? (props.retryAttempts ?? 10) : undefined;
    if (retryAttempts !== undefined && (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 10_000))
      fail(`retryAttempts must be an integer in 0..10000 (bounded; -1 = infinite is not allowed), got ${retryAttempts}`);
    const maxRecordAge = pollers ? (props.maxRecordAge ?? Duration.days(7)) : undefined;
    if (maxRecordAge && (maxRecordAge.toSeconds() < 60 || maxRecordAge.toSeconds() > 604_800)) fail(`maxRecordAge must be between 60 seconds and 7 days, got ${maxRecordAge.toHumanString()}`);
    const memorySize = props.memorySize ?? 1769;
    if (memorySize < 512 || memorySize > 10_240) fail(`memorySize must be 512..10240 MB (a 6 MB batch needs room to decode and encode), got ${memorySize}`);
    const timeout = props.timeout ?? Duration.minutes(5);
    if (timeout.toSeconds() < 30 || timeout.toSeconds() > 900) fail(`timeout must be 30 seconds..15 minutes, got ${timeout.toHumanString()}`);
    if (props.kafka.kind === 'selfManaged') {
      if (props.kafka.bootstrapServers.length === 0) fail('kafka.bootstrapServers must list at least one host:port');
      const problem = selfManagedAccessProblem({ secret: props.kafka.secret !== undefined, vpc: props.kafka.vpc }, { secret: 'kafka.secret (SASL credentials)', vpc: 'kafka.vpc' });
      if (problem) fail(problem);
    }
    const prefix = props.consumerGroupIdPrefix ?? (Token.isUnresolved(stackName) ? fail('set consumerGroupIdPrefix: the stack name is not known at synth time') : `lakeloader-${stackName}`);
    for (const topic of p.topics) {
      const groupId = `${prefix}-${p.name}-${topic}`;
      if (!GROUP_ID.test(groupId)) fail(`consumer group id "${groupId}" must match ${GROUP_ID}; shorten or change consumerGroupIdPrefix`);
      this.consumerGroupIds[topic] = groupId;
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Lakeloader loader for pipeline ${p.name}: its table's prefixes, its Glue table, its topics`,
    });

    const pipelineFile = props.pipelineFile ?? pipelineSourceFile(p);
    if (!pipelineFile && Stack.of(this).bundlingRequired) {
      fail('set pipelineFile to the module that declares this pipeline (its loader bundle is built from it); pipelines discovered in pipelines/ know their file');
    }
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry ?? LOADER_ENTRY,
      handler: 'handler',
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      description: `Lakeloader: Kafka topics ${p.topics.join(', ')} -> table ${p.name}`,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        LAKELOADER_PIPELINE: p.name,
        LAKELOADER_BUCKET: props.bucket.bucketName,
        LAKELOADER_GLUE_DATABASE: props.databaseName,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...(props.enableSourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.CJS,
        platform: 'node',
        target: LAMBDA_NODE_TARGET,
        minify: true,
        // esbuild's summary flags a bundle over 1 MB (the SDK clients are bundled on purpose, see below): errors and warnings only.
        logLevel: nodejs.LogLevel.WARNING,
        // The bundle's one pipeline, and the public API its file imports.
        esbuildArgs: Object.fromEntries(Object.entries(loaderAliases(pipelineFile ?? PUBLIC_API, bundledFormats(p))).map(([k, v]) => [`--alias:${k}`, v])),
        sourceMap: props.enableSourceMaps ?? false,
        // The AWS SDK v3 clients are bundled at the versions package-lock.json pins, not taken from
        // the runtime: the loader depends on conditional-write behaviour of a known client version.
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // parquet-wasm's node build reads `${__dirname}/parquet_wasm_bg.wasm`; esbuild leaves
          // __dirname alone in CJS output, so it is the bundle's directory (/var/task).
          afterBundling: (_inputDir: string, outputDir: string) => [
            `node -e "require('fs').copyFileSync(process.argv[1], process.argv[2])" "${parquetWasmPath()}" "${path.join(outputDir, PARQUET_WASM_FILE)}"`,
            // The pipeline's schema file, at the same relative path under the task root (lambdas/core/formats/schema-file.ts reads it there).
            ...(p.schema && !path.isAbsolute(p.schema.path)
              ? [`node -e "const f=require('fs'),p=require('path');f.mkdirSync(p.dirname(process.argv[2]),{recursive:true});f.copyFileSync(process.argv[1],process.argv[2])" "${path.resolve(PROJECT_ROOT, p.schema.path)}" "${path.join(outputDir, p.schema.path)}"`]
              : []),
          ],
        },
      },
    });

    this.grantLakeAccess();
    this.grantGlueCatalog();
    this.grantSchemaRegistry();
    this.grantKafkaRead();
    this.logGroup.grantWrite(this.role);

    const onFailure = new LakeFailureDestination(props.bucket, props.encryptionKey);
    const access = sourceAccessConfigurations(props.kafka);
    for (const topic of p.topics) {
      const esm = this.function.addEventSourceMapping(`Topic-${topic}`, {
        ...(props.kafka.kind === 'msk' ? { eventSourceArn: props.kafka.clusterArn } : { kafkaBootstrapServers: props.kafka.bootstrapServers }),
        kafkaTopic: topic,
        kafkaConsumerGroupId: this.consumerGroupIds[topic],
        startingPosition: props.startingPosition ?? lambda.StartingPosition.TRIM_HORIZON,
        batchSize,
        maxBatchingWindow: window,
        onFailure,
        supportS3OnFailureDestination: true,
        ...(retryAttempts !== undefined ? { retryAttempts } : {}),
        ...(maxRecordAge ? { maxRecordAge } : {}),
        ...(pollers ? { provisionedPollerConfig: pollers } : {}),
        ...(access.length ? { sourceAccessConfigurations: access } : {}),
        ...(esmRegistry ? { schemaRegistryConfig: this.esmSchemaRegistryConfig(esmRegistry.validate) } : {}),
      });
      this.eventSourceMappings.push(esm);
    }

    if (p.format === 'iceberg') {
      this.iceberg = new IcebergTable(this, 'Iceberg', {
        pipeline: p,
        function: this.function,
        bucket: props.bucket,
        databaseName: props.databaseName,
        ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
      });
    }

    this.monitoring = new LoaderMonitoring(this, 'Monitoring', { fn: this.function, pipelineName: p.name, ...props.monitoring });
    this.acknowledgeFindings();
  }

  /** The S3 prefixes this loader owns: data, quarantine, commit state and manifests. */
  get prefixes(): string[] {
    const n = this.pipeline.name;
    return [dataPrefix(n), quarantinePrefix(n), statePrefix(n), manifestsPrefix(n)];
  }

  /**
   * Lets `grantee` read this pipeline's table and quarantine the way Athena does on its behalf:
   * s3:GetObject under the data and quarantine prefixes, s3:ListBucket restricted to them, the Glue
   * table/partition reads on both tables, and kms:Decrypt when the lake is KMS-encrypted.
   * (Athena itself additionally needs the workgroup permissions.)
   */
  grantReadData(grantee: iam.IGrantable): iam.Grant {
    const { bucket, encryptionKey, databaseName } = this.props;
    const n = this.pipeline.name;
    const prefixes = [dataPrefix(n), quarantinePrefix(n)];
    const tables = [glueArns(this, databaseName, n), glueArns(this, databaseName, quarantineTableName(this.pipeline))];
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: prefixes.map((pre) => bucket.arnForObjects(`${pre}*`)) });
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': prefixes.map((pre) => `${pre}*`) } } }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
        resources: [tables[0]!.catalog, tables[0]!.database, ...tables.map((t) => t.table)],
      }),
    );
    if (encryptionKey) encryptionKey.grantDecrypt(grantee);
    return grant;
  }

  /** Read/write/delete on exactly this table's prefixes, list restricted to them, and the KMS key if any. */
  private grantLakeAccess(): void {
    const { bucket, encryptionKey } = this.props;
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'LakeObjects',
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: this.prefixes.map((pre) => bucket.arnForObjects(`${pre}*`)),
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'LakeList',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': this.prefixes.map((pre) => `${pre}*`) } },
      }),
    );
    if (encryptionKey) {
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'LakeKms', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [encryptionKey.keyArn] }));
    }
  }

  /**
   * Hive: partition registration on this pipeline's table. Iceberg: read, create and update
   * (commit) its table. Glue needs the catalog and database ARNs too.
   */
  private grantGlueCatalog(): void {
    const arns = glueArns(this, this.props.databaseName, this.pipeline.name);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: this.pipeline.format === 'iceberg' ? 'GlueIcebergTable' : 'GluePartitions',
        actions: this.pipeline.format === 'iceberg' ? ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'] : ['glue:BatchCreatePartition', 'glue:GetPartition', 'glue:GetPartitions', 'glue:GetTable'],
        resources: [arns.catalog, arns.database, arns.table],
      }),
    );
  }

  /**
   * What decoding and evolving need (lambdas/core/formats/): UpdateTable on its own table when a
   * Hive table evolves; GetSchemaVersion on the pipeline's Glue registry and its schemas; read access
   * to the Confluent registry's credentials secret.
   */
  private grantSchemaRegistry(): void {
    const p = this.pipeline;
    const stack = Stack.of(this);
    if (p.format === 'hive' && p.unknownFields === 'evolve') {
      const arns = glueArns(this, this.props.databaseName, p.name);
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'GlueEvolveTable', actions: ['glue:UpdateTable'], resources: [arns.catalog, arns.database, arns.table] }));
    }
    const r = p.schemaRegistry;
    if (r?.type === 'glue') {
      const glue = (res: string) => `arn:${stack.partition}:glue:${stack.region}:${stack.account}:${res}`;
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'GlueSchemaRegistryRead', actions: ['glue:GetSchemaVersion'], resources: [glue(`registry/${r.registryName}`), glue(`schema/${r.registryName}/*`)] }),
      );
    } else if (r?.type === 'confluent' && r.credentialsSecret) {
      const arn = r.credentialsSecret.startsWith('arn:') ? r.credentialsSecret : `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${r.credentialsSecret}-??????`;
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'SchemaRegistryCredentials', actions: ['secretsmanager:GetSecretValue'], resources: [arn] }));
    }
  }

  /**
   * The mapping's schema registry configuration (see {@link LakeLoaderProps.esmSchemaRegistry}):
   * the pipeline's registry, records delivered as they are (SOURCE), validated on value (and key
   * when keys are Avro/Protobuf). Its IAM: glue:GetRegistry beside the loader's GetSchemaVersion
   * (Glue), or the credentials secret the loader reads already (Confluent).
   */
  private esmSchemaRegistryConfig(validate: ReadonlyArray<'key' | 'value'> | undefined): lambda.ISchemaRegistry {
    const p = this.pipeline;
    const r = p.schemaRegistry!;
    const stack = Stack.of(this);
    const attributes = validate ?? (p.keyFormat === 'avro' || p.keyFormat === 'protobuf' ? ['key', 'value'] : ['value']);
    const schemaValidationConfigs = attributes.map((a) => ({ attribute: a === 'key' ? lambda.KafkaSchemaValidationAttribute.KEY : lambda.KafkaSchemaValidationAttribute.VALUE }));
    if (r.type === 'glue') {
      const registryArn = `arn:${stack.partition}:glue:${stack.region}:${stack.account}:registry/${r.registryName}`;
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'EsmGlueSchemaRegistry', actions: ['glue:GetRegistry'], resources: [registryArn] }));
      return { bind: () => ({ schemaRegistryUri: registryArn, eventRecordFormat: lambda.EventRecordFormat.SOURCE, schemaValidationConfigs }) };
    }
    const accessConfigs = r.credentialsSecret ? [{ type: lambda.KafkaSchemaRegistryAccessConfigType.BASIC_AUTH, uri: r.credentialsSecret }] : undefined;
    return { bind: () => ({ schemaRegistryUri: r.url, eventRecordFormat: lambda.EventRecordFormat.SOURCE, schemaValidationConfigs, ...(accessConfigs ? { accessConfigs } : {}) }) };
  }

  /** What the event source mapping needs to read the topics with this function's role. */
  private grantKafkaRead(): void {
    const { kafka } = this.props;
    const statements: iam.PolicyStatement[] = [];
    if (kafka.kind === 'msk') {
      statements.push(...mskStatements(kafka, this.pipeline.topics, Object.values(this.consumerGroupIds)), ...eniStatements(this));
      kafka.scramSecret?.grantRead(this.role);
    } else {
      if (kafka.vpc) statements.push(...eniStatements(this, kafka.vpc.subnetIds, kafka.vpc.securityGroupIds));
      kafka.secret?.grantRead(this.role);
    }
    for (const s of statements) this.role.addToPrincipalPolicy(s);
  }

  /** cdk-nag findings that are the point of the design, each with its reason. */
  private acknowledgeFindings(): void {
    const stack = Stack.of(this);
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const cfnBucket = this.props.bucket.node.defaultChild;
    const bucketRef = cfnBucket instanceof CfnElement ? `<${stack.getLogicalId(cfnBucket)}.Arn>` : this.props.bucket.bucketArn;
    const ack = (finding: string, reason: string) => Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    for (const pre of this.prefixes) ack(`Resource::${bucketRef}/${pre}*`, `The loader creates, reads and deletes objects whose keys derive from Kafka offsets under its own table prefix ${pre}; the set of keys is unbounded, so the grant is the prefix.`);
    ack(`Resource::${bucketRef}/aws/lambda/*`, 'The event source mapping writes on-failure records under aws/lambda/<mapping-uuid>/...; AWS chooses these keys, so the grant is the prefix (PutObject only).');
    const { kafka } = this.props;
    const needsEni = kafka.kind === 'msk' || kafka.vpc !== undefined;
    if (!needsEni) return;
    ack('Resource::*', 'EC2 Describe* (network interfaces, subnets, security groups, VPCs) used by the event source mapping support no resource-level permissions; AWS requires Resource "*".');
    const ec2 = `arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>`;
    ack(`Resource::${ec2}:network-interface/*`, 'The event source mapping creates and deletes its own network interfaces, whose ids are not known in advance; scoped to this account and region.');
    if (kafka.kind === 'msk') {
      ack(`Resource::${ec2}:subnet/*`, "MSK: the event source mapping places interfaces in the cluster's subnets, which it discovers from the cluster; scoped to this account and region.");
      ack(`Resource::${ec2}:security-group/*`, "MSK: the event source mapping uses the cluster's security groups, which it discovers from the cluster; scoped to this account and region.");
    }
  }
}

/** Absolute path of parquet-wasm's node `.wasm` in this project's node_modules. */
export function parquetWasmPath(): string {
  return path.join(PROJECT_ROOT, 'node_modules', 'parquet-wasm', 'node', PARQUET_WASM_FILE);
}
