/**
 * Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload
 * (S3's `"<md5 of the part MD5s>-<parts>"` ETag, full-object or composite checksums), AbortMultipartUpload,
 * ListParts and ListMultipartUploads — with S3's rules: part numbers 1..10,000, every part but
 * the last at least 5 MiB, parts listed in ascending order with matching ETags and checksums.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { S3Error, s3Errors } from '../errors';
import { type ObjectMeta } from '../store';
import { checksumField, checksumHeader, compositeChecksum, defaultChecksumType, isChecksumValue, parseChecksumAlgorithm, supportsFullObject, type ChecksumType, type StoredChecksum } from './checksums';
import { checkReadKey, setEncryptionHeaders } from './encryption';
import { readVerifiedBody, requestedChecksum, verifyStaged } from './integrity';
import { noSuchUpload, type PartRecord, type UploadRecord } from './multipart-store';
import { checkCopySourceConditions, checksumXmlFields, parseRange } from './objects';
import { setVersionHeader } from './object-headers';
import { bodyOf, header, type S3Request } from './request';
import { writeAttributes } from './write-attributes';
import { parseXml, sendEmpty, sendXml, text, xml } from './xml';

/** The smallest part S3 accepts, except for the last one. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;

const owner = (accountId: string) => ({ ID: accountId, DisplayName: 'lakeloader' });

function partNumberOf(r: S3Request): number {
  const raw = r.query.get('partNumber');
  const n = Number(raw);
  if (raw === null || !Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
    throw s3Errors.invalidArgument('Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: String(raw) });
  }
  return n;
}

function uploadIdOf(r: S3Request): string {
  const id = r.query.get('uploadId');
  if (!id) throw noSuchUpload('');
  return id;
}

// ---- CreateMultipartUpload ----

/** CreateMultipartUpload: records the object attributes and the checksum algorithm/type for the completion. */
export async function createMultipartUpload(r: S3Request): Promise<void> {
  const { store, uploads } = r.ctx;
  const info = await store.bucketInfo(r.bucket);
  const attributes = writeAttributes(r.req, info);
  const named = header(r.req, 'x-amz-checksum-algorithm');
  const algorithm = parseChecksumAlgorithm(named);
  if (named !== undefined && !algorithm) throw new S3Error('InvalidRequest', 'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]', 400);
  const typeHeader = header(r.req, 'x-amz-checksum-type')?.toUpperCase();
  if (typeHeader !== undefined && typeHeader !== 'COMPOSITE' && typeHeader !== 'FULL_OBJECT') throw new S3Error('InvalidRequest', `Value for x-amz-checksum-type header is invalid.`, 400);
  if (typeHeader && !algorithm) throw new S3Error('InvalidRequest', 'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.', 400);
  let checksum: UploadRecord['checksum'];
  if (algorithm) {
    const type = (typeHeader as ChecksumType | undefined) ?? defaultChecksumType(algorithm);
    if (type === 'FULL_OBJECT' && !supportsFullObject(algorithm)) throw new S3Error('InvalidRequest', `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`, 400);
    if (type === 'COMPOSITE' && algorithm === 'CRC64NVME') throw new S3Error('InvalidRequest', 'The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.', 400);
    checksum = { algorithm, type };
  }
  const rec = await uploads.create(r.bucket, r.key, attributes, checksum);
  setEncryptionHeaders(r.res, attributes.sse, r.ctx.region, r.ctx.accountId);
  if (checksum) {
    r.res.setHeader('x-amz-checksum-algorithm', checksum.algorithm);
    r.res.setHeader('x-amz-checksum-type', checksum.type);
  }
  sendXml(r.res, 200, xml('InitiateMultipartUploadResult', { Bucket: r.bucket, Key: r.key, UploadId: rec.uploadId }));
}

// ---- UploadPart / UploadPartCopy ----

