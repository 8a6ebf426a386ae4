/**
 * Which S3 API operation a REST request is (path-style): method, bucket/key and sub-resource
 * query parameters → the operation's AWS name (`PutObject`, `UploadPartCopy`,
 * `GetBucketLifecycleConfiguration`, …). One table, used for routing, for `onRequest`, and by
 * the IAM check to map the call to its action.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** A resolved S3 call, as the endpoint routes it and an authorizer judges it. */
export interface S3Call {
  operation: string;
  bucket?: string;
  key?: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** CopyObject / UploadPartCopy: the source object. */
  copySource?: { bucket: string; key: string; versionId?: string };
}

/**
 * Bucket sub-resources the endpoint stores as documents, by query parameter: the operation
 * names per method.
 */
export const BUCKET_DOCUMENTS: Record<string, { get: string; put: string; delete?: string }> = {
  policy: { get: 'GetBucketPolicy', put: 'PutBucketPolicy', delete: 'DeleteBucketPolicy' },
  lifecycle: { get: 'GetBucketLifecycleConfiguration', put: 'PutBucketLifecycleConfiguration', delete: 'DeleteBucketLifecycle' },
  cors: { get: 'GetBucketCors', put: 'PutBucketCors', delete: 'DeleteBucketCors' },
  encryption: { get: 'GetBucketEncryption', put: 'PutBucketEncryption', delete: 'DeleteBucketEncryption' },
  publicAccessBlock: { get: 'GetPublicAccessBlock', put: 'PutPublicAccessBlock', delete: 'DeletePublicAccessBlock' },
  tagging: { get: 'GetBucketTagging', put: 'PutBucketTagging', delete: 'DeleteBucketTagging' },
  ownershipControls: { get: 'GetBucketOwnershipControls', put: 'PutBucketOwnershipControls', delete: 'DeleteBucketOwnershipControls' },
  acl: { get: 'GetBucketAcl', put: 'PutBucketAcl' },
  logging: { get: 'GetBucketLogging', put: 'PutBucketLogging' },
  notification: { get: 'GetBucketNotificationConfiguration', put: 'PutBucketNotificationConfiguration' },
  website: { get: 'GetBucketWebsite', put: 'PutBucketWebsite', delete: 'DeleteBucketWebsite' },
  accelerate: { get: 'GetBucketAccelerateConfiguration', put: 'PutBucketAccelerateConfiguration' },
  requestPayment: { get: 'GetBucketRequestPayment', put: 'PutBucketRequestPayment' },
  'object-lock': { get: 'GetObjectLockConfiguration', put: 'PutObjectLockConfiguration' },
};

/** Sub-resources the endpoint does not serve (answered 501 NotImplemented, naming them). */
const UNSUPPORTED = ['replication', 'analytics', 'inventory', 'metrics', 'intelligent-tiering', 'retention', 'legal-hold', 'restore', 'select', 'torrent', 'session', 'metadataTable', 'metadataConfiguration'];

/** The sub-resource query parameter a request names that the endpoint does not serve, if any. */
export function unsupportedSubresource(q: URLSearchParams): string | undefined {
  return UNSUPPORTED.find((s) => q.has(s));
}

/** The operation name of a service-root, bucket or object request. */
export function s3OperationName(method: string, bucket: string, key: string, q: URLSearchParams, headers: IncomingHttpHeaders): string {
  if (!bucket) return method === 'GET' ? 'ListBuckets' : `${method} /`;
  if (!key) return bucketOperation(method, q);
  return objectOperation(method, q, headers);
}

function bucketOperation(method: string, q: URLSearchParams): string {
  const doc = Object.keys(BUCKET_DOCUMENTS).find((s) => q.has(s));
  switch (method) {
    case 'PUT':
      if (q.has('versioning')) return 'PutBucketVersioning';
      return doc ? BUCKET_DOCUMENTS[doc]!.put : 'CreateBucket';
    case 'HEAD':
      return 'HeadBucket';
    case 'DELETE':
      return doc ? (BUCKET_DOCUMENTS[doc]!.delete ?? `DELETE ?${doc}`) : 'DeleteBucket';
    case 'POST':
      return q.has('delete') ? 'DeleteObjects' : 'POST bucket';
    case 'GET':
      if (q.has('versioning')) return 'GetBucketVersioning';
      if (q.has('location')) return 'GetBucketLocation';
      if (q.has('versions')) return 'ListObjectVersions';
      if (q.has('uploads')) return 'ListMultipartUploads';
      if (q.has('policyStatus')) return 'GetBucketPolicyStatus';
      if (doc) return BUCKET_DOCUMENTS[doc]!.get;
      return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    default:
      return `${method} bucket`;
  }
}

function objectOperation(method: string, q: URLSearchParams, headers: IncomingHttpHeaders): string {
  const copy = headers['x-amz-copy-source'] !== undefined;
  switch (method) {
    case 'PUT':
      if (q.has('uploadId') || q.has('partNumber')) return copy ? 'UploadPartCopy' : 'UploadPart';
      if (q.has('tagging')) return 'PutObjectTagging';
      if (q.has('acl')) return 'PutObjectAcl';
      return copy ? 'CopyObject' : 'PutObject';
    case 'GET':
      if (q.has('uploadId')) return 'ListParts';
      if (q.has('tagging')) return 'GetObjectTagging';
      if (q.has('acl')) return 'GetObjectAcl';
      if (q.has('attributes')) return 'GetObjectAttributes';
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      if (q.has('uploadId')) return 'AbortMultipartUpload';
      if (q.has('tagging')) return 'DeleteObjectTagging';
      return 'DeleteObject';
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      return 'POST object';
    default:
      return `${method} object`;
  }
}

/** Parses `x-amz-copy-source` (`/bucket/key?versionId=…`, URL-encoded). */
export function parseCopySource(raw: string): { bucket: string; key: string; versionId?: string } | undefined {
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const versionId = q < 0 ? undefined : (new URLSearchParams(raw.slice(q + 1)).get('versionId') ?? undefined);
  let src: string;
  try {
    src = decodeURIComponent(path).replace(/^\//, '');
  } catch {
    return undefined;
  }
  const i = src.indexOf('/');
  if (i <= 0 || i === src.length - 1) return undefined;
  return { bucket: src.slice(0, i), key: src.slice(i + 1), ...(versionId ? { versionId } : {}) };
}
