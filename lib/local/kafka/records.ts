/**
 * Record batches (message format v2, magic 2), as produced and fetched: the broker keeps each
 * batch as the bytes the producer sent and only rewrites its base offset (and, for a topic with
 * LogAppendTime, its timestamp and CRC). So compression is transparent to the broker: it reads
 * the records inside a batch only to find an offset by timestamp.
 *
 * Layout (https://kafka.apache.org/documentation/#recordbatch):
 * baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32
 * (CRC-32C of everything after it) | attributes int16 | lastOffsetDelta int32 | baseTimestamp int64
 * | maxTimestamp int64 | producerId int64 | producerEpoch int16 | baseSequence int32 | count int32
 * | records.
 */
import { gunzipSync } from 'node:zlib';
import { crc32c, lz4Decompress, snappyDecompress } from '@platformatic/wasm-utils';
import { decompress as zstdDecompress } from 'fzstd';
import { ErrorCode } from './errors';
import { ProtocolError, Reader } from './protocol';
import { LakeloaderError } from '../../../lambdas/core/errors';

/** Bytes before the records of a batch. */
export const BATCH_HEADER_BYTES = 61;
/** Bytes of the batch before `batchLength` counts (baseOffset + batchLength). */
const LOG_OVERHEAD = 12;
const CRC_START = 21;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
const TIMESTAMP_LOG_APPEND = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: number;
  transactional: boolean;
  control: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  count: number;
}

/** Reads the header of the batch at the start of `b`. */
export function readBatchHeader(b: Buffer): BatchHeader {
  if (b.length < BATCH_HEADER_BYTES) throw new ProtocolError(`a record batch needs ${BATCH_HEADER_BYTES} header bytes, got ${b.length}`);
  const attributes = b.readInt16BE(21);
  return {
    baseOffset: Number(b.readBigInt64BE(0)),
    batchLength: b.readInt32BE(8),
    magic: b.readInt8(16),
    crc: b.readUInt32BE(17),
    attributes,
    compression: attributes & 0x07,
    transactional: (attributes & TRANSACTIONAL) !== 0,
    control: (attributes & CONTROL) !== 0,
    lastOffsetDelta: b.readInt32BE(23),
    baseTimestamp: Number(b.readBigInt64BE(27)),
    maxTimestamp: Number(b.readBigInt64BE(35)),
    producerId: Number(b.readBigInt64BE(43)),
    producerEpoch: b.readInt16BE(51),
    baseSequence: b.readInt32BE(53),
    count: b.readInt32BE(57),
  };
}

