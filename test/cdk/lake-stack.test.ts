/**
 * Fine-grained assertions on the synthesized LakeStack for Amazon MSK with IAM auth (the default
 * deployment): event source mapping, every IAM statement, bucket security, Glue tables from the
 * declaration, Athena workgroup, alarms and dashboard, outputs.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { cfnTableInput } from '../../lib/infra/glue';
import { quarantineTableInput, tableInput } from '../../lambdas/core/glue-table';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { actionsOf, build, flat, logicalId, MSK_ARN, resourcesOf, roleStatements, type Statement } from './helpers';

/** The default deployment of one pipeline (the fixture clickstream); the fixture directory's two are tested in variants.test.ts. */
const ONE = { pipelines: [clickstream] };
let template: Template;
let bucketId: string;
let statements: Statement[];

beforeAll(() => {
  ({ template } = build({ mskClusterArn: MSK_ARN }, ONE));
  bucketId = logicalId(template, 'AWS::S3::Bucket', 'LakeBucket');
  statements = roleStatements(template, 'ClickstreamLoaderRole');
}, 60_000);

const bySid = (sid: string) => {
  const s = statements.find((x) => x.Sid === sid);
  if (!s) throw new Error(`no statement ${sid}; have ${statements.map((x) => x.Sid).join(', ')}`);
  return s;
};

describe('event source mapping', () => {
  it('reads the pipeline topic from the MSK cluster with a stable, explicit consumer group', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', clickstream.topics.length);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: MSK_ARN,
      Topics: ['clicks'],
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'lakeloader-Lakeloader-clickstream-clicks' },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 10000,
      // The default freshness target (5 min) minus the 30 s allowance: the cheapest window that keeps p99 within it.
      MaximumBatchingWindowInSeconds: 90,
    });
  });

  it('polls on demand (no EPU-hours) and leaves retries to the ESM: until success or the record leaves the topic', () => {
    const esm = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0]!.Properties;
    expect(esm.ProvisionedPollerConfig).toBeUndefined();
    expect(esm.MaximumRetryAttempts).toBeUndefined();
    expect(esm.MaximumRecordAgeInSeconds).toBeUndefined();
  });

  it('sends given-up batches to the lake bucket', () => {
    const esm = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0]!;
    expect(flat(esm.Properties.DestinationConfig.OnFailure.Destination)).toBe(`\${${bucketId}.Arn}`);
  });

  it('keeps the consumer group id and the mapping identity across a second synth', () => {
    const again = build({ mskClusterArn: MSK_ARN }, ONE).template;
    const ids = (t: Template) => Object.entries(t.findResources('AWS::Lambda::EventSourceMapping')).map(([id, r]) => [id, r.Properties.AmazonManagedKafkaEventSourceConfig.ConsumerGroupId]);
    expect(ids(again)).toEqual(ids(template));
  }, 60_000);

  it('a different stack name gives a different group (two deployments never share offsets)', () => {
    const other = build({ mskClusterArn: MSK_ARN, stackName: 'LakeStaging' }, ONE).template;
    other.hasResourceProperties('AWS::Lambda::EventSourceMapping', { AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'lakeloader-LakeStaging-clickstream-clicks' } });
  }, 60_000);
});

