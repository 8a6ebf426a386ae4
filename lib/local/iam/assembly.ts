/**
 * The IAM side of a synthesized CDK app: reads a cloud assembly (`cdk synth` output, `cdk.out/`),
 * resolves the CloudFormation intrinsics of each stack template (`Ref`, `Fn::GetAtt`, `Fn::Join`,
 * `Fn::Sub`, `Fn::Select`, `Fn::Split`, `Fn::If` with the template's Conditions, `Fn::FindInMap`,
 * pseudo parameters) for a given region and account, and collects, per IAM role, the statements
 * of every policy attached to it (inline, `AWS::IAM::Policy`, `AWS::IAM::ManagedPolicy`) and, per
 * bucket, its bucket policy. The template is what CloudFormation would deploy, so the local check
 * sees the same policies AWS would.
 *
 * Resources without an explicit physical name get the name CloudFormation would generate
 * (`<stack>-<logicalId>`, lower-case for buckets) unless `names` maps their logical id — e.g. the
 * lake bucket to the local bucket name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LakeloaderError } from '../../../lambdas/core/errors';
import { statementsOf, type PolicyDocument, type PolicyStatement } from './policy';

/** The cloud assembly cannot be read or holds no stack; the message says what to run. */
export class CloudAssemblyError extends LakeloaderError {
  readonly code = 'CLOUD_ASSEMBLY';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export interface AssemblyOptions {
  region: string;
  accountId: string;
  /** Logical id → physical name, for resources whose name CloudFormation would generate. */
  names?: Record<string, string>;
  /** Stack output key → physical name of the resource the output's value refers to (`{Ref: X}`). */
  outputNames?: Record<string, string>;
}

/** A role of the stack and everything its policies allow or deny. */
export interface StackRole {
  logicalId: string;
  name: string;
  arn: string;
  statements: PolicyStatement[];
  /** ARNs of managed policies whose content is unknown here (granting nothing locally). */
  unknownManagedPolicies: string[];
  /** The pipeline whose loader function runs with this role, if any. */
  pipeline?: string;
}

/** The IAM content of one stack. */
export interface StackIam {
  stackName: string;
  roles: StackRole[];
  /** Bucket name → its bucket policy's statements. */
  bucketPolicies: Map<string, PolicyStatement[]>;
  /** Stack outputs, resolved. */
  outputs: Record<string, string>;
}

type Template = {
  Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: unknown }>;
  Parameters?: Record<string, { Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
};

/** AWS-managed policies Lambda roles commonly carry, with their actions (none touch S3, Glue or Athena). */
const KNOWN_MANAGED: Record<string, PolicyStatement[]> = {
  'service-role/AWSLambdaBasicExecutionRole': [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  'service-role/AWSLambdaVPCAccessExecutionRole': [
    { Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'], Resource: '*' },
  ],
};

/** Reads every stack of the cloud assembly in `dir` (its manifest.json). */
export function readCloudAssembly(dir: string, opts: AssemblyOptions): StackIam[] {
  let manifest: { artifacts?: Record<string, { type: string; properties?: { templateFile?: string }; displayName?: string }> };
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch (e) {
    throw new CloudAssemblyError(`cannot read the cloud assembly ${join(dir, 'manifest.json')}: ${(e as Error).message}; run \`npx cdk synth\` (with your -c context) first, or point --cdk-out at its output directory`, { cause: e });
  }
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(([, a]) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile);
  if (stacks.length === 0) throw new CloudAssemblyError(`the cloud assembly ${dir} holds no CloudFormation stack; run \`npx cdk synth\` first`);
  return stacks.map(([id, a]) => {
    const file = join(dir, a.properties!.templateFile!);
    let template: Template;
    try {
      template = JSON.parse(readFileSync(file, 'utf8')) as Template;
    } catch (e) {
      throw new CloudAssemblyError(`cannot read the stack template ${file}: ${(e as Error).message}`, { cause: e });
    }
    return iamFromTemplate(template, a.displayName ?? id, opts);
  });
}

/** The IAM content of one CloudFormation template. */
export function iamFromTemplate(template: Template, stackName: string, opts: AssemblyOptions): StackIam {
  const resources = template.Resources ?? {};
  const names: Record<string, string> = { ...(opts.names ?? {}) };
  for (const [key, name] of Object.entries(opts.outputNames ?? {})) {
    const v = template.Outputs?.[key]?.Value as { Ref?: string } | undefined;
    if (v && typeof v.Ref === 'string') names[v.Ref] = name;
  }
  const resolver = new Resolver(template, stackName, opts, names);

  const roles: StackRole[] = [];
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::IAM::Role') continue;
    const name = resolver.physicalName(id);
    const statements: PolicyStatement[] = [];
    for (const p of (r.Properties?.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? []) statements.push(...resolver.document(p.PolicyDocument));
    const unknownManagedPolicies: string[] = [];
    for (const raw of (r.Properties?.ManagedPolicyArns as unknown[] | undefined) ?? []) {
      const ref = (raw as { Ref?: string }).Ref;
      if (ref && resources[ref]?.Type === 'AWS::IAM::ManagedPolicy') continue; // attached below
      const arn = String(resolver.value(raw));
      const known = /^arn:aws[a-z-]*:iam::aws:policy\/(.+)$/.exec(arn);
      if (known && KNOWN_MANAGED[known[1]!]) statements.push(...KNOWN_MANAGED[known[1]!]!);
      else unknownManagedPolicies.push(arn);
    }
    roles.push({ logicalId: id, name, arn: `arn:aws:iam::${opts.accountId}:role/${name}`, statements, unknownManagedPolicies });
  }
  const roleByName = new Map(roles.map((r) => [r.name, r]));
  for (const [, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const doc = resolver.document(r.Properties?.PolicyDocument);
    for (const roleRef of (r.Properties?.Roles as unknown[] | undefined) ?? []) roleByName.get(String(resolver.value(roleRef)))?.statements.push(...doc);
  }
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    for (const role of Object.values(resources).filter((x) => x.Type === 'AWS::IAM::Role')) {
      const arns = (role.Properties?.ManagedPolicyArns as unknown[] | undefined) ?? [];
      if (arns.some((a) => (a as { Ref?: string }).Ref === id)) {
        const roleId = Object.entries(resources).find(([, x]) => x === role)![0];
        roles.find((x) => x.logicalId === roleId)?.statements.push(...resolver.document(r.Properties?.PolicyDocument));
      }
    }
  }
  for (const [, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const pipeline = (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.LAKELOADER_PIPELINE;
    const roleAtt = (r.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
    if (typeof pipeline === 'string' && roleAtt) {
      const role = roles.find((x) => x.logicalId === roleAtt[0]);
      if (role) role.pipeline = pipeline;
    }
  }

  const bucketPolicies = new Map<string, PolicyStatement[]>();
  for (const [, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::S3::BucketPolicy') continue;
    const bucket = String(resolver.value(r.Properties?.Bucket));
    bucketPolicies.set(bucket, [...(bucketPolicies.get(bucket) ?? []), ...resolver.document(r.Properties?.PolicyDocument)]);
  }
  const outputs: Record<string, string> = {};
  for (const [k, o] of Object.entries(template.Outputs ?? {})) {
    const v = resolver.value(o.Value);
    if (typeof v === 'string') outputs[k] = v;
  }
  return { stackName, roles, bucketPolicies, outputs };
}

/** Resolves CloudFormation values for one template. */
class Resolver {
  private readonly resources: NonNullable<Template['Resources']>;

  constructor(
    private readonly template: Template,
    private readonly stackName: string,
    private readonly opts: AssemblyOptions,
    private readonly names: Record<string, string>,
  ) {
    this.resources = template.Resources ?? {};
  }

  /** A policy document's statements, resolved. */
  document(doc: unknown): PolicyStatement[] {
    return statementsOf(this.value(doc) as PolicyDocument | undefined);
  }

  /** The physical name of a resource. */
  physicalName(id: string): string {
    if (this.names[id]) return this.names[id]!;
    const r = this.resources[id];
    const p = r?.Properties ?? {};
    const explicit = (field: string) => (p[field] !== undefined ? String(this.value(p[field])) : undefined);
    switch (r?.Type) {
      case 'AWS::S3::Bucket':
        return explicit('BucketName') ?? `${this.stackName}-${id}`.toLowerCase().slice(0, 63);
      case 'AWS::IAM::Role':
        return explicit('RoleName') ?? `${this.stackName}-${id}`.slice(0, 64);
      case 'AWS::IAM::ManagedPolicy':
        return explicit('ManagedPolicyName') ?? `${this.stackName}-${id}`;
      case 'AWS::Lambda::Function':
        return explicit('FunctionName') ?? `${this.stackName}-${id}`.slice(0, 64);
      case 'AWS::Logs::LogGroup':
        return explicit('LogGroupName') ?? `${this.stackName}-${id}`;
      case 'AWS::Glue::Database':
        return String(this.value((p.DatabaseInput as { Name?: unknown } | undefined)?.Name) ?? id);
      case 'AWS::Glue::Table':
        return String(this.value((p.TableInput as { Name?: unknown } | undefined)?.Name) ?? id);
      case 'AWS::Athena::WorkGroup':
        return explicit('Name') ?? id;
      default:
        return id;
    }
  }

  private ref(name: string): unknown {
    const { region, accountId } = this.opts;
    switch (name) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::Region':
        return region;
      case 'AWS::AccountId':
        return accountId;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${region}:${accountId}:stack/${this.stackName}/local`;
      case 'AWS::NoValue':
        return undefined;
    }
    const param = this.template.Parameters?.[name];
    if (param) return this.value(param.Default);
    const r = this.resources[name];
    if (!r) return `<unresolved Ref ${name}>`;
    switch (r.Type) {
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::SNS::Topic':
      case 'AWS::SecretsManager::Secret':
        return this.getAtt(name, 'Arn');
      case 'AWS::KMS::Key':
        return name;
      default:
        return this.physicalName(name);
    }
  }

  private getAtt(id: string, attr: string): unknown {
    const { region, accountId } = this.opts;
    const r = this.resources[id];
    const name = this.physicalName(id);
    if (attr !== 'Arn') return `<${id}.${attr}>`;
    switch (r?.Type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${accountId}:role/${name}`;
      case 'AWS::IAM::ManagedPolicy':
        return `arn:aws:iam::${accountId}:policy/${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${region}:${accountId}:key/${id}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${region}:${accountId}:log-group:${name}:*`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${region}:${accountId}:${name}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${region}:${accountId}:${name}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}`;
      default: {
        const service = (r?.Type ?? 'AWS::Unknown::X').split('::')[1]!.toLowerCase();
        return `arn:aws:${service}:${region}:${accountId}:${name}`;
      }
    }
  }

  private condition(name: string): boolean {
    return Boolean(this.value(this.template.Conditions?.[name]));
  }

  /** Resolves any value (objects and arrays recursively). */
  value(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.value(x)).filter((x) => x !== undefined);
    if (!v || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = o[k];
      switch (k) {
        case 'Ref':
          return this.ref(String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
          return this.getAtt(id!, attr!);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          const resolved = this.value(parts);
          return Array.isArray(resolved) ? resolved.map(String).join(sep) : '';
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
          return text.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
            if (bang) return `\${${name}}`;
            if (vars[name] !== undefined) return String(this.value(vars[name]));
            const dot = name.indexOf('.');
            return String(dot > 0 && !name.startsWith('AWS::') ? this.getAtt(name.slice(0, dot), name.slice(dot + 1)) : this.ref(name));
          });
        }
        case 'Fn::Select': {
          const [i, list] = arg as [unknown, unknown];
          const l = this.value(list);
          return Array.isArray(l) ? l[Number(this.value(i))] : undefined;
        }
        case 'Fn::Split': {
          const [sep, s] = arg as [string, unknown];
          return String(this.value(s)).split(sep);
        }
        case 'Fn::If': {
          const [cond, yes, no] = arg as [string, unknown, unknown];
          return this.condition(cond) ? this.value(yes) : this.value(no);
        }
        case 'Fn::Equals': {
          const [a, b] = arg as [unknown, unknown];
          return JSON.stringify(this.value(a)) === JSON.stringify(this.value(b));
        }
        case 'Fn::Not':
          return !this.value((arg as unknown[])[0]);
        case 'Fn::And':
          return (arg as unknown[]).every((x) => this.value(x));
        case 'Fn::Or':
          return (arg as unknown[]).some((x) => this.value(x));
        case 'Condition':
          return this.condition(String(arg));
        case 'Fn::FindInMap': {
          const [map, k1, k2] = (arg as unknown[]).map((x) => String(this.value(x)));
          return this.value(this.template.Mappings?.[map!]?.[k1!]?.[k2!]);
        }
        case 'Fn::Base64':
          return Buffer.from(String(this.value(arg))).toString('base64');
        case 'Fn::ImportValue':
          return `<ImportValue ${JSON.stringify(arg)}>`;
        case 'Fn::GetAZs':
          return [`${this.opts.region}a`, `${this.opts.region}b`, `${this.opts.region}c`];
      }
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, this.value(x)]).filter(([, x]) => x !== undefined));
  }
}
