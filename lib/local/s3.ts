/**
 * The S3 REST API (path-style) of the local endpoint, over {@link LocalObjectStore}: buckets, objects,
 * conditional writes and reads, ranges, copy, batch delete and listing. Responses and errors use
 * S3's XML shapes so the AWS SDK v3 S3 client parses them unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Readable, Transform } from 'node:stream';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { S3Error, s3Errors } from './errors';
import { compareKeys, etagMatches, type ObjectMeta, type LocalObjectStore } from './store';

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const builder = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false, processEntities: true });
const parser = new XMLParser({ parseTagValue: false, ignoreAttributes: true, isArray: (name) => name === 'Object', processEntities: true });

/** What the S3 handler reports per request (the server forwards it to `onRequest`). */
export interface S3RequestInfo {
  operation: string;
  bucket?: string;
  key?: string;
}

/** Serializes `{ Root: {...} }` as an S3 XML document. */
export function xml(rootName: string, body: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [rootName]: { '@_xmlns': XMLNS, ...body } })}`;
}

/** Renders an S3Error as S3's XML error document. */
export function sendS3Error(res: ServerResponse, err: S3Error, method: string, resource: string, requestId: string): void {
  res.statusCode = err.status;
  res.setHeader('x-amz-request-id', requestId);
  if (method === 'HEAD' || err.status === 304) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/xml');
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({
      Error: { Code: err.code, Message: err.message, ...err.extra, Resource: resource, RequestId: requestId },
    })}`,
  );
}

const httpDate = (iso: string) => new Date(iso).toUTCString();

/** Reads a request body fully (small XML bodies only). */
async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Decodes an `aws-chunked` body (streaming uploads with trailing checksums):
 * `<hex-size>[;ext]\r\n<data>\r\n ... 0\r\n<trailers>\r\n\r\n`.
 */
export function decodeAwsChunked(): Transform {
  let buf: Buffer = Buffer.alloc(0);
  let remaining = -1; // bytes of data left in the current chunk; -1 = expecting a header
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      try {
        while (!done) {
          if (remaining < 0) {
            const nl = buf.indexOf('\r\n');
            if (nl < 0) break;
            const header = buf.subarray(0, nl).toString('latin1');
            buf = buf.subarray(nl + 2);
            if (header === '') continue; // CRLF after a chunk's data
            const size = parseInt(header.split(';')[0]!, 16);
            if (Number.isNaN(size)) throw new S3Error('IncompleteBody', `malformed aws-chunked body: chunk header "${header.slice(0, 40)}"`, 400);
            if (size === 0) {
              done = true;
              break;
            }
            remaining = size;
          } else {
            if (buf.length === 0) break;
            const take = Math.min(remaining, buf.length);
            this.push(buf.subarray(0, take));
            buf = buf.subarray(take);
            remaining -= take;
            if (remaining === 0) remaining = -1;
          }
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}

function bodyStream(req: IncomingMessage): Readable {
  const enc = String(req.headers['content-encoding'] ?? '');
  const sha = String(req.headers['x-amz-content-sha256'] ?? '');
  if (enc.includes('aws-chunked') || sha.startsWith('STREAMING-')) return req.pipe(decodeAwsChunked());
  return req;
}

function userMetadata(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-amz-meta-') && typeof v === 'string') out[k.slice(11)] = v;
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function setObjectHeaders(res: ServerResponse, m: ObjectMeta): void {
  res.setHeader('ETag', m.etag);
  res.setHeader('Last-Modified', httpDate(m.lastModified));
  res.setHeader('Content-Type', m.contentType);
  res.setHeader('Accept-Ranges', 'bytes');
  if (m.contentEncoding) res.setHeader('Content-Encoding', m.contentEncoding);
  if (m.cacheControl) res.setHeader('Cache-Control', m.cacheControl);
  if (m.contentDisposition) res.setHeader('Content-Disposition', m.contentDisposition);
  for (const [k, v] of Object.entries(m.userMetadata)) res.setHeader(`x-amz-meta-${k}`, v);
}

/** Parses a `Range: bytes=...` header for an object of `size` bytes; undefined = whole object. */
export function parseRange(range: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!range) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // S3 ignores a malformed range
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) throw s3Errors.invalidRange(range, size);
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end) throw s3Errors.invalidRange(range, size);
  return { start, end };
}

