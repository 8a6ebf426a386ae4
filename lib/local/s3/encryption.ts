/**
 * Server-side encryption as S3 reports it. Nothing is encrypted on disk (the files must stay
 * readable by DuckDB and by a person): the endpoint records what a write asked for — SSE-S3,
 * SSE-KMS (key id, bucket key) or SSE-C (the key's MD5, never the key) — or the bucket's default
 * encryption, or SSE-S3 (AES256), which S3 applies to every new object since 2023, and echoes it
 * in the response headers of writes and reads. A read of an SSE-C object must present the same
 * key, as in S3.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { S3Error } from '../errors';
import type { BucketInfo, ServerSideEncryption } from '../store';
import { header } from './request';
import { parseXml, text } from './xml';

const ALGORITHMS = ['AES256', 'aws:kms', 'aws:kms:dsse'];

/** The bucket's default encryption from its stored `?encryption` document (SSE-S3 when none). */
export function bucketDefaultEncryption(bucket: BucketInfo): ServerSideEncryption {
  const doc = bucket.config?.encryption;
  if (!doc) return { algorithm: 'AES256' };
  const conf = parseXml<{ Rule?: { ApplyServerSideEncryptionByDefault?: { SSEAlgorithm?: string; KMSMasterKeyID?: string }; BucketKeyEnabled?: string } | Array<unknown> }>(doc, 'ServerSideEncryptionConfiguration');
  const rule = (Array.isArray(conf.Rule) ? conf.Rule[0] : conf.Rule) as { ApplyServerSideEncryptionByDefault?: { SSEAlgorithm?: string; KMSMasterKeyID?: string }; BucketKeyEnabled?: string } | undefined;
  const by = rule?.ApplyServerSideEncryptionByDefault;
  return {
    algorithm: text(by?.SSEAlgorithm) || 'AES256',
    ...(text(by?.KMSMasterKeyID) ? { kmsKeyId: text(by?.KMSMasterKeyID) } : {}),
    ...(text(rule?.BucketKeyEnabled) === 'true' ? { bucketKeyEnabled: true } : {}),
  };
}

/** The SSE-C key headers of a request (`copySource` reads the `x-amz-copy-source-…` ones). */
function customerKey(req: IncomingMessage, copySource = false): { algorithm: string; keyMd5: string } | undefined {
  const p = copySource ? 'x-amz-copy-source-server-side-encryption-customer-' : 'x-amz-server-side-encryption-customer-';
  const algorithm = header(req, `${p}algorithm`);
  const key = header(req, `${p}key`);
  const md5 = header(req, `${p}key-md5`);
  if (algorithm === undefined && key === undefined && md5 === undefined) return undefined;
  if (algorithm !== 'AES256') throw new S3Error('InvalidEncryptionAlgorithmError', 'The encryption request you specified is not valid. The valid value is AES256.', 400);
  const raw = Buffer.from(key ?? '', 'base64');
  if (raw.length !== 32) throw new S3Error('InvalidArgument', 'The secret key was invalid for the specified algorithm.', 400);
  const actual = createHash('md5').update(raw).digest('base64');
  if (md5 !== undefined && md5 !== actual) throw new S3Error('InvalidArgument', 'The calculated MD5 hash of the key did not match the hash that was provided.', 400);
  return { algorithm, keyMd5: actual };
}

/**
 * The encryption a write asks for (headers), else the bucket default.
 * @throws S3Error InvalidArgument for an unknown algorithm or a bad SSE-C key
 */
export function requestedEncryption(req: IncomingMessage, bucket: BucketInfo): ServerSideEncryption {
  const c = customerKey(req);
  if (c) return { customerAlgorithm: c.algorithm, customerKeyMd5: c.keyMd5 };
  const algorithm = header(req, 'x-amz-server-side-encryption');
  if (algorithm === undefined) return bucketDefaultEncryption(bucket);
  if (!ALGORITHMS.includes(algorithm)) {
    throw new S3Error('InvalidArgument', `The encryption method specified is not supported`, 400, { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: algorithm });
  }
  const kmsKeyId = header(req, 'x-amz-server-side-encryption-aws-kms-key-id');
  if (kmsKeyId !== undefined && algorithm === 'AES256') {
    throw new S3Error('InvalidArgument', 'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms', 400);
  }
  const bucketKey = header(req, 'x-amz-server-side-encryption-bucket-key-enabled');
  return { algorithm, ...(kmsKeyId ? { kmsKeyId } : {}), ...(bucketKey === 'true' ? { bucketKeyEnabled: true } : {}) };
}

/** Sets the SSE response headers of an object. */
export function setEncryptionHeaders(res: ServerResponse, sse: ServerSideEncryption | undefined, region: string, accountId: string): void {
  const s = sse ?? { algorithm: 'AES256' };
  if (s.customerAlgorithm) {
    res.setHeader('x-amz-server-side-encryption-customer-algorithm', s.customerAlgorithm);
    res.setHeader('x-amz-server-side-encryption-customer-key-MD5', s.customerKeyMd5 ?? '');
    return;
  }
  res.setHeader('x-amz-server-side-encryption', s.algorithm ?? 'AES256');
  if (s.algorithm?.startsWith('aws:kms')) {
    res.setHeader('x-amz-server-side-encryption-aws-kms-key-id', kmsKeyArn(s.kmsKeyId, region, accountId));
  }
  if (s.bucketKeyEnabled) res.setHeader('x-amz-server-side-encryption-bucket-key-enabled', 'true');
}

/** S3 reports a KMS key as an ARN; without one, the account's `aws/s3` key. */
function kmsKeyArn(id: string | undefined, region: string, accountId: string): string {
  if (!id) return `arn:aws:kms:${region}:${accountId}:alias/aws/s3`;
  return id.startsWith('arn:') ? id : `arn:aws:kms:${region}:${accountId}:${id.startsWith('alias/') ? id : `key/${id}`}`;
}

/**
 * A read of an SSE-C object must carry the same customer key (and a read of another object must
 * not carry one).
 * @throws S3Error InvalidRequest / AccessDenied as S3 answers
 */
export function checkReadKey(req: IncomingMessage, sse: ServerSideEncryption | undefined, copySource = false): void {
  const given = customerKey(req, copySource);
  if (sse?.customerKeyMd5) {
    if (!given) throw new S3Error('InvalidRequest', 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.', 400);
    if (given.keyMd5 !== sse.customerKeyMd5) throw new S3Error('AccessDenied', 'Access Denied', 403);
  } else if (given) {
    throw new S3Error('InvalidRequest', 'The encryption parameters are not applicable to this object.', 400);
  }
}
