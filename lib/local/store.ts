/**
 * The local S3 object store. The current version of an object is a plain file at
 * `<dataDir>/s3/<bucket>/<key>` (so the lake stays inspectable and DuckDB reads it in place), and
 * its metadata (ETag, size, content type, user metadata, checksum, tags, version history) is a
 * JSON sidecar under `<dataDir>/s3-meta/`, outside the data tree. The sidecar names the data file,
 * so S3's semantics never depend on the file system's:
 *
 * - a key whose natural path is taken by a folder (or that needs a file as a folder) — S3 allows
 *   `a/b` and `a/b/c` side by side — keeps its bytes at `<dataDir>/s3-nested/<bucket>/<sha256(key)>`;
 * - in a versioned bucket, noncurrent versions are moved to `<dataDir>/s3-versions/<bucket>/<uuid>`
 *   and delete markers exist only as metadata.
 *
 * Writes go to a temp file under `<dataDir>/s3-tmp/` and are renamed into place; conditional
 * checks and the rename run under a per-key lock, so concurrent conditional writes are atomic,
 * and a reader takes metadata and an open file handle together under the same lock.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Error, s3Errors } from './errors';
import { newChecksumHasher, type ChecksumAlgorithm, type StoredChecksum } from './s3/checksums';

/** Server-side encryption of an object, as its response headers carry it. */
export interface ServerSideEncryption {
  /** `AES256`, `aws:kms` or `aws:kms:dsse`; absent with SSE-C. */
  algorithm?: string;
  kmsKeyId?: string;
  bucketKeyEnabled?: boolean;
  /** SSE-C: the customer algorithm and the MD5 of the customer key (never the key). */
  customerAlgorithm?: string;
  customerKeyMd5?: string;
}

/** A tag of an object or bucket. */
export interface Tag {
  Key: string;
  Value: string;
}

/** What the store keeps about one object version (or delete marker). */
export interface ObjectMeta {
  key: string;
  /** Quoted MD5 hex, or `"<md5 of part md5s>-<parts>"` for a multipart object. */
  etag: string;
  size: number;
  contentType: string;
  /** ISO-8601. */
  lastModified: string;
  userMetadata: Record<string, string>;
  contentEncoding?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  expires?: string;
  /** Absent for the null version (every object of a bucket that never had versioning). */
  versionId?: string;
  deleteMarker?: boolean;
  checksum?: StoredChecksum;
  /** Part sizes and checksums of a multipart object (for `partNumber` reads and attributes). */
  parts?: Array<{ size: number; checksum?: string }>;
  sse?: ServerSideEncryption;
  tags?: Tag[];
  storageClass?: string;
  /** Canned ACL given at upload (`private` when absent). */
  acl?: string;
  /** Data file relative to the data directory, when not the key's natural path. */
  file?: string;
}

/** The attributes a writer chooses (the store fills key, ETag, size, time, version and file). */
export type ObjectAttributes = Omit<ObjectMeta, 'key' | 'etag' | 'size' | 'lastModified' | 'versionId' | 'deleteMarker' | 'file'>;

export type VersioningStatus = 'Enabled' | 'Suspended';

export interface BucketInfo {
  name: string;
  creationDate: string;
  /** Absent until versioning is first configured. */
  versioning?: VersioningStatus;
  /** Sub-resource documents as stored (policy JSON, lifecycle/CORS/… XML), by sub-resource name. */
  config?: Record<string, string>;
}

/** Conditions of a conditional write (header values as sent). */
export interface WriteConditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

