/**
 * What a write request (PutObject, CopyObject with `REPLACE`, CreateMultipartUpload) says the
 * object carries: content headers, user metadata, encryption, tags, storage class and canned ACL,
 * validated as S3 validates them.
 */
import type { IncomingMessage } from 'node:http';
import { S3Error } from '../errors';
import type { BucketInfo, ObjectAttributes } from '../store';
import { requestedEncryption } from './encryption';
import { header, userMetadata } from './request';
import { parseTaggingHeader } from './tagging';
import { parseXml, text } from './xml';

const STORAGE_CLASSES = new Set([
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'OUTPOSTS', 'GLACIER_IR', 'SNOW', 'EXPRESS_ONEZONE',
]);
/** Storage classes whose objects must be restored before a GET. */
export const ARCHIVED_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);
const CANNED_ACLS = new Set(['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control']);

/** The bucket's object ownership (`BucketOwnerEnforced` — ACLs disabled — is S3's default since 2023). */
export function objectOwnership(bucket: BucketInfo): string {
  const doc = bucket.config?.ownershipControls;
  if (!doc) return 'BucketOwnerEnforced';
  const c = parseXml<{ Rule?: { ObjectOwnership?: unknown } }>(doc, 'OwnershipControls');
  return text(c.Rule?.ObjectOwnership) || 'BucketOwnerEnforced';
}

/**
 * Checks a canned ACL (`x-amz-acl`) against the bucket: with ACLs disabled only `private` and
 * `bucket-owner-full-control` are accepted, as in S3.
 * @throws S3Error InvalidArgument / AccessControlListNotSupported
 */
export function checkCannedAcl(acl: string | undefined, bucket: BucketInfo): string | undefined {
  if (acl === undefined) return undefined;
  if (!CANNED_ACLS.has(acl)) throw new S3Error('InvalidArgument', `Invalid canned ACL "${acl}"`, 400, { ArgumentName: 'x-amz-acl', ArgumentValue: acl });
  if (objectOwnership(bucket) === 'BucketOwnerEnforced' && acl !== 'private' && acl !== 'bucket-owner-full-control') {
    throw new S3Error('AccessControlListNotSupported', 'The bucket does not allow ACLs', 400);
  }
  return acl;
}

/** The attributes of an object written by `req` into `bucket`. */
export function writeAttributes(req: IncomingMessage, bucket: BucketInfo): ObjectAttributes {
  const storageClass = header(req, 'x-amz-storage-class');
  if (storageClass !== undefined && !STORAGE_CLASSES.has(storageClass)) throw new S3Error('InvalidStorageClass', 'The storage class you specified is not valid', 400, { StorageClassRequested: storageClass });
  const tagging = header(req, 'x-amz-tagging');
  const acl = checkCannedAcl(header(req, 'x-amz-acl'), bucket);
  const opt = (name: string) => header(req, name) || undefined;
  return {
    contentType: header(req, 'content-type') ?? 'binary/octet-stream',
    userMetadata: userMetadata(req),
    contentEncoding: header(req, 'content-encoding')?.replace(/,?\s*aws-chunked/, '').replace(/^,\s*/, '') || undefined,
    cacheControl: opt('cache-control'),
    contentDisposition: opt('content-disposition'),
    contentLanguage: opt('content-language'),
    expires: opt('expires'),
    sse: requestedEncryption(req, bucket),
    ...(tagging ? { tags: parseTaggingHeader(tagging) } : {}),
    ...(storageClass && storageClass !== 'STANDARD' ? { storageClass } : {}),
    ...(acl && acl !== 'private' ? { acl } : {}),
  };
}
