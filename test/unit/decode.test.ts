import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DecodeError, InexactNumberError, base64ByteLength, decodeJsonValue, decodeJsonValueRounded, expectObject } from '../../lambdas/core/decode';
import { createRowConformer } from '../../lambdas/core/conform';
import { definePipeline } from '../../lambdas/core/pipeline';
import { JsonParseError, hasLongDigitRun, needsExactParse, parseJsonBig, parseJsonExact } from '../../lambdas/core/json';

const LIMITS = { maxValueBytes: 1024 * 1024, maxNestingDepth: 100 };
const b64 = (v: string | Uint8Array) => Buffer.from(v).toString('base64');
const decode = (v: string | Uint8Array) => decodeJsonValue(b64(v), LIMITS);
const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return (e as Error).message;
  }
  throw new Error('expected a DecodeError');
};

describe('decodeJsonValue', () => {
  it('decodes base64 UTF-8 JSON, including non-ASCII text', () => {
    expect(decode('{"a":1,"s":"héllo 🌍","n":null,"l":[true,false]}')).toEqual({ a: 1, s: 'héllo 🌍', n: null, l: [true, false] });
  });

  it('keeps integers beyond 2^53 exact as bigint, up to int64 and beyond', () => {
    const v = decode('{"a":9007199254740993,"b":-9223372036854775808,"c":9223372036854775807,"d":123456789012345678901234567890}') as Record<string, unknown>;
    expect(v).toEqual({ a: 9007199254740993n, b: -9223372036854775808n, c: 9223372036854775807n, d: 123456789012345678901234567890n });
    // JSON.parse would have rounded them:
    expect(JSON.parse('9007199254740993')).toBe(9007199254740992);
  });

  it('leaves safe integers, floats and long digit runs inside strings as JSON.parse gives them', () => {
    const text = '{"id":"12345678901234567890","x":9007199254740991,"f":0.12345678901234567,"e":1e21,"g":12345678901234567.5}';
    expect(needsExactParse(text, 100)).toBe(true);
    expect(needsExactParse('{"a":[{"b":123456789012345}]}', 100)).toBe(false);
    expect(needsExactParse('[[[]]]', 2)).toBe(true);
    expect(decode(text)).toEqual(JSON.parse(text));
  });

  it.each<[string, string | Uint8Array, RegExp]>([
    ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), /^value is not valid UTF-8 \(invalid byte sequence at byte offset 6\)$/],
    ['an overlong encoding', new Uint8Array([0x22, 0xc0, 0xaf, 0x22]), /not valid UTF-8/],
    ['a lone surrogate (CESU)', new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]), /not valid UTF-8/],
    ['invalid JSON', '{"a":1,}', /^invalid JSON: expected a property name in double quotes at position 7$/],
    ['truncated JSON', '{"a":[1,2', /^invalid JSON: .*end of JSON input/],
    ['single quotes', "{'a':1}", /^invalid JSON: expected a property name/],
    ['a control character in a string', '{"a":"x\ty"}', /^invalid JSON: unescaped control character/],
    ['trailing garbage', '{"a":1} {"b":2}', /^trailing garbage: unexpected text after the JSON value at position 8$/],
    ['whitespace only', '   ', /^invalid JSON: unexpected end of JSON input/],
  ])('rejects %s with a readable reason', (_, value, message) => {
    expect(reason(() => decode(value))).toMatch(message);
  });

  it('treats an absent or empty value as a tombstone', () => {
    expect(reason(() => decodeJsonValue(undefined, LIMITS))).toBe('empty value (tombstone): the record has no value to load');
    expect(reason(() => decodeJsonValue('', LIMITS))).toMatch(/tombstone/);
  });

  it('rejects values over the size limit before decoding them (a 5 MB value)', () => {
    const big = `{"x":"${'a'.repeat(5 * 1000 * 1000)}"}`;
    expect(reason(() => decode(big))).toBe(`value is ${big.length} bytes, larger than the limit of 1048576 bytes (raise maxValueBytes to accept it)`);
    const exact = `"${'b'.repeat(98)}"`;
    expect(decodeJsonValue(b64(exact), { ...LIMITS, maxValueBytes: 100 })).toBe('b'.repeat(98));
    expect(() => decodeJsonValue(b64(`${exact} `), { ...LIMITS, maxValueBytes: 100 })).toThrow(/101 bytes, larger than the limit of 100/);
  });

  it('rejects nesting 10,000 levels deep without overflowing the stack, and accepts the limit itself', () => {
    for (const [open, close] of [['[', ']'], ['{"a":', '}']]) {
      const deep = `${open.repeat(10000)}1${close.repeat(10000)}`;
      expect(reason(() => decode(deep))).toMatch(/^value nested too deeply: JSON nesting deeper than 100 levels at position \d+/);
    }
    const atLimit = `${'['.repeat(100)}${']'.repeat(100)}`;
    expect(JSON.stringify(decode(atLimit))).toBe(atLimit);
    expect(() => decode(`[${atLimit}]`)).toThrow(/deeper than 100/);
  });

  it('expectObject names the JSON type of a non-object', () => {
    expect(expectObject({ a: 1 })).toEqual({ a: 1 });
    const names = [[1], 'x', 7, null, true, 12345678901234567890n].map((v) => reason(() => expectObject(v)));
    expect(names.map((m) => /a JSON (\w+)/.exec(m)![1])).toEqual(['array', 'string', 'number', 'null', 'boolean', 'number']);
  });

  it('base64ByteLength equals the decoded length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(base64ByteLength(Buffer.from(bytes).toString('base64'))).toBe(bytes.length);
      }),
    );
  });
});