/** The algorithm a part is hashed with: the upload's, else what the part request names, else CRC64NVME. */
function partAlgorithm(rec: UploadRecord, r: S3Request) {
  const requested = requestedChecksum(r.req);
  if (rec.checksum && requested && !requested.implicit && requested.algorithm !== rec.checksum.algorithm) {
    throw new S3Error('InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${rec.checksum.algorithm.toLowerCase()}, actual checksum Type: ${requested.algorithm.toLowerCase()}`, 400);
  }
  if (rec.checksum && (!requested || requested.implicit)) return { algorithm: rec.checksum.algorithm };
  return requested;
}

/** UploadPart: stages the part, verifies its checksum and stores it under the upload. */
export async function uploadPart(r: S3Request): Promise<void> {
  const { store, uploads } = r.ctx;
  await store.requireBucket(r.bucket);
  const uploadId = uploadIdOf(r);
  const partNumber = partNumberOf(r);
  const { record } = await uploads.get(uploadId, r.bucket, r.key);
  const requested = partAlgorithm(record, r);
  const body = bodyOf(r.req);
  const staged = await store.stage(body.stream, { checksums: requested ? [requested.algorithm] : [] });
  let checksum: StoredChecksum | undefined;
  try {
    checksum = verifyStaged(r.req, staged, requested, body.trailers());
    if (record.attributes.sse?.customerKeyMd5) checkReadKey(r.req, record.attributes.sse);
    await uploads.putPart(uploadId, r.bucket, r.key, staged.tmp, {
      partNumber, etag: staged.etag, size: staged.size, lastModified: new Date().toISOString(), ...(checksum ? { checksum: checksum.value, checksumAlgorithm: checksum.algorithm } : {}),
    });
  } catch (e) {
    await store.discard(staged.tmp);
    throw e;
  }
  r.res.setHeader('ETag', staged.etag);
  setEncryptionHeaders(r.res, record.attributes.sse, r.ctx.region, r.ctx.accountId);
  if (checksum && (record.checksum || !requested?.implicit)) r.res.setHeader(checksumHeader(checksum.algorithm), checksum.value);
  sendEmpty(r.res, 200);
}

/** UploadPartCopy: a part from (a byte range of) an existing object. */
export async function uploadPartCopy(r: S3Request): Promise<void> {
  const { store, uploads } = r.ctx;
  await store.requireBucket(r.bucket);
  const uploadId = uploadIdOf(r);
  const partNumber = partNumberOf(r);
  const { record } = await uploads.get(uploadId, r.bucket, r.key);
  const src = r.call.copySource;
  if (!src) throw s3Errors.invalidArgument(`Copy Source must mention the source bucket and key: sourcebucket/sourcekey (got "${header(r.req, 'x-amz-copy-source')}")`);
  const srcInfo = await store.bucketInfo(src.bucket);
  const opened = await store.openForRead(src.bucket, src.key, src.versionId, true);
  const { meta: m, handle } = opened!;
  const algorithm = record.checksum?.algorithm ?? 'CRC64NVME';
  let staged;
  try {
    checkCopySourceConditions(r.req, m);
    checkReadKey(r.req, m.sse, true);
    const rangeHeader = header(r.req, 'x-amz-copy-source-range');
    let range: { start: number; end: number } | undefined;
    if (rangeHeader !== undefined) {
      const mm = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim());
      if (!mm) throw s3Errors.invalidArgument('The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: rangeHeader });
      range = parseRange(rangeHeader, m.size);
      if (Number(mm[2]) >= m.size) throw new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, { RangeRequested: rangeHeader, ActualObjectSize: String(m.size) });
    }
    staged = await store.stage(handle.createReadStream({ start: range?.start ?? 0, end: range?.end ?? Math.max(0, m.size - 1), autoClose: false }), { checksums: [algorithm] });
  } finally {
    await handle.close().catch(() => undefined);
  }
  const checksum = staged.checksums[algorithm];
  try {
    await uploads.putPart(uploadId, r.bucket, r.key, staged.tmp, {
      partNumber, etag: staged.etag, size: staged.size, lastModified: new Date().toISOString(), ...(checksum ? { checksum, checksumAlgorithm: algorithm } : {}),
    });
  } catch (e) {
    await store.discard(staged.tmp);
    throw e;
  }
  if (srcInfo.versioning !== undefined) r.res.setHeader('x-amz-copy-source-version-id', m.versionId ?? 'null');
  setEncryptionHeaders(r.res, record.attributes.sse, r.ctx.region, r.ctx.accountId);
  sendXml(r.res, 200, xml('CopyPartResult', {
    LastModified: new Date().toISOString(), ETag: staged.etag,
    ...(record.checksum && checksum ? { [checksumField(algorithm)]: checksum } : {}),
  }));
}

// ---- CompleteMultipartUpload ----

const invalidPart = () =>
  new S3Error('InvalidPart', "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", 400);

