/**
 * IAM policy evaluation and condition operators, case by case against the rules of AWS's
 * "Policy evaluation logic" and "Condition operators" pages; and the mapping of API calls to
 * IAM actions and resources.
 */
import { describe, expect, it } from 'vitest';
import { athenaRequests, glueRequests, s3Requests } from '../../lib/local/iam/actions';
import { evaluateConditions, type RequestContext } from '../../lib/local/iam/conditions';
import { evaluate, type PolicyStatement, type Principal } from '../../lib/local/iam/policy';

const WHO: Principal = { roleArn: 'arn:aws:iam::000000000000:role/loader', sessionArn: 'arn:aws:sts::000000000000:assumed-role/loader/s', accountId: '000000000000' };
const req = (action: string, resource: string, context: Record<string, string | string[]> = {}) => ({ action, resource, context: new Map(Object.entries(context)) as RequestContext });
const allow = (s: Partial<PolicyStatement>): PolicyStatement => ({ Effect: 'Allow', ...s });
const deny = (s: Partial<PolicyStatement>): PolicyStatement => ({ Effect: 'Deny', ...s });

describe('policy evaluation', () => {
  it('allows what an Allow names, implicitly denies the rest, and an explicit Deny wins', () => {
    const p = [allow({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::lake/tables/t/*' })];
    expect(evaluate(p, [], req('s3:GetObject', 'arn:aws:s3:::lake/tables/t/x'), WHO)).toEqual({ allowed: true });
    expect(evaluate(p, [], req('s3:GetObject', 'arn:aws:s3:::lake/tables/u/x'), WHO)).toEqual({ allowed: false, reason: 'implicit' });
    expect(evaluate(p, [], req('s3:PutObject', 'arn:aws:s3:::lake/tables/t/x'), WHO)).toEqual({ allowed: false, reason: 'implicit' });
    const withDeny = [...p, deny({ Action: 's3:*', Resource: 'arn:aws:s3:::lake/tables/t/secret*' })];
    expect(evaluate(withDeny, [], req('s3:GetObject', 'arn:aws:s3:::lake/tables/t/secret.txt'), WHO)).toEqual({ allowed: false, reason: 'identity-deny' });
  });

  it('matches actions case-insensitively with wildcards, resources case-sensitively; NotAction and NotResource invert', () => {
    expect(evaluate([allow({ Action: 'S3:Get*', Resource: '*' })], [], req('s3:GetObjectTagging', 'arn:aws:s3:::b/k'), WHO).allowed).toBe(true);
    expect(evaluate([allow({ Action: 's3:*', Resource: 'arn:aws:s3:::B/*' })], [], req('s3:GetObject', 'arn:aws:s3:::b/k'), WHO).allowed).toBe(false);
    expect(evaluate([allow({ NotAction: 's3:Delete*', Resource: '*' })], [], req('s3:DeleteObject', 'arn:aws:s3:::b/k'), WHO).allowed).toBe(false);
    expect(evaluate([allow({ NotAction: 's3:Delete*', Resource: '*' })], [], req('s3:PutObject', 'arn:aws:s3:::b/k'), WHO).allowed).toBe(true);
    expect(evaluate([allow({ Action: 's3:*', NotResource: 'arn:aws:s3:::b/private/*' })], [], req('s3:GetObject', 'arn:aws:s3:::b/private/x'), WHO).allowed).toBe(false);
  });

  it('a bucket policy grants to the principals it names, and its Deny applies to everyone it names', () => {
    const grantRole = [allow({ Principal: { AWS: WHO.roleArn }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' })];
    expect(evaluate([], grantRole, req('s3:GetObject', 'arn:aws:s3:::b/k'), WHO).allowed).toBe(true);
    const grantAccount = [allow({ Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' })];
    expect(evaluate([], grantAccount, req('s3:GetObject', 'arn:aws:s3:::b/k'), WHO).allowed).toBe(false);
    const denyAll = [deny({ Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' })];
    expect(evaluate([allow({ Action: '*', Resource: '*' })], denyAll, req('s3:GetObject', 'arn:aws:s3:::b/k'), WHO)).toEqual({ allowed: false, reason: 'resource-deny' });
    const denyOthers = [deny({ NotPrincipal: { AWS: WHO.roleArn }, Action: 's3:*', Resource: '*' })];
    expect(evaluate([allow({ Action: '*', Resource: '*' })], denyOthers, req('s3:GetObject', 'arn:aws:s3:::b/k'), WHO).allowed).toBe(true);
  });

  it("the stack's TLS-only bucket policy does not deny the endpoint's requests (aws:SecureTransport is true locally)", () => {
    const tlsOnly = [deny({ Principal: { AWS: '*' }, Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })];
    const r = req('s3:GetObject', 'arn:aws:s3:::b/k', { 'aws:securetransport': 'true' });
    expect(evaluate([allow({ Action: 's3:GetObject', Resource: '*' })], tlsOnly, r, WHO).allowed).toBe(true);
  });

  it('resolves ${aws:…} policy variables in resources', () => {
    const p = [allow({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/home/${aws:userid}/*' })];
    expect(evaluate(p, [], req('s3:GetObject', 'arn:aws:s3:::b/home/AROA1:s/x', { 'aws:userid': 'AROA1:s' }), WHO).allowed).toBe(true);
    expect(evaluate(p, [], req('s3:GetObject', 'arn:aws:s3:::b/home/other/x', { 'aws:userid': 'AROA1:s' }), WHO).allowed).toBe(false);
  });
});

describe('condition operators', () => {
  const ctx = (o: Record<string, string | string[]>) => new Map(Object.entries(o)) as RequestContext;
  const holds = (c: Record<string, Record<string, unknown>>, o: Record<string, string | string[]>) => evaluateConditions(c, ctx(o), (s) => s);

  it('StringLike over a list is OR; keys and operators are AND', () => {
    const c = { StringLike: { 's3:prefix': ['tables/t/*', 'quarantine/t/*'] } };
    expect(holds(c, { 's3:prefix': 'quarantine/t/x' })).toBe(true);
    expect(holds(c, { 's3:prefix': 'tables/u/' })).toBe(false);
    expect(holds({ ...c, StringEquals: { 's3:delimiter': '/' } }, { 's3:prefix': 'tables/t/', 's3:delimiter': ',' })).toBe(false);
  });

  it('an absent key: positive operators false, negated ones true, …IfExists true, Null tests presence', () => {
    expect(holds({ StringEquals: { 's3:x-amz-acl': 'private' } }, {})).toBe(false);
    expect(holds({ StringNotEquals: { 's3:x-amz-acl': 'public-read' } }, {})).toBe(true);
    expect(holds({ StringEqualsIfExists: { 's3:x-amz-acl': 'private' } }, {})).toBe(true);
    expect(holds({ StringEqualsIfExists: { 's3:x-amz-acl': 'private' } }, { 's3:x-amz-acl': 'public-read' })).toBe(false);
    expect(holds({ Null: { 's3:x-amz-server-side-encryption': 'true' } }, {})).toBe(true);
    expect(holds({ Null: { 's3:x-amz-server-side-encryption': 'true' } }, { 's3:x-amz-server-side-encryption': 'AES256' })).toBe(false);
  });

  it('ForAllValues and ForAnyValue over multi-valued keys', () => {
    const all = { 'ForAllValues:StringEquals': { 's3:requestobjecttagkeys': ['team', 'tier'] } };
    expect(holds(all, { 's3:requestobjecttagkeys': ['team'] })).toBe(true);
    expect(holds(all, { 's3:requestobjecttagkeys': ['team', 'owner'] })).toBe(false);
    expect(holds(all, {})).toBe(true);
    const any = { 'ForAnyValue:StringEquals': { 's3:requestobjecttagkeys': ['secret'] } };
    expect(holds(any, { 's3:requestobjecttagkeys': ['team', 'secret'] })).toBe(true);
    expect(holds(any, {})).toBe(false);
  });

  it('Numeric, Date, Bool, IpAddress and Arn operators', () => {
    expect(holds({ NumericLessThanEquals: { 's3:max-keys': '100' } }, { 's3:max-keys': '50' })).toBe(true);
    expect(holds({ DateGreaterThan: { 'aws:currenttime': '2026-01-01T00:00:00Z' } }, { 'aws:currenttime': '2026-12-04T00:00:00Z' })).toBe(true);
    expect(holds({ Bool: { 'aws:securetransport': 'false' } }, { 'aws:securetransport': 'true' })).toBe(false);
    expect(holds({ IpAddress: { 'aws:sourceip': '127.0.0.0/8' } }, { 'aws:sourceip': '127.0.0.1' })).toBe(true);
    expect(holds({ NotIpAddress: { 'aws:sourceip': ['10.0.0.0/8', '192.168.0.0/16'] } }, { 'aws:sourceip': '127.0.0.1' })).toBe(true);
    expect(holds({ ArnLike: { 'aws:principalarn': 'arn:aws:iam::*:role/loader*' } }, { 'aws:principalarn': 'arn:aws:iam::000000000000:role/loader-x' })).toBe(true);
  });

  it('an operator the evaluator does not know never grants (an Allow on it does not apply, a Deny does)', () => {
    const cond = { SomeFutureOperator: { 'aws:x': 'y' } };
    expect(evaluate([allow({ Action: '*', Resource: '*', Condition: cond })], [], req('s3:GetObject', 'arn:aws:s3:::b/k'), WHO).allowed).toBe(false);
    expect(evaluate([allow({ Action: '*', Resource: '*' }), deny({ Action: '*', Resource: '*', Condition: cond })], [], req('s3:GetObject', 'arn:aws:s3:::b/k'), WHO).allowed).toBe(false);
  });
});

describe('API calls → IAM actions and resources', () => {
  const call = (operation: string, bucket: string, key?: string, query: Record<string, string> = {}, headers: Record<string, string> = {}, copySource?: { bucket: string; key: string }) => ({
    operation, bucket, ...(key !== undefined ? { key } : {}), query: new URLSearchParams(query), headers, ...(copySource ? { copySource } : {}),
  });

  it('S3: object, version, copy, listing and sub-resource calls', () => {
    expect(s3Requests(call('GetObject', 'b', 'k')).map((r) => [r.action, r.resource])).toEqual([['s3:GetObject', 'arn:aws:s3:::b/k']]);
    expect(s3Requests(call('HeadObject', 'b', 'k', { versionId: 'v1' }))[0]!.action).toBe('s3:GetObjectVersion');
    expect(s3Requests(call('CopyObject', 'b', 'dst', {}, {}, { bucket: 'src', key: 'a/b' })).map((r) => [r.action, r.resource])).toEqual([
      ['s3:PutObject', 'arn:aws:s3:::b/dst'], ['s3:GetObject', 'arn:aws:s3:::src/a/b'],
    ]);
    const list = s3Requests(call('ListObjectsV2', 'b', undefined, { prefix: 'tables/t/', delimiter: '/' }))[0]!;
    expect([list.action, list.resource, list.context?.['s3:prefix'], list.context?.['s3:delimiter']]).toEqual(['s3:ListBucket', 'arn:aws:s3:::b', 'tables/t/', '/']);
    expect(s3Requests(call('DeleteBucketLifecycle', 'b'))[0]!.action).toBe('s3:PutLifecycleConfiguration');
    expect(s3Requests(call('CompleteMultipartUpload', 'b', 'k'))[0]!.action).toBe('s3:PutObject');
    expect(s3Requests(call('ListParts', 'b', 'k'))[0]!.action).toBe('s3:ListMultipartUploadParts');
    expect(s3Requests(call('PutObject', 'b', 'k', {}, { 'x-amz-tagging': 'a=1' })).map((r) => r.action)).toEqual(['s3:PutObject', 's3:PutObjectTagging']);
  });

  it('Glue: the catalog, database and table ARNs; Athena: the workgroup of the call or of its execution', () => {
    expect(glueRequests('GetTable', { DatabaseName: 'Db', Name: 'T' }, 'us-east-1', '1').map((r) => r.resource)).toEqual([
      'arn:aws:glue:us-east-1:1:catalog', 'arn:aws:glue:us-east-1:1:database/db', 'arn:aws:glue:us-east-1:1:table/db/t',
    ]);
    expect(glueRequests('BatchCreatePartition', { DatabaseName: 'db', TableName: 't' }, 'r', '1').map((r) => r.action)).toEqual(['glue:BatchCreatePartition', 'glue:BatchCreatePartition', 'glue:BatchCreatePartition']);
    expect(glueRequests('CreateDatabase', { DatabaseInput: { Name: 'new' } }, 'r', '1').map((r) => r.resource)).toEqual(['arn:aws:glue:r:1:catalog', 'arn:aws:glue:r:1:database/new']);
    expect(athenaRequests('StartQueryExecution', { WorkGroup: 'wg' }, 'r', '1', () => undefined)).toEqual([{ action: 'athena:StartQueryExecution', resource: 'arn:aws:athena:r:1:workgroup/wg' }]);
    expect(athenaRequests('GetQueryResults', { QueryExecutionId: 'q' }, 'r', '1', () => 'other')[0]!.resource).toBe('arn:aws:athena:r:1:workgroup/other');
  });
});
