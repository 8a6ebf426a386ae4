/**
 * S3's flexible checksums: CRC32, CRC32C, CRC64NVME, SHA1 and SHA256, as base64 of the
 * big-endian digest (what `x-amz-checksum-<algorithm>` carries). CRC32 is Node's native
 * `zlib.crc32`; CRC32C and CRC64NVME come from the AWS SDK's own `@aws-sdk/checksums` (the code
 * the client computes them with); the SHAs from `node:crypto`.
 *
 * A multipart object's checksum is either FULL_OBJECT (the checksum of all its bytes) or
 * COMPOSITE (the checksum of the concatenated binary part checksums, written `<base64>-<parts>`).
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];
export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

/** A checksum as stored with an object or part. */
export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  /** base64 digest; a composite one ends in `-<number of parts>`. */
  value: string;
  type: ChecksumType;
}

/** The request/response header of an algorithm, e.g. `x-amz-checksum-crc32`. */
export const checksumHeader = (a: ChecksumAlgorithm) => `x-amz-checksum-${a.toLowerCase()}`;
/** The XML element / SDK field of an algorithm, e.g. `ChecksumCRC32`. */
export const checksumField = (a: ChecksumAlgorithm) => `Checksum${a}`;

/** Parses an algorithm name as clients send it (`crc32`, `CRC32`); undefined when unknown. */
export function parseChecksumAlgorithm(name: string | undefined): ChecksumAlgorithm | undefined {
  const up = name?.trim().toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(up ?? '') ? (up as ChecksumAlgorithm) : undefined;
}

/** The algorithms whose multipart checksum may be FULL_OBJECT (SHAs are composite only). */
export const supportsFullObject = (a: ChecksumAlgorithm) => a === 'CRC32' || a === 'CRC32C' || a === 'CRC64NVME';
/** The type S3 picks when CreateMultipartUpload names none: CRC64NVME is full-object only. */
export const defaultChecksumType = (a: ChecksumAlgorithm): ChecksumType => (a === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE');

/** An incremental digest of one algorithm. */
export interface ChecksumHasher {
  update(chunk: Uint8Array): void;
  /** The digest as base64. */
  digest(): Promise<string>;
}

class Crc32Hasher implements ChecksumHasher {
  private value = 0;
  update(chunk: Uint8Array): void {
    this.value = crc32(chunk, this.value);
  }
  async digest(): Promise<string> {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.value >>> 0);
    return b.toString('base64');
  }
}

class NodeHashHasher implements ChecksumHasher {
  private readonly hash: Hash;
  constructor(algorithm: 'sha1' | 'sha256') {
    this.hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  async digest(): Promise<string> {
    return this.hash.digest('base64');
  }
}

class SdkHasher implements ChecksumHasher {
  constructor(private readonly impl: { update(d: Uint8Array): void; digest(): Promise<Uint8Array> }) {}
  update(chunk: Uint8Array): void {
    this.impl.update(chunk);
  }
  async digest(): Promise<string> {
    return Buffer.from(await this.impl.digest()).toString('base64');
  }
}

/** A fresh incremental hasher for `algorithm`. */
export function newChecksumHasher(algorithm: ChecksumAlgorithm): ChecksumHasher {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32Hasher();
    case 'CRC32C':
      return new SdkHasher(new Crc32c());
    case 'CRC64NVME':
      return new SdkHasher(new Crc64Nvme());
    case 'SHA1':
      return new NodeHashHasher('sha1');
    case 'SHA256':
      return new NodeHashHasher('sha256');
  }
}

/** The checksum of `data` in one call. */
export async function checksumOf(algorithm: ChecksumAlgorithm, data: Uint8Array): Promise<string> {
  const h = newChecksumHasher(algorithm);
  h.update(data);
  return h.digest();
}

/** A COMPOSITE multipart checksum: the checksum of the parts' binary checksums, `-<parts>`. */
export async function compositeChecksum(algorithm: ChecksumAlgorithm, partValues: string[]): Promise<string> {
  const h = newChecksumHasher(algorithm);
  for (const v of partValues) h.update(Buffer.from(v, 'base64'));
  return `${await h.digest()}-${partValues.length}`;
}

/** True when `value` is a well-formed base64 digest of `algorithm`'s length. */
export function isChecksumValue(algorithm: ChecksumAlgorithm, value: string): boolean {
  const bytes = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 }[algorithm];
  return /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === bytes;
}
