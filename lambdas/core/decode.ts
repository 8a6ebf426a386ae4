/**
 * Decode stage: a record's base64 value → bytes → strict UTF-8 → a JSON value.
 *
 * Every way a value can be unusable has its own readable reason (a {@link DecodeError}); the
 * caller quarantines the record with it. Integers beyond 2^53 come back as exact `bigint`s.
 */
import { writeBase64 } from './raw-buffer';
import { JsonParseError, mayNestDeeper, needsExactParse, parseJsonBig, parseJsonExact } from './json';
import { LakeloaderError } from './errors';
import { firstInvalidUtf8 } from './utf8';

/** Strict UTF-8: invalid sequences throw instead of becoming U+FFFD; a BOM is kept (and then rejected by JSON). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reused for every value's bytes (one allocation per container, not one per record); grows up to maxValueBytes. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/** Default largest value accepted, in bytes (1 MiB). */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
/** Default deepest nesting of arrays/objects accepted. */
export const DEFAULT_MAX_NESTING_DEPTH = 100;

/** A record value that cannot be decoded; the message is the quarantine reason. */
export class DecodeError extends LakeloaderError {
  readonly code = 'DECODE';
  readonly stage = 'decode' as const;
  constructor(message: string) {
    super(message);
  }
}

export interface DecodeLimits {
  /** @default DEFAULT_MAX_VALUE_BYTES */
  maxValueBytes: number;
  /** @default DEFAULT_MAX_NESTING_DEPTH */
  maxNestingDepth: number;
}

/** Bytes a base64 string decodes to, without decoding it. */
export function base64ByteLength(b64: string): number {
  let len = b64.length;
  let pad = 0;
  if (len > 0 && b64.charCodeAt(len - 1) === 0x3d) pad++;
  if (len > 1 && b64.charCodeAt(len - 2) === 0x3d) pad++;
  len = Math.floor((len * 3) / 4) - pad;
  return len < 0 ? 0 : len;
}

/**
 * Decodes one base64 record value into a JSON value.
 * @throws DecodeError for an empty value (tombstone), a value over the size limit, invalid UTF-8,
 *   invalid JSON (with the position), text after the JSON value, or nesting over the depth limit.
 */
export function decodeJsonValue(valueBase64: string | undefined, limits: DecodeLimits): unknown {
  return decode(valueBase64, limits, true);
}

/**
 * {@link decodeJsonValue} without the scan for big integers: an integer literal beyond 2^53 comes
 * back as the rounded `number` `JSON.parse` gives (every other value, and every error, is the
 * same). For a caller that notices such numbers itself — the row conformer's `roundedNumbers`
 * mode throws {@link InexactNumberError} — and then decodes that one record again with
 * decodeJsonValue. Saves a scan of every value for the few that hold an integer beyond 2^53.
 * @throws DecodeError as decodeJsonValue does.
 */
export function decodeJsonValueRounded(valueBase64: string | undefined, limits: DecodeLimits): unknown {
  return decode(valueBase64, limits, false);
}

/**
 * The one home of the two rules every value meets before it is read: a record without a value
 * (a tombstone) and one over `maxValueBytes` are quarantined. The fast path asks this too.
 * @returns the value's byte size, or the DecodeError to quarantine it with
 */
export function valueSize(valueBase64: string | undefined | null, limits: DecodeLimits): number | DecodeError {
  if (valueBase64 === undefined || valueBase64 === null || valueBase64.length === 0) return new DecodeError('empty value (tombstone): the record has no value to load');
  const size = base64ByteLength(valueBase64);
  if (size > limits.maxValueBytes) return new DecodeError(`value is ${size} bytes, larger than the limit of ${limits.maxValueBytes} bytes (raise maxValueBytes to accept it)`);
  return size;
}

function decode(valueBase64: string | undefined, limits: DecodeLimits, exact: boolean): unknown {
  const size = valueSize(valueBase64, limits);
  if (typeof size !== 'number') throw size;
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2));
  return decodeJsonBytes(scratch.subarray(0, writeBase64(scratch, valueBase64!)), limits, exact);
}

/**
 * Decodes UTF-8 JSON bytes (a registry-framed JSON payload) exactly as {@link decodeJsonValue}
 * decodes a value's bytes.
 * @throws DecodeError with the reason
 */
export function decodeJsonBytes(bytes: Uint8Array, limits: DecodeLimits, exact = true): unknown {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new DecodeError(`value is not valid UTF-8 (invalid byte sequence at byte offset ${firstInvalidUtf8(bytes)})`);
  }
  try {
    if (exact ? needsExactParse(text, limits.maxNestingDepth) : mayNestDeeper(text, limits.maxNestingDepth)) return parseJsonBig(text, limits.maxNestingDepth);
    return JSON.parse(text);
  } catch (e) {
    if (!(e instanceof SyntaxError) && !(e instanceof JsonParseError)) throw e;
    if (e instanceof SyntaxError) {
      try {
        parseJsonExact(text, limits.maxNestingDepth);
      } catch (exact) {
        if (exact instanceof JsonParseError) return throwClassified(exact);
        throw exact;
      }
      throw new DecodeError(`invalid JSON: ${e.message}`);
    }
    return throwClassified(e);
  }
}

function throwClassified(e: JsonParseError): never {
  switch (e.kind) {
    case 'trailing':
      throw new DecodeError(`trailing garbage: ${e.message}`);
    case 'depth':
      throw new DecodeError(`value nested too deeply: ${e.message} (raise maxNestingDepth to accept it)`);
    default:
      throw new DecodeError(`invalid JSON: ${e.message}`);
  }
}

/**
 * A row conformed in `roundedNumbers` mode met a number beyond ±(2^53−1), which
 * {@link decodeJsonValueRounded} may have rounded: decode the record exactly and conform again.
 * A signal between the loader's stages, never a quarantine reason.
 */
export class InexactNumberError extends LakeloaderError {
  readonly code = 'INEXACT_NUMBER';
  constructor() {
    super('a number beyond 2^53 was decoded without exact digits: decode the record with decodeJsonValue');
  }
}

/** The one InexactNumberError thrown (a signal: no per-throw stack trace to capture). */
export const INEXACT_NUMBER = new InexactNumberError();

/** A short name for the JSON type of a value, for error messages: `array`, `string`, `null`, … */
export function jsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'bigint') return 'number';
  return typeof v;
}

/** Throws a DecodeError unless a decoded value is a JSON object (the row, when there is no transform). */
export function expectObject(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new DecodeError(`value is a JSON ${jsonTypeName(v)}, not an object: without a transform each value must be one JSON object`);
  }
  return v as Record<string, unknown>;
}
