/**
 * Bucket sub-resources that infrastructure tools set and read back — policy, lifecycle, CORS,
 * default encryption, public access block, tagging, ownership controls, ACL, logging,
 * notifications, website, accelerate, request payment, object lock — stored as the documents
 * the client sent (checked against S3's shape) and returned as stored. Where a new S3 bucket has
 * a configuration without being given one (SSE-S3 encryption, all public access blocked, ACLs
 * disabled since 2023), that default is returned; where it has none, S3's NoSuch… error.
 */
import { S3Error } from '../errors';
import { aclXml, requestedAcl } from './objects';
import { readVerifiedBody } from './integrity';
import { BUCKET_DOCUMENTS } from './operations';
import type { S3Request } from './request';
import { parseTaggingXml } from './tagging';
import { parseXml, sendEmpty, sendXml, text, xml } from './xml';

type Doc = Record<string, unknown>;

interface DocumentSpec {
  /** Root element of the XML document (undefined: JSON — the bucket policy). */
  root?: string;
  /** What GET answers when nothing is stored: a default document, or an error. */
  missing: (() => string) | (() => S3Error);
  /** Extra checks of a document to store. */
  validate?: (doc: Doc, body: string) => void;
  /** PUT answers 204 instead of 200. */
  putStatus?: number;
}

const notFound = (code: string, message: string) => () => new S3Error(code, message, 404);
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const malformed = (detail: string) => new S3Error('MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema (${detail})`, 400);

const SPECS: Record<string, DocumentSpec> = {
  policy: {
    missing: notFound('NoSuchBucketPolicy', 'The bucket policy does not exist'),
    putStatus: 204,
  },
  lifecycle: {
    root: 'LifecycleConfiguration',
    missing: notFound('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist'),
    validate: (doc) => {
      const rules = list(doc.Rule as Doc[] | undefined);
      if (rules.length === 0 || rules.length > 1000) throw malformed('a lifecycle configuration has 1 to 1000 <Rule> elements');
      for (const rule of rules) {
        const status = text(rule.Status);
        if (status !== 'Enabled' && status !== 'Disabled') throw malformed('each lifecycle <Rule> needs <Status>Enabled</Status> or <Status>Disabled</Status>');
      }
    },
  },
  cors: {
    root: 'CORSConfiguration',
    missing: notFound('NoSuchCORSConfiguration', 'The CORS configuration does not exist'),
    validate: (doc) => {
      const rules = list(doc.CORSRule as Doc[] | undefined);
      if (rules.length === 0 || rules.length > 100) throw malformed('a CORS configuration has 1 to 100 <CORSRule> elements');
      for (const rule of rules) {
        if (list(rule.AllowedMethod as unknown[]).length === 0 || list(rule.AllowedOrigin as unknown[]).length === 0) throw malformed('each <CORSRule> needs <AllowedMethod> and <AllowedOrigin>');
        for (const m of list(rule.AllowedMethod as unknown[])) {
          if (!['GET', 'PUT', 'POST', 'DELETE', 'HEAD'].includes(text(m))) throw new S3Error('InvalidRequest', `Found unsupported HTTP method in CORS config. Unsupported method is ${text(m)}`, 400);
        }
      }
    },
  },
  encryption: {
    root: 'ServerSideEncryptionConfiguration',
    missing: () => xml('ServerSideEncryptionConfiguration', { Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false } }),
    validate: (doc) => {
      const rule = list(doc.Rule as Doc[] | undefined)[0];
      const algorithm = text((rule?.ApplyServerSideEncryptionByDefault as Doc | undefined)?.SSEAlgorithm);
      if (!['AES256', 'aws:kms', 'aws:kms:dsse'].includes(algorithm)) throw malformed('<SSEAlgorithm> must be AES256, aws:kms or aws:kms:dsse');
    },
  },
  publicAccessBlock: {
    root: 'PublicAccessBlockConfiguration',
    missing: () => xml('PublicAccessBlockConfiguration', { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true }),
  },
  tagging: {
    root: 'Tagging',
    missing: notFound('NoSuchTagSet', 'The TagSet does not exist'),
    validate: (_doc, body) => {
      parseTaggingXml(body, 50);
    },
    putStatus: 204,
  },
  ownershipControls: {
    root: 'OwnershipControls',
    missing: () => xml('OwnershipControls', { Rule: { ObjectOwnership: 'BucketOwnerEnforced' } }),
    validate: (doc) => {
      const o = text((doc.Rule as Doc | undefined)?.ObjectOwnership);
      if (!['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'].includes(o)) throw malformed('<ObjectOwnership> must be BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter');
    },
  },
  logging: { root: 'BucketLoggingStatus', missing: () => xml('BucketLoggingStatus', {}) },
  notification: { root: 'NotificationConfiguration', missing: () => xml('NotificationConfiguration', {}) },
  website: {
    root: 'WebsiteConfiguration',
    missing: notFound('NoSuchWebsiteConfiguration', 'The specified bucket does not have a website configuration'),
  },
  accelerate: { root: 'AccelerateConfiguration', missing: () => xml('AccelerateConfiguration', {}) },
  requestPayment: { root: 'RequestPaymentConfiguration', missing: () => xml('RequestPaymentConfiguration', { Payer: 'BucketOwner' }) },
  'object-lock': {
    root: 'ObjectLockConfiguration',
    missing: notFound('ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist for this bucket'),
  },
};