describe('hasLongDigitRun', () => {
  it('finds a run of 16+ digits exactly when /[0-9]{16}/ does, wherever it starts', () => {
    const chunk = fc.oneof(fc.stringMatching(/^[0-9]{1,40}$/), fc.stringMatching(/^[a-z",:{}\[\] .-]{1,5}$/));
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 30 }), (parts) => {
        const text = parts.join('');
        expect(hasLongDigitRun(text)).toBe(/[0-9]{16}/.test(text));
      }),
      { numRuns: 2000 },
    );
    for (let start = 0; start < 20; start++) {
      expect(hasLongDigitRun(`${'x'.repeat(start)}${'7'.repeat(16)}`)).toBe(true);
      expect(hasLongDigitRun(`${'x'.repeat(start)}${'7'.repeat(15)}x${'7'.repeat(15)}`)).toBe(false);
    }
  });
});

describe('parseJsonExact', () => {
  it('agrees with JSON.parse on any JSON text without big integers', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), (text) => {
        const expected = JSON.parse(text);
        const exact = parseJsonExact(text, 1000);
        // bigints appear only for integers beyond 2^53, which JSON.parse rounds
        expect(JSON.stringify(exact, (_, v) => (typeof v === 'bigint' ? Number(v) : v))).toBe(JSON.stringify(expected));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps "__proto__" as a plain own property, as JSON.parse does', () => {
    const v = parseJsonExact('{"__proto__":{"polluted":1}}', 10) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('classifies errors', () => {
    const kind = (t: string) => {
      try {
        parseJsonExact(t, 3);
      } catch (e) {
        return (e as JsonParseError).kind;
      }
      return 'ok';
    };
    expect([kind('[[[1]]]'), kind('[[[[1]]]]'), kind('{"a":1}x'), kind('{"a":01}'), kind('"\\x"'), kind('tru')]).toEqual(['ok', 'depth', 'trailing', 'syntax', 'syntax', 'syntax']);
  });
});

describe('parseJsonBig', () => {
  /** The outcome of a parser: its value (bigints tagged) or its error class and kind. */
  const outcome = (parse: () => unknown) => {
    try {
      return { value: JSON.stringify(parse(), (_, v) => (typeof v === 'bigint' ? `big:${v}` : v)) };
    } catch (e) {
      return { error: e instanceof JsonParseError ? e.kind : e instanceof SyntaxError ? 'syntax' : String(e) };
    }
  };
  const bigLiteral = fc.oneof(
    fc.bigInt({ min: 2n ** 53n - 3n, max: 2n ** 70n }),
    fc.bigInt({ min: -(2n ** 70n), max: -(2n ** 53n) + 3n }),
    fc.constantFrom(9007199254740991n, 9007199254740992n, -9007199254740992n, 1234567890123456n),
  );
  /** JSON texts with big integer literals spliced in as values, in arrays, objects and strings. */
  const textArb = fc.tuple(fc.json({ maxDepth: 4 }), fc.array(bigLiteral, { maxLength: 4 }), fc.nat(), fc.boolean()).map(([json, bigs, seed, inString]) => {
    const parts = bigs.map((b, k) => (inString && k === 0 ? `"${b}"` : String(b)));
    const spliced = parts.length ? `[${[json, ...parts].join(',')},{"k${seed % 7}":${parts[0]},"__proto__":${parts[parts.length - 1]}}]` : json;
    return spliced;
  });

  it('gives exactly what parseJsonExact gives, on valid texts with and without big integers', () => {
    fc.assert(
      fc.property(textArb, (text) => {
        expect(outcome(() => parseJsonBig(text, 100))).toEqual(outcome(() => parseJsonExact(text, 100)));
      }),
      { numRuns: 400 },
    );
  });

  it('rejects what parseJsonExact rejects, when a text is cut, mangled or too deep', () => {
    fc.assert(
      fc.property(textArb, fc.nat(), fc.constantFrom('', 'x', '0', '"', '\\', '{', ']', ':', '12345678901234567890', '012345678901234567890'), fc.integer({ min: 1, max: 6 }), (text, at, insert, depth) => {
        const k = at % (text.length + 1);
        const bad = text.slice(0, k) + insert + text.slice(k + (at % 3));
        const exact = outcome(() => parseJsonExact(bad, depth));
        const fast = outcome(() => parseJsonBig(bad, depth));
        if ('error' in exact) expect('error' in fast, bad).toBe(true);
        else expect(fast, bad).toEqual(exact);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps invalid texts invalid and big integers exact', () => {
    expect(parseJsonBig('{"id":12345678901234567890,"s":"12345678901234567890","n":[-98765432109876543210,1.5e300]}', 10)).toEqual({ id: 12345678901234567890n, s: '12345678901234567890', n: [-98765432109876543210n, 1.5e300] });
    expect(() => parseJsonBig('{12345678901234567890:1}', 10)).toThrow(); // a number as a key stays a syntax error
    expect(() => parseJsonBig('[012345678901234567890]', 10)).toThrow(); // leading zero
    expect(parseJsonBig('["\\u0000x",12345678901234567890]', 10)).toEqual(['\u0000x', 12345678901234567890n]); // escaped NUL: exact parser
    const proto = parseJsonBig('{"__proto__":12345678901234567890}', 10) as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(proto.__proto__).toBe(12345678901234567890n);
  });
});

describe('decodeJsonValueRounded', () => {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const limits = { maxValueBytes: 1000, maxNestingDepth: 3 };
  const outcome = (f: () => unknown) => {
    try {
      return { value: f() };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };

  it('rounds integers beyond 2^53 as JSON.parse does; same value or error as decodeJsonValue otherwise', () => {
    expect(decodeJsonValueRounded(b64('{"a":12345678901234567891}'), limits)).toEqual({ a: 12345678901234567891 });
    expect(decodeJsonValue(b64('{"a":12345678901234567891}'), limits)).toEqual({ a: 12345678901234567891n });
    for (const text of ['{"a":[1,{"b":"12345678901234567891"}]}', '[[[[1]]]]', '{"a":1} x', '{"a":01}', '\ufeff{}', '{"a":"\\x"}', '', '[[[1]]]']) {
      expect(outcome(() => decodeJsonValueRounded(b64(text), limits)), text).toEqual(outcome(() => decodeJsonValue(b64(text), limits)));
    }
  });

  it('a conformer in roundedNumbers mode signals such a number instead of conforming it', () => {
    const p = definePipeline({ name: 'r', topics: ['t'], valueFormat: 'json', partitioning: { by: 'none' }, columns: [{ name: 'x', type: 'string' }, { name: 'y', type: 'double' }] });
    const conform = createRowConformer(p);
    const meta = { topic: 't', partition: 0, offset: 0, timestamp: 0 };
    expect(() => conform({ x: 2 ** 60 }, meta, true)).toThrow(InexactNumberError);
    expect(() => conform({ y: -(2 ** 60) }, meta, true)).toThrow(InexactNumberError);
    expect(conform({ x: 2 ** 53 - 1, y: 1.5 }, meta, true).slice(0, 2)).toEqual(['9007199254740991', 1.5]);
    expect(conform({ x: 2 ** 60 }, meta)[0]).toBe('1152921504606847000'); // default mode conforms it (String of the number)
  });
});
