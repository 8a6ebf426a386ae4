/**
 * The CDK app: one LakeStack with a table and a loader per declared pipeline (each file in
 * pipelines/, see lib/pipelines.ts).
 *
 *   npx cdk synth -c mskClusterArn=arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>
 *   npx cdk deploy -c bootstrapServers=b1:9096,b2:9096 -c kafkaSecretArn=arn:... [-c vpcId=... -c subnetIds=... -c securityGroupIds=...]
 *
 * Optional: -c pipelines=a,b  -c kmsKeyArn=arn:aws:kms:...  -c stackName=Lakeloader
 * See docs/deploy.md.
 */
import { App } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { Pipeline, PipelineDeclaration } from '../lambdas/core/pipeline';
import { listPipelines } from '../lib/pipelines';
import { LakeAppConfigError, readLakeAppConfig, type KafkaClusterConfig } from '../lib/infra/context';
import type { KafkaSource } from '../lib/infra/kafka-source';
import { LakeStack } from '../lib/infra/lake-stack';

const secretFromArn = (scope: Construct, id: string, arn: string) =>
  // A complete ARN ends in the 6-character suffix Secrets Manager appends; grants then need no wildcard.
  /-[A-Za-z0-9]{6}$/.test(arn) ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, arn) : secretsmanager.Secret.fromSecretPartialArn(scope, id, arn);

/** The construct-level Kafka source for the context's cluster description. */
export function kafkaSourceFor(scope: Construct, kafka: KafkaClusterConfig): KafkaSource {
  if (kafka.kind === 'msk') {
    return { kind: 'msk', clusterArn: kafka.clusterArn, ...(kafka.scramSecretArn ? { scramSecret: secretFromArn(scope, 'KafkaSecret', kafka.scramSecretArn) } : {}) };
  }
  return {
    kind: 'selfManaged',
    bootstrapServers: kafka.bootstrapServers,
    authentication: kafka.authentication,
    ...(kafka.secretArn ? { secret: secretFromArn(scope, 'KafkaSecret', kafka.secretArn) } : {}),
    ...(kafka.vpc ? { vpc: { subnetIds: kafka.vpc.subnetIds, securityGroupIds: kafka.vpc.securityGroupIds } } : {}),
  };
}

/**
 * Reads the context of `app` and adds the LakeStack.
 * @throws LakeAppConfigError saying which `-c key=value` to set
 */
export function buildLakeApp(app: App, declared: ReadonlyArray<Pipeline | PipelineDeclaration> = listPipelines()): LakeStack {
  const config = readLakeAppConfig((k) => app.node.tryGetContext(k), declared);
  return new LakeStack(app, config.stackName, {
    pipelines: config.pipelines,
    kafka: (scope) => kafkaSourceFor(scope, config.kafka),
    ...(config.kmsKeyArn ? { kmsKeyArn: config.kmsKeyArn } : {}),
    description: `Lakeloader: Kafka -> S3 Parquet -> Glue -> Athena (${config.pipelines.map((p) => p.name).join(', ')})`,
  });
}

if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  try {
    buildLakeApp(new App());
  } catch (e) {
    if (e instanceof LakeAppConfigError) {
      console.error(`lakeloader: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}
