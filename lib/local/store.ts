/**
 * The local S3 object store: every object is a plain file at `<dataDir>/s3/<bucket>/<key>`, so
 * DuckDB reads the lake directly, and its metadata (ETag, size, content type, user metadata) is a
 * JSON sidecar under `<dataDir>/s3-meta/`, outside the data tree, so globs over the data never see
 * it. Writes go to a temp file under `<dataDir>/s3-tmp/` and are renamed into place; conditional
 * checks and the rename run under a per-key lock, so concurrent conditional writes are atomic.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Error, s3Errors } from './errors';

/** What the store keeps about one object. */
export interface ObjectMeta {
  key: string;
  etag: string; // quoted MD5 hex
  size: number;
  contentType: string;
  lastModified: string; // ISO-8601
  userMetadata: Record<string, string>;
  contentEncoding?: string;
  cacheControl?: string;
  contentDisposition?: string;
}

export interface BucketInfo {
  name: string;
  creationDate: string;
}

/** Conditions of a conditional write (header values as sent). */
export interface WriteConditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Maps one key segment to a file name: the common case is identical; `''`, `.` and `..` (and a
 * segment that starts with the escape marker `%%`) are prefixed with `%%` so that no key can
 * escape its bucket directory.
 */
export function encodeSegment(seg: string): string {
  if (seg === '') return '%%';
  if (seg === '.') return '%%.';
  if (seg === '..') return '%%..';
  if (seg.startsWith('%%')) return `%%${seg}`;
  return seg;
}

/** Relative file path of a key inside its bucket directory. */
export function keyToRelativePath(key: string): string {
  return key.split('/').map(encodeSegment).join('/');
}

/** Byte-wise (UTF-8) key order, as S3 lists keys. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A promise-chain mutex per name. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();
  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => next);
    this.tails.set(name, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }
}

/** Strips the quotes of an ETag header value (and a weak `W/` prefix). */
const bareEtag = (e: string) => e.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

/** True when an `If-Match` / `If-None-Match` header value (a list of ETags or `*`) matches `etag`. */
export function etagMatches(header: string, etag: string | undefined): boolean {
  if (etag === undefined) return false;
  return header.split(',').some((h) => h.trim() === '*' || bareEtag(h) === bareEtag(etag));
}

/** The file-based object store behind the S3 API. */
export class LocalObjectStore {
  readonly dataRoot: string;
  private readonly metaRoot: string;
  private readonly tmpRoot: string;
  private readonly bucketsFile: string;
  private buckets: Map<string, BucketInfo> | undefined;
  private readonly index = new Map<string, Map<string, ObjectMeta>>();
  private readonly sorted = new Map<string, string[]>();
  private readonly locks = new KeyedLock();

  constructor(dataDir: string) {
    this.dataRoot = join(dataDir, 's3');
    this.metaRoot = join(dataDir, 's3-meta');
    this.tmpRoot = join(dataDir, 's3-tmp');
    this.bucketsFile = join(this.metaRoot, 'buckets.json');
  }

  /** Local file path of an object (for DuckDB and for reading). */
  objectPath(bucket: string, key: string): string {
    return join(this.dataRoot, bucket, keyToRelativePath(key));
  }

  /** Local directory that holds the objects under `prefix` (the prefix must end with `/` or be empty). */
  prefixPath(bucket: string, prefix: string): string {
    return join(this.dataRoot, bucket, keyToRelativePath(prefix.replace(/\/$/, '')));
  }

  private metaPath(bucket: string, key: string): string {
    // Leaves end in `.o`, directories in `.d`: a key and a longer key below it never collide.
    const segs = key.split('/').map(encodeSegment);
    const leaf = segs.pop()!;
    return join(this.metaRoot, 'objects', bucket, ...segs.map((s) => `${s}.d`), `${leaf}.o`);
  }

