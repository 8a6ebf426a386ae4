/**
 * S3 conformance: what a data engineer's tools do against the endpoint, through the AWS SDK v3
 * and the AWS CLI v1 — multipart uploads, keys that are prefixes of other keys, checksums,
 * encryption headers, tagging, versioning and the bucket sub-resources infrastructure tools set.
 * Each case's title is a row of the conformance table in docs/local-endpoint.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand, DeleteObjectCommand, DeleteObjectTaggingCommand, DeleteObjectsCommand, GetBucketAclCommand, GetBucketCorsCommand,
  GetBucketEncryptionCommand, GetBucketLifecycleConfigurationCommand, GetBucketLocationCommand, GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand, GetBucketTaggingCommand, GetBucketVersioningCommand, GetObjectAttributesCommand, GetObjectCommand,
  GetObjectTaggingCommand, GetPublicAccessBlockCommand, HeadBucketCommand, HeadObjectCommand, ListBucketsCommand,
  ListMultipartUploadsCommand, ListObjectVersionsCommand, ListObjectsV2Command, ListPartsCommand, PutBucketCorsCommand,
  PutBucketEncryptionCommand, PutBucketLifecycleConfigurationCommand, PutBucketPolicyCommand, PutBucketTaggingCommand,
  PutBucketVersioningCommand, PutObjectCommand, PutObjectTaggingCommand, PutPublicAccessBlockCommand, UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumOf } from '../../lib/local/s3/checksums';
import { failure, hasAwsCli, NO_AWS_CLI, startConformance, type ConformanceEnv } from './support';

let env: ConformanceEnv;
let bucket: string;
const MiB = 1024 * 1024;

beforeAll(async () => {
  env = await startConformance();
  bucket = env.unique('conf-s3');
  await env.s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(async () => env?.close());

const md5 = (b: string | Uint8Array) => `"${createHash('md5').update(b).digest('hex')}"`;
const put = (Key: string, Body: string | Uint8Array, extra: Record<string, unknown> = {}, Bucket = bucket) => env.s3.send(new PutObjectCommand({ Bucket, Key, Body, ...extra }));
const text = async (Key: string, extra: Record<string, unknown> = {}, Bucket = bucket) => {
  const r = await env.s3.send(new GetObjectCommand({ Bucket, Key, ...extra }));
  return { body: await r.Body!.transformToString(), out: r };
};
/** A bucket of its own for a case that changes bucket-wide settings. */
async function ownBucket(name: string): Promise<string> {
  const b = env.unique(name);
  await env.s3.send(new CreateBucketCommand({ Bucket: b }));
  return b;
}
/** The S3 multipart ETag of parts: md5 of the concatenated part MD5s, `-<parts>`. */
const multipartEtag = (parts: Uint8Array[]) =>
  `"${createHash('md5').update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()))).digest('hex')}-${parts.length}"`;

