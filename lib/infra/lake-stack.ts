/**
 * `LakeStack`: the whole lake for a set of pipelines — bucket (+ access logs), Glue database,
 * per pipeline a data and a quarantine table and a {@link LakeLoader}, the Athena workgroup, and
 * outputs the CLI reads from `cdk deploy --outputs-file`.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { Pipeline } from '../../lambdas/core/pipeline';
import { LakeWorkGroup } from './athena';
import { PipelineTables } from './glue';
import type { KafkaSource } from './kafka-source';
import { LakeBucket, type LakeBucketProps } from './lake-bucket';
import { LakeLoader, type LakeLoaderProps } from './lake-loader';
import { LakeloaderError } from '../../lambdas/core/errors';

/** Stable output keys (the CLI reads them from the outputs file). */
export const OUTPUT_KEYS = {
  bucket: 'LakeBucketName',
  database: 'GlueDatabaseName',
  workGroup: 'AthenaWorkGroupName',
  /** Per pipeline: `<Prefix><PascalName>` e.g. `GlueTableClickstream`. */
  table: 'GlueTable',
  quarantineTable: 'GlueQuarantineTable',
  function: 'LoaderFunction',
} as const;

export interface LakeStackProps extends StackProps {
  /** The pipelines to deploy (each gets tables and a loader). */
  readonly pipelines: readonly Pipeline[];
  /**
   * The Kafka cluster the topics live on, or a function building it in this stack's scope (to
   * import its secret into the stack).
   */
  readonly kafka: KafkaSource | ((scope: Construct) => KafkaSource);
  /** ARN of a customer-managed KMS key for the lake bucket and Athena results. @default SSE-S3 */
  readonly kmsKeyArn?: string;
  /** Glue database name. @default `lakeloader_<stack name, lower case, non-alphanumerics as _>` */
  readonly databaseName?: string;
  /** Athena workgroup name. @default `<stack name>-lakeloader` */
  readonly workGroupName?: string;
  /** Per-query scan cap of the workgroup. @default 100 GB */
  readonly bytesScannedCutoffPerQuery?: number;
  /** Bucket options (versioning, retention days, removal policy). @default see {@link LakeBucketProps} */
  readonly bucket?: Omit<LakeBucketProps, 'encryptionKey'>;
  /** Options applied to every loader. @default see {@link LakeLoaderProps} */
  readonly loader?: Omit<LakeLoaderProps, 'pipeline' | 'bucket' | 'encryptionKey' | 'databaseName' | 'kafka'>;
}

/** Thrown for invalid {@link LakeStackProps}. */
export class LakeStackPropsError extends LakeloaderError {
  readonly code = 'LAKE_STACK_PROPS';
  constructor(message: string) {
    super(message);
  }
}

const pascal = (name: string) => name.split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');

/** The lake: storage, catalog, query engine and one loader per pipeline. */
export class LakeStack extends Stack {
  readonly lake: LakeBucket;
  readonly bucket: s3.Bucket;
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  readonly workGroup: LakeWorkGroup;
  readonly tables: Record<string, PipelineTables> = {};
  readonly loaders: Record<string, LakeLoader> = {};

  constructor(scope: Construct, id: string, props: LakeStackProps) {
    super(scope, id, props);
    if (props.pipelines.length === 0) throw new LakeStackPropsError('LakeStack needs at least one pipeline; declare one in pipelines/ (npx lakeloader new <name>)');
    const names = props.pipelines.map((p) => p.name);
    if (new Set(names).size !== names.length) throw new LakeStackPropsError(`pipeline names must be unique, got ${names.join(', ')}`);
    this.databaseName = props.databaseName ?? `lakeloader_${this.stackName.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
    if (!/^[a-z0-9_]{1,255}$/.test(this.databaseName)) throw new LakeStackPropsError(`databaseName must match [a-z0-9_]{1,255}, got "${this.databaseName}"`);

    const kafka = typeof props.kafka === 'function' ? props.kafka(this) : props.kafka;
    const encryptionKey = props.kmsKeyArn ? kms.Key.fromKeyArn(this, 'LakeKey', props.kmsKeyArn) : undefined;
    this.lake = new LakeBucket(this, 'Lake', { ...props.bucket, ...(encryptionKey ? { encryptionKey } : {}) });
    this.bucket = this.lake.bucket;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: this.account,
      databaseInput: { name: this.databaseName, description: 'Lakeloader: tables loaded from Kafka, and their quarantines' },
    });
    this.workGroup = new LakeWorkGroup(this, 'Athena', {
      name: props.workGroupName ?? `${this.stackName}-lakeloader`,
      bucket: this.bucket,
      ...(encryptionKey ? { encryptionKey } : {}),
      ...(props.bytesScannedCutoffPerQuery !== undefined ? { bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery } : {}),
    });

    new CfnOutput(this, OUTPUT_KEYS.bucket, { key: OUTPUT_KEYS.bucket, value: this.bucket.bucketName, description: 'The lake bucket' });
    new CfnOutput(this, OUTPUT_KEYS.database, { key: OUTPUT_KEYS.database, value: this.databaseName, description: 'The Glue database' });
    new CfnOutput(this, OUTPUT_KEYS.workGroup, { key: OUTPUT_KEYS.workGroup, value: this.workGroup.workGroupName, description: 'The Athena workgroup' });

    for (const pipeline of props.pipelines) {
      const id = pascal(pipeline.name);
      const tables = new PipelineTables(this, `${id}Tables`, { pipeline, databaseName: this.databaseName, bucketName: this.bucket.bucketName, dependsOn: this.database });
      const loader = new LakeLoader(this, `${id}Loader`, {
        ...props.loader,
        // The mapping's registry integration is for the pipelines that declare a registry.
        ...(props.loader?.esmSchemaRegistry && !pipeline.schemaRegistry ? { esmSchemaRegistry: false } : {}),
        pipeline,
        bucket: this.bucket,
        ...(encryptionKey ? { encryptionKey } : {}),
        databaseName: this.databaseName,
        kafka,
      });
      loader.iceberg?.table.node.addDependency(this.database);
      this.tables[pipeline.name] = tables;
      this.loaders[pipeline.name] = loader;
      new CfnOutput(this, `${OUTPUT_KEYS.table}${id}`, { key: `${OUTPUT_KEYS.table}${id}`, value: tables.tableName, description: `Glue table of pipeline ${pipeline.name}` });
      new CfnOutput(this, `${OUTPUT_KEYS.quarantineTable}${id}`, { key: `${OUTPUT_KEYS.quarantineTable}${id}`, value: tables.quarantineTableName, description: `Quarantine table of pipeline ${pipeline.name}` });
      new CfnOutput(this, `${OUTPUT_KEYS.function}${id}`, { key: `${OUTPUT_KEYS.function}${id}`, value: loader.function.functionName, description: `Loader function of pipeline ${pipeline.name}` });
    }
  }
}