/** Checks GET/HEAD conditionals; throws 412 or a 304 marker. */
function checkReadConditions(req: IncomingMessage, m: ObjectMeta): void {
  const ifMatch = header(req, 'if-match');
  if (ifMatch !== undefined && !etagMatches(ifMatch, m.etag)) throw s3Errors.preconditionFailed('If-Match');
  const ifNoneMatch = header(req, 'if-none-match');
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, m.etag)) throw new S3Error('NotModified', 'Not Modified', 304);
  const ius = header(req, 'if-unmodified-since');
  if (ifMatch === undefined && ius && Date.parse(m.lastModified) > Date.parse(ius) + 999) throw s3Errors.preconditionFailed('If-Unmodified-Since');
  const ims = header(req, 'if-modified-since');
  if (ifNoneMatch === undefined && ims && Date.parse(m.lastModified) <= Date.parse(ims) + 999) throw new S3Error('NotModified', 'Not Modified', 304);
}

const UNSUPPORTED_SUBRESOURCES = [
  'acl', 'policy', 'cors', 'lifecycle', 'versioning', 'versions', 'tagging', 'website', 'logging', 'notification',
  'replication', 'encryption', 'uploads', 'uploadId', 'partNumber', 'object-lock', 'retention', 'legal-hold',
  'accelerate', 'analytics', 'inventory', 'metrics', 'ownershipControls', 'publicAccessBlock', 'requestPayment',
  'restore', 'select', 'torrent', 'attributes', 'intelligent-tiering', 'session',
];

/**
 * Handles one S3 request. `path` is the raw URL path (still percent-encoded).
 * @returns the operation, bucket and key for `onRequest`.
 */
export async function handleS3(
  store: LocalObjectStore,
  region: string,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  report: (info: S3RequestInfo) => void,
): Promise<void> {
  const method = req.method ?? 'GET';
  const slash = path.indexOf('/', 1);
  const bucket = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash));
  const key = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
  const sub = UNSUPPORTED_SUBRESOURCES.find((s) => query.has(s));

  if (!bucket) {
    report({ operation: method === 'GET' ? 'ListBuckets' : `${method} /` });
    if (method !== 'GET') throw s3Errors.notImplemented(`${method} on the service root`);
    const buckets = await store.listBuckets();
    return sendXml(res, 200, xml('ListAllMyBucketsResult', {
      Owner: { ID: 'lakeloader-local', DisplayName: 'lakeloader' },
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.creationDate })) },
    }));
  }

  if (!key) {
    const op = bucketOperation(method, query);
    report({ operation: op, bucket });
    if (sub) throw s3Errors.notImplemented(`The bucket subresource "?${sub}" (${method})`);
    switch (op) {
      case 'CreateBucket': {
        await readAll(req);
        const created = await store.createBucket(bucket);
        if (!created && region !== 'us-east-1') {
          throw new S3Error('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', 409, { BucketName: bucket });
        }
        res.setHeader('Location', `/${bucket}`);
        return sendEmpty(res, 200);
      }
      case 'HeadBucket':
        await store.requireBucket(bucket);
        res.setHeader('x-amz-bucket-region', region);
        return sendEmpty(res, 200);
      case 'DeleteBucket':
        await store.deleteBucket(bucket);
        return sendEmpty(res, 204);
      case 'GetBucketLocation':
        await store.requireBucket(bucket);
        return sendXml(res, 200, `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${XMLNS}">${region === 'us-east-1' ? '' : region}</LocationConstraint>`);
      case 'ListObjectsV2':
      case 'ListObjects':
        return listObjects(store, res, bucket, query, op === 'ListObjectsV2');
      case 'DeleteObjects':
        return deleteObjects(store, req, res, bucket);
      default:
        throw s3Errors.notImplemented(`${method} on a bucket`);
    }
  }

  const op = objectOperation(method, req);
  report({ operation: op, bucket, key });
  if (sub) throw s3Errors.notImplemented(`The object subresource "?${sub}" (${method})`);
  switch (op) {
    case 'PutObject':
      return putObject(store, req, res, bucket, key);
    case 'CopyObject':
      return copyObject(store, req, res, bucket, key);
    case 'GetObject':
    case 'HeadObject': {
      const opened = await store.openForRead(bucket, key);
      if (!opened) throw s3Errors.noSuchKey(key);
      const { meta: m, handle } = opened;
      try {
        checkReadConditions(req, m);
        setObjectHeaders(res, m);
        const partRange = parseRange(header(req, 'range'), m.size);
        for (const [param, hdr] of [
          ['response-content-type', 'Content-Type'], ['response-content-disposition', 'Content-Disposition'],
          ['response-cache-control', 'Cache-Control'], ['response-content-encoding', 'Content-Encoding'],
        ] as const) {
          const v = query.get(param);
          if (v) res.setHeader(hdr, v);
        }
        if (partRange) {
          res.statusCode = 206;
          res.setHeader('Content-Range', `bytes ${partRange.start}-${partRange.end}/${m.size}`);
          res.setHeader('Content-Length', partRange.end - partRange.start + 1);
        } else {
          res.statusCode = 200;
          res.setHeader('Content-Length', m.size);
        }
        if (op === 'HeadObject' || m.size === 0) {
          res.end();
          return;
        }
        const file = handle.createReadStream({ start: partRange?.start ?? 0, end: partRange?.end ?? m.size - 1, autoClose: false });
        await new Promise<void>((resolve, reject) => {
          file.on('error', reject);
          res.on('close', resolve);
          file.pipe(res);
        });
        return;
      } finally {
        await handle.close().catch(() => undefined);
      }
    }
    case 'DeleteObject': {
      await store.delete(bucket, key, { ifMatch: header(req, 'if-match') });
      return sendEmpty(res, 204);
    }
    default:
      throw s3Errors.notImplemented(`${method} on an object`);
  }
}

