/**
 * Where a loader reads from (Amazon MSK or self-managed Kafka) and exactly the permissions and
 * source-access configuration the event source mapping needs for it. Replaces the broad
 * `AWSLambdaMSKExecutionRole` managed policy with statements scoped to one cluster, its topics
 * and the loader's consumer groups.
 */
import { Fn, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/** An Amazon MSK cluster. Authentication is IAM unless `scramSecret` is given (SASL/SCRAM-512). */
export interface MskKafkaSource {
  readonly kind: 'msk';
  /** `arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>` (a token is fine). */
  readonly clusterArn: string;
  /** SASL/SCRAM-512 credentials secret. @default none: MSK IAM authentication */
  readonly scramSecret?: secretsmanager.ISecret;
}

/** A self-managed Kafka cluster. */
export interface SelfManagedKafkaSource {
  readonly kind: 'selfManaged';
  /** `host:port` of one or more brokers. */
  readonly bootstrapServers: string[];
  /** Secret with the SASL credentials; required unless the brokers are reached through `vpc`. @default none */
  readonly secret?: secretsmanager.ISecret;
  /** SASL mechanism the secret is for. @default 'SASL_SCRAM_512_AUTH' */
  readonly authentication?: 'SASL_SCRAM_512_AUTH' | 'SASL_SCRAM_256_AUTH' | 'BASIC_AUTH';
  /** Subnets and security groups from which the ESM reaches the brokers. @default none: brokers reachable over the internet */
  readonly vpc?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] };
}

export type KafkaSource = MskKafkaSource | SelfManagedKafkaSource;

/** The parts of an MSK cluster ARN, as strings or CloudFormation expressions when the ARN is a token. */
export interface MskClusterArnParts {
  partition: string;
  region: string;
  account: string;
  clusterName: string;
  clusterUuid: string;
}

/** Splits `arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>`; uses Fn.split/Fn.select for a token. */
export function parseMskClusterArn(clusterArn: string): MskClusterArnParts {
  if (Token.isUnresolved(clusterArn)) {
    const colon = Fn.split(':', clusterArn);
    const slash = Fn.split('/', clusterArn);
    return {
      partition: Fn.select(1, colon),
      region: Fn.select(3, colon),
      account: Fn.select(4, colon),
      clusterName: Fn.select(1, slash),
      clusterUuid: Fn.select(2, slash),
    };
  }
  const m = /^arn:([^:]+):kafka:([^:]+):(\d{12}):cluster\/([^/]+)\/([^/]+)$/.exec(clusterArn);
  if (!m) throw new Error(`"${clusterArn}" is not an MSK cluster ARN; expected arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>`);
  return { partition: m[1]!, region: m[2]!, account: m[3]!, clusterName: m[4]!, clusterUuid: m[5]! };
}

/** ARNs of an MSK cluster's topic and consumer-group resources, for `kafka-cluster:*` IAM actions. */
export function mskResourceArns(clusterArn: string, topics: string[], groupIds: string[]): { cluster: string; topics: string[]; groups: string[] } {
  const p = parseMskClusterArn(clusterArn);
  const base = (type: string) => `arn:${p.partition}:kafka:${p.region}:${p.account}:${type}/${p.clusterName}/${p.clusterUuid}`;
  return { cluster: clusterArn, topics: topics.map((t) => `${base('topic')}/${t}`), groups: groupIds.map((g) => `${base('group')}/${g}`) };
}

/**
 * The ENI permissions the ESM needs to reach brokers inside a VPC (it creates network
 * interfaces in the cluster's subnets with the function's execution role).
 *
 * - `ec2:Describe*` calls do not support resource-level permissions: AWS requires `Resource: *`.
 * - Create/DeleteNetworkInterface are scoped to this account and region's network interfaces and
 *   to the given subnets/security groups (or all of them in the account/region for MSK, whose
 *   subnets the ESM discovers from the cluster).
 */
