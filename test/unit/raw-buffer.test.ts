import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeBase64, writeUtf8 } from '../../lambdas/core/raw-buffer';

describe('unchecked Buffer writers', () => {
  it('write exactly what Buffer#write writes (base64 incl. invalid characters, UTF-8 incl. lone surrogates)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.uint8Array({ maxLength: 60 }), fc.nat({ max: 8 }), (text, bytes, offset) => {
        const b64 = Buffer.from(bytes).toString('base64') + (offset % 3 === 0 ? '!*' : '');
        const a = Buffer.alloc(128);
        const b = Buffer.alloc(128);
        expect(writeBase64(a, b64)).toBe(b.write(b64, 0, 'base64'));
        expect(a).toEqual(b);
        const c = Buffer.alloc(200);
        const d = Buffer.alloc(200);
        expect(writeUtf8(c, text, offset)).toBe(d.write(text, offset, 'utf8'));
        expect(c).toEqual(d);
      }),
      { numRuns: 300 },
    );
  });
});
