/**
 * The synthesized stack of an Iceberg pipeline (the `orders` fixture): the table is the loader's
 * custom resource (not a CloudFormation Glue table, whose parameters a stack update would reset),
 * a scheduled committer every minute, the Glue table optimizers with a role scoped to the
 * table's prefix, the loader's Glue permissions for commits, and cdk-nag.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { definePipeline } from '../../lambdas/core/pipeline';
import orders from '../fixtures/pipelines/orders';
import { actionsOf, build, flat, KMS_ARN, logicalId, MSK_ARN, resourcesOf, roleStatements } from './helpers';

let template: Template;
let fnId: string;

beforeAll(() => {
  ({ template } = build({ mskClusterArn: MSK_ARN }, { pipelines: [orders] }));
  fnId = logicalId(template, 'AWS::Lambda::Function', 'OrdersLoaderFunction');
}, 60_000);

describe('Iceberg pipeline stack', () => {
  it('creates only the quarantine table in CloudFormation; the loader creates the Iceberg table as a custom resource', () => {
    const tables = Object.values(template.findResources('AWS::Glue::Table')).map((t) => t.Properties.TableInput.Name as string);
    expect(tables).toEqual(['orders_quarantine']);
    const crs = template.findResources('Custom::LakeloaderIcebergTable');
    expect(Object.keys(crs)).toHaveLength(1);
    const cr = Object.values(crs)[0]!;
    expect(flat(cr.Properties.ServiceToken)).toBe(`\${${fnId}.Arn}`);
    expect(cr.Properties).toMatchObject({ Table: 'orders', Database: expect.stringMatching(/^lakeloader_/) });
    expect(cr.Properties.Fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // Created after the database; kept on delete by the handler (it answers Delete without dropping).
    expect(cr.DependsOn).toEqual(expect.arrayContaining([logicalId(template, 'AWS::Glue::Database', 'Database')]));
  });

  it('runs the scheduled committer every minute with {"lakeloader":"commit"}', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, Input: JSON.stringify({ lakeloader: 'commit' }) })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com', FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] } });
  });

  it('enables compaction, snapshot retention and orphan-file deletion with the declared settings', () => {
    const opts = Object.values(template.findResources('AWS::Glue::TableOptimizer')).map((r) => r.Properties);
    expect(opts.map((o) => o.Type).sort()).toEqual(['compaction', 'orphan_file_deletion', 'retention']);
    for (const o of opts) {
      expect(o.TableName).toBe('orders');
      expect(o.TableOptimizerConfiguration.Enabled).toBe(true);
      expect(flat(o.TableOptimizerConfiguration.RoleArn)).toMatch(/^\$\{OrdersLoaderIcebergOptimizerRole[0-9A-F]+\.Arn\}$/);
    }
    const by = (t: string) => opts.find((o) => o.Type === t)!.TableOptimizerConfiguration;
    expect(by('compaction').CompactionConfiguration).toEqual({ IcebergConfiguration: { Strategy: 'binpack' } });
    expect(by('retention').RetentionConfiguration.IcebergConfiguration).toEqual({ SnapshotRetentionPeriodInDays: 5, NumberOfSnapshotsToRetain: 1, CleanExpiredFiles: true });
    expect(by('orphan_file_deletion').OrphanFileDeletionConfiguration.IcebergConfiguration.OrphanFileRetentionPeriodInDays).toBe(3);
    expect(flat(by('orphan_file_deletion').OrphanFileDeletionConfiguration.IcebergConfiguration.Location)).toMatch(/^s3:\/\/\$\{LakeBucket[0-9A-F]+\}\/tables\/orders\/$/);
  });

  it("the optimizers' role reaches the table's prefix, its Glue table and the optimizer log groups only", () => {
    const trust = Object.entries(template.findResources('AWS::IAM::Role')).find(([id]) => id.startsWith('OrdersLoaderIcebergOptimizerRole'))![1];
    expect(trust.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'glue.amazonaws.com' });
    const st = roleStatements(template, 'OrdersLoaderIcebergOptimizerRole');
    const sid = (s: string) => st.find((x) => x.Sid === s)!;
    expect(st.map((s) => s.Sid).sort()).toEqual(['OptimizerLogs', 'TableCatalog', 'TableList', 'TableObjects']);
    expect(resourcesOf(sid('TableObjects'))).toEqual([expect.stringMatching(/^\$\{LakeBucket[0-9A-F]+\.Arn\}\/tables\/orders\/\*$/)]);
    expect(sid('TableList').Condition).toEqual({ StringLike: { 's3:prefix': ['tables/orders/*'] } });
    expect(actionsOf(sid('TableCatalog'))).toEqual(['glue:GetTable', 'glue:UpdateTable']);
    expect(resourcesOf(sid('TableCatalog')).some((r) => r.endsWith(':table/') || r.includes('table/*'))).toBe(false);
    expect(resourcesOf(sid('TableCatalog')).filter((r) => r.includes(':table/'))).toEqual([expect.stringMatching(/:table\/lakeloader_[a-z0-9_]+\/orders$/)]);
    expect(resourcesOf(sid('OptimizerLogs')).every((r) => /log-group:\/aws-glue\/iceberg-(compaction|retention|orphan-file-deletion)\/logs:\*$/.test(r))).toBe(true);
  });

  it('the loader may read, create and update (commit) its own Iceberg table, and register no partitions', () => {
    const st = roleStatements(template, 'OrdersLoaderRole');
    const glue = st.find((s) => s.Sid === 'GlueIcebergTable')!;
    expect(actionsOf(glue)).toEqual(['glue:CreateTable', 'glue:GetTable', 'glue:UpdateTable']);
    expect(resourcesOf(glue).filter((r) => r.includes(':table/'))).toEqual([expect.stringMatching(/:table\/lakeloader_[a-z0-9_]+\/orders$/)]);
    expect(st.some((s) => actionsOf(s).includes('glue:BatchCreatePartition'))).toBe(false);
  });

  it('with every optimizer off: no optimizer and no optimizer role, still the committer', () => {
    const bare = definePipeline({
      name: 'bare_orders',
      topics: ['orders'],
      valueFormat: 'json',
      columns: [{ name: 'order_id', type: 'string', required: true }],
      partitioning: { by: 'none' },
      iceberg: { optimizers: { compaction: false, snapshotRetention: false, orphanFileDeletion: false } },
    });
    const { template: t } = build({ mskClusterArn: MSK_ARN }, { pipelines: [bare] });
    expect(Object.keys(t.findResources('AWS::Glue::TableOptimizer'))).toEqual([]);
    expect(Object.keys(t.findResources('AWS::IAM::Role')).some((id) => id.includes('OptimizerRole'))).toBe(false);
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('cdk-nag AwsSolutions: zero unacknowledged findings, with a KMS-encrypted lake too', () => {
    for (const ctx of [{ mskClusterArn: MSK_ARN }, { mskClusterArn: MSK_ARN, kmsKeyArn: KMS_ARN }]) {
      const { app } = build(ctx, { pipelines: [orders] });
      const pack = new AwsSolutionsChecks(app);
      app.synth();
      const report = pack.validateScope(app);
      expect(report.violations.map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    }
  }, 60_000);
});