describe('loader IAM', () => {
  const cluster = 'arn:aws:kafka:eu-west-1:123456789012:cluster/lake-msk/abcd1234-abcd-cafe-abab-9876543210ab-4';
  const ec2 = 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}';
  const glue = 'arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}';

  it('has exactly the expected statements', () => {
    expect(statements.map((s) => s.Sid ?? '(log group)').sort()).toEqual(
      [
        '(log group)',
        'EsmDescribeNetwork',
        'EsmDiscoverCluster',
        'EsmManageNetworkInterfaces',
        'EsmOnFailureList',
        'EsmOnFailurePut',
        'GluePartitions',
        'LakeList',
        'LakeObjects',
        'MskIamConnect',
        'MskIamConsumerGroups',
        'MskIamReadTopics',
      ].sort(),
    );
    for (const s of statements) expect(s.Effect).toBe('Allow');
  });

  it('objects: read/write/delete on exactly the table prefixes', () => {
    const s = bySid('LakeObjects');
    expect(actionsOf(s)).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    expect(resourcesOf(s)).toEqual(
      ['tables/clickstream/*', 'quarantine/clickstream/*', '_lakeloader/state/clickstream/*', '_lakeloader/manifests/clickstream/*'].map((p) => `\${${bucketId}.Arn}/${p}`).sort(),
    );
  });

  it('listing: only under the table prefixes', () => {
    const s = bySid('LakeList');
    expect(actionsOf(s)).toEqual(['s3:ListBucket']);
    expect(resourcesOf(s)).toEqual([`\${${bucketId}.Arn}`]);
    expect(s.Condition).toEqual({ StringLike: { 's3:prefix': ['tables/clickstream/*', 'quarantine/clickstream/*', '_lakeloader/state/clickstream/*', '_lakeloader/manifests/clickstream/*'] } });
  });

  it('Glue: partition registration on its table, database and the catalog', () => {
    const s = bySid('GluePartitions');
    expect(actionsOf(s)).toEqual(['glue:BatchCreatePartition', 'glue:GetPartition', 'glue:GetPartitions', 'glue:GetTable']);
    expect(resourcesOf(s)).toEqual([`${glue}:catalog`, `${glue}:database/lakeloader_lakeloader`, `${glue}:table/lakeloader_lakeloader/clickstream`].sort());
  });

  it('MSK IAM auth: kafka-cluster actions on the cluster, topic and group ARNs', () => {
    expect(actionsOf(bySid('MskIamConnect'))).toEqual(['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration']);
    expect(resourcesOf(bySid('MskIamConnect'))).toEqual([cluster]);
    expect(actionsOf(bySid('MskIamReadTopics'))).toEqual(['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData']);
    expect(resourcesOf(bySid('MskIamReadTopics'))).toEqual(['arn:aws:kafka:eu-west-1:123456789012:topic/lake-msk/abcd1234-abcd-cafe-abab-9876543210ab-4/clicks']);
    expect(actionsOf(bySid('MskIamConsumerGroups'))).toEqual(['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup']);
    expect(resourcesOf(bySid('MskIamConsumerGroups'))).toEqual(['arn:aws:kafka:eu-west-1:123456789012:group/lake-msk/abcd1234-abcd-cafe-abab-9876543210ab-4/lakeloader-Lakeloader-clickstream-clicks']);
    expect(actionsOf(bySid('EsmDiscoverCluster'))).toEqual(['kafka:DescribeCluster', 'kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers']);
    expect(resourcesOf(bySid('EsmDiscoverCluster'))).toEqual([cluster]);
  });

  it('network interfaces: Describe* on * (no resource-level support), create/delete scoped to account and region', () => {
    expect(actionsOf(bySid('EsmDescribeNetwork'))).toEqual(['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs']);
    expect(actionsOf(bySid('EsmManageNetworkInterfaces'))).toEqual(['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface']);
    expect(resourcesOf(bySid('EsmManageNetworkInterfaces'))).toEqual([`${ec2}:network-interface/*`, `${ec2}:security-group/*`, `${ec2}:subnet/*`]);
  });

  it('on-failure destination: put and list under aws/lambda/ only', () => {
    expect(actionsOf(bySid('EsmOnFailurePut'))).toEqual(['s3:PutObject']);
    expect(resourcesOf(bySid('EsmOnFailurePut'))).toEqual([`\${${bucketId}.Arn}/aws/lambda/*`]);
    expect(resourcesOf(bySid('EsmOnFailureList'))).toEqual([`\${${bucketId}.Arn}`]);
    expect(bySid('EsmOnFailureList').Condition).toEqual({ StringLike: { 's3:prefix': ['aws/lambda/*'] } });
  });

  it('logs: only its own log group', () => {
    const s = statements.find((x) => x.Sid === undefined)!;
    expect(actionsOf(s)).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(resourcesOf(s)).toEqual([`\${${logicalId(template, 'AWS::Logs::LogGroup', 'ClickstreamLoaderLogGroup')}.Arn}`]);
  });

  it('uses "*" as a whole resource only for EC2 Describe*, and no wildcard actions', () => {
    const star = statements.filter((s) => resourcesOf(s).includes('*')).map((s) => s.Sid);
    expect(star).toEqual(['EsmDescribeNetwork']);
    for (const s of statements) for (const a of actionsOf(s)) expect(a).not.toMatch(/\*/);
  });

  it('has no managed policies (in particular not AWSLambdaMSKExecutionRole)', () => {
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0]!;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(JSON.stringify(template.toJSON())).not.toContain('AWSLambdaMSKExecutionRole');
  });
});