/** CompleteMultipartUpload: checks the listed parts, concatenates them and commits the object (conditions honoured). */
export async function completeMultipartUpload(r: S3Request): Promise<void> {
  const { store, uploads } = r.ctx;
  const info = await store.bucketInfo(r.bucket);
  const uploadId = uploadIdOf(r);
  const body = (await readVerifiedBody(r.req)).toString('utf8');
  const doc = parseXml<{ Part?: Array<Record<string, unknown>> }>(body, 'CompleteMultipartUpload');
  const listed = doc.Part ?? [];
  if (listed.length === 0) throw s3Errors.malformedXml('a CompleteMultipartUpload needs at least one <Part>');
  const m = await uploads.locked(uploadId, async () => {
    const { record, parts } = await uploads.get(uploadId, r.bucket, r.key);
    const byNumber = new Map(parts.map((p) => [p.partNumber, p]));
    const chosen: PartRecord[] = [];
    let last = 0;
    for (const lp of listed) {
      const n = Number(text(lp.PartNumber));
      if (!Number.isInteger(n) || n <= last) {
        throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.', 400, { UploadId: uploadId });
      }
      last = n;
      const p = byNumber.get(n);
      if (!p || text(lp.ETag).replace(/"/g, '') !== p.etag.replace(/"/g, '')) throw invalidPart();
      if (record.checksum) {
        const given = text(lp[checksumField(record.checksum.algorithm)]);
        if (given && given !== p.checksum) throw invalidPart();
      }
      chosen.push(p);
    }
    for (let i = 0; i < chosen.length - 1; i++) {
      if (chosen[i]!.size < MIN_PART_SIZE) {
        throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', 400, {
          ProposedSize: String(chosen[i]!.size), MinSizeAllowed: String(MIN_PART_SIZE), PartNumber: String(chosen[i]!.partNumber), ETag: chosen[i]!.etag,
        });
      }
    }
    const etag = `"${createHash('md5').update(Buffer.concat(chosen.map((p) => Buffer.from(p.etag.replace(/"/g, ''), 'hex')))).digest('hex')}-${chosen.length}"`;
    const type = record.checksum?.type ?? 'FULL_OBJECT';
    const algorithm = record.checksum?.algorithm ?? 'CRC64NVME';
    const stream = Readable.from((async function* () {
      for (const p of chosen) yield* createReadStream(uploads.partFile(uploadId, p.partNumber));
    })());
    const staged = await store.stage(stream, { checksums: type === 'FULL_OBJECT' ? [algorithm] : [] });
    try {
      let value: string;
      if (type === 'FULL_OBJECT') value = staged.checksums[algorithm]!;
      else {
        if (chosen.some((p) => p.checksum === undefined)) throw invalidPart();
        value = await compositeChecksum(algorithm, chosen.map((p) => p.checksum!));
      }
      const expected = header(r.req, checksumHeader(algorithm));
      if (record.checksum && expected !== undefined) {
        const bare = expected.replace(/-\d+$/, '');
        if (!isChecksumValue(algorithm, bare)) throw new S3Error('InvalidRequest', `Value for ${checksumHeader(algorithm)} header is invalid.`, 400);
        if (bare !== value.replace(/-\d+$/, '')) throw new S3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`, 400);
      }
      const size = header(r.req, 'x-amz-mp-object-size');
      if (size !== undefined && Number(size) !== staged.size) {
        throw new S3Error('InvalidRequest', `The provided 'x-amz-mp-object-size' header value ${size} does not match what was computed: ${staged.size}`, 400);
      }
      const checksum: StoredChecksum = { algorithm, value, type };
      const committed: ObjectMeta = await store.commit(
        r.bucket,
        r.key,
        { tmp: staged.tmp, size: staged.size, etag },
        // Part checksums are kept when they are in the object's algorithm (for partNumber reads and attributes).
        { ...record.attributes, checksum, parts: chosen.map((p) => ({ size: p.size, ...(p.checksum && p.checksumAlgorithm === algorithm ? { checksum: p.checksum } : {}) })) },
        { ifMatch: header(r.req, 'if-match'), ifNoneMatch: header(r.req, 'if-none-match') },
      );
      await uploads.remove(uploadId);
      return committed;
    } catch (e) {
      await store.discard(staged.tmp);
      throw e;
    }
  });
  setEncryptionHeaders(r.res, m.sse, r.ctx.region, r.ctx.accountId);
  setVersionHeader(r.res, m, info.versioning !== undefined);
  const host = header(r.req, 'host') ?? '127.0.0.1';
  sendXml(r.res, 200, xml('CompleteMultipartUploadResult', {
    Location: `http://${host}/${encodeURIComponent(r.bucket)}/${r.key.split('/').map(encodeURIComponent).join('/')}`,
    Bucket: r.bucket,
    Key: r.key,
    ETag: m.etag,
    ...checksumXmlFields(m.checksum),
  }));
}

// ---- AbortMultipartUpload ----

/** AbortMultipartUpload: drops the upload and its parts. */
export async function abortMultipartUpload(r: S3Request): Promise<void> {
  const { store, uploads } = r.ctx;
  await store.requireBucket(r.bucket);
  const uploadId = uploadIdOf(r);
  await uploads.locked(uploadId, async () => {
    await uploads.get(uploadId, r.bucket, r.key);
    await uploads.remove(uploadId);
  });
  sendEmpty(r.res, 204);
}

