/**
 * Access control conformance (`lakeloader dev --enforce-iam`): signatures checked against the
 * configured keys, and requests judged against the IAM policies of the synthesized stack (the
 * fixture pipelines' app, synthesized here into a cloud assembly as `cdk synth` writes it) for
 * the role the key acts as. Refusals must carry AWS's error codes and wording, for the SDK v3
 * clients, presigned URLs and the AWS CLI.
 *
 * These cases need the endpoint of this repository started with its options, so they skip
 * against another endpoint (LAKELOADER_TEST_ENDPOINT).
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AthenaClient, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { BatchCreatePartitionCommand, CreateDatabaseCommand, CreateTableCommand, GetDatabasesCommand, GetTableCommand, GlueClient } from '@aws-sdk/client-glue';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutBucketPolicyCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quarantineTableInput, tableInput } from '../../lambdas/core/glue-table';
import { build, MSK_ARN } from '../cdk/helpers';
import { clickstream } from '../fixtures/pipelines/clickstream';
import orders from '../fixtures/pipelines/orders';
import { failure, hasAwsCli, NO_AWS_CLI, remoteEndpoint, startConformance, type ConformanceEnv } from './support';

let env: ConformanceEnv;
let cdkOut: string;
const BUCKET = 'lakeloader-local';
/** The stack's Glue database (the fixture app's stack is named Lakeloader). */
const DATABASE = 'lakeloader_lakeloader';

type Keys = { accessKeyId: string; secretAccessKey: string };
const ROOT: Keys = { accessKeyId: 'root', secretAccessKey: 'root' };
const LOADER: Keys = { accessKeyId: 'test', secretAccessKey: 'test' };
const clients = (credentials: Keys) => {
  const common = { endpoint: env.url, region: env.region, credentials, maxAttempts: 1 };
  return { s3: new S3Client({ ...common, forcePathStyle: true }), glue: new GlueClient(common), athena: new AthenaClient(common) };
};
let root: ReturnType<typeof clients>;
let loader: ReturnType<typeof clients>;

beforeAll(async () => {
  cdkOut = await mkdtemp(join(tmpdir(), 'lakeloader-cdkout-'));
  if (!remoteEndpoint) build({ mskClusterArn: MSK_ARN }, { outdir: cdkOut, pipelines: [clickstream, orders] }).app.synth();
  env = await startConformance({ enforceIam: { cloudAssembly: cdkOut, outputNames: { LakeBucketName: BUCKET } } });
  root = clients(ROOT);
  loader = clients(LOADER);
  if (remoteEndpoint) return;
  await root.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await root.glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: DATABASE } }));
  for (const p of [clickstream, orders]) {
    for (const input of [tableInput(p, BUCKET), quarantineTableInput(p, BUCKET)]) await root.glue.send(new CreateTableCommand({ DatabaseName: DATABASE, TableInput: input }));
  }
}, 120_000);
afterAll(async () => {
  for (const c of [root, loader]) if (c) for (const x of Object.values(c)) x.destroy();
  await env?.close();
  await rm(cdkOut, { recursive: true, force: true });
});

const ROLE_SESSION = /^User: arn:aws:sts::000000000000:assumed-role\/Lakeloader-ClickstreamLoaderRole[0-9A-F]+\/[\w-]+ is not authorized to perform: /;

