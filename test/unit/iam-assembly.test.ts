/**
 * Reading IAM from a CloudFormation template: intrinsics resolved for the endpoint's region and
 * account, policies attached to their roles however CloudFormation attaches them, bucket
 * policies, names CloudFormation would generate (or the local ones given), and a clear error for
 * a missing cloud assembly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CloudAssemblyError, iamFromTemplate, readCloudAssembly } from '../../lib/local/iam/assembly';
import { IamConfigError, IamEnforcer } from '../../lib/local/iam/enforcer';

const opts = { region: 'eu-west-1', accountId: '111122223333' };
const template = {
  Parameters: { Env: { Default: 'dev' } },
  Conditions: { IsDev: { 'Fn::Equals': [{ Ref: 'Env' }, 'dev'] } },
  Resources: {
    Lake: { Type: 'AWS::S3::Bucket', Properties: {} },
    Named: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'explicit-name' } },
    LoaderRole: { Type: 'AWS::IAM::Role', Properties: { ManagedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole', 'arn:aws:iam::aws:policy/SomethingElse', { Ref: 'Extra' }] } },
    LoaderPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        Roles: [{ Ref: 'LoaderRole' }],
        PolicyDocument: {
          Statement: [
            { Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Lake', 'Arn'] }, '/tables/t/*']] } },
            { Effect: 'Allow', Action: 'glue:GetTable', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/db/t' } },
            { Effect: 'Allow', Action: 's3:PutObject', Resource: { 'Fn::If': ['IsDev', { 'Fn::Sub': '${Named.Arn}/*' }, { Ref: 'AWS::NoValue' }] } },
          ],
        },
      },
    },
    Extra: { Type: 'AWS::IAM::ManagedPolicy', Properties: { PolicyDocument: { Statement: [{ Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' }] } } },
    Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': ['LoaderRole', 'Arn'] }, Environment: { Variables: { LAKELOADER_PIPELINE: 't' } } } },
    LakePolicy: { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: { Ref: 'Lake' }, PolicyDocument: { Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: { 'Fn::Select': [0, [{ 'Fn::GetAtt': ['Lake', 'Arn'] }]] } }] } } },
  },
  Outputs: { LakeBucketName: { Value: { Ref: 'Lake' } } },
};

describe('IAM from a template', () => {
  it('resolves intrinsics and attaches inline, separate and managed policies to the role', () => {
    const iam = iamFromTemplate(template, 'Stack', opts);
    const role = iam.roles[0]!;
    expect([role.logicalId, role.name, role.arn, role.pipeline]).toEqual(['LoaderRole', 'Stack-LoaderRole', 'arn:aws:iam::111122223333:role/Stack-LoaderRole', 't']);
    expect(role.statements.map((s) => s.Resource)).toEqual([
      '*', // AWSLambdaBasicExecutionRole's logs actions
      'arn:aws:s3:::stack-lake/tables/t/*',
      'arn:aws:glue:eu-west-1:111122223333:table/db/t',
      'arn:aws:s3:::explicit-name/*',
      '*', // the customer managed policy's Deny
    ]);
    expect(role.unknownManagedPolicies).toEqual(['arn:aws:iam::aws:policy/SomethingElse']);
    expect([...iam.bucketPolicies.keys()]).toEqual(['stack-lake']);
    expect(iam.outputs.LakeBucketName).toBe('stack-lake');
  });

  it('gives the output-named resources their local names', () => {
    const iam = iamFromTemplate(template, 'Stack', { ...opts, outputNames: { LakeBucketName: 'lakeloader-local' } });
    expect(iam.roles[0]!.statements[1]!.Resource).toBe('arn:aws:s3:::lakeloader-local/tables/t/*');
    expect([...iam.bucketPolicies.keys()]).toEqual(['lakeloader-local']);
  });

  it('says what to run when there is no cloud assembly, and what roles exist for a wrong --iam-role', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lakeloader-noasm-'));
    try {
      expect(() => readCloudAssembly(dir, opts)).toThrow(CloudAssemblyError);
      expect(() => readCloudAssembly(dir, opts)).toThrow(/npx cdk synth/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const stacks = [iamFromTemplate(template, 'Stack', opts)];
    expect(() => IamEnforcer.create({ stacks, role: 'nope' }, opts.region, opts.accountId)).toThrow(IamConfigError);
    expect(() => IamEnforcer.create({ stacks, role: 'nope' }, opts.region, opts.accountId)).toThrow(/LoaderRole \(loader of t\)/);
    expect(IamEnforcer.create({ stacks }, opts.region, opts.accountId).describe()[0]).toMatch(/^test → role Stack-LoaderRole \(the loader of t\)/);
  });
});
