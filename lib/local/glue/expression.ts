/**
 * Glue partition expressions (GetPartitions `Expression`): a small parser that compiles an
 * expression over the table's partition keys into a predicate over a partition's values.
 */
import { glueErrors } from '../errors';
import type { GlueColumn } from './model';

type Token = { kind: 'id' | 'str' | 'num' | 'op' | 'lp' | 'rp' | 'comma'; text: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw glueErrors.invalidInput(`Unterminated string literal in partition expression: ${src}`);
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i++];
      }
      out.push({ kind: 'str', text: s });
    } else if (c === '`' || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw glueErrors.invalidInput(`Unterminated quoted identifier in partition expression: ${src}`);
      out.push({ kind: 'id', text: src.slice(i + 1, end).toLowerCase() });
      i = end + 1;
    } else if (/[0-9-]/.test(c) && /^-?\d+(\.\d+)?/.test(src.slice(i))) {
      const m = /^-?\d+(\.\d+)?/.exec(src.slice(i))!;
      out.push({ kind: 'num', text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ kind: 'id', text: m[0].toLowerCase() });
      i += m[0].length;
    } else if (c === '(') {
      out.push({ kind: 'lp', text: c });
      i++;
    } else if (c === ')') {
      out.push({ kind: 'rp', text: c });
      i++;
    } else if (c === ',') {
      out.push({ kind: 'comma', text: c });
      i++;
    } else {
      const m = /^(<=|>=|<>|!=|=|<|>)/.exec(src.slice(i));
      if (!m) throw glueErrors.invalidInput(`Unsupported character "${c}" in partition expression: ${src}`);
      out.push({ kind: 'op', text: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

/** A predicate over a partition's values. */
export type Pred = (values: string[]) => boolean;
const NUMERIC = /^(tinyint|smallint|int|integer|bigint|long|float|double|decimal.*)$/i;

/**
 * Compiles a Glue partition expression (`dt = '2026-01-01' AND hour >= '03'`, `OR`, `NOT`,
 * parentheses, `=, <>, !=, <, <=, >, >=`, `IN (...)`, `BETWEEN a AND b`, `LIKE`, `IS [NOT] NULL`)
 * into a predicate over a partition's values. Numeric partition keys compare numerically.
 * @throws AwsJsonError InvalidInputException for an unknown key or a syntax error.
 */
export function compilePartitionExpression(src: string, keys: GlueColumn[]): Pred {
  const toks = tokenize(src);
  let pos = 0;
  const peek = () => toks[pos];
  const isWord = (w: string) => peek()?.kind === 'id' && peek()!.text === w;
  const fail = (what: string): never => {
    throw glueErrors.invalidInput(`Unsupported partition expression "${src}": ${what} at token ${pos + 1}`);
  };
  const value = (): string => {
    const t = toks[pos++];
    if (!t || (t.kind !== 'str' && t.kind !== 'num')) return fail('expected a literal');
    return t.text;
  };
  const primary = (): Pred => {
    if (peek()?.kind === 'lp') {
      pos++;
      const e = or();
      if (toks[pos++]?.kind !== 'rp') fail('expected ")"');
      return e;
    }
    const t = toks[pos++];
    if (!t || t.kind !== 'id') return fail('expected a partition key');
    const idx = keys.findIndex((k) => k.Name.toLowerCase() === t.text);
    if (idx < 0) throw glueErrors.invalidInput(`Unknown partition key "${t.text}" in expression "${src}"; partition keys: ${keys.map((k) => k.Name).join(', ')}`);
    const numeric = NUMERIC.test(keys[idx]!.Type ?? 'string');
    const cmp = (a: string, b: string) => (numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0);
    let negate = false;
    if (isWord('not')) {
      pos++;
      negate = true;
    }
    if (isWord('in')) {
      pos++;
      if (toks[pos++]?.kind !== 'lp') fail('expected "(" after IN');
      const list: string[] = [value()];
      while (peek()?.kind === 'comma') {
        pos++;
        list.push(value());
      }
      if (toks[pos++]?.kind !== 'rp') fail('expected ")"');
      return (v) => list.some((x) => cmp(v[idx]!, x) === 0) !== negate;
    }
    if (isWord('between')) {
      pos++;
      const lo = value();
      if (!isWord('and')) fail('expected AND in BETWEEN');
      pos++;
      const hi = value();
      return (v) => (cmp(v[idx]!, lo) >= 0 && cmp(v[idx]!, hi) <= 0) !== negate;
    }
    if (isWord('like')) {
      pos++;
      const pat = value();
      const re = new RegExp(`^${pat.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`, 's');
      return (v) => re.test(v[idx]!) !== negate;
    }
    if (isWord('is')) {
      pos++;
      let not = false;
      if (isWord('not')) {
        pos++;
        not = true;
      }
      if (!isWord('null')) fail('expected NULL');
      pos++;
      return (v) => (v[idx] === '__HIVE_DEFAULT_PARTITION__') !== not;
    }
    if (negate) fail('expected IN, BETWEEN or LIKE after NOT');
    const op = toks[pos++];
    if (!op || op.kind !== 'op') return fail('expected a comparison operator');
    const rhs = value();
    switch (op.text) {
      case '=':
        return (v) => cmp(v[idx]!, rhs) === 0;
      case '<>':
      case '!=':
        return (v) => cmp(v[idx]!, rhs) !== 0;
      case '<':
        return (v) => cmp(v[idx]!, rhs) < 0;
      case '<=':
        return (v) => cmp(v[idx]!, rhs) <= 0;
      case '>':
        return (v) => cmp(v[idx]!, rhs) > 0;
      default:
        return (v) => cmp(v[idx]!, rhs) >= 0;
    }
  };
  const not = (): Pred => {
    if (isWord('not')) {
      pos++;
      const e = not();
      return (v) => !e(v);
    }
    return primary();
  };
  const and = (): Pred => {
    let e = not();
    while (isWord('and')) {
      pos++;
      const l = e;
      const r = not();
      e = (v) => l(v) && r(v);
    }
    return e;
  };
  function or(): Pred {
    let e = and();
    while (isWord('or')) {
      pos++;
      const l = e;
      const r = and();
      e = (v) => l(v) || r(v);
    }
    return e;
  }
  const pred = or();
  if (pos !== toks.length) fail('unexpected trailing text');
  return pred;
}
