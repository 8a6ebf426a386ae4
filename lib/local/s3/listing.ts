/**
 * Listings: ListObjectsV2 and ListObjects (prefix, delimiter, max-keys, start-after/marker,
 * continuation tokens, `encoding-type=url`) and ListObjectVersions (versions and delete markers,
 * key/version-id markers). Keys in UTF-8 byte order, as S3 lists them.
 */
import { s3Errors } from '../errors';
import { compareKeys, versionIdOf, type ObjectMeta } from '../store';
import type { S3Request } from './request';
import { escapeXml, sendXml, xml, XMLNS } from './xml';

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
    throw s3Errors.invalidArgument('The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  }
}

function maxKeysOf(q: URLSearchParams): number {
  const raw = q.get('max-keys');
  const n = raw === null ? 1000 : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw s3Errors.invalidArgument('max-keys must be an integer between 0 and 2147483647', { ArgumentName: 'max-keys', ArgumentValue: String(raw) });
  return Math.min(1000, n);
}

/** First index in sorted `keys` whose key is >= `from`. */
function lowerBound(keys: string[], from: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(keys[mid]!, from) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const owner = (accountId: string) => ({ ID: accountId, DisplayName: 'lakeloader' });

/** ListObjects (v1) and ListObjectsV2. */
export async function listObjects(r: S3Request, v2: boolean): Promise<void> {
  const q = r.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = maxKeysOf(q);
  const token = v2 ? q.get('continuation-token') : null;
  const startAfter = v2 ? (q.get('start-after') ?? '') : (q.get('marker') ?? '');
  let after = token ? decodeToken(token).after : startAfter;
  if (prefix && compareKeys(after, prefix) < 0) after = '';
  const urlEncode = q.get('encoding-type') === 'url';
  const enc = (s: string) => (urlEncode ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  const withOwner = !v2 || q.get('fetch-owner') === 'true';

  const { keys, get } = await r.ctx.store.listing(r.bucket);
  const from = prefix && (!after || compareKeys(prefix, after) > 0) ? prefix : after;
  const contents: ObjectMeta[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let last = '';
  for (let i = lowerBound(keys, from); i < keys.length; i++) {
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
      const m = get(k);
      if (m) contents.push(m);
      last = k;
    }
  }
  // Built by hand, not with the XML builder: a listing is on the loader's hot path.
  const el = (name: string, value: string | number | boolean) => `<${name}>${typeof value === 'string' ? escapeXml(value) : value}</${name}>`;
  const parts: string[] = [`<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="${XMLNS}">`, el('Name', r.bucket), el('Prefix', enc(prefix))];
  if (delimiter) parts.push(el('Delimiter', enc(delimiter)));
  parts.push(el('MaxKeys', maxKeys));
  if (urlEncode) parts.push(el('EncodingType', 'url'));
  parts.push(el('IsTruncated', truncated));
  if (v2) {
    parts.push(el('KeyCount', contents.length + prefixes.length));
    if (token) parts.push(el('ContinuationToken', token));
    if (startAfter) parts.push(el('StartAfter', enc(startAfter)));
    if (truncated) parts.push(el('NextContinuationToken', encodeToken({ after: last })));
  } else {
    parts.push(el('Marker', enc(startAfter)));
    if (truncated && delimiter) parts.push(el('NextMarker', enc(last)));
  }
  const ownerXml = withOwner ? `<Owner><ID>${r.ctx.accountId}</ID><DisplayName>lakeloader</DisplayName></Owner>` : '';
  for (const m of contents) {
    parts.push(
      `<Contents>${el('Key', enc(m.key))}${el('LastModified', m.lastModified)}${el('ETag', m.etag)}` +
        // ChecksumAlgorithm as S3 lists it; not ChecksumType, which made the SDK's parse of a
        // 1,000-key page ~15 % slower (test/conformance/endpoint-bench.ts) for a field few read.
        (m.checksum ? `<ChecksumAlgorithm>${m.checksum.algorithm}</ChecksumAlgorithm>` : '') +
        `<Size>${m.size}</Size>${ownerXml}<StorageClass>${m.storageClass ?? 'STANDARD'}</StorageClass></Contents>`,
    );
  }
  for (const p of prefixes) parts.push(`<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`);
  parts.push('</ListBucketResult>');
  sendXml(r.res, 200, parts.join(''));
}

/** ListObjectVersions. */
export async function listObjectVersions(r: S3Request): Promise<void> {
  const { store } = r.ctx;
  await store.requireBucket(r.bucket);
  const q = r.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const versionIdMarker = q.get('version-id-marker') ?? '';
  if (versionIdMarker && !keyMarker) throw s3Errors.invalidArgument('A version-id marker cannot be specified without a key marker.', { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker });
  const maxKeys = maxKeysOf(q);
  const urlEncode = q.get('encoding-type') === 'url';
  const enc = (s: string) => (urlEncode ? encodeURIComponent(s).replace(/%2F/g, '/') : s);

  const keys = await store.sortedVersionedKeys(r.bucket);
  const versions: Array<Record<string, unknown>> = [];
  const markers: Array<Record<string, unknown>> = [];
  const prefixes: string[] = [];
  let count = 0;
  let truncated = false;
  let nextKey = '';
  let nextVersion = '';
  outer: for (let i = lowerBound(keys, prefix || keyMarker); i < keys.length; i++) {
    const k = keys[i]!;
    if (!k.startsWith(prefix)) {
      if (compareKeys(k, prefix) > 0) break;
      continue;
    }
    if (keyMarker && compareKeys(k, keyMarker) < 0) continue;
    if (keyMarker && k === keyMarker && !versionIdMarker) continue;
    if (delimiter) {
      const d = k.indexOf(delimiter, prefix.length);
      if (d >= 0) {
        const cp = k.slice(0, d + delimiter.length);
        if (prefixes[prefixes.length - 1] === cp || (keyMarker && keyMarker.startsWith(cp))) continue;
        if (count >= maxKeys) {
          truncated = true;
          break;
        }
        prefixes.push(cp);
        count++;
        nextKey = cp;
        nextVersion = '';
        continue;
      }
    }
    const list = await store.versionsOf(r.bucket, k);
    let skipping = keyMarker !== '' && k === keyMarker;
    for (let j = 0; j < list.length; j++) {
      const v = list[j]!;
      if (skipping) {
        if (versionIdOf(v) === versionIdMarker) skipping = false;
        continue;
      }
      if (count >= maxKeys) {
        truncated = true;
        break outer;
      }
      const common = { Key: enc(k), VersionId: versionIdOf(v), IsLatest: j === 0, LastModified: v.lastModified };
      if (v.deleteMarker) markers.push({ Owner: owner(r.ctx.accountId), ...common });
      else {
        versions.push({
          ...common, ETag: v.etag, Size: v.size, StorageClass: v.storageClass ?? 'STANDARD', Owner: owner(r.ctx.accountId),
          ...(v.checksum ? { ChecksumAlgorithm: v.checksum.algorithm, ChecksumType: v.checksum.type } : {}),
        });
      }
      count++;
      nextKey = k;
      nextVersion = versionIdOf(v);
    }
  }
  sendXml(r.res, 200, xml('ListVersionsResult', {
    Name: r.bucket,
    Prefix: enc(prefix),
    KeyMarker: enc(keyMarker),
    VersionIdMarker: versionIdMarker,
    ...(truncated ? { NextKeyMarker: enc(nextKey), ...(nextVersion ? { NextVersionIdMarker: nextVersion } : {}) } : {}),
    MaxKeys: maxKeys,
    ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
    ...(urlEncode ? { EncodingType: 'url' } : {}),
    IsTruncated: truncated,
    Version: versions,
    DeleteMarker: markers,
    CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
  }));
}