/** The sub-resource a bucket request addresses (a key of {@link BUCKET_DOCUMENTS}). */
const subresourceOf = (r: S3Request) => Object.keys(BUCKET_DOCUMENTS).find((s) => r.query.has(s))!;

/** Validates a bucket policy document as S3 does (JSON, a Statement list with Effect and Action). */
export function validatePolicy(body: string): void {
  let doc: { Statement?: unknown };
  try {
    doc = JSON.parse(body) as { Statement?: unknown };
  } catch {
    throw new S3Error('MalformedPolicy', 'Policies must be valid JSON and the first byte must be \'{\'', 400);
  }
  const statements = list(doc?.Statement as Doc[] | undefined);
  if (!doc || typeof doc !== 'object' || statements.length === 0) throw new S3Error('MalformedPolicy', 'Missing required field Statement', 400);
  for (const s of statements) {
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw new S3Error('MalformedPolicy', 'Invalid effect: the Effect of each statement must be Allow or Deny', 400);
    if (s.Action === undefined && s.NotAction === undefined) throw new S3Error('MalformedPolicy', 'Missing required field Action', 400);
    if (s.Principal === undefined && s.NotPrincipal === undefined) throw new S3Error('MalformedPolicy', 'Missing required field Principal', 400);
  }
}

/** GET of a bucket sub-resource document. */
export async function getBucketDocument(r: S3Request): Promise<void> {
  const name = subresourceOf(r);
  const info = await r.ctx.store.bucketInfo(r.bucket);
  if (name === 'acl') return sendXml(r.res, 200, aclXml(r.ctx.accountId, info.config?.acl));
  const spec = SPECS[name]!;
  const stored = info.config?.[name];
  if (stored === undefined) {
    const missing = spec.missing();
    if (missing instanceof S3Error) throw Object.assign(missing, { extra: { BucketName: r.bucket } });
    return sendXml(r.res, 200, missing);
  }
  if (!spec.root) {
    r.res.statusCode = 200;
    r.res.setHeader('Content-Type', 'application/json');
    r.res.setHeader('Content-Length', Buffer.byteLength(stored));
    r.res.end(stored);
    return;
  }
  sendXml(r.res, 200, stored);
}

/** PUT of a bucket sub-resource document. */
export async function putBucketDocument(r: S3Request): Promise<void> {
  const name = subresourceOf(r);
  await r.ctx.store.requireBucket(r.bucket);
  if (name === 'acl') {
    const acl = await requestedAcl(r);
    await r.ctx.store.setBucketConfig(r.bucket, 'acl', acl === 'private' ? undefined : acl);
    return sendEmpty(r.res, 200);
  }
  const spec = SPECS[name]!;
  const body = (await readVerifiedBody(r.req)).toString('utf8');
  if (!spec.root) validatePolicy(body);
  else {
    const doc = parseXml<Doc>(body, spec.root);
    spec.validate?.(doc, body);
  }
  await r.ctx.store.setBucketConfig(r.bucket, name, body.trim().startsWith('<?xml') || !spec.root ? body : `<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  sendEmpty(r.res, spec.putStatus ?? 200);
}

/** DELETE of a bucket sub-resource document (204 whether or not one was stored, as S3). */
export async function deleteBucketDocument(r: S3Request): Promise<void> {
  const name = subresourceOf(r);
  await r.ctx.store.setBucketConfig(r.bucket, name, undefined);
  sendEmpty(r.res, 204);
}

/** GetBucketPolicyStatus: whether the stored policy makes the bucket public. */
export async function getBucketPolicyStatus(r: S3Request): Promise<void> {
  const info = await r.ctx.store.bucketInfo(r.bucket);
  const policy = info.config?.policy;
  if (!policy) throw Object.assign(new S3Error('NoSuchBucketPolicy', 'The bucket policy does not exist', 404), { extra: { BucketName: r.bucket } });
  const statements = list((JSON.parse(policy) as { Statement?: Doc[] }).Statement);
  const isPublic = statements.some((s) => s.Effect === 'Allow' && !s.Condition && (s.Principal === '*' || (s.Principal as Doc | undefined)?.AWS === '*'));
  sendXml(r.res, 200, xml('PolicyStatus', { IsPublic: isPublic }));
}

/** GetBucketVersioning: empty until versioning was first configured. */
export async function getBucketVersioning(r: S3Request): Promise<void> {
  const info = await r.ctx.store.bucketInfo(r.bucket);
  sendXml(r.res, 200, xml('VersioningConfiguration', info.versioning ? { Status: info.versioning } : {}));
}

/** PutBucketVersioning: `Enabled` or `Suspended` (MFA delete is refused). */
export async function putBucketVersioning(r: S3Request): Promise<void> {
  await r.ctx.store.requireBucket(r.bucket);
  const doc = parseXml<{ Status?: unknown; MfaDelete?: unknown }>((await readVerifiedBody(r.req)).toString('utf8'), 'VersioningConfiguration');
  const status = text(doc.Status);
  if (status !== 'Enabled' && status !== 'Suspended') throw malformed('<Status> must be Enabled or Suspended');
  if (text(doc.MfaDelete) === 'Enabled') throw new S3Error('InvalidRequest', 'DevPay and Mfa are mutually exclusive authorization methods.', 400);
  await r.ctx.store.setVersioning(r.bucket, status);
  sendEmpty(r.res, 200);
}