describe('loader function', () => {
  it('is arm64 on a current Node.js runtime, sized for a 6 MB batch, configured by environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Runtime: Match.stringLikeRegexp('^nodejs(2[2-9]|[3-9]\\d)\\.x$'),
      MemorySize: 1769,
      Timeout: 300,
      Handler: 'index.handler',
      Environment: {
        Variables: Match.objectLike({
          LAKELOADER_PIPELINE: 'clickstream',
          LAKELOADER_BUCKET: { Ref: bucketId },
          LAKELOADER_GLUE_DATABASE: 'lakeloader_lakeloader',
          POWERTOOLS_SERVICE_NAME: 'lakeloader',
          POWERTOOLS_METRICS_NAMESPACE: 'Lakeloader',
        }),
      },
    });
  });
});

describe('lake bucket', () => {
  it('blocks public access, encrypts with SSE-S3, logs access, expires what should not live forever', () => {
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(template, 'AWS::S3::Bucket', 'LakeAccessLogs') }, LogFilePrefix: 'lake/' },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
            Match.objectLike({ Prefix: 'quarantine/', ExpirationInDays: 365 }),
            Match.objectLike({ Prefix: 'athena-results/', ExpirationInDays: 7 }),
            Match.objectLike({ Prefix: 'aws/lambda/', ExpirationInDays: 90 }),
          ]),
        },
      }),
      DeletionPolicy: 'Retain',
    });
  });

  it('denies every request without TLS, on both buckets', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(2);
    const secured = policies.map((p) => flat(p.Properties.Bucket)).sort();
    expect(secured).toEqual([`\${${logicalId(template, 'AWS::S3::Bucket', 'LakeAccessLogs')}}`, `\${${bucketId}}`].sort());
    for (const p of policies) {
      const deny = (p.Properties.PolicyDocument.Statement as Statement[]).find((s) => s.Effect === 'Deny');
      expect(deny).toMatchObject({ Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } });
    }
  });

  it('the access-log bucket is encrypted, private and accepts logs through its policy only', () => {
    const logs = template.toJSON().Resources[logicalId(template, 'AWS::S3::Bucket', 'LakeAccessLogs')].Properties;
    expect(logs.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(logs.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(logs.OwnershipControls.Rules[0].ObjectOwnership).toBe('BucketOwnerEnforced');
    const policy = Object.values(template.findResources('AWS::S3::BucketPolicy')).find((p) => flat(p.Properties.Bucket).includes('LakeAccessLogs'))!;
    const allow = (policy.Properties.PolicyDocument.Statement as Array<Statement & { Principal?: unknown }>).find((s) => s.Effect === 'Allow');
    expect(allow?.Principal).toEqual({ Service: 'logging.s3.amazonaws.com' });
  });
});

