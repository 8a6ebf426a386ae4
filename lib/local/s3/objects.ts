/**
 * Object operations: PutObject, GetObject/HeadObject (versions, ranges, parts, conditionals),
 * CopyObject, DeleteObject, DeleteObjects, GetObjectAttributes, object tagging and ACLs.
 */
import type { IncomingMessage } from 'node:http';
import { S3Error, s3Errors } from '../errors';
import { etagMatches, versionIdOf, type ObjectMeta } from '../store';
import { checksumField, parseChecksumAlgorithm, type StoredChecksum } from './checksums';
import { checkReadKey, requestedEncryption, setEncryptionHeaders } from './encryption';
import { readVerifiedBody, requestedChecksum, verifyStaged } from './integrity';
import { setChecksumHeaders, setObjectHeaders, setVersionHeader } from './object-headers';
import { bodyOf, header, httpDate, type S3Request } from './request';
import { parseTaggingHeader, parseTaggingXml, taggingXml } from './tagging';
import { ARCHIVED_CLASSES, checkCannedAcl, objectOwnership, writeAttributes } from './write-attributes';
import { parseXml, sendEmpty, sendXml, text, xml } from './xml';

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

/** The `versionId` query parameter (undefined when absent). */
const versionParam = (r: S3Request) => r.query.get('versionId') ?? undefined;

/** The object checksum fields of an XML result (`ChecksumCRC32`, `ChecksumType`). */
export function checksumXmlFields(c: StoredChecksum | undefined): Record<string, string> {
  return c ? { [checksumField(c.algorithm)]: c.value, ChecksumType: c.type } : {};
}

// ---- PutObject ----

/** PutObject: stage, verify (Content-MD5, checksum), then commit under the key's lock with the write conditions. */
export async function putObject(r: S3Request): Promise<void> {
  const { store } = r.ctx;
  const info = await store.bucketInfo(r.bucket);
  const attributes = writeAttributes(r.req, info);
  const requested = requestedChecksum(r.req);
  const body = bodyOf(r.req);
  const staged = await store.stage(body.stream, { checksums: requested ? [requested.algorithm] : [] });
  let checksum: StoredChecksum | undefined;
  try {
    checksum = verifyStaged(r.req, staged, requested, body.trailers());
    const decoded = header(r.req, 'x-amz-decoded-content-length');
    if (decoded !== undefined && Number(decoded) !== staged.size) {
      throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the x-amz-decoded-content-length header', 400);
    }
  } catch (e) {
    await store.discard(staged.tmp);
    throw e;
  }
  const meta = await store.commit(r.bucket, r.key, staged, { ...attributes, ...(checksum ? { checksum } : {}) }, {
    ifMatch: header(r.req, 'if-match'),
    ifNoneMatch: header(r.req, 'if-none-match'),
  });
  r.res.setHeader('ETag', meta.etag);
  setEncryptionHeaders(r.res, meta.sse, r.ctx.region, r.ctx.accountId);
  setVersionHeader(r.res, meta, info.versioning !== undefined);
  setChecksumHeaders(r.res, meta);
  sendEmpty(r.res, 200);
}

// ---- GetObject / HeadObject ----

