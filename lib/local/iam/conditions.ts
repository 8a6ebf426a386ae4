/**
 * IAM policy `Condition` blocks: the operators (String*, Numeric*, Date*, Bool, Binary, IpAddress,
 * Arn*, Null), the `…IfExists` suffix and the `ForAnyValue:` / `ForAllValues:` set prefixes,
 * evaluated against a request context (condition key → value or values) with AWS's rules for
 * missing keys: a positive operator is false and a negated one true when the key is absent.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 */
import { BlockList, isIPv4 } from 'node:net';

/** Condition key (lower-case) → value(s) of this request. */
export type RequestContext = Map<string, string | string[]>;

type Matcher = (requestValue: string, policyValue: string) => boolean;

/** `*` and `?` wildcards (no other regex syntax), optionally case-insensitive. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, ignoreCase ? 'is' : 's');
  return re.test(value);
}

/** ARN match: six `:`-separated parts, each a glob (the resource part may itself hold `:`). */
export function arnLike(pattern: string, value: string): boolean {
  const split = (s: string) => {
    const p = s.split(':');
    return p.length < 6 ? undefined : [...p.slice(0, 5), p.slice(5).join(':')];
  };
  const p = split(pattern);
  const v = split(value);
  if (!p || !v) return globMatch(pattern, value);
  return p.every((part, i) => globMatch(part, v[i]!));
}

const num = (s: string) => Number(s);
const date = (s: string) => (/^\d+$/.test(s) ? Number(s) * 1000 : Date.parse(s));

function ipMatch(requestValue: string, cidr: string): boolean {
  const [addr, bits] = cidr.split('/');
  const list = new BlockList();
  const type = isIPv4(addr!) ? 'ipv4' : 'ipv6';
  try {
    if (bits === undefined) list.addAddress(addr!, type);
    else list.addSubnet(addr!, Number(bits), type);
    return list.check(requestValue, isIPv4(requestValue) ? 'ipv4' : 'ipv6');
  } catch {
    return false;
  }
}

/** Base operators: the positive matcher, and whether the operator is its negation. */
const OPERATORS: Record<string, { match: Matcher; negated: boolean }> = {
  StringEquals: { match: (r, p) => r === p, negated: false },
  StringNotEquals: { match: (r, p) => r === p, negated: true },
  StringEqualsIgnoreCase: { match: (r, p) => r.toLowerCase() === p.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { match: (r, p) => r.toLowerCase() === p.toLowerCase(), negated: true },
  StringLike: { match: (r, p) => globMatch(p, r), negated: false },
  StringNotLike: { match: (r, p) => globMatch(p, r), negated: true },
  NumericEquals: { match: (r, p) => num(r) === num(p), negated: false },
  NumericNotEquals: { match: (r, p) => num(r) === num(p), negated: true },
  NumericLessThan: { match: (r, p) => num(r) < num(p), negated: false },
  NumericLessThanEquals: { match: (r, p) => num(r) <= num(p), negated: false },
  NumericGreaterThan: { match: (r, p) => num(r) > num(p), negated: false },
  NumericGreaterThanEquals: { match: (r, p) => num(r) >= num(p), negated: false },
  DateEquals: { match: (r, p) => date(r) === date(p), negated: false },
  DateNotEquals: { match: (r, p) => date(r) === date(p), negated: true },
  DateLessThan: { match: (r, p) => date(r) < date(p), negated: false },
  DateLessThanEquals: { match: (r, p) => date(r) <= date(p), negated: false },
  DateGreaterThan: { match: (r, p) => date(r) > date(p), negated: false },
  DateGreaterThanEquals: { match: (r, p) => date(r) >= date(p), negated: false },
  Bool: { match: (r, p) => r.toLowerCase() === p.toLowerCase(), negated: false },
  BinaryEquals: { match: (r, p) => r === p, negated: false },
  IpAddress: { match: ipMatch, negated: false },
  NotIpAddress: { match: ipMatch, negated: true },
  ArnEquals: { match: (r, p) => arnLike(p, r), negated: false },
  ArnLike: { match: (r, p) => arnLike(p, r), negated: false },
  ArnNotEquals: { match: (r, p) => arnLike(p, r), negated: true },
  ArnNotLike: { match: (r, p) => arnLike(p, r), negated: true },
};

/** Thrown for an operator the evaluator does not know (the statement then never applies). */
export class UnknownConditionOperator extends Error {}

/**
 * Evaluates one operator block (`{"StringLike": {"s3:prefix": ["a/*"]}}`'s inner object) — every
 * key must hold (AND), any policy value may match (OR).
 * @param substitute resolves `${aws:…}` policy variables in policy values
 */
function evaluateOperator(operator: string, keys: Record<string, unknown>, ctx: RequestContext, substitute: (s: string) => string): boolean {
  let op = operator;
  let set: 'any' | 'all' | undefined;
  if (op.startsWith('ForAnyValue:')) {
    set = 'any';
    op = op.slice('ForAnyValue:'.length);
  } else if (op.startsWith('ForAllValues:')) {
    set = 'all';
    op = op.slice('ForAllValues:'.length);
  }
  const ifExists = op.endsWith('IfExists') && op !== 'IfExists';
  if (ifExists) op = op.slice(0, -'IfExists'.length);
  for (const [rawKey, rawValues] of Object.entries(keys)) {
    const key = rawKey.toLowerCase();
    const policyValues = (Array.isArray(rawValues) ? rawValues : [rawValues]).map((v) => substitute(String(v)));
    const present = ctx.get(key);
    if (op === 'Null') {
      const wantsMissing = policyValues.some((v) => v.toLowerCase() === 'true');
      const missing = present === undefined || (Array.isArray(present) && present.length === 0);
      if (wantsMissing !== missing) return false;
      continue;
    }
    const spec = OPERATORS[op];
    if (!spec) throw new UnknownConditionOperator(operator);
    const values = present === undefined ? [] : Array.isArray(present) ? present : [present];
    const matchOne = (v: string) => {
      const hit = policyValues.some((p) => spec.match(v, p));
      return spec.negated ? !hit : hit;
    };
    let ok: boolean;
    if (set === 'any') ok = values.some(matchOne);
    else if (set === 'all') ok = values.every(matchOne);
    else if (present === undefined) ok = ifExists || spec.negated;
    else ok = values.some(matchOne);
    if (!ok) return false;
  }
  return true;
}

/**
 * Evaluates a statement's `Condition` block (every operator must hold).
 * @throws UnknownConditionOperator for an operator outside the supported set
 */
export function evaluateConditions(condition: Record<string, Record<string, unknown>> | undefined, ctx: RequestContext, substitute: (s: string) => string): boolean {
  if (!condition) return true;
  return Object.entries(condition).every(([op, keys]) => evaluateOperator(op, keys, ctx, substitute));
}