describe('S3 — AWS SDK v3', () => {
  it('buckets: create, head, list, location; a missing bucket is 404 NoSuchBucket', async () => {
    await env.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    expect((await env.s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toContain(bucket);
    expect((await env.s3.send(new GetBucketLocationCommand({ Bucket: bucket }))).LocationConstraint ?? '').toBe('');
    expect(await failure(put('k', 'v', {}, env.unique('nobucket')))).toMatchObject({ name: 'NoSuchBucket', status: 404 });
  });

  it('objects: put and get with the MD5 ETag, content type and user metadata; a missing key is 404 NoSuchKey', async () => {
    const r = await put('obj/hello.txt', 'hello', { ContentType: 'text/plain', Metadata: { origin: 'conformance' } });
    expect(r.ETag).toBe(md5('hello'));
    const { body, out } = await text('obj/hello.txt');
    expect([body, out.ContentType, out.Metadata?.origin, out.ContentLength]).toEqual(['hello', 'text/plain', 'conformance', 5]);
    expect(await failure(text('obj/missing'))).toMatchObject({ name: 'NoSuchKey', status: 404 });
  });

  it('conditional writes: If-None-Match: * and a stale If-Match are 412 PreconditionFailed', async () => {
    const first = await put('cond/state.json', '{"v":1}', { IfNoneMatch: '*' });
    expect(await failure(put('cond/state.json', 'x', { IfNoneMatch: '*' }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    await put('cond/state.json', '{"v":2}', { IfMatch: first.ETag });
    expect(await failure(put('cond/state.json', '{"v":3}', { IfMatch: first.ETag }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect((await text('cond/state.json')).body).toBe('{"v":2}');
  });

  it('ranges: 206 with Content-Range, 416 InvalidRange past the end', async () => {
    await put('range/digits', '0123456789');
    const r = await text('range/digits', { Range: 'bytes=2-5' });
    expect([r.body, r.out.ContentRange, r.out.$metadata.httpStatusCode]).toEqual(['2345', 'bytes 2-5/10', 206]);
    expect(await failure(text('range/digits', { Range: 'bytes=10-12' }))).toMatchObject({ name: 'InvalidRange', status: 416 });
  });

  it('listing: prefix, delimiter with CommonPrefixes, continuation tokens', async () => {
    for (const k of ['list/a', 'list/b/1', 'list/b/2', 'list/c', ...Array.from({ length: 7 }, (_, i) => `list/p/${i}`)]) await put(k, k);
    const d = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', Delimiter: '/' }));
    expect(d.Contents?.map((c) => c.Key)).toEqual(['list/a', 'list/c']);
    expect(d.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['list/b/', 'list/p/']);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/p/', MaxKeys: 3, ContinuationToken: token }));
      seen.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
    } while (token);
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `list/p/${i}`));
  });

  it('copy and batch delete: CopyObject keeps metadata, DeleteObjects reports every key', async () => {
    await put('copy/src', 'copied', { ContentType: 'application/json', Metadata: { a: 'b' } });
    const c = await env.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy/dst', CopySource: `${bucket}/copy/src` }));
    expect(c.CopyObjectResult?.ETag).toBe(md5('copied'));
    expect((await text('copy/dst')).out.Metadata).toEqual({ a: 'b' });
    const r = await env.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'copy/src' }, { Key: 'copy/dst' }, { Key: 'copy/none' }] } }));
    expect(r.Deleted?.map((x) => x.Key).sort()).toEqual(['copy/dst', 'copy/none', 'copy/src']);
  });

  it('keys with special characters round-trip through put, get, list and delete', async () => {
    const keys = ['sp/dt=2026-01-01/part 1.parquet', 'sp/100%/p+q.txt', 'sp/ünï/日本/🎉', 'sp/../dots', 'sp//double', 'sp/q?x=1&y=2#f'];
    for (const k of keys) await put(k, `body ${k}`);
    for (const k of keys) expect((await text(k)).body).toBe(`body ${k}`);
    const l = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sp/' }));
    expect(l.Contents?.map((c) => c.Key).sort()).toEqual([...keys].sort());
  });

  it('nested keys: a/b and a/b/c exist side by side, and deleting one keeps the other', async () => {
    await put('nest/a/b', 'file');
    await put('nest/a/b/c', 'below');
    await put('nest/x/y/z', 'deep');
    await put('nest/x/y', 'above');
    expect([(await text('nest/a/b')).body, (await text('nest/a/b/c')).body, (await text('nest/x/y')).body, (await text('nest/x/y/z')).body]).toEqual(['file', 'below', 'above', 'deep']);
    const l = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'nest/' }));
    expect(l.Contents?.map((c) => c.Key)).toEqual(['nest/a/b', 'nest/a/b/c', 'nest/x/y', 'nest/x/y/z']);
    await env.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'nest/a/b' }));
    expect((await text('nest/a/b/c')).body).toBe('below');
    expect(await failure(text('nest/a/b'))).toMatchObject({ name: 'NoSuchKey' });
  });

  it('multipart: create, upload parts, list parts and uploads, complete with the "-N" ETag', async () => {
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), Buffer.from('tail')];
    const { UploadId } = await env.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp/big.bin', ContentType: 'application/octet-stream' }));
    const etags: string[] = [];
    for (const [i, Body] of parts.entries()) etags.push((await env.s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp/big.bin', UploadId, PartNumber: i + 1, Body }))).ETag!);
    expect(etags).toEqual(parts.map((p) => md5(p)));
    const listed = await env.s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'mp/big.bin', UploadId }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 5 * MiB], [2, 5 * MiB], [3, 4]]);
    const uploads = await env.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'mp/' }));
    expect(uploads.Uploads?.map((u) => u.UploadId)).toContain(UploadId);
    const done = await env.s3.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: 'mp/big.bin', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }));
    expect(done.ETag).toBe(multipartEtag(parts));
    const got = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp/big.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(parts))).toBe(true);
    expect(got.ETag).toBe(done.ETag);
    const second = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp/big.bin', PartNumber: 2 }));
    expect([second.ContentLength, second.PartsCount]).toEqual([5 * MiB, 3]);
    expect(Buffer.from(await second.Body!.transformToByteArray()).equals(parts[1]!)).toBe(true);
  });

  it('multipart: UploadPartCopy copies a byte range of an object into a part', async () => {
    const src = randomBytes(6 * MiB);
    await put('mpc/src', src);
    const { UploadId } = await env.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpc/dst' }));
    const p1 = await env.s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'mpc/dst', UploadId, PartNumber: 1, CopySource: `${bucket}/mpc/src`, CopySourceRange: `bytes=0-${5 * MiB - 1}` }));
    const p2 = await env.s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'mpc/dst', UploadId, PartNumber: 2, CopySource: `${bucket}/mpc/src`, CopySourceRange: `bytes=${5 * MiB}-${6 * MiB - 1}` }));
    expect(p1.CopyPartResult?.ETag).toBe(md5(src.subarray(0, 5 * MiB)));
    await env.s3.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: 'mpc/dst', UploadId, MultipartUpload: { Parts: [{ ETag: p1.CopyPartResult!.ETag, PartNumber: 1 }, { ETag: p2.CopyPartResult!.ETag, PartNumber: 2 }] },
    }));
    const got = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mpc/dst' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(src)).toBe(true);
  });

  it('multipart errors: NoSuchUpload, EntityTooSmall, InvalidPart, InvalidPartOrder, and abort', async () => {
    const Key = 'mperr/x';
    expect(await failure(env.s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId: 'nope', PartNumber: 1, Body: 'x' })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    const { UploadId } = await env.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
    const a = await env.s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 1, Body: 'small' }));
    const b = await env.s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 2, Body: 'small' }));
    const complete = (Parts: Array<{ ETag?: string; PartNumber: number }>) => env.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts } }));
    expect(await failure(complete([{ ETag: a.ETag, PartNumber: 1 }, { ETag: b.ETag, PartNumber: 2 }]))).toMatchObject({ name: 'EntityTooSmall', status: 400 });
    expect(await failure(complete([{ ETag: md5('other'), PartNumber: 1 }]))).toMatchObject({ name: 'InvalidPart', status: 400 });
    expect(await failure(complete([{ ETag: b.ETag, PartNumber: 2 }, { ETag: a.ETag, PartNumber: 1 }]))).toMatchObject({ name: 'InvalidPartOrder', status: 400 });
    await env.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
    expect(await failure(env.s3.send(new ListPartsCommand({ Bucket: bucket, Key, UploadId })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
  });

  it('checksums: CRC32, CRC32C, CRC64NVME, SHA1 and SHA256 are stored and returned with ChecksumMode ENABLED', async () => {
    const body = 'checksummed body';
    for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const expected = await checksumOf(algorithm, Buffer.from(body));
      const field = `Checksum${algorithm}` as const;
      const p = await put(`ck/${algorithm}`, body, { ChecksumAlgorithm: algorithm });
      expect(p[field]).toBe(expected);
      // The SDK also validates the returned checksum against the body it reads.
      const g = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: `ck/${algorithm}`, ChecksumMode: 'ENABLED' }));
      expect([await g.Body!.transformToString(), g[field]]).toEqual([body, expected]);
      const h = await env.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `ck/${algorithm}`, ChecksumMode: 'ENABLED' }));
      expect(h[field]).toBe(expected);
    }
  });

  it('checksums: a wrong x-amz-checksum value or Content-MD5 is 400 BadDigest and stores nothing', async () => {
    const wrong = await checksumOf('CRC32', Buffer.from('something else'));
    expect(await failure(put('ck/bad', 'payload', { ChecksumCRC32: wrong }))).toMatchObject({ name: 'BadDigest', status: 400 });
    expect(await failure(put('ck/bad', 'payload', { ChecksumSHA256: await checksumOf('SHA256', Buffer.from('x')) }))).toMatchObject({ name: 'BadDigest', status: 400 });
    expect(await failure(put('ck/bad', 'payload', { ContentMD5: createHash('md5').update('nope').digest('base64') }))).toMatchObject({ name: 'BadDigest', status: 400 });
    expect(await failure(text('ck/bad'))).toMatchObject({ name: 'NoSuchKey' });
  });

  it('checksums: a multipart upload with CRC32 gets the composite "<crc of part crcs>-N" checksum, CRC64NVME the full-object one', async () => {
    const parts = [randomBytes(5 * MiB), Buffer.from('end')];
    for (const [algorithm, type] of [['CRC32', 'COMPOSITE'], ['CRC64NVME', 'FULL_OBJECT']] as const) {
      const Key = `ckmp/${algorithm}`;
      const field = `Checksum${algorithm}` as 'ChecksumCRC32' | 'ChecksumCRC64NVME';
      const { UploadId } = await env.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ChecksumAlgorithm: algorithm }));
      const uploaded = [];
      for (const [i, Body] of parts.entries()) {
        const r = await env.s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: algorithm }));
        uploaded.push({ ETag: r.ETag, PartNumber: i + 1, [field]: r[field] });
      }
      const done = await env.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: uploaded } }));
      const partSums = await Promise.all(parts.map((p) => checksumOf(algorithm, p)));
      const expected = type === 'COMPOSITE'
        ? `${await checksumOf(algorithm, Buffer.concat(partSums.map((s) => Buffer.from(s, 'base64'))))}-${parts.length}`
        : await checksumOf(algorithm, Buffer.concat(parts));
      expect([done[field], done.ChecksumType]).toEqual([expected, type]);
      const h = await env.s3.send(new HeadObjectCommand({ Bucket: bucket, Key, ChecksumMode: 'ENABLED' }));
      expect(h[field]).toBe(expected);
    }
  });

  it('server-side encryption: SSE-S3 by default, SSE-KMS with its key id, and the bucket default, echoed on PUT, GET and HEAD', async () => {
    const b = await ownBucket('conf-sse');
    expect((await put('sse/default', 'x', {}, b)).ServerSideEncryption).toBe('AES256');
    const kms = await put('sse/kms', 'x', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/lake' }, b);
    expect(kms.ServerSideEncryption).toBe('aws:kms');
    expect(kms.SSEKMSKeyId).toContain('alias/lake');
    const g = await env.s3.send(new GetObjectCommand({ Bucket: b, Key: 'sse/kms' }));
    expect([g.ServerSideEncryption, g.SSEKMSKeyId, await g.Body!.transformToString()]).toEqual(['aws:kms', kms.SSEKMSKeyId, 'x']);
    await env.s3.send(new PutBucketEncryptionCommand({ Bucket: b, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/bucket-default' }, BucketKeyEnabled: true }] } }));
    const d = await put('sse/bucket-default', 'x', {}, b);
    expect([d.ServerSideEncryption, d.BucketKeyEnabled]).toEqual(['aws:kms', true]);
    expect((await env.s3.send(new HeadObjectCommand({ Bucket: b, Key: 'sse/bucket-default' }))).SSEKMSKeyId).toContain('alias/bucket-default');
  });

  it('tagging: x-amz-tagging on PUT, Get/Put/DeleteObjectTagging, the tag count on GET', async () => {
    await put('tag/obj', 'x', { Tagging: 'team=data&tier=gold' });
    expect((await env.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tag/obj' }))).TagSet).toEqual([{ Key: 'team', Value: 'data' }, { Key: 'tier', Value: 'gold' }]);
    expect((await text('tag/obj')).out.TagCount).toBe(2);
    await env.s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'tag/obj', Tagging: { TagSet: [{ Key: 'only', Value: 'one' }] } }));
    expect((await env.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tag/obj' }))).TagSet).toEqual([{ Key: 'only', Value: 'one' }]);
    await env.s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'tag/obj' }));
    expect((await env.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tag/obj' }))).TagSet ?? []).toEqual([]);
  });

  it('versioning: version ids on PUT/GET/HEAD, a delete marker, ListObjectVersions, reads and deletes by version', async () => {
    const b = await ownBucket('conf-ver');
    expect((await env.s3.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBeUndefined();
    await env.s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
    expect((await env.s3.send(new GetBucketVersioningCommand({ Bucket: b }))).Status).toBe('Enabled');
    const v1 = await put('v/k', 'one', {}, b);
    const v2 = await put('v/k', 'two', {}, b);
    expect(v1.VersionId && v2.VersionId && v1.VersionId !== v2.VersionId).toBeTruthy();
    expect((await text('v/k', {}, b)).out.VersionId).toBe(v2.VersionId);
    expect((await text('v/k', { VersionId: v1.VersionId }, b)).body).toBe('one');
    const del = await env.s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'v/k' }));
    expect(del.DeleteMarker).toBe(true);
    expect(await failure(text('v/k', {}, b))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    const versions = await env.s3.send(new ListObjectVersionsCommand({ Bucket: b, Prefix: 'v/' }));
    expect(versions.Versions?.map((v) => [v.VersionId, v.IsLatest])).toEqual([[v2.VersionId, false], [v1.VersionId, false]]);
    expect(versions.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest])).toEqual([[del.VersionId, true]]);
    expect((await env.s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: 'v/' }))).KeyCount).toBe(0);
    await env.s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'v/k', VersionId: del.VersionId }));
    expect((await text('v/k', {}, b)).body).toBe('two');
    await env.s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'v/k', VersionId: v2.VersionId }));
    expect((await text('v/k', {}, b)).body).toBe('one');
  });

  it('versioning: with versioning suspended a write replaces the null version and keeps the others', async () => {
    const b = await ownBucket('conf-susp');
    await env.s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
    const kept = await put('s/k', 'versioned', {}, b);
    await env.s3.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Suspended' } }));
    expect((await put('s/k', 'null-1', {}, b)).VersionId).toBe('null');
    await put('s/k', 'null-2', {}, b);
    const versions = await env.s3.send(new ListObjectVersionsCommand({ Bucket: b, Prefix: 's/' }));
    expect(versions.Versions?.map((v) => v.VersionId)).toEqual(['null', kept.VersionId]);
    expect((await text('s/k', {}, b)).body).toBe('null-2');
  });

  it('bucket policy: put, get and delete (then 404 NoSuchBucketPolicy)', async () => {
    const b = await ownBucket('conf-pol');
    const policy = { Version: '2012-10-17', Statement: [{ Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] };
    await env.s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify(policy) }));
    expect(JSON.parse((await env.s3.send(new GetBucketPolicyCommand({ Bucket: b }))).Policy!)).toEqual(policy);
    await env.s3.send(new DeleteBucketPolicyCommand({ Bucket: b }));
    expect(await failure(env.s3.send(new GetBucketPolicyCommand({ Bucket: b })))).toMatchObject({ name: 'NoSuchBucketPolicy', status: 404 });
  });

  it('bucket sub-resources: lifecycle, CORS, encryption, public access block, tagging, ownership and ACL are stored and returned', async () => {
    const b = await ownBucket('conf-sub');
    await env.s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: b, LifecycleConfiguration: { Rules: [{ ID: 'expire-results', Status: 'Enabled', Filter: { Prefix: 'athena-results/' }, Expiration: { Days: 7 } }] } }));
    const lc = await env.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: b }));
    expect(lc.Rules?.map((r) => [r.ID, r.Status, r.Filter?.Prefix, r.Expiration?.Days])).toEqual([['expire-results', 'Enabled', 'athena-results/', 7]]);
    await env.s3.send(new PutBucketCorsCommand({ Bucket: b, CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['https://example.com'] }] } }));
    expect((await env.s3.send(new GetBucketCorsCommand({ Bucket: b }))).CORSRules?.[0]?.AllowedOrigins).toEqual(['https://example.com']);
    expect((await env.s3.send(new GetBucketEncryptionCommand({ Bucket: b }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
    await env.s3.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: false } }));
    expect((await env.s3.send(new GetPublicAccessBlockCommand({ Bucket: b }))).PublicAccessBlockConfiguration?.RestrictPublicBuckets).toBe(false);
    await env.s3.send(new PutBucketTaggingCommand({ Bucket: b, Tagging: { TagSet: [{ Key: 'project', Value: 'lakeloader' }] } }));
    expect((await env.s3.send(new GetBucketTaggingCommand({ Bucket: b }))).TagSet).toEqual([{ Key: 'project', Value: 'lakeloader' }]);
    expect((await env.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: b }))).OwnershipControls?.Rules?.[0]?.ObjectOwnership).toBe('BucketOwnerEnforced');
    expect((await env.s3.send(new GetBucketAclCommand({ Bucket: b }))).Grants?.[0]?.Permission).toBe('FULL_CONTROL');
  });

  it('GetObjectAttributes: ETag, checksum, parts and size of a multipart object', async () => {
    const parts = [randomBytes(5 * MiB), Buffer.from('last')];
    const Key = 'attrs/mp';
    const { UploadId } = await env.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ChecksumAlgorithm: 'SHA256' }));
    const done = [];
    for (const [i, Body] of parts.entries()) {
      const r = await env.s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: 'SHA256' }));
      done.push({ ETag: r.ETag, PartNumber: i + 1, ChecksumSHA256: r.ChecksumSHA256 });
    }
    await env.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: done } }));
    const a = await env.s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key, ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'ObjectSize'] }));
    expect(a.ETag).toBe(multipartEtag(parts).replace(/"/g, ''));
    expect(a.ObjectSize).toBe(5 * MiB + 4);
    expect([a.ObjectParts?.TotalPartsCount, a.ObjectParts?.Parts?.map((p) => p.Size)]).toEqual([2, [5 * MiB, 4]]);
    expect(a.Checksum?.ChecksumSHA256).toMatch(/-2$/);
  });
});