  private async loadBuckets(): Promise<Map<string, BucketInfo>> {
    if (!this.buckets) {
      this.buckets = new Map();
      try {
        const list = JSON.parse(await readFile(this.bucketsFile, 'utf8')) as BucketInfo[];
        for (const b of list) this.buckets.set(b.name, b);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return this.buckets;
  }

  private async saveBuckets(): Promise<void> {
    await atomicWrite(this.tmpRoot, this.bucketsFile, JSON.stringify([...(await this.loadBuckets()).values()], null, 1));
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return [...(await this.loadBuckets()).values()].sort((a, b) => compareKeys(a.name, b.name));
  }

  async bucketExists(bucket: string): Promise<boolean> {
    return (await this.loadBuckets()).has(bucket);
  }

  /** Creates a bucket; returns false when it already existed. */
  async createBucket(bucket: string): Promise<boolean> {
    if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
      throw new S3Error('InvalidBucketName', `The specified bucket is not valid: "${bucket}" (3-63 characters: a-z, 0-9, '.', '-')`, 400, { BucketName: bucket });
    }
    return this.locks.run('\0buckets', async () => {
      const buckets = await this.loadBuckets();
      if (buckets.has(bucket)) return false;
      buckets.set(bucket, { name: bucket, creationDate: new Date().toISOString() });
      await mkdir(join(this.dataRoot, bucket), { recursive: true });
      await this.saveBuckets();
      return true;
    });
  }

  async deleteBucket(bucket: string): Promise<void> {
    await this.requireBucket(bucket);
    const idx = await this.bucketIndex(bucket);
    if (idx.size > 0) throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, { BucketName: bucket });
    await this.locks.run('\0buckets', async () => {
      (await this.loadBuckets()).delete(bucket);
      await rm(join(this.dataRoot, bucket), { recursive: true, force: true });
      await rm(join(this.metaRoot, 'objects', bucket), { recursive: true, force: true });
      this.index.delete(bucket);
      this.sorted.delete(bucket);
      await this.saveBuckets();
    });
  }

  async requireBucket(bucket: string): Promise<void> {
    if (!(await this.bucketExists(bucket))) throw s3Errors.noSuchBucket(bucket);
  }

  /** The bucket's key → metadata index, loaded from the sidecar tree on first use. */
  private async bucketIndex(bucket: string): Promise<Map<string, ObjectMeta>> {
    let idx = this.index.get(bucket);
    if (!idx) {
      idx = new Map();
      const root = join(this.metaRoot, 'objects', bucket);
      const walk = async (dir: string): Promise<void> => {
        let entries;
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw e;
        }
        for (const ent of entries) {
          const p = join(dir, ent.name);
          if (ent.isDirectory()) await walk(p);
          else if (ent.name.endsWith('.o')) {
            const meta = JSON.parse(await readFile(p, 'utf8')) as ObjectMeta;
            idx!.set(meta.key, meta);
          }
        }
      };
      await walk(root);
      if (!this.index.has(bucket)) this.index.set(bucket, idx);
      idx = this.index.get(bucket)!;
    }
    return idx;
  }

  /** All keys of a bucket in S3 order. */
  async sortedKeys(bucket: string): Promise<string[]> {
    let keys = this.sorted.get(bucket);
    if (!keys) {
      keys = [...(await this.bucketIndex(bucket)).keys()].sort(compareKeys);
      this.sorted.set(bucket, keys);
    }
    return keys;
  }

  async head(bucket: string, key: string): Promise<ObjectMeta | undefined> {
    await this.requireBucket(bucket);
    return (await this.bucketIndex(bucket)).get(key);
  }

  /**
   * Opens an object for reading: metadata and file handle are taken together under the key's
   * lock, so a concurrent overwrite or delete (a rename or unlink) cannot change the bytes behind
   * the metadata — the open handle keeps reading the version whose size and ETag were returned.
   * The caller must close the handle. Returns undefined when the key does not exist.
   */
  async openForRead(bucket: string, key: string): Promise<{ meta: ObjectMeta; handle: FileHandle } | undefined> {
    await this.requireBucket(bucket);
    return this.locks.run(`${bucket}/${key}`, async () => {
      const meta = (await this.bucketIndex(bucket)).get(key);
      if (!meta) return undefined;
      try {
        return { meta, handle: await open(this.objectPath(bucket, key), 'r') };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new S3Error('InternalError', `the data file of "${key}" is missing from ${this.objectPath(bucket, key)} (was it deleted outside the S3 API?)`, 500);
        }
        throw e;
      }
    });
  }

  /** Streams `body` into a temp file, hashing it; returns the temp path, size and quoted MD5 ETag. */
  async stage(body: Readable): Promise<{ tmp: string; size: number; etag: string }> {
    await mkdir(this.tmpRoot, { recursive: true });
    const tmp = join(this.tmpRoot, randomUUID());
    const hash = createHash('md5');
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    await pipeline(body, createWriteStream(tmp));
    return { tmp, size, etag: `"${hash.digest('hex')}"` };
  }

  /** Discards a staged temp file (after a failed precondition). */
  async discard(tmp: string): Promise<void> {
    await rm(tmp, { force: true });
  }

  /**
   * Moves a staged file into place as `key`, after checking `conditions` against the current
   * object, all under the key's lock. Throws PreconditionFailed (412) or NoSuchKey (If-Match on a
   * missing object, as S3 does).
   */
  async commit(
    bucket: string,
    key: string,
    staged: { tmp: string; size: number; etag: string },
    meta: Omit<ObjectMeta, 'key' | 'etag' | 'size' | 'lastModified'>,
    conditions: WriteConditions = {},
  ): Promise<ObjectMeta> {
    await this.requireBucket(bucket);
    validateKey(key);
    return this.locks.run(`${bucket}/${key}`, async () => {
      try {
        const idx = await this.bucketIndex(bucket);
        checkWriteConditions(idx.get(key), key, conditions);
        const target = this.objectPath(bucket, key);
        await ensureDir(dirname(target), key);
        try {
          await rename(staged.tmp, target);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'ENOTEMPTY') throw keyConflict(key);
          throw e;
        }
        const full: ObjectMeta = { key, etag: staged.etag, size: staged.size, lastModified: new Date().toISOString(), ...meta };
        await atomicWrite(this.tmpRoot, this.metaPath(bucket, key), JSON.stringify(full));
        if (!idx.has(key)) this.sorted.delete(bucket);
        idx.set(key, full);
        return full;
      } finally {
        await rm(staged.tmp, { force: true });
      }
    });
  }

  /** Deletes an object (no error when it does not exist, as S3). Honors `If-Match`. */
  async delete(bucket: string, key: string, conditions: WriteConditions = {}): Promise<boolean> {
    await this.requireBucket(bucket);
    return this.locks.run(`${bucket}/${key}`, async () => {
      const idx = await this.bucketIndex(bucket);
      const cur = idx.get(key);
      if (conditions.ifMatch !== undefined) {
        if (!cur) throw s3Errors.noSuchKey(key);
        if (!etagMatches(conditions.ifMatch, cur.etag)) throw s3Errors.preconditionFailed('If-Match');
      }
      if (!cur) return false;
      await rm(this.metaPath(bucket, key), { force: true });
      await rm(this.objectPath(bucket, key), { force: true });
      idx.delete(key);
      this.sorted.delete(bucket);
      await pruneEmptyDirs(dirname(this.objectPath(bucket, key)), join(this.dataRoot, bucket));
      await pruneEmptyDirs(dirname(this.metaPath(bucket, key)), join(this.metaRoot, 'objects', bucket));
      return true;
    });
  }
}