/** GetObject and HeadObject: a version, a range or a part, with conditionals and the object's headers. */
export async function getObject(r: S3Request): Promise<void> {
  const { store } = r.ctx;
  const info = await store.bucketInfo(r.bucket);
  const partParam = r.query.get('partNumber');
  const opened = await store.openForRead(r.bucket, r.key, versionParam(r), true);
  const { meta: m, handle } = opened!;
  try {
    checkReadConditions(r.req, m);
    checkReadKey(r.req, m.sse);
    if (m.storageClass && ARCHIVED_CLASSES.has(m.storageClass) && r.method === 'GET') {
      throw new S3Error('InvalidObjectState', "The operation is not valid for the object's storage class", 403, { StorageClass: m.storageClass });
    }
    let range = parseRange(header(r.req, 'range'), m.size);
    let part: number | undefined;
    if (partParam !== null) {
      if (range) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter', 400);
      part = Number(partParam);
      const parts = m.parts ?? [{ size: m.size }];
      if (!Number.isInteger(part) || part < 1 || part > 10_000) throw s3Errors.invalidArgument('Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: partParam });
      if (part > parts.length) throw new S3Error('InvalidPartNumber', 'The requested partnumber is not satisfiable', 416, { PartNumberRequested: String(part), ActualPartCount: String(parts.length) });
      const start = parts.slice(0, part - 1).reduce((s, p) => s + p.size, 0);
      if (m.parts) range = { start, end: start + parts[part - 1]!.size - 1 };
      else part = undefined; // part 1 of a single-part object is the object
    }
    setObjectHeaders(r.ctx, r.req, r.res, m, { versioned: info.versioning !== undefined, wholeObject: !range, ...(part !== undefined ? { part } : {}) });
    for (const [param, hdr] of [
      ['response-content-type', 'Content-Type'], ['response-content-disposition', 'Content-Disposition'],
      ['response-cache-control', 'Cache-Control'], ['response-content-encoding', 'Content-Encoding'],
      ['response-content-language', 'Content-Language'], ['response-expires', 'Expires'],
    ] as const) {
      const v = r.query.get(param);
      if (v) r.res.setHeader(hdr, v);
    }
    if (range && range.end >= range.start) {
      r.res.statusCode = 206;
      r.res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${m.size}`);
      r.res.setHeader('Content-Length', range.end - range.start + 1);
    } else {
      r.res.statusCode = 200;
      r.res.setHeader('Content-Length', m.size);
    }
    if (r.method === 'HEAD' || m.size === 0) {
      r.res.end();
      return;
    }
    const file = handle.createReadStream({ start: range?.start ?? 0, end: range?.end ?? m.size - 1, autoClose: false });
    await new Promise<void>((resolve, reject) => {
      file.on('error', reject);
      r.res.on('close', resolve);
      file.pipe(r.res);
    });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

// ---- CopyObject ----

/** CopyObject: from a (version of a) source object, copying or replacing metadata and tags. */
export async function copyObject(r: S3Request): Promise<void> {
  const { store } = r.ctx;
  const src = r.call.copySource;
  if (!src) throw s3Errors.invalidArgument(`Copy Source must mention the source bucket and key: sourcebucket/sourcekey (got "${header(r.req, 'x-amz-copy-source')}")`);
  const info = await store.bucketInfo(r.bucket);
  const srcInfo = await store.bucketInfo(src.bucket);
  const opened = await store.openForRead(src.bucket, src.key, src.versionId, true);
  const { meta: m, handle } = opened!;
  try {
    checkCopySourceConditions(r.req, m);
    checkReadKey(r.req, m.sse, true);
    const replace = header(r.req, 'x-amz-metadata-directive') === 'REPLACE';
    const taggingDirective = header(r.req, 'x-amz-tagging-directive');
    const changesSomething = replace || ['x-amz-server-side-encryption', 'x-amz-storage-class', 'x-amz-website-redirect-location', 'x-amz-server-side-encryption-customer-algorithm'].some((h) => r.req.headers[h] !== undefined);
    if (!changesSomething && src.bucket === r.bucket && src.key === r.key && src.versionId === undefined) {
      throw new S3Error('InvalidRequest', "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.", 400);
    }
    const requested = parseChecksumAlgorithm(header(r.req, 'x-amz-checksum-algorithm') ?? header(r.req, 'x-amz-sdk-checksum-algorithm'));
    const algorithm = requested ?? m.checksum?.algorithm;
    const base = replace
      ? writeAttributes(r.req, info)
      : {
          contentType: m.contentType, userMetadata: m.userMetadata, contentEncoding: m.contentEncoding, cacheControl: m.cacheControl,
          contentDisposition: m.contentDisposition, contentLanguage: m.contentLanguage, expires: m.expires,
          sse: requestedEncryption(r.req, info),
          ...(header(r.req, 'x-amz-storage-class') ? { storageClass: header(r.req, 'x-amz-storage-class') } : m.storageClass ? { storageClass: m.storageClass } : {}),
        };
    const tags = taggingDirective === 'REPLACE' ? parseTaggingHeader(header(r.req, 'x-amz-tagging') ?? '') : m.tags;
    const acl = checkCannedAcl(header(r.req, 'x-amz-acl'), info);
    const staged = await store.stage(handle.createReadStream({ autoClose: false }), { checksums: algorithm ? [algorithm] : [] });
    const checksum: StoredChecksum | undefined = algorithm ? { algorithm, value: staged.checksums[algorithm]!, type: 'FULL_OBJECT' } : undefined;
    const meta = await store.commit(
      r.bucket,
      r.key,
      staged,
      { ...base, ...(tags?.length ? { tags } : {}), ...(acl && acl !== 'private' ? { acl } : {}), ...(checksum ? { checksum } : {}) },
      { ifMatch: header(r.req, 'if-match'), ifNoneMatch: header(r.req, 'if-none-match') },
    );
    setEncryptionHeaders(r.res, meta.sse, r.ctx.region, r.ctx.accountId);
    setVersionHeader(r.res, meta, info.versioning !== undefined);
    if (srcInfo.versioning !== undefined) r.res.setHeader('x-amz-copy-source-version-id', versionIdOf(m));
    sendXml(r.res, 200, xml('CopyObjectResult', { LastModified: meta.lastModified, ETag: meta.etag, ...checksumXmlFields(meta.checksum) }));
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** The `x-amz-copy-source-if-*` conditions of CopyObject and UploadPartCopy (412 when unmet). */
export function checkCopySourceConditions(req: IncomingMessage, m: ObjectMeta): void {
  const cim = header(req, 'x-amz-copy-source-if-match');
  if (cim !== undefined && !etagMatches(cim, m.etag)) throw s3Errors.preconditionFailed('x-amz-copy-source-If-Match');
  const cinm = header(req, 'x-amz-copy-source-if-none-match');
  if (cinm !== undefined && etagMatches(cinm, m.etag)) throw s3Errors.preconditionFailed('x-amz-copy-source-If-None-Match');
  const cius = header(req, 'x-amz-copy-source-if-unmodified-since');
  if (cim === undefined && cius && Date.parse(m.lastModified) > Date.parse(cius) + 999) throw s3Errors.preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
  const cims = header(req, 'x-amz-copy-source-if-modified-since');
  if (cinm === undefined && cims && Date.parse(m.lastModified) <= Date.parse(cims) + 999) throw s3Errors.preconditionFailed('x-amz-copy-source-If-Modified-Since');
}

// ---- DeleteObject / DeleteObjects ----

/** DeleteObject: the object, a version, or a delete marker in a versioned bucket. */
export async function deleteObject(r: S3Request): Promise<void> {
  const out = await r.ctx.store.delete(r.bucket, r.key, { ifMatch: header(r.req, 'if-match'), versionId: versionParam(r) });
  if (out.versioned) {
    if (out.deleteMarker) r.res.setHeader('x-amz-delete-marker', 'true');
    if (out.versionId !== undefined || out.deleteMarker || versionParam(r) === 'null') r.res.setHeader('x-amz-version-id', out.versionId ?? 'null');
  }
  sendEmpty(r.res, 204);
}

/** DeleteObjects: up to 1000 keys, each authorized and reported on its own. */
export async function deleteObjects(r: S3Request): Promise<void> {
  const { store } = r.ctx;
  await store.requireBucket(r.bucket);
  const body = (await readVerifiedBody(r.req)).toString('utf8');
  const doc = parseXml<{ Object?: Array<{ Key?: unknown; VersionId?: unknown; ETag?: unknown }>; Quiet?: unknown }>(body, 'Delete');
  const objects = doc.Object ?? [];
  if (objects.length > 1000) throw s3Errors.malformedXml('DeleteObjects takes at most 1000 keys per request');
  const quiet = text(doc.Quiet).trim() === 'true';
  const deleted: Array<Record<string, unknown>> = [];
  const errors: Array<Record<string, unknown>> = [];
  for (const o of objects) {
    const key = text(o.Key);
    const versionId = text(o.VersionId) || undefined;
    try {
      if (r.ctx.authorize) {
        const q = new URLSearchParams(versionId ? { versionId } : {});
        await r.ctx.authorize({ operation: 'DeleteObject', bucket: r.bucket, key, query: q, headers: r.req.headers });
      }
      const out = await store.delete(r.bucket, key, { ifMatch: text(o.ETag) || undefined, ...(versionId ? { versionId } : {}) });
      deleted.push({
        Key: key,
        ...(versionId ? { VersionId: versionId } : {}),
        ...(out.deleteMarker ? { DeleteMarker: true } : {}),
        ...(out.deleteMarker && !versionId ? { DeleteMarkerVersionId: out.versionId ?? 'null' } : {}),
      });
    } catch (e) {
      if (e instanceof S3Error) errors.push({ Key: key, ...(versionId ? { VersionId: versionId } : {}), Code: e.code, Message: e.message });
      else throw e;
    }
  }
  sendXml(r.res, 200, xml('DeleteResult', { ...(quiet ? {} : { Deleted: deleted }), Error: errors }));
}

// ---- GetObjectAttributes ----

/** GetObjectAttributes: the attributes named in `x-amz-object-attributes`. */
export async function getObjectAttributes(r: S3Request): Promise<void> {
  const { store } = r.ctx;
  const info = await store.bucketInfo(r.bucket);
  const m = await store.headVersion(r.bucket, r.key, versionParam(r));
  checkReadKey(r.req, m.sse);
  const wanted = new Set((header(r.req, 'x-amz-object-attributes') ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  if (wanted.size === 0) throw s3Errors.invalidArgument('Invalid attribute name specified.', { ArgumentName: 'x-amz-object-attributes', ArgumentValue: '' });
  const body: Record<string, unknown> = {};
  if (wanted.has('ETag')) body.ETag = m.etag.replace(/"/g, '');
  if (wanted.has('Checksum') && m.checksum) body.Checksum = checksumXmlFields(m.checksum);
  if (wanted.has('ObjectParts') && m.parts) {
    const max = Math.min(1000, Number(header(r.req, 'x-amz-max-parts') ?? 1000));
    const marker = Number(header(r.req, 'x-amz-part-number-marker') ?? 0);
    const all = m.parts.map((p, i) => ({ PartNumber: i + 1, Size: p.size, ...(p.checksum && m.checksum ? { [checksumField(m.checksum.algorithm)]: p.checksum } : {}) }));
    const page = all.filter((p) => p.PartNumber > marker).slice(0, max);
    const truncated = all.filter((p) => p.PartNumber > marker).length > page.length;
    body.ObjectParts = {
      PartsCount: m.parts.length, PartNumberMarker: marker, MaxParts: max, IsTruncated: truncated,
      ...(truncated ? { NextPartNumberMarker: page[page.length - 1]!.PartNumber } : {}), Part: page,
    };
  }
  if (wanted.has('StorageClass')) body.StorageClass = m.storageClass ?? 'STANDARD';
  if (wanted.has('ObjectSize')) body.ObjectSize = m.size;
  r.res.setHeader('Last-Modified', httpDate(m.lastModified));
  setVersionHeader(r.res, m, info.versioning !== undefined);
  sendXml(r.res, 200, xml('GetObjectAttributesResponse', body));
}

// ---- tagging ----

/** GetObjectTagging. */
export async function getObjectTagging(r: S3Request): Promise<void> {
  const info = await r.ctx.store.bucketInfo(r.bucket);
  const m = await r.ctx.store.headVersion(r.bucket, r.key, versionParam(r));
  setVersionHeader(r.res, m, info.versioning !== undefined);
  sendXml(r.res, 200, taggingXml(m.tags ?? []));
}

/** PutObjectTagging (replaces the tag set). */
export async function putObjectTagging(r: S3Request): Promise<void> {
  const info = await r.ctx.store.bucketInfo(r.bucket);
  const tags = parseTaggingXml((await readVerifiedBody(r.req)).toString('utf8'), 10);
  const m = await r.ctx.store.updateAttributes(r.bucket, r.key, versionParam(r), (x) => {
    if (tags.length) x.tags = tags;
    else delete x.tags;
  });
  setVersionHeader(r.res, m, info.versioning !== undefined);
  sendEmpty(r.res, 200);
}

/** DeleteObjectTagging. */
export async function deleteObjectTagging(r: S3Request): Promise<void> {
  const info = await r.ctx.store.bucketInfo(r.bucket);
  const m = await r.ctx.store.updateAttributes(r.bucket, r.key, versionParam(r), (x) => {
    delete x.tags;
  });
  setVersionHeader(r.res, m, info.versioning !== undefined);
  sendEmpty(r.res, 204);
}

// ---- ACLs ----

/** An `<AccessControlPolicy>`: the owner with FULL_CONTROL, plus what a canned ACL grants. */
export function aclXml(accountId: string, canned: string | undefined): string {
  const owner = { ID: accountId, DisplayName: 'lakeloader' };
  const grant = (grantee: Record<string, unknown>, permission: string) => ({ Grantee: { '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', ...grantee }, Permission: permission });
  const grants = [grant({ '@_xsi:type': 'CanonicalUser', ...owner }, 'FULL_CONTROL')];
  const allUsers = { '@_xsi:type': 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' };
  if (canned === 'public-read' || canned === 'public-read-write') grants.push(grant(allUsers, 'READ'));
  if (canned === 'public-read-write') grants.push(grant(allUsers, 'WRITE'));
  if (canned === 'authenticated-read') grants.push(grant({ '@_xsi:type': 'Group', URI: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers' }, 'READ'));
  return xml('AccessControlPolicy', { Owner: owner, AccessControlList: { Grant: grants } });
}

/**
 * The ACL a PutBucketAcl / PutObjectAcl request sets: a canned `x-amz-acl`, or an
 * `<AccessControlPolicy>` body (refused when the bucket has ACLs disabled, as S3 does).
 */
export async function requestedAcl(r: S3Request): Promise<string> {
  const info = await r.ctx.store.bucketInfo(r.bucket);
  const canned = header(r.req, 'x-amz-acl');
  const body = (await readVerifiedBody(r.req)).toString('utf8');
  if (canned !== undefined) return checkCannedAcl(canned, info)!;
  if (!body.trim()) throw new S3Error('MissingSecurityHeader', 'Your request was missing a required header', 400, { MissingHeaderName: 'x-amz-acl' });
  parseXml(body, 'AccessControlPolicy');
  if (objectOwnership(info) === 'BucketOwnerEnforced') throw new S3Error('AccessControlListNotSupported', 'The bucket does not allow ACLs', 400);
  return 'private';
}

/** GetObjectAcl: the owner's FULL_CONTROL plus what the canned ACL grants. */
export async function getObjectAcl(r: S3Request): Promise<void> {
  const m = await r.ctx.store.headVersion(r.bucket, r.key, versionParam(r));
  sendXml(r.res, 200, aclXml(r.ctx.accountId, m.acl));
}

/** PutObjectAcl: a canned ACL (or a document where ACLs are enabled). */
export async function putObjectAcl(r: S3Request): Promise<void> {
  const acl = await requestedAcl(r);
  await r.ctx.store.updateAttributes(r.bucket, r.key, versionParam(r), (x) => {
    if (acl === 'private') delete x.acl;
    else x.acl = acl;
  });
  sendEmpty(r.res, 200);
}
