/**
 * The local object store's own guarantees, beyond what S3 clients see: where versions live on
 * disk, what survives a restart (version histories, multipart uploads in progress, bucket
 * sub-resources), and concurrent writes to a versioned key. Local-only: skipped against another
 * endpoint.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetBucketPolicyCommand, GetObjectCommand,
  ListObjectVersionsCommand, PutBucketPolicyCommand, PutBucketVersioningCommand, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteEndpoint, startTestEndpoint, type TestEndpoint } from '../support/endpoint';

let env: TestEndpoint;
let bucket: string;

beforeAll(async () => {
  env = await startTestEndpoint();
  bucket = env.unique('store');
  await env.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await env.s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
});
afterAll(async () => env?.close());

const get = async (Key: string, VersionId?: string) => (await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key, ...(VersionId ? { VersionId } : {}) }))).Body!.transformToString();

describe.skipIf(remoteEndpoint)('object store on disk', () => {
  it('keeps the current version as the plain file and noncurrent ones in s3-versions/, across a restart', async () => {
    const v1 = await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'tables/t/f.parquet', Body: 'one' }));
    const v2 = await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'tables/t/f.parquet', Body: 'two' }));
    expect(readFileSync(join(env.dataDir, 's3', bucket, 'tables/t/f.parquet'), 'utf8')).toBe('two');
    expect(readdirSync(join(env.dataDir, 's3-versions', bucket)).map((f) => readFileSync(join(env.dataDir, 's3-versions', bucket, f), 'utf8'))).toEqual(['one']);
    await env.restart();
    const versions = await env.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'tables/t/' }));
    expect(versions.Versions?.map((v) => v.VersionId)).toEqual([v2.VersionId, v1.VersionId]);
    expect([await get('tables/t/f.parquet', v1.VersionId), await get('tables/t/f.parquet')]).toEqual(['one', 'two']);
    // Removing the current version for good makes the previous one current, at the plain path again.
    await env.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'tables/t/f.parquet', VersionId: v2.VersionId }));
    expect(readFileSync(join(env.dataDir, 's3', bucket, 'tables/t/f.parquet'), 'utf8')).toBe('one');
    expect(readdirSync(join(env.dataDir, 's3-versions', bucket))).toEqual([]);
  });

  it('a delete marker leaves no file at the plain path; deleting the marker brings the object back', async () => {
    await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dm/x', Body: 'x' }));
    const marker = await env.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'dm/x' }));
    expect(existsSync(join(env.dataDir, 's3', bucket, 'dm/x'))).toBe(false);
    await env.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'dm/x', VersionId: marker.VersionId }));
    expect(readFileSync(join(env.dataDir, 's3', bucket, 'dm/x'), 'utf8')).toBe('x');
  });

  it('concurrent writes to one versioned key: every write becomes a version with its own bytes', async () => {
    const writes = await Promise.all(Array.from({ length: 10 }, (_, i) => env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'race/k', Body: `w${i}` })).then((r) => ({ i, id: r.VersionId! }))));
    expect(new Set(writes.map((w) => w.id)).size).toBe(10);
    for (const w of writes) expect(await get('race/k', w.id)).toBe(`w${w.i}`);
    const listed = await env.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'race/' }));
    expect(listed.Versions?.length).toBe(10);
    expect(await get('race/k')).toBe(`w${writes.find((w) => w.id === listed.Versions![0]!.VersionId)!.i}`);
  });

  it('a multipart upload in progress and a bucket policy survive a restart', async () => {
    const Key = 'mp/after-restart';
    const { UploadId } = await env.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
    const p1 = await env.s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, 1) }));
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:DeleteBucket', Resource: `arn:aws:s3:::${bucket}` }] });
    await env.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
    await env.restart();
    const p2 = await env.s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 2, Body: 'end' }));
    await env.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: [{ ETag: p1.ETag, PartNumber: 1 }, { ETag: p2.ETag, PartNumber: 2 }] } }));
    expect((await get(Key)).length).toBe(5 * 1024 * 1024 + 3);
    expect(readdirSync(join(env.dataDir, 's3-uploads'))).toEqual([]);
    expect((await env.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy).toBe(policy);
  });
});