/** A batch the broker refuses, with the error code to answer. */
export class InvalidBatchError extends LakeloaderError {
  readonly code = 'INVALID_BATCH';
  constructor(
    /** The Kafka protocol error code to answer with. */
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Splits a produce request's records into batches and validates each (magic 2, sizes, CRC-32C,
 * record count, known compression).
 * @throws InvalidBatchError with CORRUPT_MESSAGE, UNSUPPORTED_FOR_MESSAGE_FORMAT or
 * UNSUPPORTED_COMPRESSION_TYPE
 */
export function splitBatches(records: Buffer): { batch: Buffer; header: BatchHeader }[] {
  const out: { batch: Buffer; header: BatchHeader }[] = [];
  let pos = 0;
  while (pos < records.length) {
    if (records.length - pos < LOG_OVERHEAD + 5) throw new InvalidBatchError(ErrorCode.CORRUPT_MESSAGE, `${records.length - pos} trailing bytes are not a record batch`);
    const length = records.readInt32BE(pos + 8);
    const magic = records.readInt8(pos + 16);
    if (magic !== 2) throw new InvalidBatchError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `message format v${magic} is not supported: this broker takes record batches v2 (produce v3+)`);
    if (length < BATCH_HEADER_BYTES - LOG_OVERHEAD || pos + LOG_OVERHEAD + length > records.length) {
      throw new InvalidBatchError(ErrorCode.CORRUPT_MESSAGE, `batch length ${length} does not fit the ${records.length - pos} bytes sent`);
    }
    const batch = records.subarray(pos, pos + LOG_OVERHEAD + length);
    const header = readBatchHeader(batch);
    if (crc32c(batch.subarray(CRC_START)) >>> 0 !== header.crc) throw new InvalidBatchError(ErrorCode.CORRUPT_MESSAGE, 'record batch CRC-32C mismatch');
    if (header.count <= 0 || header.lastOffsetDelta !== header.count - 1) {
      throw new InvalidBatchError(ErrorCode.CORRUPT_MESSAGE, `record batch says ${header.count} records but lastOffsetDelta ${header.lastOffsetDelta}`);
    }
    if (header.compression > Compression.zstd) throw new InvalidBatchError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression type ${header.compression}`);
    out.push({ batch, header });
    pos += batch.length;
  }
  return out;
}

/** Sets a stored batch's base offset and leader epoch (neither is covered by the CRC). */
export function assignOffset(batch: Buffer, baseOffset: number): void {
  batch.writeBigInt64BE(BigInt(baseOffset), 0);
  batch.writeInt32BE(0, 12);
}

/** Marks a batch as LogAppendTime with `now` as its max timestamp, and recomputes its CRC. */
export function stampLogAppendTime(batch: Buffer, now: number): void {
  batch.writeInt16BE(batch.readInt16BE(21) | TIMESTAMP_LOG_APPEND, 21);
  batch.writeBigInt64BE(BigInt(now), 35);
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_START)) >>> 0, 17);
}

/** One record of a batch, decoded. */
export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

/** Snappy as Java clients send it (xerial framing: magic, version, then length-prefixed blocks) or raw. */
function unsnappy(data: Buffer): Buffer {
  const XERIAL = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  if (data.length >= 16 && data.subarray(0, 8).equals(XERIAL)) {
    const parts: Buffer[] = [];
    let pos = 16;
    while (pos < data.length) {
      const n = data.readInt32BE(pos);
      parts.push(Buffer.from(snappyDecompress(data.subarray(pos + 4, pos + 4 + n))));
      pos += 4 + n;
    }
    return Buffer.concat(parts);
  }
  return Buffer.from(snappyDecompress(data));
}

/** The uncompressed record bytes of a batch. */
export function batchRecordBytes(batch: Buffer, compression: number): Buffer {
  const data = batch.subarray(BATCH_HEADER_BYTES);
  switch (compression) {
    case Compression.none:
      return data;
    case Compression.gzip:
      return gunzipSync(data);
    case Compression.snappy:
      return unsnappy(data);
    case Compression.lz4:
      return Buffer.from(lz4Decompress(data));
    case Compression.zstd:
      return Buffer.from(zstdDecompress(data));
    default:
      throw new InvalidBatchError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression type ${compression}`);
  }
}

/** Decodes every record of a stored batch (decompressing it). */
export function decodeRecords(batch: Buffer): DecodedRecord[] {
  const h = readBatchHeader(batch);
  const r = new Reader(batchRecordBytes(batch, h.compression));
  const out: DecodedRecord[] = [];
  const logAppend = (h.attributes & TIMESTAMP_LOG_APPEND) !== 0;
  for (let i = 0; i < h.count; i++) {
    const length = r.varint();
    const end = r.pos + length;
    r.int8(); // attributes (unused)
    const tsDelta = Number(r.varlong());
    const offsetDelta = r.varint();
    const kLen = r.varint();
    const key = kLen < 0 ? null : Buffer.from(r.raw(kLen));
    const vLen = r.varint();
    const value = vLen < 0 ? null : Buffer.from(r.raw(vLen));
    const headers: DecodedRecord['headers'] = [];
    const nh = r.varint();
    for (let j = 0; j < nh; j++) {
      const hk = r.raw(r.varint()).toString('utf8');
      const hl = r.varint();
      headers.push({ key: hk, value: hl < 0 ? null : Buffer.from(r.raw(hl)) });
    }
    if (r.pos !== end) throw new ProtocolError(`record ${i} of the batch at offset ${h.baseOffset} has ${end - r.pos} stray bytes`);
    out.push({ offset: h.baseOffset + offsetDelta, timestamp: logAppend ? h.maxTimestamp : h.baseTimestamp + tsDelta, key, value, headers });
  }
  return out;
}
