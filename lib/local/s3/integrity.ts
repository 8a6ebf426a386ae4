/**
 * Integrity of uploaded bodies, as S3 checks it: the checksum a request carries (an
 * `x-amz-checksum-<algorithm>` header, or a trailer announced by `x-amz-trailer`, or just an
 * algorithm to compute via `x-amz-sdk-checksum-algorithm`) and `Content-MD5`. A mismatch is
 * `400 BadDigest` and nothing is stored. A body sent without any checksum gets a CRC64NVME
 * full-object checksum, as S3 computes one for every new object since 2025.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3Error } from '../errors';
import type { StagedBody } from '../store';
import { CHECKSUM_ALGORITHMS, checksumHeader, checksumOf, isChecksumValue, parseChecksumAlgorithm, type ChecksumAlgorithm, type StoredChecksum } from './checksums';
import { bodyOf, header, readAll } from './request';

/** The checksum a write request asks for. */
export interface RequestedChecksum {
  algorithm: ChecksumAlgorithm;
  /** The value the client sent in a header (base64). */
  expected?: string;
  /** The value comes in the `aws-chunked` trailer of that name. */
  trailer?: string;
  /** The client did not ask: the default S3 computes. */
  implicit?: boolean;
}

/** The algorithm S3 computes when a client sends no checksum. */
export const DEFAULT_CHECKSUM: ChecksumAlgorithm = 'CRC64NVME';

/**
 * Reads which checksum a write carries.
 * @param fallback the algorithm to compute when the request names none (undefined: none)
 * @throws S3Error InvalidRequest for several checksum headers or a malformed value
 */
export function requestedChecksum(req: IncomingMessage, fallback: ChecksumAlgorithm | undefined = DEFAULT_CHECKSUM): RequestedChecksum | undefined {
  const given = CHECKSUM_ALGORITHMS.filter((a) => req.headers[checksumHeader(a)] !== undefined);
  if (given.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.', 400);
  if (given.length === 1) {
    const algorithm = given[0]!;
    const expected = header(req, checksumHeader(algorithm))!.trim();
    if (!isChecksumValue(algorithm, expected)) throw new S3Error('InvalidRequest', `Value for ${checksumHeader(algorithm)} header is invalid.`, 400);
    return { algorithm, expected };
  }
  const trailer = header(req, 'x-amz-trailer')?.trim().toLowerCase();
  if (trailer) {
    const algorithm = parseChecksumAlgorithm(trailer.replace(/^x-amz-checksum-/, ''));
    if (!algorithm || !trailer.startsWith('x-amz-checksum-')) throw new S3Error('InvalidRequest', `The trailer ${trailer} is not a supported checksum header`, 400);
    return { algorithm, trailer };
  }
  const named = header(req, 'x-amz-sdk-checksum-algorithm') ?? header(req, 'x-amz-checksum-algorithm');
  if (named !== undefined) {
    const algorithm = parseChecksumAlgorithm(named);
    if (!algorithm) throw new S3Error('InvalidRequest', `Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]`, 400);
    return { algorithm };
  }
  return fallback ? { algorithm: fallback, implicit: true } : undefined;
}

/**
 * Checks a staged body against the request's `Content-MD5` and checksum.
 * @returns the object's full-object checksum to store (undefined when none was computed)
 * @throws S3Error BadDigest / InvalidDigest / InvalidRequest
 */
export function verifyStaged(req: IncomingMessage, staged: StagedBody, requested: RequestedChecksum | undefined, trailers: Record<string, string>): StoredChecksum | undefined {
  const md5 = header(req, 'content-md5');
  if (md5 !== undefined) {
    const bin = Buffer.from(md5.trim(), 'base64');
    if (bin.length !== 16) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.', 400, { 'Content-MD5': md5 });
    if (`"${bin.toString('hex')}"` !== staged.etag) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', 400, { ExpectedDigest: md5, CalculatedDigest: Buffer.from(staged.etag.slice(1, -1), 'hex').toString('base64') });
    }
  }
  if (!requested) return undefined;
  const actual = staged.checksums[requested.algorithm];
  if (actual === undefined) return undefined;
  let expected = requested.expected;
  if (requested.trailer) {
    expected = trailers[requested.trailer];
    if (expected === undefined) throw new S3Error('InvalidRequest', `The ${requested.trailer} trailer announced by x-amz-trailer was not sent`, 400);
    if (!isChecksumValue(requested.algorithm, expected)) throw new S3Error('InvalidRequest', `Value for ${requested.trailer} trailing header is invalid.`, 400);
  }
  if (expected !== undefined && expected !== actual) {
    throw new S3Error('BadDigest', `The ${requested.algorithm} you specified did not match the calculated checksum.`, 400);
  }
  return { algorithm: requested.algorithm, value: actual, type: 'FULL_OBJECT' };
}

/**
 * Reads a small request body (an XML or JSON document) and checks its `Content-MD5` and
 * checksum header or trailer, if any.
 * @throws S3Error BadDigest / InvalidDigest / InvalidRequest
 */
export async function readVerifiedBody(req: IncomingMessage): Promise<Buffer> {
  const requested = requestedChecksum(req, undefined);
  const { stream, trailers } = bodyOf(req);
  const body = await readAll(stream);
  const md5 = createHash('md5').update(body).digest('hex');
  const checksums: StagedBody['checksums'] = {};
  if (requested) checksums[requested.algorithm] = await checksumOf(requested.algorithm, body);
  verifyStaged(req, { tmp: '', size: body.length, etag: `"${md5}"`, checksums }, requested, trailers());
  return body;
}
