/**
 * The two registry wire formats a record value (or key) may be framed in:
 *
 * Confluent Schema Registry
 * ```
 * byte 0      magic 0
 * bytes 1-4   schema id, big-endian int32
 * (Protobuf)  message indexes: count, then each index, as zigzag varints; a single 0 byte is [0]
 * rest        the Avro / Protobuf / JSON payload
 * ```
 * AWS Glue Schema Registry
 * ```
 * byte 0      header version 3
 * byte 1      compression: 0 none, 5 zlib
 * bytes 2-17  the schema version id (a UUID, 16 bytes big-endian)
 * rest        the payload, deflated with zlib when byte 1 is 5; for Protobuf it starts with the
 *             message's index (a plain varint) among all message types of the schema sorted by
 *             full name
 * ```
 * A frame that breaks these rules is the record's fault: a {@link DecodeError} with the reason.
 */
import { inflateSync, deflateSync } from 'node:zlib';
import { DecodeError } from '../decode';

export const CONFLUENT_MAGIC = 0;
export const GLUE_HEADER_VERSION = 3;
export const GLUE_COMPRESSION_NONE = 0;
export const GLUE_COMPRESSION_ZLIB = 5;

/** A Confluent-framed value: its schema id, Protobuf message indexes (empty otherwise) and payload. */
export interface ConfluentFrame {
  schemaId: number;
  messageIndexes: number[];
  payload: Uint8Array;
}

/** A Glue-framed value: the schema version UUID and the (inflated) payload. */
export interface GlueFrame {
  schemaVersionId: string;
  payload: Uint8Array;
}

/** Longest message-index path accepted (Protobuf nesting is never this deep in practice). */
const MAX_MESSAGE_INDEXES = 100;

/** Reads an unsigned varint at `pos`; returns [value, next position] or null when truncated or over 32 bits. */
function readVarint(b: Uint8Array, pos: number): [number, number] | null {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (pos >= b.length) return null;
    const byte = b[pos++];
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return result > 0xffffffff ? null : [result, pos];
    shift += 7;
  }
  return null;
}

const zigzag = (n: number) => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);

/**
 * Parses the Confluent frame of `bytes`.
 * @param protobuf whether a message-index array follows the schema id
 * @throws DecodeError for a wrong magic byte, a frame shorter than its header, or a bad index array
 */
export function parseConfluentFrame(bytes: Uint8Array, protobuf: boolean): ConfluentFrame {
  if (bytes.length < 5) throw new DecodeError(`Confluent frame truncated: ${bytes.length} bytes, the header alone is 5 (magic byte 0 + 4-byte schema id)`);
  if (bytes[0] !== CONFLUENT_MAGIC) {
    throw new DecodeError(`wrong magic byte ${bytes[0]} (0x${bytes[0].toString(16).padStart(2, '0')}): a Confluent Schema Registry frame starts with 0; the value is not framed by the Confluent serializer`);
  }
  const schemaId = ((bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4]) >>> 0;
  if (!protobuf) return { schemaId, messageIndexes: [], payload: bytes.subarray(5) };
  let pos = 5;
  const count = readVarint(bytes, pos);
  if (count === null) throw new DecodeError(`Confluent Protobuf frame truncated: schema id ${schemaId}, no message-index array after the header`);
  pos = count[1];
  const n = zigzag(count[0]);
  // The shortcut: a single 0 (count 0) stands for [0], the first message of the schema.
  if (n === 0) return { schemaId, messageIndexes: [0], payload: bytes.subarray(pos) };
  if (n < 0 || n > MAX_MESSAGE_INDEXES) throw new DecodeError(`Confluent Protobuf frame with schema id ${schemaId} has a message-index count of ${n} (expected 1..${MAX_MESSAGE_INDEXES})`);
  const messageIndexes: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = readVarint(bytes, pos);
    if (v === null) throw new DecodeError(`Confluent Protobuf frame with schema id ${schemaId} truncated inside its message-index array (${i} of ${n} read)`);
    const idx = zigzag(v[0]);
    if (idx < 0) throw new DecodeError(`Confluent Protobuf frame with schema id ${schemaId} has a negative message index ${idx}`);
    messageIndexes.push(idx);
    pos = v[1];
  }
  return { schemaId, messageIndexes, payload: bytes.subarray(pos) };
}

