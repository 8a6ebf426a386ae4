/**
 * Glue tables from the one declaration: the TableInput comes from lambdas/core/glue-table.ts (the
 * same code the local provisioner uses) and is converted mechanically to CloudFormation's shape,
 * so the deployed and the local catalog cannot drift apart.
 */
import { Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type { TableInput } from '@aws-sdk/client-glue';
import { Construct } from 'constructs';
import { quarantineTableInput, tableInput } from '../../lambdas/core/glue-table';
import type { Pipeline } from '../../lambdas/core/pipeline';

/** Keys whose values are free-form string maps in the Glue API: their keys are data, not field names. */
const OPAQUE_MAPS = new Set(['Parameters', 'SkewedColumnValueLocationMaps']);

const camel = (key: string) => key.charAt(0).toLowerCase() + key.slice(1);

/**
 * Converts a Glue API shape (PascalCase keys, as in `@aws-sdk/client-glue`) to CloudFormation
 * L1 props (camelCase keys), recursively. Values of `Parameters`-like maps are copied verbatim;
 * `undefined` members are dropped.
 */
export function glueApiToCfn<T>(value: unknown): T {
  const convert = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(convert);
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, inner] of Object.entries(v as Record<string, unknown>)) {
      if (inner === undefined) continue;
      out[camel(k)] = OPAQUE_MAPS.has(k) ? { ...(inner as Record<string, unknown>) } : convert(inner);
    }
    return out;
  };
  return convert(value) as T;
}

/** CloudFormation `TableInput` for a Glue API `TableInput`. */
export const cfnTableInput = (input: TableInput): glue.CfnTable.TableInputProperty => glueApiToCfn<glue.CfnTable.TableInputProperty>(input);

/** Glue ARNs the loader's IAM policy is scoped to. */
export function glueArns(scope: Construct, databaseName: string, tableName: string): { catalog: string; database: string; table: string } {
  const stack = Stack.of(scope);
  const arn = (resource: string) => `arn:${stack.partition}:glue:${stack.region}:${stack.account}:${resource}`;
  return { catalog: arn('catalog'), database: arn(`database/${databaseName}`), table: arn(`table/${databaseName}/${tableName}`) };
}

export interface PipelineTablesProps {
  /** The pipeline whose data and quarantine tables to create. */
  readonly pipeline: Pipeline;
  /** The Glue database the tables belong to. */
  readonly databaseName: string;
  /** Name of the lake bucket (may be a token). */
  readonly bucketName: string;
  /** A construct the tables must be created after (the database). @default none */
  readonly dependsOn?: Construct;
}

/**
 * A pipeline's Glue data table (Parquet, or partition projection) and its quarantine table
 * (NDJSON). An Iceberg pipeline's data table is not a CloudFormation resource: the loader creates
 * it (see iceberg.ts), as its metadata location changes with every commit.
 */
export class PipelineTables extends Construct {
  /** The data table (undefined for an Iceberg pipeline). */
  readonly table?: glue.CfnTable;
  /** The quarantine table. */
  readonly quarantineTable: glue.CfnTable;
  readonly tableName: string;
  readonly quarantineTableName: string;

  constructor(scope: Construct, id: string, props: PipelineTablesProps) {
    super(scope, id);
    const { pipeline, databaseName, bucketName } = props;
    const catalogId = Stack.of(this).account;
    const data = tableInput(pipeline, bucketName);
    const quarantine = quarantineTableInput(pipeline, bucketName);
    if (pipeline.format === 'hive') this.table = new glue.CfnTable(this, 'Table', { catalogId, databaseName, tableInput: cfnTableInput(data) });
    this.quarantineTable = new glue.CfnTable(this, 'QuarantineTable', { catalogId, databaseName, tableInput: cfnTableInput(quarantine) });
    this.tableName = data.Name!;
    this.quarantineTableName = quarantine.Name!;
    if (props.dependsOn) {
      this.table?.node.addDependency(props.dependsOn);
      this.quarantineTable.node.addDependency(props.dependsOn);
    }
  }
}
