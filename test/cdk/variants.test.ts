/**
 * The other deployment shapes: MSK with SASL/SCRAM and a KMS key, self-managed Kafka in a VPC,
 * a pipeline with partition projection; and LakeLoader's prop validation.
 */
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectionParameters } from '../../lambdas/core/glue-table';
import { definePipeline } from '../../lambdas/core/pipeline';
import { LakeLoader, LakeLoaderPropsError, type LakeLoaderProps } from '../../lib/infra/lake-loader';
import { LakeStack } from '../../lib/infra/lake-stack';
import { clickstream } from '../fixtures/pipelines/clickstream';
import orders from '../fixtures/pipelines/orders';
import { actionsOf, build, flat, KMS_ARN, logicalId, MSK_ARN, resourcesOf, roleStatements, SECRET_ARN, type Statement } from './helpers';

const events = definePipeline({
  format: 'hive',
  name: 'app_events',
  topics: ['app.events', 'app.events.v2'],
  valueFormat: 'json',
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'tenant', type: 'string', required: true },
    { name: 'ts', type: 'timestamp', required: true },
  ],
  partitioning: { by: 'eventTime', source: 'ts', granularity: 'hour' },
  partitionRegistration: 'projection',
  projectionStartDate: '2024-01-01',
});

let scram: Template;
let selfManaged: Template;
let selfStatements: Statement[];

beforeAll(() => {
  scram = build({ mskClusterArn: MSK_ARN, kafkaSecretArn: SECRET_ARN, kmsKeyArn: KMS_ARN }).template;
  selfManaged = build(
    { bootstrapServers: 'b1.kafka.internal:9096,b2.kafka.internal:9096', kafkaSecretArn: SECRET_ARN, vpcId: 'vpc-0abc', subnetIds: 'subnet-01,subnet-02', securityGroupIds: 'sg-0a' },
    { pipelines: [clickstream, events] },
  ).template;
  selfStatements = roleStatements(selfManaged, 'AppEventsLoaderRole');
}, 60_000);

describe('MSK with SASL/SCRAM and a customer-managed KMS key', () => {
  it('authenticates the mapping with the secret and grants only reading it', () => {
    scram.hasResourceProperties('AWS::Lambda::EventSourceMapping', { SourceAccessConfigurations: [{ Type: 'SASL_SCRAM_512_AUTH', URI: SECRET_ARN }] });
    const st = roleStatements(scram, 'ClickstreamLoaderRole');
    const secret = st.find((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))!;
    expect(resourcesOf(secret)).toEqual([SECRET_ARN]);
    expect(st.some((s) => actionsOf(s).some((a) => a.startsWith('kafka-cluster:')))).toBe(false);
    expect(actionsOf(st.find((s) => s.Sid === 'EsmDiscoverCluster')!)).toEqual(['kafka:DescribeCluster', 'kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers', 'kafka:ListScramSecrets']);
  });

  it('encrypts the bucket and Athena results with the key, and lets the loader and the ESM use it', () => {
    scram.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KMS_ARN }, BucketKeyEnabled: true }] },
    });
    scram.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: { ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: KMS_ARN } } },
    });
    const st = roleStatements(scram, 'ClickstreamLoaderRole');
    expect(actionsOf(st.find((s) => s.Sid === 'LakeKms')!)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(resourcesOf(st.find((s) => s.Sid === 'LakeKms')!)).toEqual([KMS_ARN]);
    expect(resourcesOf(st.find((s) => s.Sid === 'EsmOnFailureKms')!)).toEqual([KMS_ARN]);
  });
});

