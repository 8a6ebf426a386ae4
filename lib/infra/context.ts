/**
 * Reads the CDK app's configuration from context values (`-c key=value` or cdk.json) into a
 * validated {@link LakeAppConfig}. Pure: it takes a getter and the declared pipelines, so tests
 * call it directly and `bin/app.ts` passes `app.node.tryGetContext`.
 *
 * Context keys:
 * - `mskClusterArn` (Amazon MSK, IAM auth unless `kafkaSecretArn` is set, then SASL/SCRAM-512)
 * - or `bootstrapServers=host:9092,...` + `kafkaSecretArn` and optionally `kafkaAuth`,
 *   `vpcId`, `subnetIds`, `securityGroupIds` (self-managed Kafka)
 * - `pipelines=a,b` (default: every declared pipeline), `kmsKeyArn`, `stackName`
 */
import { definePipeline, PipelineDeclarationError, type Pipeline, type PipelineDeclaration } from '../../lambdas/core/pipeline';
import { LakeloaderError } from '../../lambdas/core/errors';
import { selfManagedAccessProblem } from './kafka-source';

/** Invalid or missing context; the message says which `-c key=value` to set. */
export class LakeAppConfigError extends LakeloaderError {
  readonly code = 'LAKE_APP_CONFIG';
  constructor(message: string) {
    super(message);
  }
}

/** SASL mechanisms a self-managed cluster's secret can be used with. */
export type SelfManagedKafkaAuth = 'SASL_SCRAM_512_AUTH' | 'SASL_SCRAM_256_AUTH' | 'BASIC_AUTH';

/** Where the topics live. */
export type KafkaClusterConfig =
  | {
      kind: 'msk';
      clusterArn: string;
      /** When set, SASL/SCRAM-512 with this Secrets Manager secret; otherwise MSK IAM auth. */
      scramSecretArn?: string;
    }
  | {
      kind: 'selfManaged';
      bootstrapServers: string[];
      /** Secrets Manager secret with the SASL credentials (required when the brokers are not in a VPC). */
      secretArn?: string;
      authentication: SelfManagedKafkaAuth;
      /** The brokers' network; the ESM creates its network interfaces in these subnets. */
      vpc?: { vpcId: string; subnetIds: string[]; securityGroupIds: string[] };
    };

/** Everything `bin/app.ts` needs to build the stack. */
export interface LakeAppConfig {
  stackName: string;
  kafka: KafkaClusterConfig;
  /** The selected, validated pipelines. */
  pipelines: Pipeline[];
  /** Customer-managed KMS key for the lake bucket and Athena results. @default SSE-S3 */
  kmsKeyArn?: string;
}

/** Reads one context key (`app.node.tryGetContext`). */
export type ContextGetter = (key: string) => unknown;

export const DEFAULT_STACK_NAME = 'Lakeloader';
const MSK_CLUSTER_ARN = /^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9-]+\/[A-Za-z0-9-]+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const AUTHS: SelfManagedKafkaAuth[] = ['SASL_SCRAM_512_AUTH', 'SASL_SCRAM_256_AUTH', 'BASIC_AUTH'];

