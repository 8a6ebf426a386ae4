/**
 * The lake bucket and its access-log bucket, secure by default: public access blocked, TLS
 * enforced, encrypted (SSE-S3 or a customer-managed KMS key), server access logs, and lifecycle
 * rules for the prefixes that should not live forever.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ATHENA_RESULTS_PREFIX, ESM_FAILURES_PREFIX, QUARANTINE_PREFIX } from '../../lambdas/core/layout';
import { LakeloaderError } from '../../lambdas/core/errors';

/**
 * Key prefix of the records the event source mapping writes to an S3 on-failure destination
 * (`aws/lambda/<mapping uuid>/<partition>/YYYY/MM/DD/...`, chosen by AWS).
 */
export const ESM_ON_FAILURE_PREFIX = ESM_FAILURES_PREFIX;

export interface LakeBucketProps {
  /** Customer-managed KMS key for the lake bucket. @default SSE-S3 (S3-managed keys) */
  readonly encryptionKey?: kms.IKey;
  /** Keep every object version (doubles storage on rewrites such as compaction). @default false */
  readonly versioned?: boolean;
  /** Days quarantined records are kept. @default 365 */
  readonly quarantineRetentionDays?: number;
  /** Days Athena query results are kept. @default 7 */
  readonly athenaResultsRetentionDays?: number;
  /** Days the event source mapping's on-failure records (`aws/lambda/`) are kept. @default 90 */
  readonly failureRetentionDays?: number;
  /** Days the access logs are kept. @default 365 */
  readonly accessLogRetentionDays?: number;
  /** What happens to the buckets when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Thrown for invalid {@link LakeBucketProps}. */
export class LakeBucketPropsError extends LakeloaderError {
  readonly code = 'LAKE_BUCKET_PROPS';
  constructor(message: string) {
    super(message);
  }
}

function days(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new LakeBucketPropsError(`${name} must be a whole number of days >= 1, got ${v}`);
  return v;
}

/** The lake bucket plus its server-access-log bucket. */
export class LakeBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;
  /** The KMS key encrypting the lake, if any. */
  readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: LakeBucketProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const quarantineDays = days('quarantineRetentionDays', props.quarantineRetentionDays, 365);
    const athenaDays = days('athenaResultsRetentionDays', props.athenaResultsRetentionDays, 7);
    const failureDays = days('failureRetentionDays', props.failureRetentionDays, 90);
    const logDays = days('accessLogRetentionDays', props.accessLogRetentionDays, 365);

    // Deliver access logs through a bucket policy (not the legacy LogDeliveryWrite ACL), so the log
    // bucket can enforce bucket-owner object ownership with ACLs disabled, whatever the app's flags.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    // Server access logs may only be delivered to an SSE-S3 bucket, never a KMS-encrypted one.
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(logDays), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log target of the lake bucket; logging it into itself would loop and another log bucket would only move the finding.',
    });

    this.encryptionKey = props.encryptionKey;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      ...(props.encryptionKey
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: props.versioned ?? false,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'lake/',
      lifecycleRules: [
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: 'quarantine-retention', prefix: QUARANTINE_PREFIX, expiration: Duration.days(quarantineDays) },
        { id: 'athena-results-expiry', prefix: ATHENA_RESULTS_PREFIX, expiration: Duration.days(athenaDays) },
        { id: 'esm-on-failure-retention', prefix: ESM_ON_FAILURE_PREFIX, expiration: Duration.days(failureDays) },
        ...(props.versioned ? [{ id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(30) }] : []),
      ],
      removalPolicy,
    });
  }
}
