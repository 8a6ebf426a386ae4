/**
 * The Athena workgroup for querying the lake: engine version 3, configuration enforced on every
 * query, results encrypted under the lake bucket's `athena-results/` prefix, a per-query scan cap
 * and CloudWatch metrics.
 */
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ATHENA_RESULTS_PREFIX, s3Uri } from '../../lambdas/core/layout';
import { LakeloaderError } from '../../lambdas/core/errors';

export const ATHENA_ENGINE_V3 = 'Athena engine version 3';
/** Athena's smallest allowed per-query cutoff (10 MB). */
const MIN_CUTOFF = 10_000_000;

export interface LakeWorkGroupProps {
  /** The workgroup's name. */
  readonly name: string;
  /** The lake bucket; results go to its `athena-results/` prefix. */
  readonly bucket: s3.IBucket;
  /** Encrypt results with this key (SSE_KMS). @default SSE_S3 */
  readonly encryptionKey?: kms.IKey;
  /** Queries that would scan more bytes are cancelled. @default 100 GB (100_000_000_000) */
  readonly bytesScannedCutoffPerQuery?: number;
}

/** Thrown for invalid {@link LakeWorkGroupProps}. */
export class LakeWorkGroupPropsError extends LakeloaderError {
  readonly code = 'LAKE_WORK_GROUP_PROPS';
  constructor(message: string) {
    super(message);
  }
}

/** An Athena workgroup configured for the lake. */
export class LakeWorkGroup extends Construct {
  readonly workGroup: athena.CfnWorkGroup;
  readonly workGroupName: string;
  /** `s3://<bucket>/athena-results/` */
  readonly outputLocation: string;

  constructor(scope: Construct, id: string, props: LakeWorkGroupProps) {
    super(scope, id);
    const cutoff = props.bytesScannedCutoffPerQuery ?? 100_000_000_000;
    if (!Number.isInteger(cutoff) || cutoff < MIN_CUTOFF) throw new LakeWorkGroupPropsError(`bytesScannedCutoffPerQuery must be an integer >= ${MIN_CUTOFF} (10 MB), got ${cutoff}`);
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(props.name)) throw new LakeWorkGroupPropsError(`workgroup name must match [A-Za-z0-9._-]{1,128}, got "${props.name}"`);
    this.outputLocation = s3Uri(props.bucket.bucketName, ATHENA_RESULTS_PREFIX);
    this.workGroupName = props.name;
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.name,
      description: 'Lakeloader: queries over the Kafka lake',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        engineVersion: { selectedEngineVersion: ATHENA_ENGINE_V3 },
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cutoff,
        resultConfiguration: {
          outputLocation: this.outputLocation,
          encryptionConfiguration: props.encryptionKey ? { encryptionOption: 'SSE_KMS', kmsKey: props.encryptionKey.keyArn } : { encryptionOption: 'SSE_S3' },
        },
      },
    });
  }
}