describe('self-managed Kafka in a VPC, two pipelines', () => {
  it('one mapping per topic, each with its own stable group, bootstrap servers, VPC and auth', () => {
    const esms = Object.values(selfManaged.findResources('AWS::Lambda::EventSourceMapping')).map((r) => r.Properties);
    expect(esms.map((e) => e.SelfManagedKafkaEventSourceConfig.ConsumerGroupId).sort()).toEqual([
      'lakeloader-Lakeloader-app_events-app.events',
      'lakeloader-Lakeloader-app_events-app.events.v2',
      'lakeloader-Lakeloader-clickstream-clicks',
    ]);
    for (const e of esms) {
      expect(e.SelfManagedEventSource).toEqual({ Endpoints: { KafkaBootstrapServers: ['b1.kafka.internal:9096', 'b2.kafka.internal:9096'] } });
      expect(e.EventSourceArn).toBeUndefined();
      expect(e.SourceAccessConfigurations).toEqual([
        { Type: 'SASL_SCRAM_512_AUTH', URI: SECRET_ARN },
        { Type: 'VPC_SECURITY_GROUP', URI: 'security_group:sg-0a' },
        { Type: 'VPC_SUBNET', URI: 'subnet:subnet-01' },
        { Type: 'VPC_SUBNET', URI: 'subnet:subnet-02' },
      ]);
    }
  });

  it('scopes network-interface management to the given subnets and security groups, no MSK actions', () => {
    const ec2 = 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}';
    expect(resourcesOf(selfStatements.find((s) => s.Sid === 'EsmManageNetworkInterfaces')!)).toEqual(
      [`${ec2}:network-interface/*`, `${ec2}:subnet/subnet-01`, `${ec2}:subnet/subnet-02`, `${ec2}:security-group/sg-0a`].sort(),
    );
    expect(selfStatements.some((s) => actionsOf(s).some((a) => a.startsWith('kafka')))).toBe(false);
  });

  it("each loader reaches only its own table's prefixes", () => {
    const bucketId = logicalId(selfManaged, 'AWS::S3::Bucket', 'LakeBucket');
    expect(resourcesOf(selfStatements.find((s) => s.Sid === 'LakeObjects')!)).toEqual(
      ['tables/app_events/*', 'quarantine/app_events/*', '_lakeloader/state/app_events/*', '_lakeloader/manifests/app_events/*'].map((p) => `\${${bucketId}.Arn}/${p}`).sort(),
    );
    const glue = resourcesOf(selfStatements.find((s) => s.Sid === 'GluePartitions')!);
    expect(glue.filter((r) => r.includes(':table/'))).toEqual(['arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/lakeloader_lakeloader/app_events']);
  });

  it('the projection pipeline gets Athena partition projection parameters from the declaration', () => {
    const t = Object.values(selfManaged.findResources('AWS::Glue::Table')).find((x) => x.Properties.TableInput.Name === 'app_events')!;
    const params = t.Properties.TableInput.Parameters as Record<string, unknown>;
    const expected = projectionParameters(events, 's3://__BUCKET__/tables/app_events/');
    const { 'storage.location.template': template, ...rest } = params;
    const { 'storage.location.template': _t, ...expectedRest } = expected;
    expect(rest).toMatchObject(expectedRest);
    expect(rest).toMatchObject({ 'projection.enabled': 'true', 'projection.dt.type': 'date', 'projection.dt.range': '2024-01-01,NOW', 'projection.hour.type': 'integer', 'projection.hour.range': '0,23' });
    expect(flat(template)).toBe(`s3://\${${logicalId(selfManaged, 'AWS::S3::Bucket', 'LakeBucket')}}/tables/app_events/dt=\${dt}/hour=\${hour}/`);
    const click = Object.values(selfManaged.findResources('AWS::Glue::Table')).find((x) => x.Properties.TableInput.Name === 'clickstream')!;
    expect(click.Properties.TableInput.Parameters['projection.enabled']).toBeUndefined();
  });
});

describe('source maps', () => {
  const envOf = (enableSourceMaps?: boolean) => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Maps');
    new LakeLoader(stack, 'L', { pipeline: clickstream, bucket: new s3.Bucket(stack, 'B'), databaseName: 'db', kafka: { kind: 'msk', clusterArn: MSK_ARN }, enableSourceMaps });
    const fns = Template.fromStack(stack).findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } });
    return Object.values(fns)[0].Properties.Environment.Variables as Record<string, unknown>;
  };
  it('are off by default (the flag costs ~20 % of cold import) and on with enableSourceMaps', () => {
    expect(envOf().NODE_OPTIONS).toBeUndefined();
    expect(envOf(true).NODE_OPTIONS).toBe('--enable-source-maps');
  });
});