/** A body written to a temp file, with its digests. */
export interface StagedBody {
  tmp: string;
  size: number;
  /** Quoted MD5 hex. */
  etag: string;
  /** base64 digests of the algorithms asked for. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/** What a delete did (for `x-amz-version-id` / `x-amz-delete-marker`). */
export interface DeleteOutcome {
  /** The version removed or the delete marker created (undefined = null version). */
  versionId?: string;
  /** True when a delete marker was created, or the version removed was one. */
  deleteMarker: boolean;
  /** True when the bucket is (or was) versioned, so version headers apply. */
  versioned: boolean;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Maps one key segment to a file name: the common case is identical; `''`, `.` and `..` (and a
 * segment that starts with the escape marker `%%`) are prefixed with `%%`, so that no key can
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

/** A new version id: 32 URL-safe characters, like S3's. */
export const newVersionId = () => randomBytes(24).toString('base64url');

/** The wire form of a version id (`null` for the null version). */
export const versionIdOf = (m: ObjectMeta) => m.versionId ?? 'null';

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

/** One bucket's objects in memory: current versions (the hot path) and version histories. */
interface BucketState {
  /** key → current version, delete markers excluded. */
  current: Map<string, ObjectMeta>;
  /** key → every version, newest first (only keys written while the bucket had versioning). */
  history: Map<string, ObjectMeta[]>;
  /** Current keys in S3 order, rebuilt lazily after a key appears or disappears. */
  sorted?: string[];
}

/** The sidecar of a key with a version history. */
interface HistoryRecord {
  key: string;
  versions: ObjectMeta[];
}

/** The file-based object store behind the S3 API. */
export class LocalObjectStore {
  readonly dataDir: string;
  readonly dataRoot: string;
  private readonly metaRoot: string;
  private readonly tmpRoot: string;
  private readonly bucketsFile: string;
  private buckets: Map<string, BucketInfo> | undefined;
  private readonly states = new Map<string, BucketState>();
  private readonly locks = new KeyedLock();

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.dataRoot = join(dataDir, 's3');
    this.metaRoot = join(dataDir, 's3-meta');
    this.tmpRoot = join(dataDir, 's3-tmp');
    this.bucketsFile = join(this.metaRoot, 'buckets.json');
  }

  /** The natural file path of a key: `<dataDir>/s3/<bucket>/<key>`. */
  private naturalPath(bucket: string, key: string): string {
    return join(this.dataRoot, bucket, keyToRelativePath(key));
  }

  /** The data file of one stored version. */
  private dataFile(bucket: string, m: ObjectMeta): string {
    return m.file ? join(this.dataDir, m.file) : this.naturalPath(bucket, m.key);
  }

  /** Local file path of an object's current version (for DuckDB and for reading). */
  objectPath(bucket: string, key: string): string {
    const m = this.states.get(bucket)?.current.get(key);
    return m ? this.dataFile(bucket, m) : this.naturalPath(bucket, key);
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

  // ---- buckets ----

  private async loadBuckets(): Promise<Map<string, BucketInfo>> {
    if (!this.buckets) {
      const buckets = new Map<string, BucketInfo>();
      try {
        const list = JSON.parse(await readFile(this.bucketsFile, 'utf8')) as BucketInfo[];
        for (const b of list) buckets.set(b.name, b);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      this.buckets ??= buckets;
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

  /** The bucket's record; throws NoSuchBucket. */
  async bucketInfo(bucket: string): Promise<BucketInfo> {
    const b = (await this.loadBuckets()).get(bucket);
    if (!b) throw s3Errors.noSuchBucket(bucket);
    return b;
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
    const st = await this.state(bucket);
    if (st.current.size > 0 || st.history.size > 0) throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, { BucketName: bucket });
    await this.locks.run('\0buckets', async () => {
      (await this.loadBuckets()).delete(bucket);
      for (const root of [this.dataRoot, join(this.dataDir, 's3-nested'), join(this.dataDir, 's3-versions'), join(this.metaRoot, 'objects')]) {
        await rm(join(root, bucket), { recursive: true, force: true });
      }
      this.states.delete(bucket);
      await this.saveBuckets();
    });
  }

  async requireBucket(bucket: string): Promise<void> {
    if (!(await this.bucketExists(bucket))) throw s3Errors.noSuchBucket(bucket);
  }

  /** Sets the bucket's versioning status (once set, a bucket never returns to unversioned). */
  async setVersioning(bucket: string, status: VersioningStatus): Promise<void> {
    await this.updateBucket(bucket, (b) => {
      b.versioning = status;
    });
  }

  /** Stores (`value`) or removes (`undefined`) a sub-resource document of the bucket. */
  async setBucketConfig(bucket: string, name: string, value: string | undefined): Promise<void> {
    await this.updateBucket(bucket, (b) => {
      const config = { ...(b.config ?? {}) };
      if (value === undefined) delete config[name];
      else config[name] = value;
      b.config = config;
    });
  }

  private async updateBucket(bucket: string, fn: (b: BucketInfo) => void): Promise<void> {
    await this.locks.run('\0buckets', async () => {
      const b = (await this.loadBuckets()).get(bucket);
      if (!b) throw s3Errors.noSuchBucket(bucket);
      fn(b);
      await this.saveBuckets();
    });
  }

  // ---- the in-memory index ----

  /** The bucket's objects, loaded from the sidecar tree on first use. */
  private async state(bucket: string): Promise<BucketState> {
    let st = this.states.get(bucket);
    if (st) return st;
    const loaded: BucketState = { current: new Map(), history: new Map() };
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
          const rec = JSON.parse(await readFile(p, 'utf8')) as ObjectMeta | HistoryRecord;
          if ('versions' in rec && Array.isArray(rec.versions)) {
            if (rec.versions.length === 0) continue;
            loaded.history.set(rec.key, rec.versions);
            const head = rec.versions[0]!;
            if (!head.deleteMarker) loaded.current.set(rec.key, head);
          } else loaded.current.set(rec.key, rec as ObjectMeta);
        }
      }
    };
    await walk(join(this.metaRoot, 'objects', bucket));
    st = this.states.get(bucket);
    if (st) return st; // loaded concurrently
    this.states.set(bucket, loaded);
    return loaded;
  }

