/**
 * Schema-directed byte parser: the fast path of prepareBatch for the common record.
 *
 * One scan of a record's UTF-8 bytes (after base64) reads a flat JSON object whose fields are the
 * declared columns and appends each value straight to its column builder in the target file
 * (ParquetFileBuilder.columns): a string's bytes are copied into the column's buffer by the same
 * loop that scans them, with no JS string, JSON object or re-encoding in between. Numbers,
 * timestamps and `map<string,string>` entries are read straight from the bytes.
 *
 * Strict fallback: {@link FastParser.append} returns false for ANY record it does not handle in
 * full — an escape in a string or key, invalid UTF-8, a nested value in an unknown field, a
 * duplicate key, a missing required column, a value of another JSON type than the column's
 * natural one, a number it cannot read exactly, anything invalid — after dropping what it had
 * appended (ParquetFileBuilder.rollback), and the caller then runs the record through the old path
 * (decode → conform → partition), which gives the same row or the same quarantine stage and
 * reason as before. The fast path only accepts what the old path accepts with the identical
 * conformed value (see test/unit/fastpath.test.ts).
 *
 * Only pipelines without a transform, with `unknownFields: 'ignore'`, plain JSON values (no registry frame, no key decoding), not partitioned by columns,
 * whose file columns are string, bigint, double, timestamp or map<string,string> (plus the Kafka
 * coordinate columns) use it; every other pipeline takes the old path only.
 */
import { INT64_MAX, INT64_MIN, ISO_UTC_LONG, ISO_UTC_SHORT, timeOfDayMs, utcDayMs, type Conformed } from './conform';
import { valueSize, type DecodeLimits } from './decode';
import type { Pipeline, RecordMeta } from './pipeline';
import type { FixedBuilder, MapBuilder, ParquetFileBuilder, StringBuilder } from './parquet';
import { writeBase64 } from './raw-buffer';
import { utf8SequenceLength } from './utf8';

const K_STRING = 0;
const K_BIGINT = 1;
const K_DOUBLE = 2;
const K_TIMESTAMP = 3;
const K_MAP = 4;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];


/** The parser of one pipeline, or null when the pipeline cannot use the fast path. */
export interface FastParser {
  /**
   * Parses one record value and appends one value to every column of `file` — without completing
   * the row: the caller calls `file.commitRow()` once the row's partition is known to be this
   * file's, or `file.rollback()`. Returns false, with `file` as it was, when the record must take
   * the old path.
   */
  append(valueBase64: string | undefined, meta: Pick<RecordMeta, 'topic' | 'partition' | 'offset' | 'timestamp'>, file: ParquetFileBuilder): boolean;
  /**
   * What the partitioner reads of the last record appended, by column: the timestamp columns'
   * values and the Kafka coordinates (an event-time source is one of them); null elsewhere (not
   * kept for the other columns, whose values would only cost a heap number each).
   */
  readonly values: Conformed[];
}

const parsers = new WeakMap<Pipeline, { limits: DecodeLimits; parser: FastParser | null }>();

/** The pipeline's fast parser for these limits (built once per pipeline and limits), or null when the pipeline has none. */
export function fastParserFor(pipeline: Pipeline, limits: DecodeLimits): FastParser | null {
  const hit = parsers.get(pipeline);
  if (hit && hit.limits.maxValueBytes === limits.maxValueBytes && hit.limits.maxNestingDepth === limits.maxNestingDepth) return hit.parser;
  const parser = createFastParser(pipeline, limits);
  parsers.set(pipeline, { limits: { ...limits }, parser });
  return parser;
}

/** Bytes that end the plain ASCII run of a string: `"`, `\\`, the control characters (1) and non-ASCII (2). */
const STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STOP[c] = 1;
for (let c = 0x80; c < 0x100; c++) STOP[c] = 2;
STOP[0x22] = 1;
STOP[0x5c] = 1;