function bucketOperation(method: string, q: URLSearchParams): string {
  if (method === 'PUT') return 'CreateBucket';
  if (method === 'HEAD') return 'HeadBucket';
  if (method === 'DELETE') return 'DeleteBucket';
  if (method === 'POST' && q.has('delete')) return 'DeleteObjects';
  if (method === 'GET' && q.has('location')) return 'GetBucketLocation';
  if (method === 'GET') return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
  return `${method}Bucket`;
}

function objectOperation(method: string, req: IncomingMessage): string {
  if (method === 'PUT') return req.headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'DELETE') return 'DeleteObject';
  return `${method}Object`;
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.setHeader('Content-Length', 0);
  res.end();
}

async function putObject(store: LocalObjectStore, req: IncomingMessage, res: ServerResponse, bucket: string, key: string): Promise<void> {
  await store.requireBucket(bucket);
  const staged = await store.stage(bodyStream(req));
  const meta = await store.commit(
    bucket,
    key,
    staged,
    {
      contentType: header(req, 'content-type') ?? 'binary/octet-stream',
      userMetadata: userMetadata(req),
      contentEncoding: header(req, 'content-encoding')?.replace(/,?\s*aws-chunked/, '') || undefined,
      cacheControl: header(req, 'cache-control'),
      contentDisposition: header(req, 'content-disposition'),
    },
    { ifMatch: header(req, 'if-match'), ifNoneMatch: header(req, 'if-none-match') },
  );
  res.setHeader('ETag', meta.etag);
  sendEmpty(res, 200);
}

