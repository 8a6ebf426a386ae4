/**
 * S3 through the real AWS SDK v3 client against the local endpoint (or LAKELOADER_TEST_ENDPOINT):
 * conditional writes, listing with delimiters and paging, ranges, batch delete, copy, and keys
 * with special characters.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteEndpoint, startTestEndpoint, type TestEndpoint } from '../support/endpoint';

let env: TestEndpoint;
let bucket: string;

beforeAll(async () => {
  env = await startTestEndpoint();
  bucket = env.unique('s3test');
  await env.s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(async () => env?.close());

const put = (Key: string, Body: string | Uint8Array, extra: Record<string, unknown> = {}) => env.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ...extra }));
const getText = async (Key: string, extra: Record<string, unknown> = {}) => {
  const r = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key, ...extra }));
  return { text: await r.Body!.transformToString(), out: r };
};
/** The S3 error of a failing call (code and HTTP status). */
async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return { name: e.name, status: e.$metadata.httpStatusCode };
    throw e;
  }
  throw new Error('expected the call to fail, it succeeded');
}
const md5 = (s: string) => `"${createHash('md5').update(s).digest('hex')}"`;

describe('buckets', () => {
  it('lists and heads the created bucket; a missing bucket is NoSuchBucket / 404', async () => {
    const list = await env.s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toContain(bucket);
    await env.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    expect((await failure(env.s3.send(new HeadBucketCommand({ Bucket: env.unique('missing') })))).status).toBe(404);
    const f = await failure(env.s3.send(new PutObjectCommand({ Bucket: env.unique('nobucket'), Key: 'k', Body: 'v' })));
    expect(f).toEqual({ name: 'NoSuchBucket', status: 404 });
  });
});

describe('objects', () => {
  it('puts and gets an object with a quoted-MD5 ETag, content type and user metadata', async () => {
    const r = await put('plain/hello.txt', 'hello world', { ContentType: 'text/plain', Metadata: { origin: 'test' } });
    expect(r.ETag).toBe(md5('hello world'));
    const { text, out } = await getText('plain/hello.txt');
    expect(text).toBe('hello world');
    expect(out.ETag).toBe(md5('hello world'));
    expect(out.ContentType).toBe('text/plain');
    expect(out.ContentLength).toBe(11);
    expect(out.Metadata).toEqual({ origin: 'test' });
    const h = await env.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'plain/hello.txt' }));
    expect(h.ContentLength).toBe(11);
    expect(h.LastModified).toBeInstanceOf(Date);
  });

  it('answers NoSuchKey / 404 for a missing key (GET) and 404 for HEAD', async () => {
    expect(await failure(getText('does/not/exist'))).toEqual({ name: 'NoSuchKey', status: 404 });
    expect((await failure(env.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'does/not/exist' })))).status).toBe(404);
  });

  it.skipIf(remoteEndpoint)('stores objects as plain files under <dataDir>/s3/<bucket>/<key>', async () => {
    await put('tables/t/dt=2026-01-01/part-0.parquet', 'PAR1');
    expect(existsSync(join(env.dataDir, 's3', bucket, 'tables/t/dt=2026-01-01/part-0.parquet'))).toBe(true);
  });
});

