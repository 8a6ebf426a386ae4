/** Shared helpers of the CDK tests: building the app from context, and reading templates. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildLakeApp } from '../../bin/app';
import type { Pipeline, PipelineDeclaration } from '../../lambdas/core/pipeline';
import type { LakeStack } from '../../lib/infra/lake-stack';

export const MSK_ARN = 'arn:aws:kafka:eu-west-1:123456789012:cluster/lake-msk/abcd1234-abcd-cafe-abab-9876543210ab-4';
export const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:AmazonMSK_lake-AbCdEf';
export const KMS_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';

/** The feature flags of cdk.json, so tests synthesize what `npx cdk synth` does. */
const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};

export interface Built {
  app: App;
  stack: LakeStack;
  template: Template;
}

/**
 * Builds the CDK app from `context` exactly like `cdk synth -c ...` would.
 * @param bundle run esbuild for the Lambda asset (slow); otherwise the asset is a placeholder
 */
export function build(context: Record<string, unknown>, opts: { bundle?: boolean; outdir?: string; pipelines?: ReadonlyArray<Pipeline | PipelineDeclaration> } = {}): Built {
  const app = new App({
    context: { ...CDK_JSON_CONTEXT, ...context, ...(opts.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
    ...(opts.outdir ? { outdir: opts.outdir } : {}),
  });
  const stack = opts.pipelines ? buildLakeApp(app, opts.pipelines) : buildLakeApp(app);
  return { app, stack, template: Template.fromStack(stack) };
}

/**
 * Renders a CloudFormation value as a readable string: `{Ref: X}` → `${X}`, `Fn::GetAtt` →
 * `${X.Attr}`, `Fn::Join` → the joined parts. Other intrinsics become JSON.
 */
export function flat(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('Ref' in o) return `\${${String(o.Ref)}}`;
    if ('Fn::GetAtt' in o) return `\${${(o['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(flat).join(sep);
    }
  }
  return JSON.stringify(v);
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** All statements of all IAM policies attached to the role whose logical id starts with `rolePrefix`. */
export function roleStatements(template: Template, rolePrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const out: Statement[] = [];
  for (const p of Object.values(policies)) {
    const roles = (p.Properties.Roles as unknown[]).map(flat);
    if (!roles.some((r) => r.startsWith(`\${${rolePrefix}`))) continue;
    out.push(...(p.Properties.PolicyDocument.Statement as Statement[]));
  }
  return out;
}

export const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Statement resources as readable strings, sorted. */
export const resourcesOf = (s: Statement) => asList(s.Resource).map(flat).sort();
export const actionsOf = (s: Statement) => asList(s.Action).slice().sort();

/** Logical id of the single resource of `type` whose logical id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}