/** The canonical text of a 16-byte UUID. */
export function uuidText(b: Uint8Array): string {
  const h = Buffer.from(b.buffer, b.byteOffset, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Largest inflated payload accepted from a zlib-compressed Glue frame (a deflate bomb is quarantined, not expanded). */
export const MAX_INFLATED_BYTES = 16 * 1024 * 1024;

/**
 * Parses the Glue Schema Registry frame of `bytes` (inflating a zlib payload).
 * @throws DecodeError for a wrong header version, an unknown compression byte, a truncated header or a corrupt zlib stream
 */
export function parseGlueFrame(bytes: Uint8Array, maxInflatedBytes = MAX_INFLATED_BYTES): GlueFrame {
  if (bytes.length < 18) throw new DecodeError(`Glue Schema Registry frame truncated: ${bytes.length} bytes, the header alone is 18 (version, compression, 16-byte schema version id)`);
  if (bytes[0] !== GLUE_HEADER_VERSION) {
    throw new DecodeError(`wrong Glue Schema Registry header version ${bytes[0]}: expected ${GLUE_HEADER_VERSION}; the value is not framed by the Glue Schema Registry serializer`);
  }
  const compression = bytes[1];
  const schemaVersionId = uuidText(bytes.subarray(2, 18));
  const body = bytes.subarray(18);
  if (compression === GLUE_COMPRESSION_NONE) return { schemaVersionId, payload: body };
  if (compression !== GLUE_COMPRESSION_ZLIB) throw new DecodeError(`unknown Glue Schema Registry compression byte ${compression} (0 = none, 5 = zlib) in a value of schema version ${schemaVersionId}`);
  try {
    return { schemaVersionId, payload: inflateSync(body, { maxOutputLength: maxInflatedBytes }) };
  } catch (e) {
    throw new DecodeError(`corrupt zlib payload in a Glue Schema Registry frame of schema version ${schemaVersionId}: ${(e as Error).message}`);
  }
}

const zigzagEncode = (n: number) => (n >= 0 ? n * 2 : -n * 2 - 1);
function varint(n: number, out: number[]): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

/**
 * Frames a payload the way Confluent's serializers do (for `lakeloader produce`, the demo and tests).
 * @param messageIndexes for Protobuf (`[0]` is written as the one-byte shortcut); omit for Avro and JSON
 */
export function confluentFrame(schemaId: number, payload: Uint8Array, messageIndexes?: number[]): Buffer {
  const head = [CONFLUENT_MAGIC, (schemaId >>> 24) & 0xff, (schemaId >>> 16) & 0xff, (schemaId >>> 8) & 0xff, schemaId & 0xff];
  if (messageIndexes) {
    if (messageIndexes.length === 1 && messageIndexes[0] === 0) head.push(0);
    else {
      varint(zigzagEncode(messageIndexes.length), head);
      for (const i of messageIndexes) varint(zigzagEncode(i), head);
    }
  }
  return Buffer.concat([Buffer.from(head), payload]);
}

/**
 * Frames a payload the way the AWS Glue Schema Registry serializers do.
 * @param messageIndex for Protobuf: the message's index among the schema's types sorted by full name
 */
export function glueFrame(schemaVersionId: string, payload: Uint8Array, options: { compress?: boolean; messageIndex?: number } = {}): Buffer {
  const uuid = Buffer.from(schemaVersionId.replace(/-/g, ''), 'hex');
  if (uuid.length !== 16) throw new Error(`"${schemaVersionId}" is not a UUID`);
  let body: Uint8Array = payload;
  if (options.messageIndex !== undefined) {
    const idx: number[] = [];
    varint(options.messageIndex, idx);
    body = Buffer.concat([Buffer.from(idx), payload]);
  }
  const compress = options.compress ?? false;
  return Buffer.concat([Buffer.from([GLUE_HEADER_VERSION, compress ? GLUE_COMPRESSION_ZLIB : GLUE_COMPRESSION_NONE]), uuid, compress ? deflateSync(body) : body]);
}

/** Reads the plain varint message index that starts a Glue-framed Protobuf payload. */
export function readGlueMessageIndex(payload: Uint8Array, schemaVersionId: string): { index: number; payload: Uint8Array } {
  const v = readVarint(payload, 0);
  if (v === null) throw new DecodeError(`Glue Schema Registry Protobuf payload of schema version ${schemaVersionId} is truncated before its message index`);
  return { index: v[0], payload: payload.subarray(v[1]) };
}