  /** All current keys of a bucket in S3 order. */
  async sortedKeys(bucket: string): Promise<string[]> {
    const st = await this.state(bucket);
    st.sorted ??= [...st.current.keys()].sort(compareKeys);
    return st.sorted;
  }

  /**
   * The current keys in S3 order with a synchronous lookup of their metadata (for listings: no
   * await per key).
   */
  async listing(bucket: string): Promise<{ keys: string[]; get: (key: string) => ObjectMeta | undefined }> {
    await this.requireBucket(bucket);
    const keys = await this.sortedKeys(bucket);
    const current = (await this.state(bucket)).current;
    return { keys, get: (key) => current.get(key) };
  }

  /** Every key with any version (delete markers included), in S3 order. */
  async sortedVersionedKeys(bucket: string): Promise<string[]> {
    const st = await this.state(bucket);
    return [...new Set([...st.current.keys(), ...st.history.keys()])].sort(compareKeys);
  }

  /** The versions of a key, newest first (a single null version in a bucket that never had versioning). */
  async versionsOf(bucket: string, key: string): Promise<ObjectMeta[]> {
    const st = await this.state(bucket);
    const h = st.history.get(key);
    if (h) return h;
    const cur = st.current.get(key);
    return cur ? [cur] : [];
  }

  /** The current version of a key (undefined when missing or a delete marker). */
  async head(bucket: string, key: string): Promise<ObjectMeta | undefined> {
    await this.requireBucket(bucket);
    return (await this.state(bucket)).current.get(key);
  }

  /**
   * The version a read addresses: the current one, or `versionId` (`null` = the null version).
   * @throws NoSuchKey (with the delete marker's headers when the current version is one),
   *   NoSuchVersion, or MethodNotAllowed for a delete marker addressed by id.
   */
  private resolve(st: BucketState, key: string, versionId: string | undefined): ObjectMeta {
    if (versionId === undefined) {
      const cur = st.current.get(key);
      if (cur) return cur;
      const head = st.history.get(key)?.[0];
      if (head?.deleteMarker) throw s3Errors.noSuchKey(key, { 'x-amz-delete-marker': 'true', 'x-amz-version-id': versionIdOf(head) });
      throw s3Errors.noSuchKey(key);
    }
    const want = versionId === 'null' ? undefined : versionId;
    const versions = st.history.get(key) ?? (st.current.has(key) ? [st.current.get(key)!] : []);
    const v = versions.find((m) => m.versionId === want);
    if (!v) {
      if (versionId !== 'null' && !/^[A-Za-z0-9._+/=-]{1,1024}$/.test(versionId)) throw s3Errors.invalidArgument('Invalid version id specified', { ArgumentName: 'versionId', ArgumentValue: versionId });
      throw new S3Error('NoSuchVersion', 'The specified version does not exist.', 404, { Key: key, VersionId: versionId });
    }
    if (v.deleteMarker) {
      throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405, { Method: 'GET', ResourceType: 'DeleteMarker' }, {
        'x-amz-delete-marker': 'true', 'x-amz-version-id': versionIdOf(v), Allow: 'DELETE',
      });
    }
    return v;
  }

