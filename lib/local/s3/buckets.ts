/** Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation. */
import { S3Error } from '../errors';
import { readAll, type S3Request } from './request';
import { XMLNS, sendEmpty, sendXml, xml } from './xml';

/** ListBuckets: every bucket, with the owner. */
export async function listBuckets(r: S3Request): Promise<void> {
  const buckets = await r.ctx.store.listBuckets();
  sendXml(r.res, 200, xml('ListAllMyBucketsResult', {
    Owner: { ID: r.ctx.accountId, DisplayName: 'lakeloader' },
    Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.creationDate, BucketRegion: r.ctx.region })) },
  }));
}

/** CreateBucket (idempotent in us-east-1, as S3). */
export async function createBucket(r: S3Request): Promise<void> {
  await readAll(r.req);
  const created = await r.ctx.store.createBucket(r.bucket);
  if (!created && r.ctx.region !== 'us-east-1') {
    throw new S3Error('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', 409, { BucketName: r.bucket });
  }
  r.res.setHeader('Location', `/${r.bucket}`);
  sendEmpty(r.res, 200);
}

/** HeadBucket: 200 with the region, or 404. */
export async function headBucket(r: S3Request): Promise<void> {
  await r.ctx.store.requireBucket(r.bucket);
  r.res.setHeader('x-amz-bucket-region', r.ctx.region);
  sendEmpty(r.res, 200);
}

/** DeleteBucket: only an empty one (no objects, no versions); its uploads in progress go too. */
export async function deleteBucket(r: S3Request): Promise<void> {
  await r.ctx.store.deleteBucket(r.bucket);
  await r.ctx.uploads.removeBucket(r.bucket);
  sendEmpty(r.res, 204);
}

/** GetBucketLocation: empty for us-east-1, as S3. */
export async function getBucketLocation(r: S3Request): Promise<void> {
  await r.ctx.store.requireBucket(r.bucket);
  sendXml(r.res, 200, `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${XMLNS}">${r.ctx.region === 'us-east-1' ? '' : r.ctx.region}</LocationConstraint>`);
}
