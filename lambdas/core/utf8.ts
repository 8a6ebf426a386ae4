/**
 * The one home of the UTF-8 rule the loader applies to record values: strict, as
 * `TextDecoder('utf-8', { fatal: true })` (no overlong forms, no surrogates, nothing above
 * U+10FFFF). The fast path scans with it; decode.ts names the first bad byte with it.
 */

/**
 * The length (2–4) of the strict UTF-8 sequence whose lead byte `c` is at `s[p]`, or −1: what
 * TextDecoder({ fatal: true }) accepts (no overlongs, no surrogates, nothing above U+10FFFF). Reads
 * at most 3 bytes after `p` (past the end of `s` reads as not a continuation byte; the fast
 * path's sentinel after the record is not one either).
 */
export function utf8SequenceLength(s: Uint8Array, p: number, c: number): number {
  if (c >= 0xc2 && c <= 0xdf) return (s[p + 1] & 0xc0) === 0x80 ? 2 : -1;
  const c1 = s[p + 1];
  if (c >= 0xe0 && c <= 0xef) {
    if (c === 0xe0 ? c1 < 0xa0 || c1 > 0xbf : c === 0xed ? c1 < 0x80 || c1 > 0x9f : (c1 & 0xc0) !== 0x80) return -1;
    return (s[p + 2] & 0xc0) === 0x80 ? 3 : -1;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (c === 0xf0 ? c1 < 0x90 || c1 > 0xbf : c === 0xf4 ? c1 < 0x80 || c1 > 0x8f : (c1 & 0xc0) !== 0x80) return -1;
    return (s[p + 2] & 0xc0) === 0x80 && (s[p + 3] & 0xc0) === 0x80 ? 4 : -1;
  }
  return -1;
}

/** Index of the first byte that starts an invalid UTF-8 sequence, or `bytes.length` when all is valid. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const hi = bytes.length;
  let i = 0;
  while (i < hi) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = utf8SequenceLength(bytes, i, c);
    if (len < 0 || i + len > hi) return i;
    i += len;
  }
  return i;
}