describe('MSK cluster ARN as a token (e.g. a parameter or another stack\'s output)', () => {
  it('derives topic and group ARNs with Fn::Select over Fn::Split', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Tok');
    const arn = new CfnParameter(stack, 'ClusterArn').valueAsString;
    new LakeLoader(stack, 'L', { pipeline: clickstream, bucket: new s3.Bucket(stack, 'B'), databaseName: 'db', kafka: { kind: 'msk', clusterArn: arn } });
    const st = roleStatements(Template.fromStack(stack), 'LRole');
    const topic = st.find((s) => s.Sid === 'MskIamReadTopics')!.Resource;
    const part = (i: number, sep: string) => `{"Fn::Select":[${i},{"Fn::Split":["${sep}",{"Ref":"ClusterArn"}]}]}`;
    expect(flat(topic)).toBe(`arn:${part(1, ':')}:kafka:${part(3, ':')}:${part(4, ':')}:topic/${part(1, '/')}/${part(2, '/')}/clicks`);
    expect(flat(st.find((s) => s.Sid === 'MskIamConsumerGroups')!.Resource)).toMatch(/:group\/.*\/lakeloader-Tok-clickstream-clicks$/);
    expect(flat(st.find((s) => s.Sid === 'MskIamConnect')!.Resource)).toBe('${ClusterArn}');
  });
});

describe('grantReadData', () => {
  it("gives a query role read access to the table's data and quarantine, nothing else", () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'G');
    const bucket = new s3.Bucket(stack, 'B');
    const loader = new LakeLoader(stack, 'L', { pipeline: clickstream, bucket, databaseName: 'db', kafka: { kind: 'msk', clusterArn: MSK_ARN } });
    const analyst = new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
    loader.grantReadData(analyst);
    const st = roleStatements(Template.fromStack(stack), 'Analyst');
    const bucketId = logicalId(Template.fromStack(stack), 'AWS::S3::Bucket', 'B');
    expect(st.map((s) => actionsOf(s).join(','))).toEqual(['s3:GetObject', 's3:ListBucket', 'glue:GetDatabase,glue:GetPartition,glue:GetPartitions,glue:GetTable']);
    expect(resourcesOf(st[0]!)).toEqual([`\${${bucketId}.Arn}/quarantine/clickstream/*`, `\${${bucketId}.Arn}/tables/clickstream/*`]);
    expect(st[1]!.Condition).toEqual({ StringLike: { 's3:prefix': ['tables/clickstream/*', 'quarantine/clickstream/*'] } });
    expect(resourcesOf(st[2]!).filter((r) => r.includes(':table/'))).toEqual([
      'arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/db/clickstream',
      'arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/db/clickstream_quarantine',
    ]);
  });
});

describe('LakeLoader validation', () => {
  const attempt = (over: Partial<LakeLoaderProps>) => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    const bucket = new s3.Bucket(stack, 'B');
    return () => new LakeLoader(stack, 'L', { pipeline: clickstream, bucket, databaseName: 'db', kafka: { kind: 'msk', clusterArn: MSK_ARN }, ...over });
  };
  it('rejects unbounded or out-of-range settings with the prop to fix', () => {
    expect(attempt({ batchSize: 20_000 })).toThrow(/batchSize must be an integer in 1..10000/);
    expect(attempt({ retryAttempts: -1 })).toThrow(/retryAttempts must be an integer in 0..10000 \(bounded/);
    expect(attempt({ maxRecordAge: Duration.days(8) })).toThrow(/maxRecordAge must be between 60 seconds and 7 days/);
    expect(attempt({ maxBatchingWindow: Duration.minutes(6) })).toThrow(/maxBatchingWindow must be at most 300 seconds/);
    expect(attempt({ provisionedPollers: false, retryAttempts: 3 })).toThrow(/retryAttempts and maxRecordAge need provisioned pollers/);
    expect(attempt({ provisionedPollers: { minimumPollers: 4, maximumPollers: 2 } })).toThrow(/maximumPollers must be in minimumPollers..2000/);
    expect(attempt({ consumerGroupIdPrefix: 'bad prefix!' })).toThrow(LakeLoaderPropsError);
    expect(attempt({ kafka: { kind: 'selfManaged', bootstrapServers: ['b:9092'] } })).toThrow(/needs credentials: set kafka.secret/);
    expect(attempt({ freshnessTarget: Duration.minutes(2), maxBatchingWindow: Duration.seconds(5) })).toThrow(/set maxBatchingWindow or freshnessTarget, not both/);
    expect(attempt({ freshnessTarget: Duration.seconds(30) })).toThrow(/freshnessTarget must be more than 30 seconds/);
    expect(attempt({ provisionedPollers: { pollerGroupName: 'no spaces' } })).toThrow(/pollerGroupName "no spaces" must match/);
  });
  it('on-demand polling leaves retries to the ESM default and sets no poller config', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    new LakeLoader(stack, 'L', { pipeline: clickstream, bucket: new s3.Bucket(stack, 'B'), databaseName: 'db', kafka: { kind: 'msk', clusterArn: MSK_ARN }, provisionedPollers: false });
    const esm = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::EventSourceMapping'))[0]!.Properties;
    expect(esm.ProvisionedPollerConfig).toBeUndefined();
    expect(esm.MaximumRetryAttempts).toBeUndefined();
    expect(esm.BatchSize).toBe(10000);
  });
});

