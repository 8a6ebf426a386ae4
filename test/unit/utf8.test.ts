/**
 * The one UTF-8 rule (lambdas/core/utf8.ts) agrees with TextDecoder's fatal mode, which is what it
 * claims to be, on random and on hand-picked byte strings: valid exactly when the decoder accepts,
 * and the first bad byte is where the valid prefix ends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8 } from '../../lambdas/core/utf8';

const strict = new TextDecoder('utf-8', { fatal: true });
const accepts = (b: Uint8Array) => {
  try {
    strict.decode(b);
    return true;
  } catch {
    return false;
  }
};

describe('firstInvalidUtf8', () => {
  it('is the length exactly when TextDecoder (fatal) accepts, and ends a valid prefix otherwise', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 12 }),
      // mostly-valid text with a byte flipped, truncated or inserted: the near misses
      fc.tuple(fc.string({ unit: 'binary', maxLength: 6 }), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([s, i, b]) => {
        const u = new TextEncoder().encode(s);
        const out = new Uint8Array(u.length + 1);
        out.set(u);
        out[u.length] = b;
        if (u.length) out[i % u.length] = b;
        return out;
      }),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const at = firstInvalidUtf8(b);
        expect(at === b.length).toBe(accepts(b));
        expect(accepts(b.subarray(0, at))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    [[0xc0, 0x80], 0], // overlong NUL
    [[0x61, 0xed, 0xa0, 0x80], 1], // a surrogate
    [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    [[0x61, 0x62, 0xe2, 0x82], 2], // truncated at the end
    [[0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], 7], // € 😀: valid
  ])('%j → %i', (b, at) => expect(firstInvalidUtf8(Uint8Array.from(b))).toBe(at));
});