describe('Glue', () => {
  const tableOf = (name: string) => Object.values(template.findResources('AWS::Glue::Table')).find((t) => t.Properties.TableInput.Name === name)!;

  it('creates the database', () => {
    template.hasResourceProperties('AWS::Glue::Database', { CatalogId: { Ref: 'AWS::AccountId' }, DatabaseInput: Match.objectLike({ Name: 'lakeloader_lakeloader' }) });
  });

  it('the data table equals tableInput() of the declaration: Parquet SerDe, formats, columns, partition keys', () => {
    const t = tableOf('clickstream');
    const expected = tableInput(clickstream, '__BUCKET__');
    const input = t.Properties.TableInput;
    expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect(input.StorageDescriptor.InputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
    expect(input.StorageDescriptor.OutputFormat).toBe('org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat');
    expect(input.StorageDescriptor.Columns).toEqual(clickstream.columns.map((c) => ({ Name: c.name, Type: c.glueType, ...(c.comment ? { Comment: c.comment } : {}) })));
    expect(input.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string' }, { Name: 'hour', Type: 'string' }]);
    expect(flat(input.StorageDescriptor.Location)).toBe(`s3://\${${bucketId}}/tables/clickstream/`);
    // Everything but the bucket token is exactly what the local provisioner creates.
    const { Location: _l, ...sd } = input.StorageDescriptor;
    const { Location: _e, ...esd } = expected.StorageDescriptor!;
    expect({ ...input, StorageDescriptor: sd }).toEqual(JSON.parse(JSON.stringify({ ...expected, StorageDescriptor: esd })));
    expect(t.Properties.DatabaseName).toBe('lakeloader_lakeloader');
  });

  it('the quarantine table equals quarantineTableInput(): NDJSON through the JSON SerDe', () => {
    const input = tableOf('clickstream_quarantine').Properties.TableInput;
    const expected = quarantineTableInput(clickstream, '__BUCKET__');
    expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
    expect(input.StorageDescriptor.Columns).toEqual(expected.StorageDescriptor!.Columns);
    expect(flat(input.StorageDescriptor.Location)).toBe(`s3://\${${bucketId}}/quarantine/clickstream/`);
  });

  it('tables depend on the database so CloudFormation creates it first', () => {
    for (const t of Object.values(template.findResources('AWS::Glue::Table'))) expect(t.DependsOn).toContain('Database');
  });

  it('the converter maps Glue API shape to CloudFormation camelCase and keeps parameter keys verbatim', () => {
    const cfn = cfnTableInput({ Name: 'x', Parameters: { 'projection.dt.type': 'date', EXTERNAL: 'TRUE' }, StorageDescriptor: { SerdeInfo: { SerializationLibrary: 's', Parameters: { 'serialization.format': '1' } }, Columns: [{ Name: 'a', Type: 'int' }] }, Description: undefined });
    expect(cfn).toEqual({ name: 'x', parameters: { 'projection.dt.type': 'date', EXTERNAL: 'TRUE' }, storageDescriptor: { serdeInfo: { serializationLibrary: 's', parameters: { 'serialization.format': '1' } }, columns: [{ name: 'a', type: 'int' }] } });
  });
});

describe('Athena', () => {
  it('engine v3, enforced, encrypted results in the lake bucket, scan cutoff, CloudWatch metrics', () => {
    const wg = Object.values(template.findResources('AWS::Athena::WorkGroup'))[0]!.Properties;
    expect(wg.WorkGroupConfiguration).toMatchObject({
      EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
      EnforceWorkGroupConfiguration: true,
      PublishCloudWatchMetricsEnabled: true,
      BytesScannedCutoffPerQuery: 100_000_000_000,
      ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
    });
    expect(flat(wg.WorkGroupConfiguration.ResultConfiguration.OutputLocation)).toBe(`s3://\${${bucketId}}/athena-results/`);
  });
});

describe('monitoring', () => {
  const alarms = () => Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
  const metricNames = (a: Record<string, any>): string[] =>
    a.MetricName ? [a.MetricName] : (a.Metrics as Array<Record<string, any>>).filter((m) => m.MetricStat).map((m) => m.MetricStat.Metric.MetricName);

  it('alarms on function errors, offset lag, quarantine rate and event-time freshness', () => {
    expect(alarms().map(metricNames).map((n) => n.sort().join('+')).sort()).toEqual(['Errors', 'EventTimeLagMs', 'OffsetLag', 'RecordsIn+RecordsQuarantined'].sort());
  });

  it('reads the EMF metrics the loader emits (namespace Lakeloader, dimensions service + pipeline)', () => {
    const fresh = alarms().find((a) => metricNames(a).includes('EventTimeLagMs'))!;
    const m = fresh.Metrics[0].MetricStat.Metric;
    expect(m.Namespace).toBe('Lakeloader');
    expect(m.Dimensions).toEqual([{ Name: 'pipeline', Value: 'clickstream' }, { Name: 'service', Value: 'lakeloader' }]);
    expect(fresh.Threshold).toBe(30 * 60 * 1000);
    const lag = alarms().find((a) => metricNames(a).includes('OffsetLag'))!;
    expect(lag.Metrics[0].MetricStat.Metric.Namespace).toBe('AWS/Lambda');
  });

  it('has a dashboard with throughput, lag, freshness and errors', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]!.Properties.DashboardBody);
    for (const m of ['RecordsIn', 'RecordsQuarantined', 'OffsetLag', 'EventTimeLagMs', 'Errors', 'Duration']) expect(body).toContain(m);
  });
});

describe('outputs', () => {
  it('uses the stable keys the CLI reads', () => {
    const outputs = template.toJSON().Outputs;
    expect(Object.keys(outputs).sort()).toEqual(['AthenaWorkGroupName', 'GlueDatabaseName', 'GlueQuarantineTableClickstream', 'GlueTableClickstream', 'LakeBucketName', 'LoaderFunctionClickstream']);
    expect(flat(outputs.LakeBucketName.Value)).toBe(`\${${bucketId}}`);
    expect(outputs.GlueDatabaseName.Value).toBe('lakeloader_lakeloader');
  });
});
