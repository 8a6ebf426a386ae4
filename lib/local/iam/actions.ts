/**
 * What each API call asks IAM for: the action(s), the resource ARN(s) and the service's
 * condition keys, following the Service Authorization Reference — e.g. GetObject is
 * `s3:GetObject` on `arn:aws:s3:::bucket/key` (`s3:GetObjectVersion` with a version id),
 * CopyObject also needs `s3:GetObject` on its source, ListObjectsV2 is `s3:ListBucket` on the
 * bucket with `s3:prefix`, a Glue table call needs its action on the catalog, database and
 * table ARNs, an Athena query call on its workgroup. Every request listed must be allowed.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 */
import type { S3Call } from '../s3/operations';

/** One action on one resource, with the call's own condition keys (lower-case). */
export interface ActionRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

/** The IAM action of a bucket sub-resource operation that is not simply `s3:<Operation>`. */
const S3_BUCKET_ACTIONS: Record<string, string> = {
  HeadBucket: 's3:ListBucket',
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  GetBucketLifecycleConfiguration: 's3:GetLifecycleConfiguration',
  PutBucketLifecycleConfiguration: 's3:PutLifecycleConfiguration',
  DeleteBucketLifecycle: 's3:PutLifecycleConfiguration',
  GetBucketCors: 's3:GetBucketCORS',
  PutBucketCors: 's3:PutBucketCORS',
  DeleteBucketCors: 's3:PutBucketCORS',
  GetBucketEncryption: 's3:GetEncryptionConfiguration',
  PutBucketEncryption: 's3:PutEncryptionConfiguration',
  DeleteBucketEncryption: 's3:PutEncryptionConfiguration',
  GetPublicAccessBlock: 's3:GetBucketPublicAccessBlock',
  PutPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeletePublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeleteBucketTagging: 's3:PutBucketTagging',
  DeleteBucketOwnershipControls: 's3:PutBucketOwnershipControls',
  GetBucketNotificationConfiguration: 's3:GetBucketNotification',
  PutBucketNotificationConfiguration: 's3:PutBucketNotification',
  GetBucketAccelerateConfiguration: 's3:GetAccelerateConfiguration',
  PutBucketAccelerateConfiguration: 's3:PutAccelerateConfiguration',
  GetObjectLockConfiguration: 's3:GetBucketObjectLockConfiguration',
  PutObjectLockConfiguration: 's3:PutBucketObjectLockConfiguration',
};

/** Object operations: the action without and with a version id. */
const S3_OBJECT_ACTIONS: Record<string, [string, string]> = {
  GetObject: ['s3:GetObject', 's3:GetObjectVersion'],
  HeadObject: ['s3:GetObject', 's3:GetObjectVersion'],
  DeleteObject: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  GetObjectTagging: ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'],
  PutObjectTagging: ['s3:PutObjectTagging', 's3:PutObjectVersionTagging'],
  DeleteObjectTagging: ['s3:DeleteObjectTagging', 's3:DeleteObjectVersionTagging'],
  GetObjectAcl: ['s3:GetObjectAcl', 's3:GetObjectVersionAcl'],
  PutObjectAcl: ['s3:PutObjectAcl', 's3:PutObjectVersionAcl'],
  PutObject: ['s3:PutObject', 's3:PutObject'],
  CreateMultipartUpload: ['s3:PutObject', 's3:PutObject'],
  UploadPart: ['s3:PutObject', 's3:PutObject'],
  CompleteMultipartUpload: ['s3:PutObject', 's3:PutObject'],
  CopyObject: ['s3:PutObject', 's3:PutObject'],
  UploadPartCopy: ['s3:PutObject', 's3:PutObject'],
  AbortMultipartUpload: ['s3:AbortMultipartUpload', 's3:AbortMultipartUpload'],
  ListParts: ['s3:ListMultipartUploadParts', 's3:ListMultipartUploadParts'],
};

