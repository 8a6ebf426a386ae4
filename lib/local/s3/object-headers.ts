/**
 * The response headers that describe a stored object (GET, HEAD and the write responses): ETag,
 * content headers, user metadata, encryption, version id, tag count, parts count, and — when the
 * client asks with `x-amz-checksum-mode: ENABLED` — the stored checksum and its type.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { versionIdOf, type ObjectMeta } from '../store';
import { checksumHeader } from './checksums';
import { setEncryptionHeaders } from './encryption';
import { header, httpDate, type S3Context } from './request';

/** True when the client asked for checksums (`x-amz-checksum-mode: ENABLED`). */
export const wantsChecksum = (req: IncomingMessage) => header(req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED';

/** Sets `x-amz-checksum-<algorithm>` and `x-amz-checksum-type` from a stored checksum. */
export function setChecksumHeaders(res: ServerResponse, m: Pick<ObjectMeta, 'checksum'>): void {
  if (!m.checksum) return;
  res.setHeader(checksumHeader(m.checksum.algorithm), m.checksum.value);
  res.setHeader('x-amz-checksum-type', m.checksum.type);
}

/** Sets `x-amz-version-id` when the bucket is versioned. */
export function setVersionHeader(res: ServerResponse, m: ObjectMeta, versioned: boolean): void {
  if (versioned) res.setHeader('x-amz-version-id', versionIdOf(m));
}

/**
 * Sets the headers of a GET/HEAD response for `m`.
 * @param part the part read with `partNumber` (its checksum replaces the object's)
 */
export function setObjectHeaders(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  m: ObjectMeta,
  opts: { versioned: boolean; wholeObject: boolean; part?: number },
): void {
  res.setHeader('ETag', m.etag);
  res.setHeader('Last-Modified', httpDate(m.lastModified));
  res.setHeader('Content-Type', m.contentType);
  res.setHeader('Accept-Ranges', 'bytes');
  if (m.contentEncoding) res.setHeader('Content-Encoding', m.contentEncoding);
  if (m.cacheControl) res.setHeader('Cache-Control', m.cacheControl);
  if (m.contentDisposition) res.setHeader('Content-Disposition', m.contentDisposition);
  if (m.contentLanguage) res.setHeader('Content-Language', m.contentLanguage);
  if (m.expires) res.setHeader('Expires', m.expires);
  for (const [k, v] of Object.entries(m.userMetadata)) res.setHeader(`x-amz-meta-${k}`, v);
  setEncryptionHeaders(res, m.sse, ctx.region, ctx.accountId);
  setVersionHeader(res, m, opts.versioned);
  if (m.storageClass && m.storageClass !== 'STANDARD') res.setHeader('x-amz-storage-class', m.storageClass);
  if (m.tags?.length) res.setHeader('x-amz-tagging-count', String(m.tags.length));
  if (m.parts && opts.part !== undefined) res.setHeader('x-amz-mp-parts-count', String(m.parts.length));
  if (wantsChecksum(req)) {
    if (opts.part !== undefined && m.parts) {
      const p = m.parts[opts.part - 1];
      // A part's own checksum exists for a COMPOSITE object (parts and object share the algorithm).
      if (p?.checksum && m.checksum?.type === 'COMPOSITE') {
        res.setHeader(checksumHeader(m.checksum.algorithm), p.checksum);
        res.setHeader('x-amz-checksum-type', m.checksum.type);
      }
    } else if (opts.wholeObject) setChecksumHeaders(res, m);
  }
}
