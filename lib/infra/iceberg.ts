/**
 * What an Iceberg pipeline needs besides its loader function:
 *
 * - the table, created by the loader function itself as a CloudFormation custom resource (its
 *   metadata lives in S3 and changes with every commit, so CloudFormation must not own the Glue
 *   table: a stack update would reset its `metadata_location`); Delete keeps table and data;
 * - the scheduled committer: an EventBridge rule, every minute, invokes the function with
 *   `{"lakeloader":"commit"}` so that staged batches are published even when traffic stops;
 * - the Glue Data Catalog's table optimizers (compaction, snapshot retention, orphan-file
 *   deletion) as the pipeline declares them, with a role scoped to the table's prefix.
 */
import { createHash } from 'node:crypto';
import { CfnElement, CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { icebergLayout } from '../../lambdas/core/iceberg/schema';
import { dataPrefix } from '../../lambdas/core/layout';
import type { Pipeline } from '../../lambdas/core/pipeline';
import { glueArns } from './glue';

export interface IcebergTableProps {
  readonly pipeline: Pipeline;
  /** The loader function: the custom resource's provider and the scheduled committer's target. */
  readonly function: lambda.IFunction;
  readonly bucket: s3.IBucket;
  readonly encryptionKey?: kms.IKey;
  readonly databaseName: string;
  /** How often the scheduled committer runs. @default Duration.minutes(1) */
  readonly commitSchedule?: Duration;
}

/** The Glue optimizers' CloudWatch log groups (the optimizer writes its run logs there). */
const OPTIMIZER_LOG_GROUPS = ['/aws-glue/iceberg-compaction/logs', '/aws-glue/iceberg-retention/logs', '/aws-glue/iceberg-orphan-file-deletion/logs'];

/** An Iceberg pipeline's table, scheduled committer and table optimizers. */
export class IcebergTable extends Construct {
  /** The custom resource that makes sure the table and its first metadata exist. */
  readonly table: CustomResource;
  readonly commitRule: events.Rule;
  /** The role the Glue optimizers assume, or undefined when every optimizer is off. */
  readonly optimizerRole?: iam.Role;
  readonly optimizers: glue.CfnTableOptimizer[] = [];

  constructor(scope: Construct, id: string, props: IcebergTableProps) {
    super(scope, id);
    const { pipeline: p, bucket, databaseName } = props;
    const stack = Stack.of(this);
    const layout = icebergLayout(p);
    // A change of the declared schema or spec re-runs the resource (which keeps an existing table as it is).
    const fingerprint = createHash('sha256').update(JSON.stringify([layout.schema, layout.spec])).digest('hex').slice(0, 16);
    this.table = new CustomResource(this, 'Table', {
      serviceToken: props.function.functionArn,
      resourceType: 'Custom::LakeloaderIcebergTable',
      properties: { Database: databaseName, Table: p.name, Fingerprint: fingerprint },
    });

    this.commitRule = new events.Rule(this, 'CommitSchedule', {
      description: `Lakeloader: publish the staged batches of ${p.name} as an Iceberg snapshot`,
      schedule: events.Schedule.rate(props.commitSchedule ?? Duration.minutes(1)),
      targets: [new targets.LambdaFunction(props.function, { event: events.RuleTargetInput.fromObject({ lakeloader: 'commit' }), retryAttempts: 2 })],
    });

    const o = p.iceberg.optimizers;
    if (!o.compaction && !o.snapshotRetention && !o.orphanFileDeletion) return;
    const arns = glueArns(this, databaseName, p.name);
    const prefix = dataPrefix(p.name);
    const role = new iam.Role(this, 'OptimizerRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: `Glue table optimizers of ${databaseName}.${p.name}: its table prefix and its Glue table only`,
    });
    this.optimizerRole = role;
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'TableObjects', actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resources: [bucket.arnForObjects(`${prefix}*`)] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'TableList', actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } } }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'TableCatalog', actions: ['glue:GetTable', 'glue:UpdateTable'], resources: [arns.catalog, arns.database, arns.table] }));
    const logArn = (group: string) => `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${group}:*`;
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'OptimizerLogs', actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], resources: OPTIMIZER_LOG_GROUPS.map(logArn) }));
    if (props.encryptionKey) role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'TableKms', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.encryptionKey.keyArn] }));

    const optimizer = (type: 'compaction' | 'retention' | 'orphan_file_deletion', extra: Partial<glue.CfnTableOptimizer.TableOptimizerConfigurationProperty>) => {
      const opt = new glue.CfnTableOptimizer(this, `Optimizer-${type}`, {
        catalogId: stack.account,
        databaseName,
        tableName: p.name,
        type,
        tableOptimizerConfiguration: { roleArn: role.roleArn, enabled: true, ...extra },
      });
      opt.node.addDependency(this.table, role);
      this.optimizers.push(opt);
    };
    if (o.compaction) optimizer('compaction', { compactionConfiguration: { icebergConfiguration: { strategy: 'binpack' } } });
    if (o.snapshotRetention) {
      optimizer('retention', {
        retentionConfiguration: {
          icebergConfiguration: { snapshotRetentionPeriodInDays: o.snapshotRetention.snapshotRetentionPeriodInDays, numberOfSnapshotsToRetain: o.snapshotRetention.numberOfSnapshotsToRetain, cleanExpiredFiles: true },
        },
      });
    }
    if (o.orphanFileDeletion) {
      optimizer('orphan_file_deletion', {
        orphanFileDeletionConfiguration: { icebergConfiguration: { orphanFileRetentionPeriodInDays: o.orphanFileDeletion.orphanFileRetentionPeriodInDays, location: `s3://${bucket.bucketName}/${prefix}` } },
      });
    }

    const policy = role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      const cfnBucket = bucket.node.defaultChild;
      const bucketRef = cfnBucket instanceof CfnElement ? `<${stack.getLogicalId(cfnBucket)}.Arn>` : bucket.bucketArn;
      const ack = (finding: string, reason: string) => Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
      ack(`Resource::${bucketRef}/${prefix}*`, `The Glue optimizers rewrite, expire and delete data and metadata files of this one table, whose keys are not known in advance; the grant is the table's prefix ${prefix}.`);
      for (const g of OPTIMIZER_LOG_GROUPS) {
        ack(`Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${g}:*`, `AWS Glue writes the optimizer's run logs to streams it names itself in ${g}; the grant is that one log group.`);
      }
    }
  }
}