export function eniStatements(scope: Construct, subnetIds?: string[], securityGroupIds?: string[]): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const ec2 = (resource: string) => `arn:${stack.partition}:ec2:${stack.region}:${stack.account}:${resource}`;
  return [
    new iam.PolicyStatement({
      sid: 'EsmDescribeNetwork',
      actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs'],
      resources: ['*'], // EC2 Describe* actions support no resource-level permissions.
    }),
    new iam.PolicyStatement({
      sid: 'EsmManageNetworkInterfaces',
      actions: ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface'],
      resources: [
        ec2('network-interface/*'),
        ...(subnetIds ? subnetIds.map((s) => ec2(`subnet/${s}`)) : [ec2('subnet/*')]),
        ...(securityGroupIds ? securityGroupIds.map((s) => ec2(`security-group/${s}`)) : [ec2('security-group/*')]),
      ],
    }),
  ];
}

/**
 * Statements for the ESM to read `topics` from an MSK cluster as `groupIds`: bootstrap discovery
 * on the cluster, and with IAM auth the `kafka-cluster:*` data-plane actions on the cluster,
 * topic and group ARNs.
 */
export function mskStatements(source: MskKafkaSource, topics: string[], groupIds: string[]): iam.PolicyStatement[] {
  const arns = mskResourceArns(source.clusterArn, topics, groupIds);
  const out = [
    new iam.PolicyStatement({
      sid: 'EsmDiscoverCluster',
      actions: ['kafka:DescribeCluster', 'kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers', ...(source.scramSecret ? ['kafka:ListScramSecrets'] : [])],
      resources: [arns.cluster],
    }),
  ];
  if (!source.scramSecret) {
    out.push(
      new iam.PolicyStatement({ sid: 'MskIamConnect', actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'], resources: [arns.cluster] }),
      new iam.PolicyStatement({ sid: 'MskIamReadTopics', actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'], resources: arns.topics }),
      new iam.PolicyStatement({ sid: 'MskIamConsumerGroups', actions: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'], resources: arns.groups }),
    );
  }
  return out;
}

/**
 * The one home of the rule for reaching self-managed brokers: over the internet only with SASL
 * credentials; in a VPC with at least one subnet and one security group.
 * @param names how the caller's user sets the secret and the VPC (context flags or construct props)
 * @returns what to set, or undefined when the access is complete
 */
export function selfManagedAccessProblem(s: { secret: boolean; vpc?: { subnetIds: string[]; securityGroupIds: string[] } }, names: { secret: string; vpc: string }): string | undefined {
  if (!s.vpc && !s.secret) return `self-managed Kafka reached over the internet needs credentials: set ${names.secret}, or put the ESM in the brokers' VPC with ${names.vpc}`;
  if (s.vpc && (s.vpc.subnetIds.length === 0 || s.vpc.securityGroupIds.length === 0)) return `${names.vpc} needs at least one subnet id and one security group id`;
  return undefined;
}

/** The ESM's SourceAccessConfigurations for a source (auth secret, VPC subnets and security groups). */
export function sourceAccessConfigurations(source: KafkaSource): lambda.SourceAccessConfiguration[] {
  if (source.kind === 'msk') {
    return source.scramSecret ? [{ type: lambda.SourceAccessConfigurationType.SASL_SCRAM_512_AUTH, uri: source.scramSecret.secretArn }] : [];
  }
  const out: lambda.SourceAccessConfiguration[] = [];
  if (source.secret) {
    const type = {
      SASL_SCRAM_512_AUTH: lambda.SourceAccessConfigurationType.SASL_SCRAM_512_AUTH,
      SASL_SCRAM_256_AUTH: lambda.SourceAccessConfigurationType.SASL_SCRAM_256_AUTH,
      BASIC_AUTH: lambda.SourceAccessConfigurationType.BASIC_AUTH,
    }[source.authentication ?? 'SASL_SCRAM_512_AUTH'];
    out.push({ type, uri: source.secret.secretArn });
  }
  if (source.vpc) {
    for (const sg of source.vpc.securityGroupIds) out.push({ type: lambda.SourceAccessConfigurationType.VPC_SECURITY_GROUP, uri: `security_group:${sg}` });
    for (const sn of source.vpc.subnetIds) out.push({ type: lambda.SourceAccessConfigurationType.VPC_SUBNET, uri: `subnet:${sn}` });
  }
  return out;
}