describe('conditional writes', () => {
  it('If-None-Match: * succeeds once, then answers 412 PreconditionFailed', async () => {
    await put('cond/create-once', 'first', { IfNoneMatch: '*' });
    expect(await failure(put('cond/create-once', 'second', { IfNoneMatch: '*' }))).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect((await getText('cond/create-once')).text).toBe('first');
  });

  it('If-Match with the current ETag succeeds, with a stale ETag answers 412', async () => {
    const v1 = await put('cond/state.json', '{"v":1}');
    const v2 = await put('cond/state.json', '{"v":2}', { IfMatch: v1.ETag });
    expect(v2.ETag).toBe(md5('{"v":2}'));
    expect(await failure(put('cond/state.json', '{"v":3}', { IfMatch: v1.ETag }))).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect((await getText('cond/state.json')).text).toBe('{"v":2}');
  });

  it('If-Match on a missing key fails with 404 NoSuchKey', async () => {
    expect(await failure(put('cond/never-written', 'x', { IfMatch: md5('x') }))).toEqual({ name: 'NoSuchKey', status: 404 });
  });

  it('concurrent If-None-Match: * puts on one key: exactly one wins, and its body is stored', async () => {
    const attempts = Array.from({ length: 12 }, (_, i) => put('cond/race', `writer-${i}`, { IfNoneMatch: '*' }).then(() => i, (e: unknown) => e));
    const results = await Promise.all(attempts);
    const winners = results.filter((r): r is number => typeof r === 'number');
    expect(winners).toHaveLength(1);
    for (const r of results) if (typeof r !== 'number') expect((r as S3ServiceException).$metadata.httpStatusCode).toBe(412);
    expect((await getText('cond/race')).text).toBe(`writer-${winners[0]}`);
  });

  it('concurrent If-Match puts with the same ETag: exactly one wins', async () => {
    const base = await put('cond/cas', 'v0');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => put('cond/cas', `v1-${i}`, { IfMatch: base.ETag }).then(() => i, () => -1)));
    const winners = results.filter((i) => i >= 0);
    expect(winners).toHaveLength(1);
    expect((await getText('cond/cas')).text).toBe(`v1-${winners[0]}`);
  });

  it('a GET racing overwrites returns one whole version whose ETag matches its bytes', async () => {
    const versions = Array.from({ length: 6 }, (_, i) => `v${i}:`.padEnd(1000 * (i + 1) + (i % 2) * 37, String(i)));
    await put('race/read', versions[0]!);
    let writing = true;
    const writes = (async () => {
      for (let round = 0; round < 5; round++) for (const v of versions) await put('race/read', v);
      writing = false;
    })();
    let checked = 0;
    const readers = Array.from({ length: 4 }, async () => {
      while (writing) {
        const { text, out } = await getText('race/read');
        expect(versions).toContain(text);
        expect(out.ETag).toBe(md5(text));
        expect(out.ContentLength).toBe(Buffer.byteLength(text));
        checked++;
      }
    });
    await Promise.all([writes, ...readers]);
    expect(checked).toBeGreaterThan(10);
  });

  it('GET honors If-Match (412) and If-None-Match (304)', async () => {
    const r = await put('cond/get', 'body');
    expect((await failure(getText('cond/get', { IfMatch: md5('other') }))).status).toBe(412);
    expect((await failure(getText('cond/get', { IfNoneMatch: r.ETag }))).status).toBe(304);
    expect((await getText('cond/get', { IfMatch: r.ETag })).text).toBe('body');
  });
});

describe('ranges', () => {
  it('returns 206 with Content-Range for first-last, open-ended and suffix ranges', async () => {
    await put('range/abc', '0123456789');
    const a = await getText('range/abc', { Range: 'bytes=2-5' });
    expect(a.text).toBe('2345');
    expect(a.out.$metadata.httpStatusCode).toBe(206);
    expect(a.out.ContentRange).toBe('bytes 2-5/10');
    expect((await getText('range/abc', { Range: 'bytes=7-' })).text).toBe('789');
    expect((await getText('range/abc', { Range: 'bytes=-3' })).text).toBe('789');
    expect((await getText('range/abc', { Range: 'bytes=8-100' })).out.ContentRange).toBe('bytes 8-9/10');
  });

  it('answers 416 InvalidRange for a range past the end', async () => {
    expect(await failure(getText('range/abc', { Range: 'bytes=10-12' }))).toEqual({ name: 'InvalidRange', status: 416 });
  });
});

