/**
 * The CDK app's context reading: valid MSK / self-managed configurations, and invalid context
 * (missing cluster, unknown pipeline, bad partitioning, malformed values) failing with a message
 * that says what to set.
 */
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildLakeApp } from '../../bin/app';
import type { Pipeline, PipelineDeclaration } from '../../lambdas/core/pipeline';
import { LakeAppConfigError, readLakeAppConfig } from '../../lib/infra/context';
import { listPipelines } from '../../lib/pipelines';
import { KMS_ARN, MSK_ARN, SECRET_ARN } from './helpers';

/** The fixture pipelines (test/fixtures/pipelines: clickstream, orders). */
const pipelines = listPipelines();
const ctx = (values: Record<string, unknown>) => (k: string) => values[k];
const read = (values: Record<string, unknown>, declared: ReadonlyArray<Pipeline | PipelineDeclaration> = pipelines) => readLakeAppConfig(ctx(values), declared);
const fails = (values: Record<string, unknown>, message: RegExp, declared?: ReadonlyArray<Pipeline | PipelineDeclaration>) => {
  let err: unknown;
  try {
    read(values, declared);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LakeAppConfigError);
  expect((err as Error).message).toMatch(message);
};

const decl = (partitioning: PipelineDeclaration['partitioning']): PipelineDeclaration => ({
  name: 'orders',
  topics: ['orders'],
  valueFormat: 'json',
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'ts', type: 'timestamp', required: true },
  ],
  partitioning,
});

describe('valid context', () => {
  it('MSK with IAM auth, every declared pipeline, default stack name', () => {
    const c = read({ mskClusterArn: MSK_ARN });
    expect(c).toEqual({ stackName: 'Lakeloader', kafka: { kind: 'msk', clusterArn: MSK_ARN }, pipelines: [...pipelines] });
  });

  it('MSK with SASL/SCRAM, a KMS key, a stack name and a pipeline selection', () => {
    const c = read({ mskClusterArn: MSK_ARN, kafkaSecretArn: SECRET_ARN, kmsKeyArn: KMS_ARN, stackName: 'LakeProd', pipelines: 'clickstream' });
    expect(c.kafka).toEqual({ kind: 'msk', clusterArn: MSK_ARN, scramSecretArn: SECRET_ARN });
    expect(c.kmsKeyArn).toBe(KMS_ARN);
    expect(c.stackName).toBe('LakeProd');
    expect(c.pipelines.map((p) => p.name)).toEqual(['clickstream']);
  });

  it('self-managed Kafka in a VPC, lists given on the command line or as JSON arrays', () => {
    const c = read({ bootstrapServers: 'b1.kafka.internal:9096, b2.kafka.internal:9096', kafkaSecretArn: SECRET_ARN, vpcId: 'vpc-0abc', subnetIds: ['subnet-01', 'subnet-02'], securityGroupIds: 'sg-0a' });
    expect(c.kafka).toEqual({
      kind: 'selfManaged',
      bootstrapServers: ['b1.kafka.internal:9096', 'b2.kafka.internal:9096'],
      authentication: 'SASL_SCRAM_512_AUTH',
      secretArn: SECRET_ARN,
      vpc: { vpcId: 'vpc-0abc', subnetIds: ['subnet-01', 'subnet-02'], securityGroupIds: ['sg-0a'] },
    });
  });

  it('raw declarations are validated and normalized', () => {
    const c = read({ mskClusterArn: MSK_ARN }, [decl({ by: 'eventTime', source: 'ts', granularity: 'day' })]);
    // Iceberg by default: hidden partitioning, no Glue partition keys; a Hive one has dt.
    expect(c.pipelines[0]).toMatchObject({ format: 'iceberg', partitionKeys: [] });
    const hive = read({ mskClusterArn: MSK_ARN }, [{ ...decl({ by: 'eventTime', source: 'ts', granularity: 'day' }), format: 'hive' }]);
    expect(hive.pipelines[0]!.partitionKeys).toEqual([{ name: 'dt', glueType: 'string' }]);
  });
});

describe('invalid context fails with what to set', () => {
  it('missing cluster', () => fails({}, /set -c mskClusterArn=arn:aws:kafka:.* or -c bootstrapServers=host:9092/));
  it('both cluster kinds', () => fails({ mskClusterArn: MSK_ARN, bootstrapServers: 'b:9092' }, /either -c mskClusterArn=ARN .* not both/));
  it('malformed MSK ARN', () => fails({ mskClusterArn: 'arn:aws:kafka:eu-west-1:123:cluster/x' }, /-c mskClusterArn must be an MSK cluster ARN like arn:aws:kafka:<region>:<account>:cluster\/<name>\/<uuid>/));
  it('unknown pipeline', () => fails({ mskClusterArn: MSK_ARN, pipelines: 'clickstream,payments' }, /unknown pipeline\(s\) "payments" in -c pipelines; declared pipelines: clickstream, orders/));
  it('bad partitioning: source is not a column', () =>
    fails({ mskClusterArn: MSK_ARN }, /fix it in pipelines\/: pipeline "orders": partitioning.source "created_at" is not a declared column/, [decl({ by: 'eventTime', source: 'created_at', granularity: 'hour' })]));
  it('bad partitioning: unknown kind', () =>
    fails({ mskClusterArn: MSK_ARN }, /partitioning.by must be 'eventTime', 'columns' or 'none'/, [decl({ by: 'month' } as unknown as PipelineDeclaration['partitioning'])]));
  it('bad partitioning: hour granularity on a date column', () =>
    fails({ mskClusterArn: MSK_ARN }, /granularity must be 'day'/, [{ ...decl({ by: 'eventTime', source: 'd', granularity: 'hour' }), columns: [{ name: 'd', type: 'date', required: true }] }]));
  it('self-managed over the internet without credentials', () => fails({ bootstrapServers: 'b1:9092' }, /set -c kafkaSecretArn=arn:aws:secretsmanager:/));
  it('self-managed VPC without subnets', () => fails({ bootstrapServers: 'b1:9092', vpcId: 'vpc-01', securityGroupIds: 'sg-01' }, /set -c subnetIds=subnet-/));
  it('malformed bootstrap servers', () => fails({ bootstrapServers: 'b1', kafkaSecretArn: SECRET_ARN }, /host:port pairs.*"b1"/));
  it('malformed secret ARN', () => fails({ mskClusterArn: MSK_ARN, kafkaSecretArn: 'my-secret' }, /-c kafkaSecretArn must be a Secrets Manager secret ARN/));
  it('malformed KMS key ARN', () => fails({ mskClusterArn: MSK_ARN, kmsKeyArn: 'alias/lake' }, /-c kmsKeyArn must be a KMS key ARN/));
  it('bad stack name', () => fails({ mskClusterArn: MSK_ARN, stackName: 'my_stack' }, /-c stackName must start with a letter/));
  it('unknown SASL mechanism', () => fails({ bootstrapServers: 'b1:9092', kafkaSecretArn: SECRET_ARN, kafkaAuth: 'OAUTH' }, /-c kafkaAuth must be one of SASL_SCRAM_512_AUTH/));
});

describe('bin/app', () => {
  it('building the app with invalid context throws before creating anything', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(() => buildLakeApp(app)).toThrow(LakeAppConfigError);
    expect(app.node.children).toHaveLength(0);
  });
});