async function copyObject(store: LocalObjectStore, req: IncomingMessage, res: ServerResponse, bucket: string, key: string): Promise<void> {
  const raw = String(req.headers['x-amz-copy-source']).split('?')[0]!;
  const src = decodeURIComponent(raw).replace(/^\//, '');
  const i = src.indexOf('/');
  if (i <= 0) throw s3Errors.invalidArgument(`Copy Source must mention the source bucket and key: sourcebucket/sourcekey (got "${src}")`);
  const srcBucket = src.slice(0, i);
  const srcKey = src.slice(i + 1);
  const opened = await store.openForRead(srcBucket, srcKey);
  if (!opened) throw s3Errors.noSuchKey(srcKey);
  const { meta: m, handle } = opened;
  try {
    const cim = header(req, 'x-amz-copy-source-if-match');
    if (cim !== undefined && !etagMatches(cim, m.etag)) throw s3Errors.preconditionFailed('x-amz-copy-source-If-Match');
    const cinm = header(req, 'x-amz-copy-source-if-none-match');
    if (cinm !== undefined && etagMatches(cinm, m.etag)) throw s3Errors.preconditionFailed('x-amz-copy-source-If-None-Match');
    const replace = header(req, 'x-amz-metadata-directive') === 'REPLACE';
    if (!replace && srcBucket === bucket && srcKey === key) {
      throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.', 400);
    }
    const staged = await store.stage(handle.createReadStream({ autoClose: false }));
    const meta = await store.commit(
      bucket,
      key,
      staged,
      replace
        ? { contentType: header(req, 'content-type') ?? 'binary/octet-stream', userMetadata: userMetadata(req) }
        : { contentType: m.contentType, userMetadata: m.userMetadata, contentEncoding: m.contentEncoding, cacheControl: m.cacheControl, contentDisposition: m.contentDisposition },
      { ifMatch: header(req, 'if-match'), ifNoneMatch: header(req, 'if-none-match') },
    );
    sendXml(res, 200, xml('CopyObjectResult', { LastModified: meta.lastModified, ETag: meta.etag }));
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function deleteObjects(store: LocalObjectStore, req: IncomingMessage, res: ServerResponse, bucket: string): Promise<void> {
  await store.requireBucket(bucket);
  const body = (await readAll(bodyStream(req))).toString('utf8');
  let doc: { Delete?: { Object?: Array<{ Key?: string; ETag?: string }>; Quiet?: string } };
  try {
    doc = parser.parse(body) as typeof doc;
  } catch (e) {
    throw new S3Error('MalformedXML', `The XML you provided was not well-formed: ${(e as Error).message}`, 400);
  }
  const objects = doc.Delete?.Object ?? [];
  if (!doc.Delete) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema (expected <Delete>)', 400);
  if (objects.length > 1000) throw new S3Error('MalformedXML', 'DeleteObjects takes at most 1000 keys per request', 400);
  const quiet = String(doc.Delete.Quiet ?? '').trim() === 'true';
  const deleted: Array<{ Key: string }> = [];
  const errors: Array<{ Key: string; Code: string; Message: string }> = [];
  for (const o of objects) {
    const k = String(o.Key ?? '');
    try {
      await store.delete(bucket, k, { ifMatch: o.ETag });
      deleted.push({ Key: k });
    } catch (e) {
      if (e instanceof S3Error) errors.push({ Key: k, Code: e.code, Message: e.message });
      else throw e;
    }
  }
  sendXml(res, 200, xml('DeleteResult', { ...(quiet ? {} : { Deleted: deleted }), Error: errors }));
}

interface ContinuationState {
  after: string;
}

function encodeToken(s: ContinuationState): string {
  return Buffer.from(JSON.stringify(s), 'utf8').toString('base64url');
}

function decodeToken(t: string): ContinuationState {
  try {
    const s = JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as ContinuationState;
    if (typeof s.after !== 'string') throw new Error('bad token');
    return s;
  } catch {
    throw s3Errors.invalidArgument('The continuation token provided is incorrect');
  }
}

/** ListObjects (v1) and ListObjectsV2: prefix, delimiter, max-keys, start-after/marker, continuation tokens. */
async function listObjects(store: LocalObjectStore, res: ServerResponse, bucket: string, q: URLSearchParams, v2: boolean): Promise<void> {
  await store.requireBucket(bucket);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeysRaw = q.get('max-keys');
  const maxKeys = maxKeysRaw === null ? 1000 : Math.min(1000, Number(maxKeysRaw));
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw s3Errors.invalidArgument('max-keys must be an integer between 0 and 2147483647');
  const token = v2 ? q.get('continuation-token') : null;
  const startAfter = v2 ? (q.get('start-after') ?? '') : (q.get('marker') ?? '');
  let after = token ? decodeToken(token).after : startAfter;
  if (prefix && compareKeys(after, prefix) < 0) after = '';
  const urlEncode = q.get('encoding-type') === 'url';
  const enc = (s: string) => (urlEncode ? encodeURIComponent(s).replace(/%2F/g, '/') : s);

  const keys = await store.sortedKeys(bucket);
  // First key strictly after `after` and >= prefix (binary search).
  const from = prefix && (!after || compareKeys(prefix, after) > 0) ? prefix : after;
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(keys[mid]!, from) < 0) lo = mid + 1;
    else hi = mid;
  }
  const contents: ObjectMeta[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let last = '';
  for (let i = lo; i < keys.length; i++) {
    const k = keys[i]!;
    if (!k.startsWith(prefix)) {
      if (compareKeys(k, prefix) > 0) break;
      continue;
    }
    if (after && (compareKeys(k, after) <= 0 || (after.endsWith(delimiter) && delimiter && k.startsWith(after)))) continue;
    let cp: string | undefined;
    if (delimiter) {
      const d = k.indexOf(delimiter, prefix.length);
      if (d >= 0) cp = k.slice(0, d + delimiter.length);
    }
    if (cp !== undefined && prefixes[prefixes.length - 1] === cp) continue;
    if (contents.length + prefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    if (cp !== undefined) {
      prefixes.push(cp);
      last = cp;
    } else {
      const m = await store.head(bucket, k);
      if (m) contents.push(m);
      last = k;
    }
  }
  const body: Record<string, unknown> = {
    Name: bucket,
    Prefix: enc(prefix),
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    MaxKeys: maxKeys,
    ...(urlEncode ? { EncodingType: 'url' } : {}),
    IsTruncated: truncated,
  };
  if (v2) {
    body.KeyCount = contents.length + prefixes.length;
    if (token) body.ContinuationToken = token;
    if (startAfter) body.StartAfter = enc(startAfter);
    if (truncated) body.NextContinuationToken = encodeToken({ after: last });
  } else {
    body.Marker = enc(startAfter);
    if (truncated && delimiter) body.NextMarker = enc(last);
  }
  body.Contents = contents.map((m) => ({
    Key: enc(m.key),
    LastModified: m.lastModified,
    ETag: m.etag,
    Size: m.size,
    StorageClass: 'STANDARD',
  }));
  body.CommonPrefixes = prefixes.map((p) => ({ Prefix: enc(p) }));
  sendXml(res, 200, xml('ListBucketResult', body));
}