describe.skipIf(!hasAwsCli)(`S3 — AWS CLI v1${hasAwsCli ? '' : ` (skipped: ${NO_AWS_CLI})`}`, () => {
  /** The CLI exited 0 (on failure the assertion shows its stderr). */
  const ok = (r: { status: number; stderr: string }) => expect({ status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, stderr: '' });

  it('aws s3 cp of a 20 MB file (a multipart upload) and back, byte-identical', async () => {
    const dir = await env.tempDir();
    const data = randomBytes(20 * MiB);
    await writeFile(join(dir, 'big.bin'), data);
    ok(await env.aws(['s3', 'cp', join(dir, 'big.bin'), `s3://${bucket}/cli/big.bin`]));
    const head = (await env.aws(['s3api', 'head-object', '--bucket', bucket, '--key', 'cli/big.bin'])).json<{ ETag: string; ContentLength: number }>();
    expect(head.ContentLength).toBe(20 * MiB);
    expect(head.ETag).toMatch(/-\d+"$/);
    ok(await env.aws(['s3', 'cp', `s3://${bucket}/cli/big.bin`, join(dir, 'back.bin')]));
    expect((await readFile(join(dir, 'back.bin'))).equals(data)).toBe(true);
  });

  it('aws s3 sync of a directory tree, aws s3 ls --recursive, aws s3 rm --recursive', async () => {
    const dir = await env.tempDir();
    for (const f of ['a.txt', 'sub/b.txt', 'sub/deeper/c.txt']) {
      await mkdir(join(dir, 'tree', f, '..'), { recursive: true });
      await writeFile(join(dir, 'tree', f), f);
    }
    ok(await env.aws(['s3', 'sync', join(dir, 'tree'), `s3://${bucket}/sync/`]));
    const ls = await env.aws(['s3', 'ls', '--recursive', `s3://${bucket}/sync/`]);
    ok(ls);
    expect(ls.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).pop()).sort()).toEqual(['sync/a.txt', 'sync/sub/b.txt', 'sync/sub/deeper/c.txt']);
    ok(await env.aws(['s3', 'rm', '--recursive', `s3://${bucket}/sync/`]));
    expect((await env.aws(['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'sync/'])).json<{ KeyCount?: number }>().KeyCount ?? 0).toBe(0);
  });

  it('aws s3 cp into keys that are prefixes of each other (a/b and a/b/c)', async () => {
    const dir = await env.tempDir();
    await writeFile(join(dir, 'f1'), 'file');
    await writeFile(join(dir, 'f2'), 'below');
    ok(await env.aws(['s3', 'cp', join(dir, 'f1'), `s3://${bucket}/clinest/a/b`]));
    ok(await env.aws(['s3', 'cp', join(dir, 'f2'), `s3://${bucket}/clinest/a/b/c`]));
    ok(await env.aws(['s3', 'cp', `s3://${bucket}/clinest/a/b`, join(dir, 'g1')]));
    ok(await env.aws(['s3', 'cp', `s3://${bucket}/clinest/a/b/c`, join(dir, 'g2')]));
    expect([await readFile(join(dir, 'g1'), 'utf8'), await readFile(join(dir, 'g2'), 'utf8')]).toEqual(['file', 'below']);
  });

  it('aws s3api put-object --checksum-algorithm SHA256 and get-object --checksum-mode ENABLED', async () => {
    const dir = await env.tempDir();
    await writeFile(join(dir, 'body'), 'cli checksum body');
    const expected = await checksumOf('SHA256', Buffer.from('cli checksum body'));
    const p = await env.aws(['s3api', 'put-object', '--bucket', bucket, '--key', 'clik/obj', '--body', join(dir, 'body'), '--checksum-algorithm', 'SHA256']);
    ok(p);
    expect(p.json<{ ChecksumSHA256?: string }>().ChecksumSHA256).toBe(expected);
    const g = await env.aws(['s3api', 'get-object', '--bucket', bucket, '--key', 'clik/obj', '--checksum-mode', 'ENABLED', join(dir, 'out')]);
    ok(g);
    expect(g.json<{ ChecksumSHA256?: string }>().ChecksumSHA256).toBe(expected);
  });

  it('aws s3api versioning: put-bucket-versioning, list-object-versions, a delete marker', async () => {
    const b = await ownBucket('conf-cliver');
    ok(await env.aws(['s3api', 'put-bucket-versioning', '--bucket', b, '--versioning-configuration', 'Status=Enabled']));
    const dir = await env.tempDir();
    await writeFile(join(dir, 'f'), 'x');
    ok(await env.aws(['s3api', 'put-object', '--bucket', b, '--key', 'k', '--body', join(dir, 'f')]));
    ok(await env.aws(['s3api', 'put-object', '--bucket', b, '--key', 'k', '--body', join(dir, 'f')]));
    const d = await env.aws(['s3api', 'delete-object', '--bucket', b, '--key', 'k']);
    ok(d);
    expect(d.json<{ DeleteMarker?: boolean }>().DeleteMarker).toBe(true);
    const v = (await env.aws(['s3api', 'list-object-versions', '--bucket', b])).json<{ Versions?: unknown[]; DeleteMarkers?: unknown[] }>();
    expect([v.Versions?.length, v.DeleteMarkers?.length]).toEqual([2, 1]);
  });

  it('aws s3api object tagging and bucket policy, lifecycle, encryption, public access block', async () => {
    const b = await ownBucket('conf-clisub');
    const dir = await env.tempDir();
    await writeFile(join(dir, 'f'), 'x');
    ok(await env.aws(['s3api', 'put-object', '--bucket', b, '--key', 'k', '--body', join(dir, 'f'), '--tagging', 'a=1']));
    ok(await env.aws(['s3api', 'put-object-tagging', '--bucket', b, '--key', 'k', '--tagging', 'TagSet=[{Key=b,Value=2}]']));
    expect((await env.aws(['s3api', 'get-object-tagging', '--bucket', b, '--key', 'k'])).json<{ TagSet: unknown[] }>().TagSet).toEqual([{ Key: 'b', Value: '2' }]);
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:DeleteBucket', Resource: `arn:aws:s3:::${b}` }] });
    ok(await env.aws(['s3api', 'put-bucket-policy', '--bucket', b, '--policy', policy]));
    expect(JSON.parse((await env.aws(['s3api', 'get-bucket-policy', '--bucket', b])).json<{ Policy: string }>().Policy)).toEqual(JSON.parse(policy));
    const lifecycle = JSON.stringify({ Rules: [{ ID: 'abort-mpu', Status: 'Enabled', Filter: {}, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }] });
    ok(await env.aws(['s3api', 'put-bucket-lifecycle-configuration', '--bucket', b, '--lifecycle-configuration', lifecycle]));
    expect((await env.aws(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', b])).json<{ Rules: Array<{ ID: string }> }>().Rules[0]!.ID).toBe('abort-mpu');
    ok(await env.aws(['s3api', 'put-bucket-encryption', '--bucket', b, '--server-side-encryption-configuration', '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"}}]}']));
    expect((await env.aws(['s3api', 'get-bucket-encryption', '--bucket', b])).stdout).toContain('aws:kms');
    ok(await env.aws(['s3api', 'put-public-access-block', '--bucket', b, '--public-access-block-configuration', 'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true']));
    expect((await env.aws(['s3api', 'get-public-access-block', '--bucket', b])).json<{ PublicAccessBlockConfiguration: { BlockPublicPolicy: boolean } }>().PublicAccessBlockConfiguration.BlockPublicPolicy).toBe(true);
  });

  it('aws s3 presign: the query-signed URL is fetched by a plain HTTP client', async () => {
    await put('presign/obj', 'presigned body');
    const r = await env.aws(['s3', 'presign', `s3://${bucket}/presign/obj`, '--expires-in', '300']);
    ok(r);
    const res = await fetch(r.stdout.trim());
    expect([res.status, await res.text()]).toEqual([200, 'presigned body']);
  });
});
