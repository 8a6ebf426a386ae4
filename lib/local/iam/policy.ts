/**
 * IAM policy evaluation for one account, as AWS documents it: an explicit `Deny` in any
 * applicable policy wins; otherwise an `Allow` in an identity-based policy of the principal or in
 * the resource's policy (for a principal it names) allows; otherwise the request is implicitly
 * denied. Statements match with `Action`/`NotAction` (case-insensitive wildcards),
 * `Resource`/`NotResource` (wildcards, `${aws:…}` policy variables), `Principal`/`NotPrincipal`
 * (resource policies) and `Condition` (lib/local/iam/conditions.ts).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 */
import { evaluateConditions, globMatch, UnknownConditionOperator, type RequestContext } from './conditions';

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  NotPrincipal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** Who is asking. */
export interface Principal {
  /** `arn:aws:iam::<account>:role/<name>` (undefined for an anonymous request). */
  roleArn?: string;
  /** `arn:aws:sts::<account>:assumed-role/<name>/<session>`. */
  sessionArn?: string;
  accountId: string;
}

/** One thing a request does: an action on a resource, with its condition keys. */
export interface AuthzRequest {
  action: string;
  resource: string;
  context: RequestContext;
}

export type DenyReason = 'implicit' | 'identity-deny' | 'resource-deny';
export type Decision = { allowed: true } | { allowed: false; reason: DenyReason };

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The statements of a document as a list. */
export const statementsOf = (doc: PolicyDocument | undefined): PolicyStatement[] => asList(doc?.Statement);

/** Resolves `${aws:username}`-style policy variables from the request context (`${*}`, `${?}`, `${$}` escape). */
function substituter(ctx: RequestContext): (s: string) => string {
  return (s) =>
    s.includes('${')
      ? s.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
          if (name === '*' || name === '?' || name === '$') return name;
          const v = ctx.get(name.toLowerCase());
          return typeof v === 'string' ? v : `\${${name}}`;
        })
      : s;
}

function principalMatches(spec: unknown, who: Principal, effect: 'Allow' | 'Deny'): boolean {
  if (spec === '*') return true;
  if (!spec || typeof spec !== 'object') return false;
  const aws = asList((spec as { AWS?: string | string[] }).AWS);
  return aws.some((p) => {
    if (p === '*') return true;
    if (who.roleArn && (p === who.roleArn || p === who.sessionArn)) return true;
    // An account principal in a resource policy delegates to the account's identity policies:
    // it grants nothing by itself, but a Deny on it applies to everyone in the account.
    return effect === 'Deny' && (p === who.accountId || p === `arn:aws:iam::${who.accountId}:root`);
  });
}

/** True when `s` applies to `req` (and, for a resource policy, to `who`). */
function applies(s: PolicyStatement, req: AuthzRequest, who: Principal | undefined, sub: (x: string) => string): boolean {
  if (who) {
    if (s.Principal !== undefined && !principalMatches(s.Principal, who, s.Effect)) return false;
    if (s.NotPrincipal !== undefined && principalMatches(s.NotPrincipal, who, s.Effect)) return false;
    if (s.Principal === undefined && s.NotPrincipal === undefined) return false;
  }
  const actionHit = (list: string[]) => list.some((a) => globMatch(a, req.action, true));
  if (s.Action !== undefined && !actionHit(asList(s.Action))) return false;
  if (s.NotAction !== undefined && actionHit(asList(s.NotAction))) return false;
  if (s.Action === undefined && s.NotAction === undefined) return false;
  const resourceHit = (list: string[]) => list.some((r) => globMatch(sub(r), req.resource));
  if (s.Resource !== undefined && !resourceHit(asList(s.Resource))) return false;
  if (s.NotResource !== undefined && resourceHit(asList(s.NotResource))) return false;
  if (!who && s.Resource === undefined && s.NotResource === undefined) return false;
  try {
    return evaluateConditions(s.Condition, req.context, sub);
  } catch (e) {
    // A condition the evaluator cannot judge never grants, and a Deny on it is assumed to hold.
    if (e instanceof UnknownConditionOperator) return s.Effect === 'Deny';
    throw e;
  }
}

/**
 * Decides one request.
 * @param identity the statements of the principal's identity-based policies
 * @param resource the statements of the resource's policy (e.g. the bucket policy)
 */
export function evaluate(identity: PolicyStatement[], resource: PolicyStatement[], req: AuthzRequest, who: Principal): Decision {
  const sub = substituter(req.context);
  const idHits = identity.filter((s) => applies(s, req, undefined, sub));
  const resHits = resource.filter((s) => applies(s, req, who, sub));
  if (idHits.some((s) => s.Effect === 'Deny')) return { allowed: false, reason: 'identity-deny' };
  if (resHits.some((s) => s.Effect === 'Deny')) return { allowed: false, reason: 'resource-deny' };
  if (idHits.some((s) => s.Effect === 'Allow') || resHits.some((s) => s.Effect === 'Allow')) return { allowed: true };
  return { allowed: false, reason: 'implicit' };
}
