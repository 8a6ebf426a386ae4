/**
 * Node's unchecked Buffer writers: `buf.write(string, offset, encoding)` validates its arguments
 * in JavaScript and then calls these; on the hot paths (every record's base64 value, every long
 * string of a column) that wrapper cost about as much as the copy. Present on every Node version
 * the loader runs on; when a runtime lacks them, the checked `Buffer#write` is used.
 */

interface UncheckedWriters {
  base64Write?: (this: Buffer, s: string, offset: number, length: number) => number;
  utf8Write?: (this: Buffer, s: string, offset: number, length: number) => number;
}
const proto = Buffer.prototype as unknown as UncheckedWriters;
const base64Write = typeof proto.base64Write === 'function' ? proto.base64Write : undefined;
const utf8Write = typeof proto.utf8Write === 'function' ? proto.utf8Write : undefined;

/** Decodes base64 `s` into `buf` from offset 0 (invalid characters are skipped, as Buffer#write does); returns the bytes written. `buf` must be large enough. */
export function writeBase64(buf: Buffer, s: string): number {
  return base64Write !== undefined ? base64Write.call(buf, s, 0, buf.length) : buf.write(s, 0, 'base64');
}

/** Encodes `s` as UTF-8 into `buf` at `offset`; returns the bytes written. `buf` must have room for `s.length * 3` bytes. */
export function writeUtf8(buf: Buffer, s: string, offset: number): number {
  return utf8Write !== undefined ? utf8Write.call(buf, s, offset, buf.length - offset) : buf.write(s, offset, 'utf8');
}