function checkWriteConditions(cur: ObjectMeta | undefined, key: string, c: WriteConditions): void {
  if (c.ifNoneMatch !== undefined) {
    if (c.ifNoneMatch.trim() !== '*') throw s3Errors.notImplemented(`If-None-Match with a value other than "*" on a write`);
    if (cur) throw s3Errors.preconditionFailed('If-None-Match');
  }
  if (c.ifMatch !== undefined) {
    if (!cur) throw s3Errors.noSuchKey(key);
    if (!etagMatches(c.ifMatch, cur.etag)) throw s3Errors.preconditionFailed('If-Match');
  }
}

function validateKey(key: string): void {
  if (key.length === 0) throw s3Errors.invalidArgument('An object key must not be empty');
  if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 'Your key is too long (max 1024 bytes)', 400);
}

function keyConflict(key: string): S3Error {
  return new S3Error(
    'InvalidRequest',
    `The local endpoint stores objects as files and cannot hold both "${key}" and a key that uses it as a folder (or the reverse); choose keys that do not nest`,
    409,
  );
}

async function ensureDir(dir: string, key: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw keyConflict(key);
    throw e;
  }
}

/** Writes a file atomically: temp file in `tmpRoot`, then rename. */
export async function atomicWrite(tmpRoot: string, file: string, content: string | Buffer): Promise<void> {
  await mkdir(tmpRoot, { recursive: true });
  await mkdir(dirname(file), { recursive: true });
  const tmp = join(tmpRoot, randomUUID());
  await writeFile(tmp, content);
  await rename(tmp, file);
}

async function pruneEmptyDirs(dir: string, stopAt: string): Promise<void> {
  while (dir.startsWith(stopAt) && dir !== stopAt) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}

/** Size of a file, or 0 when it does not exist. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
