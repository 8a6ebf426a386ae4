/**
 * The endpoint as a whole: routing and the onRequest hook, AWS-shaped errors for what is not
 * implemented, streaming (aws-chunked) uploads, persistence of objects across a restart, and
 * start-up errors. Local-only checks skip when LAKELOADER_TEST_ENDPOINT points elsewhere.
 */
import { Readable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetBucketReplicationCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { GetDatabasesCommand } from '@aws-sdk/client-glue';
import { ListWorkGroupsCommand } from '@aws-sdk/client-athena';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEndpointStartError, startLocalEndpoint } from '../../lib/local/server';
import { remoteEndpoint, startTestEndpoint, type TestEndpoint } from '../support/endpoint';

type Seen = { service: string; operation: string; bucket?: string; key?: string };
const seen: Seen[] = [];
let env: TestEndpoint;
let bucket: string;

beforeAll(async () => {
  env = await startTestEndpoint({ onRequest: (info) => seen.push(info) });
  bucket = env.unique('endpoint');
  await env.s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(async () => env?.close());

async function s3Failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return { name: e.name, status: e.$metadata.httpStatusCode, message: e.message };
    throw e;
  }
  throw new Error('expected the call to fail, it succeeded');
}

describe('routing', () => {
  it.skipIf(remoteEndpoint)('routes by X-Amz-Target and reports each request to onRequest', async () => {
    seen.length = 0;
    await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'route/a=1/b.txt', Body: 'x' }));
    await env.glue.send(new GetDatabasesCommand({}));
    await env.athena.send(new ListWorkGroupsCommand({}));
    expect(seen).toEqual([
      { service: 's3', operation: 'PutObject', bucket, key: 'route/a=1/b.txt' },
      { service: 'glue', operation: 'GetDatabases' },
      { service: 'athena', operation: 'ListWorkGroups' },
    ]);
  });
});

describe('not implemented', () => {
  it.skipIf(remoteEndpoint)('S3 answers 501 NotImplemented in the S3 error shape, naming what is missing', async () => {
    const f = await s3Failure(env.s3.send(new GetBucketReplicationCommand({ Bucket: bucket })));
    expect(f.status).toBe(501);
    expect(f.name).toBe('NotImplemented');
    expect(f.message).toContain('replication');
    expect((await s3Failure(env.s3.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: 'big' })))).status).toBe(501);
  });

  it.skipIf(remoteEndpoint)('Athena answers InvalidRequestException naming the operation', async () => {
    const res = await fetch(env.url!, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AmazonAthena.CreateNamedQuery' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'InvalidRequestException', message: expect.stringContaining('CreateNamedQuery') });
  });
});

describe('uploads and persistence', () => {
  it('accepts a streaming body (aws-chunked with a trailing checksum)', async () => {
    const parts = ['alpha-', 'beta-', 'gamma'];
    await env.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'stream/obj', Body: Readable.from(parts.map((p) => Buffer.from(p))), ContentLength: parts.join('').length, ChecksumAlgorithm: 'CRC32' }),
    );
    const r = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'stream/obj' }));
    expect(await r.Body!.transformToString()).toBe('alpha-beta-gamma');
  });

  it.skipIf(remoteEndpoint)('keeps objects and buckets across a restart on the same data directory', async () => {
    await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'persist/one', Body: 'kept' }));
    await env.restart();
    const r = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'persist/one' }));
    expect(await r.Body!.transformToString()).toBe('kept');
    const l = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'persist/' }));
    expect(l.Contents?.map((c) => c.Key)).toEqual(['persist/one']);
  });

  it.skipIf(remoteEndpoint)('keeps a key and keys below it side by side, across a restart (the one that cannot be a file at its path lives in s3-nested/)', async () => {
    const get = async (Key: string) => (await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body!.transformToString();
    await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'nest/a', Body: 'file' }));
    await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'nest/a/b', Body: 'below' }));
    await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'nest2/x/y', Body: 'deep' }));
    await env.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'nest2/x', Body: 'above' }));
    await env.restart();
    expect([await get('nest/a'), await get('nest/a/b'), await get('nest2/x/y'), await get('nest2/x')]).toEqual(['file', 'below', 'deep', 'above']);
    const l = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'nest' }));
    expect(l.Contents?.map((c) => c.Key)).toEqual(['nest/a', 'nest/a/b', 'nest2/x', 'nest2/x/y']);
    // The first writer of a path keeps the plain file; the other one is in s3-nested/<bucket>/.
    const { readFileSync, readdirSync } = await import('node:fs');
    expect(readFileSync(join(env.dataDir, 's3', bucket, 'nest', 'a'), 'utf8')).toBe('file');
    expect(readFileSync(join(env.dataDir, 's3', bucket, 'nest2', 'x', 'y'), 'utf8')).toBe('deep');
    expect(readdirSync(join(env.dataDir, 's3-nested', bucket))).toHaveLength(2);
  });
});

describe('start-up', () => {
  it.skipIf(remoteEndpoint)('fails with LocalEndpointStartError when the port is taken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lakeloader-port-'));
    try {
      await expect(startLocalEndpoint({ dataDir: dir, port: Number(new URL(env.url!).port) })).rejects.toBeInstanceOf(LocalEndpointStartError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves on an ephemeral port and closes cleanly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lakeloader-ephemeral-'));
    try {
      const ep = await startLocalEndpoint({ dataDir: dir, port: 0 });
      expect(ep.port).toBeGreaterThan(0);
      expect(ep.url).toBe(`http://127.0.0.1:${ep.port}`);
      expect((await fetch(`${ep.url}/`)).status).toBe(200);
      await ep.close();
      await expect(fetch(`${ep.url}/`)).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
