/**
 * The object store the commit protocol writes through: a small interface over what the loader
 * needs from S3 (conditional GET/PUT, batch delete, paged listing), and its production
 * implementation over the AWS SDK v3 S3 client.
 *
 * Conditional writes are the heart of exactly-once: `ifNoneMatch: '*'` creates an object only if
 * the key is free, `ifMatch: etag` replaces it only if nobody changed it since it was read. A
 * failed precondition is reported as a {@link PreconditionFailedError}, never as a generic error,
 * so the protocol can tell "someone else wrote here" from "S3 is down".
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { LakeloaderError } from './errors';

/** A stored object as read back: its bytes and its ETag (quoted, as S3 returns it). */
export interface StoredObject {
  body: Uint8Array;
  etag: string;
}

export interface PutOptions {
  /** Replace the object only if its current ETag is this one. */
  ifMatch?: string;
  /** `'*'`: create the object only if no object exists under the key. */
  ifNoneMatch?: '*';
  contentType?: string;
}

/** One listed object. */
export interface ListedObject {
  key: string;
  size: number;
  etag?: string;
  /** Epoch milliseconds of the last write. */
  lastModified?: number;
}

/** What the loader needs from an object store. Keys are relative to one bucket. */
export interface ObjectStore {
  /** Reads an object; `null` when it does not exist. */
  get(key: string): Promise<StoredObject | null>;
  /**
   * Writes an object.
   * @throws PreconditionFailedError when `ifMatch`/`ifNoneMatch` does not hold.
   */
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<{ etag: string }>;
  /** Deletes objects; missing keys are not an error. */
  deleteMany(keys: string[]): Promise<void>;
  /** Lists every object under a prefix, in key order, following continuation tokens. */
  /** Objects under `prefix` in key order, from the first key after `startAfter` when given. */
  list(prefix: string, startAfter?: string): AsyncIterable<ListedObject>;
}

/**
 * A conditional write did not hold: the object exists (`If-None-Match: *`), changed or vanished
 * (`If-Match`), or a concurrent conditional write won (S3's 409 ConditionalRequestConflict).
 * In the commit protocol this always means another writer is active on the same key.
 */
export class PreconditionFailedError extends LakeloaderError {
  readonly code = 'PRECONDITION_FAILED';
  constructor(
    readonly key: string,
    readonly condition: 'if-match' | 'if-none-match',
    detail = '',
  ) {
    super(`conditional write of "${key}" (${condition}) failed${detail ? `: ${detail}` : ''}; another writer changed this key`);
  }
}

/** S3 failed in a way that is not a precondition (network, permissions, throttling). */
export class ObjectStoreError extends LakeloaderError {
  readonly code = 'OBJECT_STORE';
  constructor(
    readonly operation: string,
    readonly key: string,
    override readonly cause: unknown,
  ) {
    super(`S3 ${operation} of "${key}" failed: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`);
  }
}

interface S3ServiceError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

const errorCode = (e: unknown) => {
  const err = e as S3ServiceError;
  return { name: err?.name ?? err?.Code ?? '', status: err?.$metadata?.httpStatusCode };
};

/** DeleteObjects takes at most 1,000 keys a call. */
const DELETE_BATCH = 1000;

/** {@link ObjectStore} over an S3 bucket through the AWS SDK v3 client (works with any S3-compatible endpoint). */
export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /** Reads an object; `null` on NoSuchKey/404. */
  async get(key: string): Promise<StoredObject | null> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      return { body, etag: out.ETag ?? '' };
    } catch (e) {
      const { name, status } = errorCode(e);
      if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return null;
      throw new ObjectStoreError('GetObject', key, e);
    }
  }

  /** Writes an object with S3 conditional-write headers; 412 and 409 become {@link PreconditionFailedError}. */
  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<{ etag: string }> {
    const condition = options.ifMatch !== undefined ? 'if-match' : 'if-none-match';
    try {
      const out = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType,
          IfMatch: options.ifMatch,
          IfNoneMatch: options.ifNoneMatch,
        }),
      );
      return { etag: out.ETag ?? '' };
    } catch (e) {
      const { name, status } = errorCode(e);
      const conditional = options.ifMatch !== undefined || options.ifNoneMatch !== undefined;
      if (conditional && (name === 'PreconditionFailed' || status === 412)) throw new PreconditionFailedError(key, condition, name);
      if (conditional && (name === 'ConditionalRequestConflict' || status === 409)) throw new PreconditionFailedError(key, condition, name);
      // If-Match on a key that vanished: S3 answers 404 NoSuchKey.
      if (options.ifMatch !== undefined && (name === 'NoSuchKey' || status === 404)) throw new PreconditionFailedError(key, condition, name);
      throw new ObjectStoreError('PutObject', key, e);
    }
  }

  /** Deletes in batches of 1,000; any per-key error throws. */
  async deleteMany(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const chunk = keys.slice(i, i + DELETE_BATCH);
      let out;
      try {
        out = await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }));
      } catch (e) {
        throw new ObjectStoreError('DeleteObjects', chunk[0] ?? '', e);
      }
      const failed = out.Errors ?? [];
      if (failed.length) throw new ObjectStoreError('DeleteObjects', failed[0]!.Key ?? '', new Error(`${failed[0]!.Code}: ${failed[0]!.Message}`));
    }
  }

  /** Lists with ListObjectsV2, following continuation tokens. */
  async *list(prefix: string, startAfter?: string): AsyncIterable<ListedObject> {
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, ...(startAfter && !token ? { StartAfter: startAfter } : {}) }));
      } catch (e) {
        throw new ObjectStoreError('ListObjectsV2', prefix, e);
      }
      for (const o of out.Contents ?? []) if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, etag: o.ETag, lastModified: o.LastModified?.getTime() };
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }
}