// ---- ListParts ----

/** ListParts: the parts uploaded so far, paged by part number. */
export async function listParts(r: S3Request): Promise<void> {
  const { store, uploads } = r.ctx;
  await store.requireBucket(r.bucket);
  const uploadId = uploadIdOf(r);
  const { record, parts } = await uploads.get(uploadId, r.bucket, r.key);
  const max = Math.min(1000, Number(r.query.get('max-parts') ?? 1000));
  const marker = Number(r.query.get('part-number-marker') ?? 0);
  if (!Number.isInteger(max) || max < 0) throw s3Errors.invalidArgument('max-parts must be an integer between 0 and 2147483647', { ArgumentName: 'max-parts', ArgumentValue: String(r.query.get('max-parts')) });
  const after = parts.filter((p) => p.partNumber > marker);
  const page = after.slice(0, max);
  const truncated = after.length > page.length;
  const alg = record.checksum?.algorithm;
  sendXml(r.res, 200, xml('ListPartsResult', {
    Bucket: r.bucket, Key: r.key, UploadId: uploadId,
    PartNumberMarker: marker,
    ...(page.length ? { NextPartNumberMarker: page[page.length - 1]!.partNumber } : {}),
    MaxParts: max, IsTruncated: truncated,
    Part: page.map((p) => ({ PartNumber: p.partNumber, LastModified: p.lastModified, ETag: p.etag, Size: p.size, ...(alg && p.checksum ? { [checksumField(alg)]: p.checksum } : {}) })),
    Initiator: owner(r.ctx.accountId), Owner: owner(r.ctx.accountId),
    StorageClass: record.attributes.storageClass ?? 'STANDARD',
    ...(record.checksum ? { ChecksumAlgorithm: record.checksum.algorithm, ChecksumType: record.checksum.type } : {}),
  }));
}

// ---- ListMultipartUploads ----

/** ListMultipartUploads: uploads in progress, with prefix, delimiter and key/upload-id markers. */
export async function listMultipartUploads(r: S3Request): Promise<void> {
  const { store, uploads } = r.ctx;
  await store.requireBucket(r.bucket);
  const q = r.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const uploadIdMarker = q.get('upload-id-marker') ?? '';
  const max = Math.min(1000, Number(q.get('max-uploads') ?? 1000));
  if (!Number.isInteger(max) || max < 0) throw s3Errors.invalidArgument('max-uploads must be an integer between 0 and 2147483647', { ArgumentName: 'max-uploads', ArgumentValue: String(q.get('max-uploads')) });
  const all = (await uploads.list(r.bucket)).filter((u) => u.key.startsWith(prefix));
  // Past the markers: keys after key-marker, or the same key with an upload after upload-id-marker.
  let start = 0;
  if (keyMarker) {
    const i = all.findIndex((u) => u.key > keyMarker || (u.key === keyMarker && uploadIdMarker !== '' && u.uploadId === uploadIdMarker));
    start = i < 0 ? all.length : all[i]!.key === keyMarker ? i + 1 : i;
  }
  const items: UploadRecord[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let lastKey = '';
  let lastId = '';
  for (const u of all.slice(start)) {
    let cp: string | undefined;
    if (delimiter) {
      const d = u.key.indexOf(delimiter, prefix.length);
      if (d >= 0) cp = u.key.slice(0, d + delimiter.length);
    }
    if (cp !== undefined && prefixes[prefixes.length - 1] === cp) continue;
    if (items.length + prefixes.length >= max) {
      truncated = true;
      break;
    }
    if (cp !== undefined) prefixes.push(cp);
    else items.push(u);
    lastKey = cp ?? u.key;
    lastId = cp ? '' : u.uploadId;
  }
  sendXml(r.res, 200, xml('ListMultipartUploadsResult', {
    Bucket: r.bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker,
    ...(truncated ? { NextKeyMarker: lastKey, NextUploadIdMarker: lastId } : {}),
    ...(prefix ? { Prefix: prefix } : {}), ...(delimiter ? { Delimiter: delimiter } : {}),
    MaxUploads: max, IsTruncated: truncated,
    Upload: items.map((u) => ({
      Key: u.key, UploadId: u.uploadId, Initiator: owner(r.ctx.accountId), Owner: owner(r.ctx.accountId),
      StorageClass: u.attributes.storageClass ?? 'STANDARD', Initiated: u.initiated,
      ...(u.checksum ? { ChecksumAlgorithm: u.checksum.algorithm, ChecksumType: u.checksum.type } : {}),
    })),
    CommonPrefixes: prefixes.map((p) => ({ Prefix: p })),
  }));
}