describe('poller mode and batching window defaults (issue 15: chosen from the cost model)', () => {
  const esmOf = (over: Partial<LakeLoaderProps>, stackName = 'S') => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), stackName);
    new LakeLoader(stack, 'L', { pipeline: clickstream, bucket: new s3.Bucket(stack, 'B'), databaseName: 'db', kafka: { kind: 'msk', clusterArn: MSK_ARN }, ...over });
    return Object.values(Template.fromStack(stack).findResources('AWS::Lambda::EventSourceMapping'))[0]!.Properties;
  };

  it('asking for bounded retries or a record age turns provisioned pollers on, in the stack\'s poller group', () => {
    for (const over of [{ retryAttempts: 3 }, { maxRecordAge: Duration.hours(6) }]) {
      const esm = esmOf(over, 'LakeProd');
      expect(esm.ProvisionedPollerConfig).toEqual({ MinimumPollers: 1, MaximumPollers: 3, PollerGroupName: 'lakeloader-LakeProd' });
      expect(esm.MaximumRetryAttempts).toBe(over.retryAttempts ?? 10);
      expect(esm.MaximumRecordAgeInSeconds).toBe(over.maxRecordAge ? 6 * 3600 : 7 * 24 * 3600);
    }
    // Provisioned pollers asked for outright: the same group, unless one is named.
    expect(esmOf({ provisionedPollers: {} }).ProvisionedPollerConfig).toMatchObject({ PollerGroupName: 'lakeloader-S' });
    expect(esmOf({ provisionedPollers: { minimumPollers: 4, maximumPollers: 4, pollerGroupName: 'shared-etl' } }).ProvisionedPollerConfig).toEqual({ MinimumPollers: 4, MaximumPollers: 4, PollerGroupName: 'shared-etl' });
  });

  it('the freshness target is the one knob: it sets the batching window (target − 30 s, within 1..300 s)', () => {
    expect(esmOf({}).MaximumBatchingWindowInSeconds).toBe(90);
    expect(esmOf({ freshnessTarget: Duration.minutes(1) }).MaximumBatchingWindowInSeconds).toBe(30);
    expect(esmOf({ freshnessTarget: Duration.minutes(20) }).MaximumBatchingWindowInSeconds).toBe(300);
    expect(esmOf({ maxBatchingWindow: Duration.seconds(5) }).MaximumBatchingWindowInSeconds).toBe(5);
    // An Iceberg table's rows may wait up to a minute for their snapshot: the window leaves room for it.
    expect(orders.format).toBe('iceberg');
    expect(esmOf({ pipeline: orders }).MaximumBatchingWindowInSeconds).toBe(30);
    expect(esmOf({ pipeline: orders, freshnessTarget: Duration.minutes(5) }).MaximumBatchingWindowInSeconds).toBe(210);
    expect(esmOf({ pipeline: orders, freshnessTarget: Duration.minutes(10) }).MaximumBatchingWindowInSeconds).toBe(300);
  });

  it('every loader of a LakeStack that needs provisioned pollers shares one poller group', () => {
    const { template } = build({ mskClusterArn: MSK_ARN }, { pipelines: [clickstream, events] });
    // The app's stack uses the default (on-demand); a stack whose loaders ask for retries groups them.
    const configs = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map((r) => r.Properties.ProvisionedPollerConfig);
    expect(configs).toHaveLength(3);
    expect(configs.every((c) => c === undefined)).toBe(true);
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new LakeStack(app, 'Grouped', { pipelines: [clickstream, events], kafka: { kind: 'msk', clusterArn: MSK_ARN }, loader: { retryAttempts: 5 } });
    const groups = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::EventSourceMapping')).map((r) => r.Properties.ProvisionedPollerConfig?.PollerGroupName);
    expect(groups).toEqual(['lakeloader-Grouped', 'lakeloader-Grouped', 'lakeloader-Grouped']);
  }, 60_000);
});
