/**
 * State of the multipart uploads in progress, on disk so they survive a restart:
 *
 * ```
 * <dataDir>/s3-uploads/<uploadId>/upload.json   bucket, key, initiation time, the object's attributes, checksum algorithm/type
 * <dataDir>/s3-uploads/<uploadId>/<n>.part      the bytes of part n
 * <dataDir>/s3-uploads/<uploadId>/<n>.json      its ETag, size, checksum, time
 * ```
 *
 * A part's bytes are staged like any upload and renamed into place; the rename, CompleteMultipartUpload
 * and AbortMultipartUpload run under the upload's lock, so a completion sees a consistent set of parts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Error } from '../errors';
import { atomicWrite, type ObjectAttributes } from '../store';
import type { ChecksumAlgorithm, ChecksumType } from './checksums';

/** One upload in progress. */
export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  /** ISO-8601. */
  initiated: string;
  /** What the completed object will carry (content type, metadata, encryption, tags, …). */
  attributes: ObjectAttributes;
  checksum?: { algorithm: ChecksumAlgorithm; type: ChecksumType };
}

/** One uploaded part. */
export interface PartRecord {
  partNumber: number;
  /** Quoted MD5 hex. */
  etag: string;
  size: number;
  lastModified: string;
  /** base64 checksum of the part … */
  checksum?: string;
  /** … in this algorithm (the upload's, or what the part request named). */
  checksumAlgorithm?: ChecksumAlgorithm;
}

interface Upload {
  record: UploadRecord;
  parts: Map<number, PartRecord>;
}

/** The NoSuchUpload error. */
export const noSuchUpload = (uploadId: string) =>
  new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', 404, { UploadId: uploadId });

/** The uploads in progress of all buckets. */
export class MultipartUploads {
  private readonly root: string;
  private readonly tmpRoot: string;
  private uploads: Map<string, Upload> | undefined;
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(dataDir: string) {
    this.root = join(dataDir, 's3-uploads');
    this.tmpRoot = join(dataDir, 's3-tmp');
  }

  private async all(): Promise<Map<string, Upload>> {
    if (this.uploads) return this.uploads;
    const uploads = new Map<string, Upload>();
    for (const id of await readdir(this.root).catch(() => [] as string[])) {
      try {
        const record = JSON.parse(await readFile(join(this.root, id, 'upload.json'), 'utf8')) as UploadRecord;
        const parts = new Map<number, PartRecord>();
        for (const f of await readdir(join(this.root, id))) {
          if (!/^\d+\.json$/.test(f)) continue;
          const p = JSON.parse(await readFile(join(this.root, id, f), 'utf8')) as PartRecord;
          parts.set(p.partNumber, p);
        }
        uploads.set(id, { record, parts });
      } catch {
        continue; // an upload whose creation did not finish
      }
    }
    this.uploads ??= uploads;
    return this.uploads;
  }

  /** Runs `fn` under the upload's lock. */
  async locked<T>(uploadId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(uploadId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.tails.set(uploadId, tail);
    try {
      return await run;
    } finally {
      if (this.tails.get(uploadId) === tail) this.tails.delete(uploadId);
    }
  }

  /** Starts an upload and returns its record. */
  async create(bucket: string, key: string, attributes: ObjectAttributes, checksum?: UploadRecord['checksum']): Promise<UploadRecord> {
    const uploadId = randomBytes(36).toString('base64url');
    const record: UploadRecord = { uploadId, bucket, key, initiated: new Date().toISOString(), attributes, ...(checksum ? { checksum } : {}) };
    await atomicWrite(this.tmpRoot, join(this.root, uploadId, 'upload.json'), JSON.stringify(record));
    (await this.all()).set(uploadId, { record, parts: new Map() });
    return record;
  }

  /**
   * The upload `uploadId` of `bucket`/`key`.
   * @throws S3Error NoSuchUpload
   */
  async get(uploadId: string, bucket: string, key: string): Promise<{ record: UploadRecord; parts: PartRecord[] }> {
    const u = (await this.all()).get(uploadId);
    if (!u || u.record.bucket !== bucket || u.record.key !== key) throw noSuchUpload(uploadId);
    return { record: u.record, parts: [...u.parts.values()].sort((a, b) => a.partNumber - b.partNumber) };
  }

  /** File of a part's bytes. */
  partFile(uploadId: string, partNumber: number): string {
    return join(this.root, uploadId, `${partNumber}.part`);
  }

  /** Moves a staged part into the upload (replacing an earlier part of the same number). */
  async putPart(uploadId: string, bucket: string, key: string, tmp: string, part: PartRecord): Promise<void> {
    await this.locked(uploadId, async () => {
      const u = (await this.all()).get(uploadId);
      if (!u || u.record.bucket !== bucket || u.record.key !== key) throw noSuchUpload(uploadId);
      await mkdir(join(this.root, uploadId), { recursive: true });
      await rename(tmp, this.partFile(uploadId, part.partNumber));
      await atomicWrite(this.tmpRoot, join(this.root, uploadId, `${part.partNumber}.json`), JSON.stringify(part));
      u.parts.set(part.partNumber, part);
    });
  }

  /** Uploads in progress in `bucket`, by key then initiation time. */
  async list(bucket: string): Promise<UploadRecord[]> {
    return [...(await this.all()).values()]
      .map((u) => u.record)
      .filter((r) => r.bucket === bucket)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated.localeCompare(b.initiated)));
  }

  /** Forgets an upload and removes its parts (after completion or abort; call under its lock). */
  async remove(uploadId: string): Promise<void> {
    (await this.all()).delete(uploadId);
    await rm(join(this.root, uploadId), { recursive: true, force: true });
  }

  /** Removes every upload of a deleted bucket. */
  async removeBucket(bucket: string): Promise<void> {
    for (const r of await this.list(bucket)) await this.locked(r.uploadId, () => this.remove(r.uploadId));
  }
}