/** A context value as a trimmed string, or undefined when unset or empty. */
function str(get: ContextGetter, key: string): string | undefined {
  const v = get(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw new LakeAppConfigError(`context "${key}" must be a string, got ${JSON.stringify(v)}`);
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

/** A list given as `a,b,c` on the command line or as a JSON array in cdk.json. */
function list(get: ContextGetter, key: string): string[] | undefined {
  const v = get(key);
  if (v === undefined || v === null) return undefined;
  const items = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : undefined;
  if (!items) throw new LakeAppConfigError(`context "${key}" must be a comma-separated list, got ${JSON.stringify(v)}`);
  const out = items.map((s) => s.trim()).filter((s) => s !== '');
  return out.length ? out : undefined;
}

const isNormalized = (p: Pipeline | PipelineDeclaration): p is Pipeline => Array.isArray((p as Pipeline).partitionKeys);

/**
 * Validates declarations (normalizing raw ones with `definePipeline`) and applies the `pipelines`
 * selection.
 * @throws LakeAppConfigError naming the declaration to fix or the context value to set.
 */
export function selectPipelines(declared: ReadonlyArray<Pipeline | PipelineDeclaration>, selection: string[] | undefined): Pipeline[] {
  const all: Pipeline[] = declared.map((d) => {
    if (isNormalized(d)) return d;
    try {
      return definePipeline(d);
    } catch (e) {
      if (e instanceof PipelineDeclarationError) throw new LakeAppConfigError(`invalid pipeline declaration, fix it in pipelines/: ${e.message}`);
      throw e;
    }
  });
  const names = all.map((p) => p.name);
  if (new Set(names).size !== names.length) throw new LakeAppConfigError(`two pipelines share a name (${names.join(', ')}); table names must be unique across pipelines/`);
  if (all.length === 0) throw new LakeAppConfigError('no pipelines are declared; add a file to pipelines/ (npx lakeloader new <name>)');
  if (!selection) return all;
  const unknown = selection.filter((n) => !names.includes(n));
  if (unknown.length) throw new LakeAppConfigError(`unknown pipeline(s) ${unknown.map((n) => `"${n}"`).join(', ')} in -c pipelines; declared pipelines: ${names.join(', ')}`);
  return all.filter((p) => selection.includes(p.name));
}

function readKafka(get: ContextGetter): KafkaClusterConfig {
  const clusterArn = str(get, 'mskClusterArn');
  const bootstrap = list(get, 'bootstrapServers');
  const secretArn = str(get, 'kafkaSecretArn');
  if (secretArn !== undefined && !SECRET_ARN.test(secretArn))
    throw new LakeAppConfigError(`-c kafkaSecretArn must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>), got "${secretArn}"`);
  if (clusterArn && bootstrap) throw new LakeAppConfigError('set either -c mskClusterArn=ARN (Amazon MSK) or -c bootstrapServers=host:port,... (self-managed Kafka), not both');
  if (clusterArn) {
    if (!MSK_CLUSTER_ARN.test(clusterArn))
      throw new LakeAppConfigError(`-c mskClusterArn must be an MSK cluster ARN like arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>, got "${clusterArn}"`);
    return { kind: 'msk', clusterArn, ...(secretArn ? { scramSecretArn: secretArn } : {}) };
  }
  if (bootstrap) {
    const bad = bootstrap.filter((b) => !HOST_PORT.test(b));
    if (bad.length) throw new LakeAppConfigError(`-c bootstrapServers must be host:port pairs separated by commas, got ${bad.map((b) => `"${b}"`).join(', ')}`);
    const authRaw = str(get, 'kafkaAuth') ?? 'SASL_SCRAM_512_AUTH';
    if (!AUTHS.includes(authRaw as SelfManagedKafkaAuth)) throw new LakeAppConfigError(`-c kafkaAuth must be one of ${AUTHS.join(', ')}, got "${authRaw}"`);
    const vpcId = str(get, 'vpcId');
    const subnetIds = list(get, 'subnetIds');
    const securityGroupIds = list(get, 'securityGroupIds');
    let vpc: { vpcId: string; subnetIds: string[]; securityGroupIds: string[] } | undefined;
    if (vpcId || subnetIds || securityGroupIds) {
      if (!vpcId || !/^vpc-[0-9a-f]+$/.test(vpcId)) throw new LakeAppConfigError(`set -c vpcId=vpc-... for brokers in a VPC (got ${vpcId ? `"${vpcId}"` : 'nothing'})`);
      if (!subnetIds || subnetIds.some((s) => !/^subnet-[0-9a-f]+$/.test(s))) throw new LakeAppConfigError('set -c subnetIds=subnet-...,subnet-... (the subnets that reach the brokers)');
      if (!securityGroupIds || securityGroupIds.some((s) => !/^sg-[0-9a-f]+$/.test(s)))
        throw new LakeAppConfigError('set -c securityGroupIds=sg-... (a security group allowed to reach the brokers)');
      vpc = { vpcId, subnetIds, securityGroupIds };
    }
    const problem = selfManagedAccessProblem({ secret: secretArn !== undefined, vpc }, { secret: '-c kafkaSecretArn=arn:aws:secretsmanager:...', vpc: '-c vpcId, -c subnetIds and -c securityGroupIds' });
    if (problem) throw new LakeAppConfigError(problem);
    return { kind: 'selfManaged', bootstrapServers: bootstrap, authentication: authRaw as SelfManagedKafkaAuth, ...(secretArn ? { secretArn } : {}), ...(vpc ? { vpc } : {}) };
  }
  throw new LakeAppConfigError(
    'no Kafka cluster given: set -c mskClusterArn=arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid> for Amazon MSK, ' +
      'or -c bootstrapServers=host:9092,... with -c kafkaSecretArn=... (and -c vpcId/-c subnetIds/-c securityGroupIds when the brokers are in a VPC) for self-managed Kafka',
  );
}

/**
 * Reads and validates the app's context.
 * @param get reads one context key, e.g. `(k) => app.node.tryGetContext(k)`
 * @param declared the declared pipelines (normalized or raw declarations)
 * @throws LakeAppConfigError with the `-c key=value` (or declaration) to fix
 */
export function readLakeAppConfig(get: ContextGetter, declared: ReadonlyArray<Pipeline | PipelineDeclaration>): LakeAppConfig {
  const stackName = str(get, 'stackName') ?? DEFAULT_STACK_NAME;
  if (!STACK_NAME.test(stackName)) throw new LakeAppConfigError(`-c stackName must start with a letter and contain only letters, digits and '-', got "${stackName}"`);
  const kafka = readKafka(get);
  const pipelines = selectPipelines(declared, list(get, 'pipelines'));
  const kmsKeyArn = str(get, 'kmsKeyArn');
  if (kmsKeyArn !== undefined && !KMS_KEY_ARN.test(kmsKeyArn)) throw new LakeAppConfigError(`-c kmsKeyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got "${kmsKeyArn}"`);
  return { stackName, kafka, pipelines, ...(kmsKeyArn ? { kmsKeyArn } : {}) };
}
