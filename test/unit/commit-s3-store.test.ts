/**
 * S3ObjectStore through the real AWS SDK v3 S3 client with a canned HTTP handler: conditional
 * headers on the wire, 412/409/404 mapped to PreconditionFailedError, missing objects as null,
 * listing with continuation tokens, batch delete errors.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ObjectStoreError, PreconditionFailedError, S3ObjectStore } from '../../lambdas/core/store';

interface Canned {
  statusCode: number;
  body?: string;
  headers?: Record<string, string>;
}
interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
}

function fakeS3(answers: Canned[]) {
  const seen: Seen[] = [];
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: {
      handle: async (req: Seen) => {
        seen.push(req);
        const a = answers.shift();
        if (!a) throw new Error('no canned answer left');
        return { response: { statusCode: a.statusCode, headers: a.headers ?? {}, body: Readable.from([Buffer.from(a.body ?? '')]) } };
      },
    } as never,
  });
  return { store: new S3ObjectStore(s3, 'lake'), seen };
}
const xmlError = (code: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>m</Message></Error>`;

describe('S3ObjectStore', () => {
  it('sends If-None-Match / If-Match and returns the ETag', async () => {
    const { store, seen } = fakeS3([
      { statusCode: 200, headers: { etag: '"e1"' } },
      { statusCode: 200, headers: { etag: '"e2"' } },
    ]);
    expect(await store.put('a/b.json', new Uint8Array([1]), { ifNoneMatch: '*', contentType: 'application/json' })).toEqual({ etag: '"e1"' });
    expect(await store.put('a/b.json', new Uint8Array([2]), { ifMatch: '"e1"' })).toEqual({ etag: '"e2"' });
    expect(seen[0]).toMatchObject({ method: 'PUT', path: '/lake/a/b.json' });
    expect(seen[0]!.headers['if-none-match']).toBe('*');
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(seen[1]!.headers['if-match']).toBe('"e1"');
    expect(seen[1]!.headers['if-none-match']).toBeUndefined();
  });

  it.each([
    [412, 'PreconditionFailed', { ifNoneMatch: '*' as const }],
    [409, 'ConditionalRequestConflict', { ifNoneMatch: '*' as const }],
    [404, 'NoSuchKey', { ifMatch: '"x"' }],
  ])('maps a %i %s on a conditional put to PreconditionFailedError', async (status, code, options) => {
    const { store } = fakeS3([{ statusCode: status, body: xmlError(code) }]);
    const err = await store.put('k', new Uint8Array(0), options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PreconditionFailedError);
    expect((err as PreconditionFailedError).key).toBe('k');
  });

  it('reports other failures as ObjectStoreError', async () => {
    const { store } = fakeS3([{ statusCode: 403, body: xmlError('AccessDenied') }]);
    await expect(store.put('k', new Uint8Array(0), { ifNoneMatch: '*' })).rejects.toThrow(ObjectStoreError);
  });

  it('reads an object with its ETag and a missing one as null', async () => {
    const { store } = fakeS3([
      { statusCode: 200, headers: { etag: '"abc"' }, body: 'hello' },
      { statusCode: 404, body: xmlError('NoSuchKey') },
    ]);
    const got = await store.get('k');
    expect(Buffer.from(got!.body).toString()).toBe('hello');
    expect(got!.etag).toBe('"abc"');
    expect(await store.get('missing')).toBeNull();
  });

  it('follows continuation tokens when listing', async () => {
    const page = (keys: string[], next?: string) =>
      `<?xml version="1.0"?><ListBucketResult><Name>lake</Name><IsTruncated>${next ? 'true' : 'false'}</IsTruncated>` +
      keys.map((k) => `<Contents><Key>${k}</Key><Size>3</Size><ETag>"e"</ETag></Contents>`).join('') +
      (next ? `<NextContinuationToken>${next}</NextContinuationToken>` : '') +
      '</ListBucketResult>';
    const { store, seen } = fakeS3([
      { statusCode: 200, body: page(['p/a', 'p/b'], 'tok') },
      { statusCode: 200, body: page(['p/c']) },
    ]);
    const keys: string[] = [];
    for await (const o of store.list('p/')) keys.push(o.key);
    expect(keys).toEqual(['p/a', 'p/b', 'p/c']);
    expect(seen[1]!.query['continuation-token']).toBe('tok');
    expect(seen[0]!.query.prefix).toBe('p/');
  });

  it('throws when DeleteObjects reports a per-key error', async () => {
    const { store } = fakeS3([{ statusCode: 200, body: '<?xml version="1.0"?><DeleteResult><Error><Key>k1</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>' }]);
    await expect(store.deleteMany(['k1', 'k2'])).rejects.toThrow(/DeleteObjects of "k1" failed: Error: AccessDenied: no/);
  });
});
