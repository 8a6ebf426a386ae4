/**
 * The S3 REST API (path-style) of the local endpoint: resolves each request to its operation
 * (lib/local/s3/operations.ts), asks the authorizer when IAM is enforced, and dispatches to the
 * operation's handler — one module per family under lib/local/s3/: buckets, bucket
 * sub-resources, objects, multipart uploads, listings. Responses and errors use S3's XML shapes
 * so the AWS SDKs and the AWS CLI parse them unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { S3Error, s3Errors } from './errors';
import { deleteBucketDocument, getBucketDocument, getBucketPolicyStatus, getBucketVersioning, putBucketDocument, putBucketVersioning } from './s3/bucket-config';
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from './s3/buckets';
import { listObjects, listObjectVersions } from './s3/listing';
import { abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart, uploadPartCopy } from './s3/multipart';
import {
  copyObject, deleteObject, deleteObjects, deleteObjectTagging, getObject, getObjectAcl, getObjectAttributes, getObjectTagging, putObject, putObjectAcl, putObjectTagging,
} from './s3/objects';
import { BUCKET_DOCUMENTS, parseCopySource, s3OperationName, unsupportedSubresource, type S3Call } from './s3/operations';
import type { S3Context, S3Request } from './s3/request';

export { decodeAwsChunked } from './s3/chunked';
export { parseRange } from './s3/objects';
export { sendS3Error, xml } from './s3/xml';
export type { S3Context } from './s3/request';
export type { S3Call } from './s3/operations';

/** What the S3 handler reports per request (the server forwards it to `onRequest`). */
export interface S3RequestInfo {
  operation: string;
  bucket?: string;
  key?: string;
}

type Handler = (r: S3Request) => Promise<void>;

/** Operation → handler. An operation missing here answers 501 NotImplemented. */
const HANDLERS: Record<string, Handler> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  DeleteBucket: deleteBucket,
  GetBucketLocation: getBucketLocation,
  ListObjects: (r) => listObjects(r, false),
  ListObjectsV2: (r) => listObjects(r, true),
  ListObjectVersions: listObjectVersions,
  ListMultipartUploads: listMultipartUploads,
  DeleteObjects: deleteObjects,
  GetBucketVersioning: getBucketVersioning,
  PutBucketVersioning: putBucketVersioning,
  GetBucketPolicyStatus: getBucketPolicyStatus,
  ...Object.fromEntries(
    Object.values(BUCKET_DOCUMENTS).flatMap((ops) => [
      [ops.get, getBucketDocument],
      [ops.put, putBucketDocument],
      ...(ops.delete ? [[ops.delete, deleteBucketDocument]] : []),
    ]),
  ),
  PutObject: putObject,
  GetObject: getObject,
  HeadObject: getObject,
  CopyObject: copyObject,
  DeleteObject: deleteObject,
  GetObjectAttributes: getObjectAttributes,
  GetObjectTagging: getObjectTagging,
  PutObjectTagging: putObjectTagging,
  DeleteObjectTagging: deleteObjectTagging,
  GetObjectAcl: getObjectAcl,
  PutObjectAcl: putObjectAcl,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
};

/** Percent-decodes a path segment; a malformed escape is S3's InvalidURI. */
function decodePath(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.", 400, { URI: s });
  }
}

/** Resolves a request to its S3 call (operation, bucket, key, copy source). */
export function resolveS3Call(req: IncomingMessage, path: string, query: URLSearchParams): S3Call {
  const method = req.method ?? 'GET';
  const slash = path.indexOf('/', 1);
  const bucket = decodePath(slash < 0 ? path.slice(1) : path.slice(1, slash));
  const key = slash < 0 ? '' : decodePath(path.slice(slash + 1));
  const operation = s3OperationName(method, bucket, key, query, req.headers);
  const rawCopy = req.headers['x-amz-copy-source'];
  const copySource = typeof rawCopy === 'string' && key ? parseCopySource(rawCopy) : undefined;
  return { operation, ...(bucket ? { bucket } : {}), ...(key ? { key } : {}), query, headers: req.headers, ...(copySource ? { copySource } : {}) };
}

/**
 * Handles one S3 request. `path` is the raw URL path (still percent-encoded).
 * @param report called with the operation, bucket and key before the operation runs
 */
export async function handleS3(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  report: (info: S3RequestInfo) => void,
): Promise<void> {
  const method = req.method ?? 'GET';
  const call = resolveS3Call(req, path, query);
  report({ operation: call.operation, ...(call.bucket ? { bucket: call.bucket } : {}), ...(call.key ? { key: call.key } : {}) });
  const unsupported = unsupportedSubresource(query);
  if (unsupported) throw s3Errors.notImplemented(`The ${call.key ? 'object' : 'bucket'} subresource "?${unsupported}" (${method})`);
  const handler = HANDLERS[call.operation];
  if (!handler) throw s3Errors.notImplemented(`${method} on ${call.key ? 'an object' : call.bucket ? 'a bucket' : 'the service root'} (${call.operation})`);
  if (ctx.authorize) await ctx.authorize(call);
  await handler({ ctx, req, res, method, bucket: call.bucket ?? '', key: call.key ?? '', query, call });
}