describe('listing', () => {
  const keys = [
    'list/a.txt',
    'list/b/1.txt',
    'list/b/2.txt',
    'list/c/x/1.txt',
    'list/d.txt',
    ...Array.from({ length: 23 }, (_, i) => `list/many/${String(i).padStart(3, '0')}.bin`),
  ];
  beforeAll(async () => {
    for (const k of keys) await put(k, k);
  });

  it('lists with a prefix, in key order, with sizes and ETags', async () => {
    const r = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/' }));
    expect(r.Contents?.map((c) => c.Key)).toEqual([...keys].sort());
    expect(r.KeyCount).toBe(keys.length);
    expect(r.Contents?.[0]?.Size).toBe('list/a.txt'.length);
    expect(r.Contents?.[0]?.ETag).toBe(md5('list/a.txt'));
    expect(r.IsTruncated).toBe(false);
  });

  it('groups keys into CommonPrefixes with a delimiter', async () => {
    const r = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', Delimiter: '/' }));
    expect(r.Contents?.map((c) => c.Key)).toEqual(['list/a.txt', 'list/d.txt']);
    expect(r.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['list/b/', 'list/c/', 'list/many/']);
    expect(r.KeyCount).toBe(5);
  });

  it('pages with continuation tokens over several pages of small MaxKeys, without gaps or repeats', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r: ListObjectsV2CommandOutput = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/many/', MaxKeys: 5, ContinuationToken: token }));
      expect(r.Contents!.length).toBeLessThanOrEqual(5);
      seen.push(...r.Contents!.map((c) => c.Key!));
      token = r.NextContinuationToken;
      expect(r.IsTruncated).toBe(token !== undefined);
      pages++;
    } while (token);
    expect(pages).toBe(5);
    expect(seen).toEqual(keys.filter((k) => k.startsWith('list/many/')));
  });

  it('pages common prefixes with a delimiter and MaxKeys 1', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r: ListObjectsV2CommandOutput = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', Delimiter: '/', MaxKeys: 1, ContinuationToken: token }));
      seen.push(...(r.Contents ?? []).map((c) => c.Key!), ...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
      token = r.NextContinuationToken;
    } while (token);
    expect(seen).toEqual(['list/a.txt', 'list/b/', 'list/c/', 'list/d.txt', 'list/many/']);
  });

  it('starts after StartAfter', async () => {
    const r = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', StartAfter: 'list/many/020.bin' }));
    expect(r.Contents?.map((c) => c.Key)).toEqual(['list/many/021.bin', 'list/many/022.bin']);
  });
});

describe('delete and copy', () => {
  it('deletes one object (idempotently) and a batch, reporting each key', async () => {
    await put('del/one', '1');
    await env.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'del/one' }));
    await env.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'del/one' }));
    expect((await failure(getText('del/one'))).status).toBe(404);

    for (const k of ['del/a', 'del/b', 'del/c']) await put(k, k);
    const r = await env.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'del/a' }, { Key: 'del/b' }, { Key: 'del/missing' }] } }));
    expect(r.Deleted?.map((d) => d.Key).sort()).toEqual(['del/a', 'del/b', 'del/missing']);
    const left = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'del/' }));
    expect(left.Contents?.map((c) => c.Key)).toEqual(['del/c']);
  });

  it('Quiet batch delete returns no Deleted entries', async () => {
    await put('delq/a', 'a');
    const r = await env.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'delq/a' }], Quiet: true } }));
    expect(r.Deleted ?? []).toEqual([]);
    expect((await failure(getText('delq/a'))).status).toBe(404);
  });

  it('copies an object with its metadata; a missing source is NoSuchKey', async () => {
    await put('copy/src', 'copied body', { ContentType: 'application/json', Metadata: { a: 'b' } });
    const r = await env.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy/dst', CopySource: `${bucket}/copy/src` }));
    expect(r.CopyObjectResult?.ETag).toBe(md5('copied body'));
    const { text, out } = await getText('copy/dst');
    expect(text).toBe('copied body');
    expect(out.ContentType).toBe('application/json');
    expect(out.Metadata).toEqual({ a: 'b' });
    expect((await failure(env.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy/x', CopySource: `${bucket}/copy/nope` })))).name).toBe('NoSuchKey');
  });
});

describe('keys with special characters', () => {
  const special = [
    'sp/dt=2026-01-01/hour=00/part.parquet',
    'sp/100%/pct%2F.txt',
    'sp/with space/and+plus.txt',
    'sp/ünïcödé/日本語/🎉.txt',
    'sp/../escape-attempt.txt',
    'sp/./dot.txt',
    'sp//double-slash.txt',
    'sp/q?x=1&y=2#frag.txt',
  ];

  it('round-trips each key through put, get, list and delete', async () => {
    for (const k of special) await put(k, `body of ${k}`);
    for (const k of special) expect((await getText(k)).text).toBe(`body of ${k}`);
    const r = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sp/' }));
    expect(r.Contents?.map((c) => c.Key).sort()).toEqual([...special].sort());
    for (const k of special) await env.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: k }));
    const after = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sp/' }));
    expect(after.Contents ?? []).toEqual([]);
  });

  it.skipIf(remoteEndpoint)('keeps `..` and `.` segments inside the bucket directory', async () => {
    await put('dots/../../../outside.txt', 'contained');
    expect(existsSync(join(env.dataDir, 's3', 'outside.txt'))).toBe(false);
    expect(existsSync(join(env.dataDir, 'outside.txt'))).toBe(false);
    expect((await getText('dots/../../../outside.txt')).text).toBe('contained');
    const r = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'dots/' }));
    expect(r.Contents?.map((c) => c.Key)).toEqual(['dots/../../../outside.txt']);
  });
});