describe.skipIf(remoteEndpoint)('Access control — AWS SDK v3 under --enforce-iam', () => {
  it('a wrong secret key is refused: S3 SignatureDoesNotMatch (403), Glue and Athena InvalidSignatureException', async () => {
    const bad = clients({ accessKeyId: 'test', secretAccessKey: 'not-the-secret' });
    expect(await failure(bad.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'tables/clickstream/x' })))).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    expect(await failure(bad.glue.send(new GetTableCommand({ DatabaseName: DATABASE, Name: 'clickstream' })))).toMatchObject({ name: 'InvalidSignatureException', status: 400 });
    expect(await failure(bad.athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1' })))).toMatchObject({ name: 'InvalidSignatureException', status: 400 });
  });

  it('an unknown access key is refused: S3 InvalidAccessKeyId (403), Glue and Athena UnrecognizedClientException', async () => {
    const unknown = clients({ accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' });
    expect(await failure(unknown.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' })))).toMatchObject({ name: 'InvalidAccessKeyId', status: 403 });
    expect(await failure(unknown.glue.send(new GetDatabasesCommand({})))).toMatchObject({ name: 'UnrecognizedClientException', status: 400 });
    expect(await failure(unknown.athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1' })))).toMatchObject({ name: 'UnrecognizedClientException', status: 400 });
  });

  it('an unsigned request is refused: S3 AccessDenied, Glue MissingAuthenticationTokenException', async () => {
    expect((await fetch(`${env.url}/${BUCKET}/tables/clickstream/x`)).status).toBe(403);
    const g = await fetch(env.url!, { method: 'POST', headers: { 'X-Amz-Target': 'AWSGlue.GetDatabases', 'Content-Type': 'application/x-amz-json-1.1' }, body: '{}' });
    expect([g.status, ((await g.json()) as { __type: string }).__type]).toEqual([403, 'MissingAuthenticationTokenException']);
  });

  it('the loader role reads, writes, lists and deletes under its own table prefixes', async () => {
    const Key = 'tables/clickstream/dt=2026-01-01/part-clicks-0-1-1-g1.parquet';
    await loader.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'PAR1', IfNoneMatch: '*' }));
    expect(await (await loader.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body!.transformToString()).toBe('PAR1');
    await loader.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: '_lakeloader/state/clickstream/clicks/0.json', Body: '{}' }));
    expect((await loader.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tables/clickstream/' }))).KeyCount).toBe(1);
    await loader.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
  });

  it("the loader role writing outside its table's prefix is 403 AccessDenied, in AWS's words", async () => {
    const f = await failure(loader.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'tables/orders/dt=2026-01-01/evil.parquet', Body: 'x' })));
    expect(f).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(f.message).toMatch(ROLE_SESSION);
    expect(f.message).toContain('s3:PutObject on resource: "arn:aws:s3:::lakeloader-local/tables/orders/dt=2026-01-01/evil.parquet" because no identity-based policy allows the s3:PutObject action');
    expect((await failure(loader.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'elsewhere.txt', Body: 'x' })))).name).toBe('AccessDenied');
    expect((await failure(root.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'tables/orders/dt=2026-01-01/evil.parquet' })))).name).toBe('NoSuchKey');
  });

  it("the loader role listing another table's prefix is AccessDenied (s3:ListBucket with an s3:prefix condition)", async () => {
    const f = await failure(loader.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tables/orders/' })));
    expect(f).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(f.message).toContain('s3:ListBucket on resource: "arn:aws:s3:::lakeloader-local"');
  });

  it("the loader role: its table's GetTable and BatchCreatePartition pass; CreateTable and another table's GetTable are AccessDeniedException", async () => {
    expect((await loader.glue.send(new GetTableCommand({ DatabaseName: DATABASE, Name: 'clickstream' }))).Table?.Name).toBe('clickstream');
    const partition = { Values: ['2026-01-01', '00'], StorageDescriptor: { Location: `s3://${BUCKET}/tables/clickstream/dt=2026-01-01/hour=00/` } };
    const keys = (await root.glue.send(new GetTableCommand({ DatabaseName: DATABASE, Name: 'clickstream' }))).Table?.PartitionKeys ?? [];
    await loader.glue.send(new BatchCreatePartitionCommand({ DatabaseName: DATABASE, TableName: 'clickstream', PartitionInputList: [{ ...partition, Values: partition.Values.slice(0, keys.length) }] }));
    const f = await failure(loader.glue.send(new GetTableCommand({ DatabaseName: DATABASE, Name: 'orders' })));
    expect(f).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    expect(f.message).toMatch(ROLE_SESSION);
    expect(f.message).toContain(`glue:GetTable on resource: arn:aws:glue:us-east-1:000000000000:table/${DATABASE}/orders because no identity-based policy allows the glue:GetTable action`);
    expect((await failure(loader.glue.send(new CreateTableCommand({ DatabaseName: DATABASE, TableInput: { Name: 'sneaky' } })))).name).toBe('AccessDeniedException');
  });

  it('the loader role cannot start an Athena query: AccessDeniedException on the workgroup', async () => {
    const f = await failure(loader.athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'Lakeloader-lakeloader' })));
    expect(f).toMatchObject({ name: 'AccessDeniedException', status: 400 });
    expect(f.message).toContain('athena:StartQueryExecution on resource: arn:aws:athena:us-east-1:000000000000:workgroup/Lakeloader-lakeloader');
  });

  it('a Deny in a bucket policy set through the API refuses the loader role (explicit deny in a resource-based policy)', async () => {
    const Key = 'tables/clickstream/frozen/x.parquet';
    await loader.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }));
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Frozen', Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/tables/clickstream/frozen/*` }],
    };
    await root.s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify(policy) }));
    try {
      const f = await failure(loader.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key })));
      expect(f).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(f.message).toContain('with an explicit deny in a resource-based policy');
    } finally {
      await root.s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:DeleteBucket', Resource: `arn:aws:s3:::${BUCKET}` }] }) }));
    }
  });

  it('presigned URLs (SigV4 query): a valid one is served; a tampered or expired one is refused', async () => {
    const Key = 'tables/clickstream/presigned.txt';
    await loader.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'presigned' }));
    class Sha256 {
      private readonly h;
      constructor(secret?: Uint8Array | string | ArrayBuffer | ArrayBufferView) {
        const key = secret instanceof ArrayBuffer ? new Uint8Array(secret) : ArrayBuffer.isView(secret) ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength) : secret;
        this.h = key ? createHmac('sha256', key) : createHash('sha256');
      }
      update(d: Uint8Array | string | ArrayBuffer | ArrayBufferView) {
        this.h.update(typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      }
      async digest() {
        return new Uint8Array(this.h.digest());
      }
    }
    const url = new URL(env.url!);
    const presign = async (keys: Keys, expiresIn: number, signingDate = new Date()) => {
      // As @aws-sdk/s3-request-presigner does: S3 signer settings, an UNSIGNED-PAYLOAD hash.
      const signer = new SignatureV4({ credentials: keys, region: env.region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
      const signed = await signer.presign(
        { method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: `/${BUCKET}/${Key}`, query: {}, headers: { host: url.host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' } },
        { expiresIn, signingDate },
      );
      const qs = Object.entries(signed.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
      return `${env.url}${signed.path}?${qs}`;
    };
    const good = await fetch(await presign(LOADER, 300));
    expect([good.status, await good.text()]).toEqual([200, 'presigned']);
    const tampered = (await presign(LOADER, 300)).replace('presigned.txt', 'presigned.txX');
    expect((await fetch(tampered)).status).toBe(403);
    const expired = await fetch(await presign(LOADER, 60, new Date(Date.now() - 10 * 60_000)));
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired');
    const outside = await fetch((await presign(LOADER, 300)).replace(`/${Key}`, '/elsewhere.txt'));
    expect(outside.status).toBe(403);
  });
});

// The CLI signs with the real clock; a suite run under a faked clock (LAKELOADER_TEST_CLOCK) would see skew.
const cliSkip = !hasAwsCli || remoteEndpoint || !!process.env.LAKELOADER_TEST_CLOCK;
describe.skipIf(cliSkip)(`Access control — AWS CLI v1 under --enforce-iam${hasAwsCli ? '' : ` (skipped: ${NO_AWS_CLI})`}`, () => {
  it('the AWS CLI with a wrong secret key gets SignatureDoesNotMatch', async () => {
    const r = await env.aws(['s3api', 'list-objects-v2', '--bucket', BUCKET, '--prefix', 'tables/clickstream/'], { credentials: { accessKeyId: 'test', secretAccessKey: 'wrong' } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('SignatureDoesNotMatch');
  });

  it("the AWS CLI as the loader role: s3 cp into its table's prefix works, outside it is AccessDenied", async () => {
    const dir = await env.tempDir();
    await writeFile(join(dir, 'f.parquet'), 'PAR1');
    const inside = await env.aws(['s3', 'cp', join(dir, 'f.parquet'), `s3://${BUCKET}/tables/clickstream/cli/f.parquet`], { credentials: LOADER });
    expect(inside.status === 0 ? '' : inside.stderr).toBe('');
    const outside = await env.aws(['s3', 'cp', join(dir, 'f.parquet'), `s3://${BUCKET}/tables/orders/cli/f.parquet`], { credentials: LOADER });
    expect(outside.status).not.toBe(0);
    expect(outside.stderr).toContain('AccessDenied');
  });
});
