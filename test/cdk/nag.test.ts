/**
 * cdk-nag AwsSolutions checks over every deployment shape: zero unacknowledged findings, and every
 * acknowledgment carries a reason. (cdk-nag 3's `validate` hook needs `appConstruct` on the
 * validation context, which aws-cdk-lib 2.276 does not provide yet, so the pack is run with its
 * documented `validateScope` entry point.)
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { definePipeline } from '../../lambdas/core/pipeline';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { build, KMS_ARN, MSK_ARN, SECRET_ARN } from './helpers';

const projection = definePipeline({
  format: 'hive',
  name: 'orders',
  topics: ['orders'],
  valueFormat: 'json',
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'country', type: 'string', required: true },
  ],
  partitioning: { by: 'columns', columns: ['country'] },
  partitionRegistration: 'projection',
});

const SHAPES: Record<string, Record<string, unknown>> = {
  'MSK, IAM auth': { mskClusterArn: MSK_ARN },
  'MSK, SASL/SCRAM, KMS': { mskClusterArn: MSK_ARN, kafkaSecretArn: SECRET_ARN, kmsKeyArn: KMS_ARN },
  'self-managed, VPC': { bootstrapServers: 'b1:9096', kafkaSecretArn: SECRET_ARN, vpcId: 'vpc-0a', subnetIds: 'subnet-01', securityGroupIds: 'sg-01' },
  'self-managed, internet': { bootstrapServers: 'b1:9096', kafkaSecretArn: SECRET_ARN, kafkaAuth: 'SASL_SCRAM_256_AUTH' },
};

function nag(app: App) {
  const pack = new AwsSolutionsChecks(app);
  app.synth();
  return pack.validateScope(app);
}

function acknowledgments(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  const out: Array<{ path: string; id: string; reason: string }> = [];
  for (const c of root.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      // Recorded as { "<kind>::<rule id>": reason }.
      for (const [key, reason] of Object.entries(m.data as Record<string, string>)) out.push({ path: c.node.path, id: key.replace(/^[A-Za-z]+::/, ''), reason });
    }
  }
  return out;
}

describe('cdk-nag AwsSolutions', () => {
  for (const [shape, context] of Object.entries(SHAPES)) {
    it(`${shape}: zero unacknowledged findings`, () => {
      const { app } = build(context, { pipelines: [clickstream, projection] });
      const report = nag(app);
      expect(report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
      expect(report.success).toBe(true);
    }, 60_000);
  }

  it('every acknowledgment is a specific finding with a reason a reviewer can check', () => {
    const { app } = build(SHAPES['MSK, IAM auth']!);
    const acks = acknowledgments(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      if (a.id.startsWith('AwsSolutions-IAM5')) expect(a.id).toMatch(/\[Resource::.+\]$/); // never a blanket IAM5
      expect(a.reason.length).toBeGreaterThan(60);
    }
    // The only non-IAM acknowledgment: the access-log bucket does not log into itself.
    expect(acks.filter((a) => !a.id.startsWith('AwsSolutions-IAM5')).map((a) => a.id)).toEqual(['AwsSolutions-S1']);
  }, 60_000);

  it('the checks do run: an unprotected bucket is reported', () => {
    const app = new App();
    new s3.Bucket(new Stack(app, 'Unsafe'), 'Open');
    const report = nag(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });
});
