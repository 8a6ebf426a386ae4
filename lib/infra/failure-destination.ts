/**
 * An S3 on-failure destination for Kafka event source mappings that grants only what the ESM
 * needs (s3:PutObject and s3:ListBucket under the keys AWS writes), unlike aws-cdk-lib's
 * `S3OnFailureDestination`, whose `grantReadWrite` would let the loader read and delete the
 * whole bucket.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { ESM_ON_FAILURE_PREFIX } from './lake-bucket';

/** Where a mapping sends a batch it gave up on (retries or record age exhausted): the full invocation record, replayable. */
export class LakeFailureDestination implements lambda.IEventSourceDlq {
  private readonly granted = new WeakSet<lambda.IFunction>();

  /**
   * @param bucket the bucket to write to (the lake bucket)
   * @param encryptionKey the bucket's KMS key, if any (the ESM then needs kms:GenerateDataKey)
   */
  constructor(
    private readonly bucket: s3.IBucket,
    private readonly encryptionKey?: kms.IKey,
  ) {}

  /** Grants `fn`'s role the write access once, and returns the destination ARN (the bucket). */
  bind(_target: lambda.IEventSourceMapping, fn: lambda.IFunction): lambda.DlqDestinationConfig {
    if (!this.granted.has(fn)) {
      this.granted.add(fn);
      this.grantWrite(fn);
    }
    return { destination: this.bucket.bucketArn };
  }

  /** The statements the ESM needs to deliver on-failure records. */
  grantWrite(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'EsmOnFailurePut', actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects(`${ESM_ON_FAILURE_PREFIX}*`)] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EsmOnFailureList',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${ESM_ON_FAILURE_PREFIX}*`] } },
      }),
    );
    if (this.encryptionKey) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'EsmOnFailureKms', actions: ['kms:GenerateDataKey'], resources: [this.encryptionKey.keyArn] }),
      );
    }
  }
}