  /** The metadata of the current version or of `versionId` (errors as {@link openForRead}). */
  async headVersion(bucket: string, key: string, versionId?: string): Promise<ObjectMeta> {
    await this.requireBucket(bucket);
    return this.resolve(await this.state(bucket), key, versionId);
  }

  /**
   * Opens an object version for reading: metadata and file handle are taken together under the
   * key's lock, so a concurrent overwrite or delete (a rename or unlink) cannot change the bytes
   * behind the metadata — the open handle keeps reading the version whose size and ETag were
   * returned. The caller must close the handle.
   * @returns undefined when the key does not exist (without `versionId`); throws for a missing
   *   version, a delete marker, or a current delete marker when `strict`.
   */
  async openForRead(bucket: string, key: string, versionId?: string, strict = false): Promise<{ meta: ObjectMeta; handle: FileHandle } | undefined> {
    await this.requireBucket(bucket);
    return this.locks.run(`${bucket}/${key}`, async () => {
      const st = await this.state(bucket);
      let meta: ObjectMeta;
      try {
        meta = this.resolve(st, key, versionId);
      } catch (e) {
        if (!strict && versionId === undefined && e instanceof S3Error && e.code === 'NoSuchKey') return undefined;
        throw e;
      }
      const path = this.dataFile(bucket, meta);
      try {
        return { meta, handle: await open(path, 'r') };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new S3Error('InternalError', `the data file of "${key}" is missing from ${path} (was it deleted outside the S3 API?)`, 500);
        }
        throw e;
      }
    });
  }

  // ---- writes ----

  /**
   * Streams `body` into a temp file, computing its MD5 (the ETag) and the checksums asked for.
   * The caller commits or discards it.
   */
  async stage(body: Readable, opts: { checksums?: readonly ChecksumAlgorithm[] } = {}): Promise<StagedBody> {
    await mkdir(this.tmpRoot, { recursive: true });
    const tmp = join(this.tmpRoot, randomUUID());
    const md5 = createHash('md5');
    const hashers = (opts.checksums ?? []).map((a) => [a, newChecksumHasher(a)] as const);
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      md5.update(chunk);
      for (const [, h] of hashers) h.update(chunk);
      size += chunk.length;
    });
    try {
      await pipeline(body, createWriteStream(tmp));
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const checksums: StagedBody['checksums'] = {};
    for (const [a, h] of hashers) checksums[a] = await h.digest();
    return { tmp, size, etag: `"${md5.digest('hex')}"`, checksums };
  }

  /** Discards a staged temp file (after a failed precondition or checksum). */
  async discard(tmp: string): Promise<void> {
    await rm(tmp, { force: true });
  }

  /**
   * Moves a staged file into place as the new current version of `key`, after checking
   * `conditions` against the current version, all under the key's lock. In a versioned bucket
   * the previous version is kept as noncurrent (Enabled) or the null version is replaced
   * (Suspended). Throws PreconditionFailed (412) or NoSuchKey (If-Match on a missing object, as
   * S3 does).
   */
  async commit(
    bucket: string,
    key: string,
    staged: Pick<StagedBody, 'tmp' | 'size' | 'etag'>,
    attributes: ObjectAttributes,
    conditions: WriteConditions = {},
  ): Promise<ObjectMeta> {
    const info = await this.bucketInfo(bucket);
    validateKey(key);
    return this.locks.run(`${bucket}/${key}`, async () => {
      try {
        const st = await this.state(bucket);
        const cur = st.current.get(key);
        checkWriteConditions(cur, key, conditions);
        const mode = info.versioning;
        const versions = mode ? [...(st.history.get(key) ?? (cur ? [cur] : []))] : [];
        const versionId = mode === 'Enabled' ? newVersionId() : undefined;
        const obsolete: string[] = [];
        if (mode) {
          // The head version (if an object) leaves the natural path to become noncurrent…
          if (cur) await this.archive(bucket, cur);
          // …and with versioning suspended, the write replaces the null version.
          if (mode === 'Suspended') this.dropNullVersion(bucket, versions, obsolete);
        } else if (cur) obsolete.push(this.dataFile(bucket, cur));
        const file = await this.place(bucket, key, staged.tmp);
        const full: ObjectMeta = {
          ...attributes,
          key,
          etag: staged.etag,
          size: staged.size,
          lastModified: new Date().toISOString(),
          ...(versionId ? { versionId } : {}),
          ...(file ? { file } : {}),
        };
        const target = this.dataFile(bucket, full);
        for (const f of obsolete) if (f !== target) await rm(f, { force: true });
        if (!cur) st.sorted = undefined;
        st.current.set(key, full);
        if (mode) st.history.set(key, [full, ...versions]);
        await this.persist(bucket, key, st);
        return full;
      } finally {
        await rm(staged.tmp, { force: true });
      }
    });
  }

  /**
   * Updates stored attributes (tags, ACL) of the current version or of `versionId` under the
   * key's lock; `fn` mutates a copy.
   */
  async updateAttributes(bucket: string, key: string, versionId: string | undefined, fn: (m: ObjectMeta) => void): Promise<ObjectMeta> {
    await this.requireBucket(bucket);
    return this.locks.run(`${bucket}/${key}`, async () => {
      const st = await this.state(bucket);
      const old = this.resolve(st, key, versionId);
      const next: ObjectMeta = { ...old };
      fn(next);
      if (st.current.get(key) === old) st.current.set(key, next);
      const h = st.history.get(key);
      if (h) h[h.indexOf(old)] = next;
      await this.persist(bucket, key, st);
      return next;
    });
  }

  /**
   * Deletes an object: without `versionId`, the object (unversioned bucket) or by adding a delete
   * marker (versioned bucket); with `versionId`, that version for good. Deleting what does not
   * exist succeeds, as in S3. Honors `If-Match` against the current version.
   */
  async delete(bucket: string, key: string, conditions: WriteConditions & { versionId?: string } = {}): Promise<DeleteOutcome> {
    const info = await this.bucketInfo(bucket);
    return this.locks.run(`${bucket}/${key}`, async () => {
      const st = await this.state(bucket);
      const cur = st.current.get(key);
      if (conditions.ifMatch !== undefined) {
        if (!cur) throw s3Errors.noSuchKey(key);
        if (!etagMatches(conditions.ifMatch, cur.etag)) throw s3Errors.preconditionFailed('If-Match');
      }
      const mode = info.versioning;
      const versioned = mode !== undefined || st.history.has(key);
      if (conditions.versionId !== undefined) return { ...(await this.deleteVersion(bucket, key, st, conditions.versionId)), versioned };
      if (!mode) {
        if (!cur) return { deleteMarker: false, versioned };
        await rm(this.dataFile(bucket, cur), { force: true });
        st.current.delete(key);
        st.sorted = undefined;
        await this.persist(bucket, key, st);
        await pruneEmptyDirs(dirname(this.naturalPath(bucket, key)), join(this.dataRoot, bucket));
        return { deleteMarker: false, versioned };
      }
      const versions = [...(st.history.get(key) ?? (cur ? [cur] : []))];
      const obsolete: string[] = [];
      if (cur) await this.archive(bucket, cur);
      if (mode === 'Suspended') this.dropNullVersion(bucket, versions, obsolete);
      const marker: ObjectMeta = {
        key, etag: '', size: 0, contentType: '', userMetadata: {}, lastModified: new Date().toISOString(), deleteMarker: true,
        ...(mode === 'Enabled' ? { versionId: newVersionId() } : {}),
      };
      for (const f of obsolete) await rm(f, { force: true });
      if (cur) {
        st.current.delete(key);
        st.sorted = undefined;
      }
      st.history.set(key, [marker, ...versions]);
      await this.persist(bucket, key, st);
      await pruneEmptyDirs(dirname(this.naturalPath(bucket, key)), join(this.dataRoot, bucket));
      return { deleteMarker: true, ...(marker.versionId ? { versionId: marker.versionId } : {}), versioned };
    });
  }

  /** Removes one version for good; the next one (if any) becomes current. */
  private async deleteVersion(bucket: string, key: string, st: BucketState, versionId: string): Promise<Omit<DeleteOutcome, 'versioned'>> {
    const want = versionId === 'null' ? undefined : versionId;
    const versions = [...(st.history.get(key) ?? (st.current.has(key) ? [st.current.get(key)!] : []))];
    const i = versions.findIndex((m) => m.versionId === want);
    if (i < 0) {
      if (versionId !== 'null' && !/^[A-Za-z0-9._+/=-]{1,1024}$/.test(versionId)) throw s3Errors.invalidArgument('Invalid version id specified', { ArgumentName: 'versionId', ArgumentValue: versionId });
      return { deleteMarker: false, ...(want ? { versionId: want } : {}) };
    }
    const [gone] = versions.splice(i, 1);
    if (!gone!.deleteMarker) await rm(this.dataFile(bucket, gone!), { force: true });
    if (i === 0) {
      const next = versions[0];
      if (next && !next.deleteMarker) {
        const restored = await this.restore(bucket, next);
        versions[0] = restored;
        if (!st.current.has(key)) st.sorted = undefined;
        st.current.set(key, restored);
      } else if (st.current.delete(key)) st.sorted = undefined;
    }
    if (versions.length || st.history.has(key)) st.history.set(key, versions);
    if (versions.length === 0) st.history.delete(key);
    await this.persist(bucket, key, st);
    await pruneEmptyDirs(dirname(this.naturalPath(bucket, key)), join(this.dataRoot, bucket));
    return { deleteMarker: gone!.deleteMarker === true, ...(want ? { versionId: want } : {}) };
  }

  /** With versioning suspended, the null version is replaced: drop it from `versions`, its file to `obsolete`. */
  private dropNullVersion(bucket: string, versions: ObjectMeta[], obsolete: string[]): void {
    const i = versions.findIndex((m) => m.versionId === undefined);
    if (i < 0) return;
    const [nul] = versions.splice(i, 1);
    if (!nul!.deleteMarker) obsolete.push(this.dataFile(bucket, nul!));
  }

  /** Moves a version's data out of the natural path into the versions area (mutates `m.file`). */
  private async archive(bucket: string, m: ObjectMeta): Promise<void> {
    if (m.deleteMarker || (m.file && m.file.startsWith('s3-versions/'))) return;
    const rel = `s3-versions/${bucket}/${randomUUID()}`;
    await mkdir(join(this.dataDir, 's3-versions', bucket), { recursive: true });
    await rename(this.dataFile(bucket, m), join(this.dataDir, rel));
    m.file = rel;
  }

  /** Moves a version that becomes current again back to its natural path when that is free. */
  private async restore(bucket: string, m: ObjectMeta): Promise<ObjectMeta> {
    if (!m.file) return m;
    const file = await this.place(bucket, m.key, join(this.dataDir, m.file));
    const { file: _old, ...rest } = m;
    return file ? { ...rest, file } : rest;
  }

  /**
   * Renames `src` to the key's natural path; when the file system cannot hold it there (a folder
   * of that name exists, or a parent is a file), to `s3-nested/<bucket>/<sha256(key)>`.
   * @returns the relative data file, or undefined for the natural path.
   */
  private async place(bucket: string, key: string, src: string): Promise<string | undefined> {
    const natural = this.naturalPath(bucket, key);
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        await mkdir(dirname(natural), { recursive: true });
        await rename(src, natural);
        return undefined;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue; // a concurrent delete pruned the empty folder: retry
        if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') break;
        throw e;
      }
    }
    const rel = `s3-nested/${bucket}/${createHash('sha256').update(key).digest('hex')}`;
    await mkdir(join(this.dataDir, 's3-nested', bucket), { recursive: true });
    await rename(src, join(this.dataDir, rel));
    return rel;
  }

  /** Writes the key's sidecar (or removes it when nothing is left). */
  private async persist(bucket: string, key: string, st: BucketState): Promise<void> {
    const path = this.metaPath(bucket, key);
    const history = st.history.get(key);
    const cur = st.current.get(key);
    if (history?.length) await atomicWrite(this.tmpRoot, path, JSON.stringify({ key, versions: history } satisfies HistoryRecord));
    else if (cur) await atomicWrite(this.tmpRoot, path, JSON.stringify(cur));
    else {
      await rm(path, { force: true });
      await pruneEmptyDirs(dirname(path), join(this.metaRoot, 'objects', bucket));
    }
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