/**
 * True when none of the four bytes of `x` (little-endian) is a STOP byte: not `"` (0x22), not `\\`
 * (0x5c), not a control character (< 0x20), not non-ASCII (≥ 0x80). The classic exact
 * "has a byte less than n / equal to v" tests, on 32-bit words: a word that has such a byte is
 * never reported plain (a plain word may be reported not plain only in theory; the byte loop then
 * takes it). Measured ≈ 2.7× the byte loop's speed on the example's string lengths.
 */
export function plainWord(x: number): boolean {
  const q = x ^ 0x22222222;
  const b = x ^ 0x5c5c5c5c;
  return ((((x - 0x20202020) & ~x) | x | ((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b)) & 0x80808080) === 0;
}

/** A little-endian view of a buffer's bytes (for the word-at-a-time scans). */
function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.length);
}

/**
 * Key tokens `key":` (the key's raw bytes, its closing quote and the colon), each compared as two
 * or three masked little-endian words: whole words, then one word overlapping the end (masked
 * below four bytes). A key that is plain bytes without `"` or `\\` matches exactly when its token
 * does. Used to try the predicted next key before scanning one.
 */
export class KeyPatterns {
  /** Number of patterns (ids 0 … size−1). */
  size = 0;
  private from: Int32Array = new Int32Array(16);
  private to: Int32Array = new Int32Array(16);
  /** Token length in bytes (key + 2). */
  tokenLength: Int32Array = new Int32Array(16);
  private off: Int32Array = new Int32Array(64);
  private val: Int32Array = new Int32Array(64);
  private mask: Int32Array = new Int32Array(64);
  private words = 0;

  /** Adds the token of `key` (raw bytes); returns its id. */
  add(key: Uint8Array): number {
    const token = Buffer.concat([key, Buffer.from('":', 'latin1')]);
    const len = token.length;
    const id = this.size++;
    if (id === this.from.length) {
      this.from = grow32(this.from);
      this.to = grow32(this.to);
      this.tokenLength = grow32(this.tokenLength);
    }
    if (this.words + (len >> 2) + 2 > this.off.length) {
      this.off = grow32(this.off, this.words + (len >> 2) + 2);
      this.val = grow32(this.val, this.off.length);
      this.mask = grow32(this.mask, this.off.length);
    }
    this.from[id] = this.words;
    const push = (o: number, v: number, m: number) => {
      this.off[this.words] = o;
      this.val[this.words] = v;
      this.mask[this.words] = m;
      this.words++;
    };
    if (len < 4) {
      const padded = Buffer.alloc(4);
      token.copy(padded);
      push(0, padded.readInt32LE(0), len === 3 ? 0xffffff : 0xffff);
    } else {
      for (let o = 0; o + 4 <= len; o += 4) push(o, token.readInt32LE(o), -1);
      if (len % 4 !== 0) push(len - 4, token.readInt32LE(len - 4), -1);
    }
    this.to[id] = this.words;
    this.tokenLength[id] = len;
    return id;
  }

  /** Whether the token of `id` stands at `pos` (the caller checked that it fits before the record's end; up to 3 bytes beyond are read). */
  match(view: DataView, pos: number, id: number): boolean {
    const last = this.to[id];
    let k = this.from[id];
    while (k < last && (view.getInt32(pos + this.off[k], true) & this.mask[k]) === this.val[k]) k++;
    return k === last;
  }
}