const header = (call: S3Call, name: string) => {
  const v = call.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

/** The S3 condition keys of a call that its headers and query carry. */
function s3Context(call: S3Call): Record<string, string | string[]> {
  const ctx: Record<string, string | string[]> = {};
  const q = call.query;
  if (call.operation.startsWith('ListObject') || call.operation === 'ListMultipartUploads') {
    // An absent prefix is the empty string for s3:prefix, as S3 evaluates it.
    ctx['s3:prefix'] = q.get('prefix') ?? '';
    if (q.has('delimiter')) ctx['s3:delimiter'] = q.get('delimiter')!;
    if (q.has('max-keys')) ctx['s3:max-keys'] = q.get('max-keys')!;
  }
  const version = q.get('versionId');
  if (version) ctx['s3:versionid'] = version;
  for (const [key, h] of [
    ['s3:x-amz-server-side-encryption', 'x-amz-server-side-encryption'],
    ['s3:x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-server-side-encryption-aws-kms-key-id'],
    ['s3:x-amz-acl', 'x-amz-acl'],
    ['s3:x-amz-storage-class', 'x-amz-storage-class'],
    ['s3:x-amz-metadata-directive', 'x-amz-metadata-directive'],
    ['s3:x-amz-content-sha256', 'x-amz-content-sha256'],
    ['s3:if-match', 'if-match'],
    ['s3:if-none-match', 'if-none-match'],
    ['s3:x-amz-copy-source', 'x-amz-copy-source'],
  ] as const) {
    const v = header(call, h);
    if (v !== undefined) ctx[key] = v;
  }
  const tagging = header(call, 'x-amz-tagging');
  if (tagging) {
    const tags = [...new URLSearchParams(tagging)];
    ctx['s3:requestobjecttagkeys'] = tags.map(([k]) => k);
    for (const [k, v] of tags) ctx[`s3:requestobjecttag/${k.toLowerCase()}`] = v;
  }
  return ctx;
}

const bucketArn = (b: string) => `arn:aws:s3:::${b}`;
const objectArn = (b: string, k: string) => `arn:aws:s3:::${b}/${k}`;

/** The IAM requests of an S3 call. DeleteObjects asks none itself: each key is asked as a DeleteObject. */
export function s3Requests(call: S3Call): ActionRequest[] {
  const op = call.operation;
  const context = s3Context(call);
  if (op === 'ListBuckets') return [{ action: 's3:ListAllMyBuckets', resource: '*', context }];
  if (op === 'DeleteObjects') return [];
  if (!call.bucket) return [{ action: `s3:${op}`, resource: '*', context }];
  const objectActions = S3_OBJECT_ACTIONS[op];
  if (objectActions && call.key !== undefined) {
    const versioned = call.query.has('versionId');
    const out: ActionRequest[] = [{ action: objectActions[versioned ? 1 : 0], resource: objectArn(call.bucket, call.key), context }];
    if (op === 'PutObject' && call.headers['x-amz-tagging'] !== undefined) out.push({ action: 's3:PutObjectTagging', resource: objectArn(call.bucket, call.key), context });
    if ((op === 'CopyObject' || op === 'UploadPartCopy') && call.copySource) {
      const src = call.copySource;
      out.push({ action: src.versionId ? 's3:GetObjectVersion' : 's3:GetObject', resource: objectArn(src.bucket, src.key), context });
    }
    return out;
  }
  if (op === 'GetObjectAttributes' && call.key !== undefined) {
    const versioned = call.query.has('versionId');
    const arn = objectArn(call.bucket, call.key);
    return [
      { action: versioned ? 's3:GetObjectVersion' : 's3:GetObject', resource: arn, context },
      { action: versioned ? 's3:GetObjectVersionAttributes' : 's3:GetObjectAttributes', resource: arn, context },
    ];
  }
  const action = S3_BUCKET_ACTIONS[op] ?? `s3:${op}`;
  return [{ action, resource: bucketArn(call.bucket), context }];
}

/** Glue ARNs of a region and account. */
export function glueArns(region: string, accountId: string) {
  const base = `arn:aws:glue:${region}:${accountId}`;
  return {
    catalog: `${base}:catalog`,
    database: (db: string) => `${base}:database/${db.toLowerCase()}`,
    table: (db: string, t: string) => `${base}:table/${db.toLowerCase()}/${t.toLowerCase()}`,
  };
}

/**
 * The IAM requests of a Glue call: `glue:<Operation>` on the catalog and, where the call names
 * them, the database and table ARNs (all must be allowed, as in Glue).
 */
export function glueRequests(op: string, input: Record<string, unknown>, region: string, accountId: string): ActionRequest[] {
  const arn = glueArns(region, accountId);
  const action = `glue:${op}`;
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  const db = s(input.DatabaseName) || s((input.DatabaseInput as { Name?: unknown } | undefined)?.Name) || (op.includes('Database') ? s(input.Name) : '');
  const table = s(input.TableName) || s((input.TableInput as { Name?: unknown } | undefined)?.Name) || (/Table(?!s)/.test(op) && !op.includes('Version') ? s(input.Name) : '');
  const resources = [arn.catalog];
  if (op === 'GetDatabases') resources.push(arn.database('*'));
  else if (op === 'SearchTables') resources.push(arn.database('*'), arn.table('*', '*'));
  else if (op === 'TagResource' || op === 'UntagResource' || op === 'GetTags') return [{ action, resource: s(input.ResourceArn) || arn.catalog }];
  else if (db) {
    resources.push(arn.database(db));
    if (table) resources.push(arn.table(db, table));
    else if (op === 'GetTables' || op === 'DeleteDatabase') resources.push(arn.table(db, '*'));
    else if (op === 'BatchDeleteTable') for (const t of (input.TablesToDelete as unknown[] | undefined) ?? []) resources.push(arn.table(db, s(t)));
  }
  return resources.map((resource) => ({ action, resource }));
}

/**
 * The IAM request of an Athena call: `athena:<Operation>` on its workgroup
 * (`arn:aws:athena:<region>:<account>:workgroup/<name>`), or on its data catalog for the catalog
 * metadata calls; `workGroupOf` names the workgroup of an existing query execution.
 */
export function athenaRequests(op: string, input: Record<string, unknown>, region: string, accountId: string, workGroupOf: (executionId: string) => string | undefined): ActionRequest[] {
  const base = `arn:aws:athena:${region}:${accountId}`;
  const action = `athena:${op}`;
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  if (op === 'ListWorkGroups' || op === 'ListDataCatalogs') return [{ action, resource: '*' }];
  if (['ListDatabases', 'GetDatabase', 'ListTableMetadata', 'GetTableMetadata', 'GetDataCatalog'].includes(op)) {
    return [{ action, resource: `${base}:datacatalog/${s(input.CatalogName) || s(input.Name) || 'AwsDataCatalog'}` }];
  }
  const ids = [s(input.QueryExecutionId), ...((input.QueryExecutionIds as unknown[] | undefined) ?? []).map(s)].filter(Boolean);
  const groups = ids.length ? ids.map((id) => workGroupOf(id) ?? 'primary') : [s(input.WorkGroup) || (op.includes('WorkGroup') ? s(input.Name) : '') || 'primary'];
  return [...new Set(groups)].map((wg) => ({ action, resource: `${base}:workgroup/${wg}` }));
}