function grow32(a: Int32Array, need = a.length * 2): Int32Array {
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** A declared (non-Kafka) field: its name's bytes and its column index. */
interface FieldName {
  bytes: Buffer;
  index: number;
}

/**
 * What the fast parser knows of a pipeline's columns, computed once when it is built (nothing here
 * is per record): each column's value kind, Kafka coordinate and required flag, the declared
 * fields' lookup by name length, and their key tokens for the key-order prediction.
 */
interface ColumnPlan {
  /** Number of columns. */
  n: number;
  /** Per column: K_STRING … K_MAP; −1 for a Kafka coordinate column. */
  kinds: Int8Array;
  /** Per column: the Kafka coordinate it holds, or null. */
  kafka: (string | null)[];
  /** Kafka coordinate columns declared as strings (1) or numbers (0). */
  kafkaString: Uint8Array;
  required: Uint8Array;
  /** Declared fields by name length (index), for {@link createFastParser}'s columnOf. */
  lookup: (FieldName[] | undefined)[];
  /** The longest declared field name, in bytes. */
  maxLen: number;
  /** The key token of every declared field. */
  keys: KeyPatterns;
  /** Per column, the id of its key token in `keys` (−1 for Kafka columns). */
  keyId: Int32Array;
}

/**
 * Whether the pipeline may use the fast path at all: no transform, unknown fields ignored, plain
 * JSON values without a registry frame or key decoding, not partitioned by columns, and a nesting
 * limit that admits a map column.
 */
function fastPathEligible(pipeline: Pipeline, limits: DecodeLimits): boolean {
  if (pipeline.transform || pipeline.unknownFields !== 'ignore' || pipeline.valueFormat !== 'json' || pipeline.schemaRegistry !== undefined || pipeline.keyFormat !== undefined || pipeline.partitioning.by === 'columns') return false;
  return limits.maxNestingDepth >= 2;
}

/**
 * The {@link ColumnPlan} of a pipeline's columns, or null when a column rules the fast path out: a
 * type it does not read, or a field name the old path reads specially (an inherited name,
 * `__proto__`) or that bytes cannot match plainly (non-printable ASCII, `"`, `\\`), or a repeated one.
 */
function planColumns(cols: Pipeline['columns']): ColumnPlan | null {
  const n = cols.length;
  const kinds = new Int8Array(n).fill(-1);
  const kafka: (string | null)[] = [];
  const kafkaString = new Uint8Array(n);
  const required = new Uint8Array(n);
  /** Declared (non-Kafka) fields: name bytes → column index. */
  const names: FieldName[] = [];
  for (let i = 0; i < n; i++) {
    const c = cols[i];
    kafka.push(c.kafka ?? null);
    if (c.kafka) {
      if (c.type.kind === 'string') kafkaString[i] = 1;
      else if (c.type.kind !== 'int' && c.type.kind !== 'bigint' && c.type.kind !== 'timestamp') return null;
      continue;
    }
    const t = c.type;
    if (t.kind === 'string') kinds[i] = K_STRING;
    else if (t.kind === 'bigint') kinds[i] = K_BIGINT;
    else if (t.kind === 'double') kinds[i] = K_DOUBLE;
    else if (t.kind === 'timestamp') kinds[i] = K_TIMESTAMP;
    else if (t.kind === 'map' && t.value.kind === 'string') kinds[i] = K_MAP;
    else return null;
    required[i] = c.required ? 1 : 0;
    const f = c.field;
    // Fields the old path reads specially (inherited names) or that bytes cannot match plainly.
    if (f in Object.prototype || f === '__proto__' || !/^[\x20-\x7e]*$/.test(f) || /["\\]/.test(f)) return null;
    if (names.some((x) => x.bytes.toString('latin1') === f)) return null;
    names.push({ bytes: Buffer.from(f, 'latin1'), index: i });
  }
  const { lookup, maxLen } = lookupByLength(names);
  const keys = new KeyPatterns();
  const keyId = new Int32Array(n).fill(-1);
  for (const x of names) keyId[x.index] = keys.add(x.bytes);
  return { n, kinds, kafka, kafkaString, required, lookup, maxLen, keys, keyId };
}

/** Field lookup: `lookup[length]` lists the fields whose names have that many bytes (then compared by bytes). */
function lookupByLength(names: FieldName[]): { lookup: (FieldName[] | undefined)[]; maxLen: number } {
  const byLength = new Map<number, FieldName[]>();
  for (const x of names) {
    const l = byLength.get(x.bytes.length) ?? [];
    l.push(x);
    byLength.set(x.bytes.length, l);
  }
  const maxLen = Math.max(0, ...names.map((x) => x.bytes.length));
  const lookup: (FieldName[] | undefined)[] = [];
  for (let l = 0; l <= maxLen; l++) lookup.push(byLength.get(l));
  return { lookup, maxLen };
}

/**
 * The fast parser of a pipeline (see the module comment), or null when it has none. The setup is
 * {@link fastPathEligible} and {@link planColumns}; the rest is one closure on purpose: the scan
 * state (`src`, `pos`, `end`, the last number, the builders bound) lives in its variables, so the
 * per-byte and per-record functions below read and write it without allocating or indirection.
 */
function createFastParser(pipeline: Pipeline, limits: DecodeLimits): FastParser | null {
  if (!fastPathEligible(pipeline, limits)) return null;
  const plan = planColumns(pipeline.columns);
  if (!plan) return null;
  const { n, kinds, kafka, kafkaString, required, lookup, maxLen, keys, keyId } = plan;

  let src = Buffer.allocUnsafe(64 * 1024);
  let srcView = viewOf(src);
  const vals = new Array<Conformed>(n).fill(null);
  /** seen[i] === record: column i's key appeared in the current record (a counter, so no per-record clearing). */
  const seen = new Uint32Array(n);
  let record = 0;

  // Scan state (module-closure variables: no per-record allocation).
  let pos = 0;
  let end = 0;

  const skipWs = () => {
    while (pos < end) {
      const c = src[pos];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };

  /**
   * After an opening quote: moves pos past the closing quote; returns the end of the content, or
   * −1 (an escape, a control character, invalid UTF-8, unterminated). `src[end]` holds a `"`
   * sentinel, so the plain-ASCII loop needs no bounds check. Bytes outside strings must be ASCII
   * JSON syntax, so checking the strings' UTF-8 here checks the whole record's.
   */
  const scanString = (): number => {
    const s = src;
    let p = pos;
    while (plainWord(srcView.getInt32(p, true))) p += 4;
    for (;;) {
      let c = s[p];
      while (STOP[c] === 0) c = s[++p];
      if (c === 0x22) {
        if (p >= end) return -1;
        pos = p + 1;
        return p;
      }
      if (c < 0x80) return -1; // backslash or control character
      const l = utf8SequenceLength(s, p, c);
      if (l < 0) return -1;
      p += l;
      if (p > end) return -1;
    }
  };

  // The last number scanned: its text range, whether it is an integer literal, digit counts.
  let numStart = 0;
  let numInteger = true;
  let numMantissa = 0;
  let numDigits = 0;
  let numFrac = 0;
  let numNeg = false;
  /** Scans a JSON number at pos (JSON grammar exactly); false when it is not one. */
  const scanNumber = (): boolean => {
    const s = src;
    numStart = pos;
    numNeg = false;
    numInteger = true;
    numMantissa = 0;
    numDigits = 0;
    numFrac = 0;
    if (s[pos] === 0x2d) {
      numNeg = true;
      pos++;
    }
    if (pos >= end) return false;
    let c = s[pos];
    if (c === 0x30) {
      pos++;
      numDigits = 1;
    } else if (c >= 0x31 && c <= 0x39) {
      while (pos < end && (c = s[pos]) >= 0x30 && c <= 0x39) {
        if (numDigits < 16) numMantissa = numMantissa * 10 + (c - 0x30);
        numDigits++;
        pos++;
      }
    } else return false;
    if (pos < end && s[pos] === 0x2e) {
      numInteger = false;
      pos++;
      const from = pos;
      while (pos < end && (c = s[pos]) >= 0x30 && c <= 0x39) {
        if (numDigits < 16) numMantissa = numMantissa * 10 + (c - 0x30);
        numDigits++;
        pos++;
      }
      numFrac = pos - from;
      if (numFrac === 0) return false;
    }
    if (pos < end && (s[pos] === 0x65 || s[pos] === 0x45)) {
      numInteger = false;
      numFrac = -1; // exponent: read through Number()
      pos++;
      if (pos < end && (s[pos] === 0x2b || s[pos] === 0x2d)) pos++;
      const from = pos;
      while (pos < end && (c = s[pos]) >= 0x30 && c <= 0x39) pos++;
      if (pos === from) return false;
    }
    return true;
  };

  /** Scans a scalar of an unknown field (string, number, true, false, null); false = fall back. */
  const skipScalar = (): boolean => {
    const c = src[pos];
    if (c === 0x22) {
      pos++;
      return scanString() >= 0;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return scanNumber();
    return literal() >= 0;
  };

  /** `true`/`false`/`null` at pos: 1, 0, 2; −1 otherwise. */
  const literal = (): number => {
    const s = src;
    if (s[pos] === 0x6e && pos + 4 <= end && s[pos + 1] === 0x75 && s[pos + 2] === 0x6c && s[pos + 3] === 0x6c) {
      pos += 4;
      return 2;
    }
    if (s[pos] === 0x74 && pos + 4 <= end && s[pos + 1] === 0x72 && s[pos + 2] === 0x75 && s[pos + 3] === 0x65) {
      pos += 4;
      return 1;
    }
    if (s[pos] === 0x66 && pos + 5 <= end && s[pos + 1] === 0x61 && s[pos + 2] === 0x6c && s[pos + 3] === 0x73 && s[pos + 4] === 0x65) {
      pos += 5;
      return 0;
    }
    return -1;
  };

  const isNull = (): boolean => {
    const s = src;
    if (s[pos] === 0x6e && pos + 4 <= end && s[pos + 1] === 0x75 && s[pos + 2] === 0x6c && s[pos + 3] === 0x6c) {
      pos += 4;
      return true;
    }
    return false;
  };

  const d2 = (i: number) => {
    const a = src[i] - 0x30;
    const b = src[i + 1] - 0x30;
    return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1000;
  };
  /** The fast timestamp form (conform.ts ISO_UTC_SHORT/LONG) on bytes → epoch ms, or −1; the value rules are conform's utcDayMs and timeOfDayMs. */
  const isoUtc = (a: number, b: number): number => {
    const s = src;
    const len = b - a;
    if ((len !== ISO_UTC_SHORT && len !== ISO_UTC_LONG) || s[b - 1] !== 0x5a || s[a + 4] !== 0x2d || s[a + 7] !== 0x2d || s[a + 10] !== 0x54 || s[a + 13] !== 0x3a || s[a + 16] !== 0x3a) return -1;
    // The date part `YYYY-MM-DD` mostly repeats from record to record: reuse its day when its
    // bytes equal the last valid one's.
    const w0 = srcView.getInt32(a, true);
    const w1 = srcView.getInt32(a + 4, true);
    const w2 = srcView.getInt16(a + 8, true);
    let dayMs: number;
    if (w0 === lastDate0 && w1 === lastDate1 && w2 === lastDate2) dayMs = lastDayMs;
    else {
      dayMs = utcDayMs(d2(a) * 100 + d2(a + 2), d2(a + 5), d2(a + 8));
      if (dayMs < 0) return -1;
      lastDate0 = w0;
      lastDate1 = w1;
      lastDate2 = w2;
      lastDayMs = dayMs;
    }
    let frac = 0;
    if (len === ISO_UTC_LONG) {
      if (s[a + 19] !== 0x2e) return -1;
      const f0 = s[a + 20] - 0x30;
      const f1 = s[a + 21] - 0x30;
      const f2 = s[a + 22] - 0x30;
      if (f0 < 0 || f0 > 9 || f1 < 0 || f1 > 9 || f2 < 0 || f2 > 9) return -1;
      frac = f0 * 100 + f1 * 10 + f2;
    }
    const time = timeOfDayMs(d2(a + 11), d2(a + 14), d2(a + 17), frac);
    return time < 0 ? -1 : dayMs + time;
  };
  /** The date bytes (as two words and a half-word) and the day of the last valid timestamp. */
  let lastDate0 = 0;
  let lastDate1 = 0;
  let lastDate2 = 0;
  let lastDayMs = NaN;

  /** Finds the column of the key src[a, b), or −1. */
  const columnOf = (a: number, b: number): number => {
    const len = b - a;
    if (len > maxLen) return -1;
    const cands = lookup[len];
    if (cands === undefined) return -1;
    for (let k = 0; k < cands.length; k++) {
      const nb = cands[k].bytes;
      let j = 0;
      while (j < len && nb[j] === src[a + j]) j++;
      if (j === len) return cands[k].index;
    }
    return -1;
  };

  /**
   * After an opening quote: like {@link scanString}, and copies the string's bytes to `dst` from
   * `q` on (the caller reserved room for the rest of the record); returns the end in `dst`, or −1.
   * One loop scans and copies (the copy is a store per byte of a value already in a register).
   */
  const copyString = (dst: Buffer, dstView: DataView, q: number): number => {
    const s = src;
    let p = pos;
    // Four bytes at a time while none of them ends the plain run; then byte by byte.
    for (let x = srcView.getInt32(p, true); plainWord(x); x = srcView.getInt32(p, true)) {
      dstView.setInt32(q, x, true);
      p += 4;
      q += 4;
    }
    for (;;) {
      let c = s[p];
      while (STOP[c] === 0) {
        dst[q++] = c;
        c = s[++p];
      }
      if (c === 0x22) {
        if (p >= end) return -1;
        pos = p + 1;
        return q;
      }
      if (c < 0x80) return -1; // backslash or control character
      const l = utf8SequenceLength(s, p, c);
      if (l < 0) return -1;
      for (let k = 0; k < l; k++) dst[q + k] = s[p + k];
      q += l;
      p += l;
      if (p > end) return -1;
    }
  };

  /** Key ranges (in `src`) of the map being parsed, for the duplicate-key check. */
  let mapKeyStart = new Int32Array(16);
  let mapKeyEnd = new Int32Array(16);

  /** A map<string,string> object at pos (after `{`), its entries appended to `mb`; false = fall back. */
  const parseMap = (mb: MapBuilder, vb: StringBuilder): boolean => {
    const kb = mb.keys;
    // Room for the rest of the record in both children: no entry can need more.
    kb.reserve(end - pos);
    vb.reserve(end - pos);
    let count = 0;
    let keyFilter = 0;
    skipWs();
    if (pos < end && src[pos] === 0x7d) {
      pos++;
      mb.push();
      return true;
    }
    for (;;) {
      if (pos >= end || src[pos] !== 0x22) return false;
      pos++;
      const ks = pos;
      // An array-index-like key is ordered first by Object.keys: leave such maps to the old path.
      if (src[ks] >= 0x30 && src[ks] <= 0x39) return false;
      const kq = copyString(kb.bytes, kb.view, kb.pos);
      if (kq < 0) return false;
      const ke = pos - 1;
      // Duplicate keys: JSON.parse keeps the last value at the first key's position. A 32-bit
      // filter over (length, first and last byte) skips the comparisons for a key unlike all before.
      const klen = ke - ks;
      const bit = 1 << ((klen * 7 + src[ks] * 3 + src[ke - 1]) & 31);
      const dupPossible = (keyFilter & bit) !== 0;
      keyFilter |= bit;
      if (dupPossible) for (let e = 0; e < count; e++) {
        if (mapKeyEnd[e] - mapKeyStart[e] !== klen) continue;
        const o = mapKeyStart[e];
        let j = 0;
        while (j < klen && src[o + j] === src[ks + j]) j++;
        if (j === klen) return false;
      }
      if (count === mapKeyStart.length) {
        const a = new Int32Array(count * 2);
        a.set(mapKeyStart);
        mapKeyStart = a;
        const b = new Int32Array(count * 2);
        b.set(mapKeyEnd);
        mapKeyEnd = b;
      }
      mapKeyStart[count] = ks;
      mapKeyEnd[count] = ke;
      count++;
      kb.push(kq);
      skipWs();
      if (pos >= end || src[pos] !== 0x3a) return false;
      pos++;
      skipWs();
      if (pos >= end) return false;
      if (src[pos] === 0x22) {
        pos++;
        const vq = copyString(vb.bytes, vb.view, vb.pos);
        if (vq < 0) return false;
        vb.push(vq);
      } else if (isNull()) {
        vb.append(null);
      } else return false;
      skipWs();
      if (pos >= end) return false;
      const c = src[pos++];
      if (c === 0x7d) {
        mb.push();
        return true;
      }
      if (c !== 0x2c) return false;
      skipWs();
    }
  };

  // The columns of the file being appended to (bound by bind()).
  let bound: ParquetFileBuilder | null = null;
  const strs: (StringBuilder | null)[] = new Array(n).fill(null);
  const fixed: (FixedBuilder | null)[] = new Array(n).fill(null);
  const maps: (MapBuilder | null)[] = new Array(n).fill(null);
  const mapValues: (StringBuilder | null)[] = new Array(n).fill(null);
  const bind = (file: ParquetFileBuilder) => {
    bound = file;
    for (let i = 0; i < n; i++) {
      const b = file.columns[i];
      strs[i] = kinds[i] === K_STRING || kafkaString[i] === 1 ? (b as StringBuilder) : null;
      fixed[i] = kinds[i] === K_BIGINT || kinds[i] === K_DOUBLE || kinds[i] === K_TIMESTAMP || (kafka[i] !== null && kafkaString[i] === 0) ? (b as FixedBuilder) : null;
      maps[i] = kinds[i] === K_MAP ? (b as MapBuilder) : null;
      mapValues[i] = kinds[i] === K_MAP ? ((b as MapBuilder).values as StringBuilder) : null;
    }
  };

  /** Appends null to column i (not required). */
  const appendNull = (i: number) => {
    const k = kinds[i];
    if (k === K_STRING) strs[i]!.append(null);
    else if (k === K_MAP) maps[i]!.append(null);
    else fixed[i]!.append(null);
    vals[i] = null;
  };

  /** The value of column i at pos, appended to its column; false = fall back. */
  const parseValue = (i: number): boolean => {
    const s = src;
    const kind = kinds[i];
    const c = s[pos];
    if (c === 0x6e) {
      if (!isNull()) return false;
      if (required[i] === 1) return false; // missing required column: the old path's reason
      appendNull(i);
      return true;
    }
    switch (kind) {
      case K_STRING: {
        if (c !== 0x22) return false;
        pos++;
        const sb = strs[i]!;
        sb.reserve(end - pos);
        const q = copyString(sb.bytes, sb.view, sb.pos);
        if (q < 0) return false;
        sb.push(q);
        return true;
      }
      case K_TIMESTAMP: {
        if (c !== 0x22) return false;
        pos++;
        const a = pos;
        const b = scanString();
        if (b < 0) return false;
        const ms = isoUtc(a, b);
        if (ms < 0) return false;
        fixed[i]!.append(ms);
        vals[i] = ms;
        return true;
      }
      case K_BIGINT: {
        if (!(c === 0x2d || (c >= 0x30 && c <= 0x39))) return false;
        if (!scanNumber() || !numInteger) return false;
        let v: number | bigint;
        if (numDigits <= 15) v = numNeg ? -numMantissa : numMantissa;
        else {
          const text = s.toString('latin1', numStart, pos);
          const x = Number(text);
          if (Number.isSafeInteger(x)) v = x;
          else {
            const big = BigInt(text);
            if (big < INT64_MIN || big > INT64_MAX) return false;
            v = big;
          }
        }
        fixed[i]!.append(v);
        return true;
      }
      case K_DOUBLE: {
        if (!(c === 0x2d || (c >= 0x30 && c <= 0x39))) return false;
        if (!scanNumber()) return false;
        let v: number;
        // Both operands exact doubles, one division: correctly rounded, as Number(text) is.
        if (numDigits <= 15 && numFrac >= 0) v = numNeg ? -(numMantissa / POW10[numFrac]) : numMantissa / POW10[numFrac];
        else v = Number(s.toString('latin1', numStart, pos));
        if (!(v <= MAX_SAFE && v >= -MAX_SAFE)) return false;
        fixed[i]!.append(v);
        return true;
      }
      case K_MAP: {
        if (c !== 0x7b) return false;
        pos++;
        if (!parseMap(maps[i]!, mapValues[i]!)) return false;
        return true;
      }
    }
    return false;
  };

  // Key-order prediction: nextKey[state] is the column whose key came after `state` (a column
  // index, START or AFTER_UNKNOWN) in the last record that had one there; −1 = none yet.
  const START = n;
  const AFTER_UNKNOWN = n + 1;
  const nextKey = new Int16Array(n + 2).fill(-1);
  let state = START;

  const parseObject = (): boolean => {
    state = START;
    skipWs();
    if (pos >= end || src[pos] !== 0x7b) return false;
    pos++;
    skipWs();
    if (pos < end && src[pos] === 0x7d) pos++;
    else {
      for (;;) {
        if (pos >= end || src[pos] !== 0x22) return false;
        pos++;
        // Records of one topic mostly repeat their key order: try the key that followed the
        // previous one last time first (a declared name is plain ASCII without `"` or `\`, so
        // its bytes followed by a quote are exactly that key); otherwise scan and look it up.
        let i = -1;
        const guess = nextKey[state];
        if (guess >= 0) {
          // `name":` compared four bytes at a time (compact JSON; otherwise the general path).
          const id = keyId[guess];
          if (pos + keys.tokenLength[id] <= end && keys.match(srcView, pos, id)) {
            i = guess;
            pos += keys.tokenLength[id];
          }
        }
        if (i < 0) {
          const ks = pos;
          const ke = scanString();
          if (ke < 0) return false;
          i = columnOf(ks, ke);
          nextKey[state] = i;
          skipWs();
          if (pos >= end || src[pos] !== 0x3a) return false;
          pos++;
        }
        state = i < 0 ? AFTER_UNKNOWN : i;
        skipWs();
        if (pos >= end) return false;
        if (i >= 0) {
          if (seen[i] === record) return false; // duplicate key
          seen[i] = record;
          if (!parseValue(i)) return false;
        } else if (!skipScalar()) return false;
        skipWs();
        if (pos >= end) return false;
        const c = src[pos++];
        if (c === 0x7d) break;
        if (c !== 0x2c) return false;
        skipWs();
      }
    }
    skipWs();
    return pos === end;
  };

  /** The rest of the row after the object: Kafka coordinates, nulls for absent optional columns. */
  const finishRow = (meta: Pick<RecordMeta, 'topic' | 'partition' | 'offset' | 'timestamp'>): boolean => {
    for (let i = 0; i < n; i++) {
      const k = kafka[i];
      if (k !== null) {
        const v = k === 'topic' ? meta.topic : k === 'partition' ? meta.partition : k === 'offset' ? meta.offset : meta.timestamp;
        if (kafkaString[i] === 1) strs[i]!.append(v);
        else fixed[i]!.append(v);
        vals[i] = v;
      } else if (seen[i] !== record) {
        if (required[i] === 1) return false;
        appendNull(i);
      }
    }
    return true;
  };

  return {
    values: vals,
    append(valueBase64, meta, file) {
      const size = valueSize(valueBase64, limits);
      if (typeof size !== 'number') return false; // the general path quarantines it with the reason
      if (src.length < size + 4) {
        src = Buffer.allocUnsafe(Math.max(size + 4, src.length * 2));
        srcView = viewOf(src);
      }
      end = writeBase64(src, valueBase64!);
      src[end] = 0x22; // sentinel for scanString
      src[end + 1] = 0; // and a non-continuation byte after it (reads at most 3 bytes past a lead byte)
      src[end + 2] = 0;
      pos = 0;
      if (++record === 0xffffffff) {
        seen.fill(0);
        record = 1;
      }
      if (file !== bound) bind(file);
      if (parseObject() && finishRow(meta)) return true;
      file.rollback();
      return false;
    },
  };
}
