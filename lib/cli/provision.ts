/**
 * `lakeloader provision`: creates what the CDK stack would create, against the local endpoint (or
 * an account): the lake bucket, the Glue database, the data and quarantine table of every declared
 * pipeline (from the same `tableInput` / `quarantineTableInput` code the CDK stack uses; an Iceberg
 * table with its first metadata file, as the stack's custom resource makes it) and the Athena
 * workgroup with its result location. Idempotent: existing resources are kept, and a Hive table
 * whose definition differs from the declaration is updated (an Iceberg table is kept as it is: its
 * metadata holds its schema).
 */
import { CreateWorkGroupCommand, GetWorkGroupCommand, UpdateWorkGroupCommand } from '@aws-sdk/client-athena';
import { CreateDatabaseCommand, CreateTableCommand, GetDatabaseCommand, GetTableCommand, UpdateTableCommand, type TableInput } from '@aws-sdk/client-glue';
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { GlueCatalog } from '../../lambdas/core/catalog';
import { quarantineTableInput, tableInput } from '../../lambdas/core/glue-table';
import { ensureIcebergTable } from '../../lambdas/core/iceberg/commit';
import { ATHENA_RESULTS_PREFIX, s3Uri } from '../../lambdas/core/layout';
import type { Pipeline } from '../../lambdas/core/pipeline';
import { S3ObjectStore } from '../../lambdas/core/store';
import { listPipelines } from '../pipelines';
import { resolveContext, withContextOptions, type CliContext, type ContextFlags } from './context';
import { printJson } from './output';

export type ProvisionAction = 'created' | 'updated' | 'unchanged';

export interface ProvisionResult {
  endpoint: string | null;
  region: string;
  bucket: string;
  database: string;
  workgroup: string;
  /** Athena's result location for the workgroup. */
  resultLocation: string;
  /** Fully qualified table names (`database.table`). */
  tables: string[];
  /** What happened to each resource. */
  actions: Record<string, ProvisionAction>;
}

const errName = (e: unknown) => (e as { name?: string })?.name ?? '';

/** The comparable part of a table: what `tableInput` sets. */
function sameTable(existing: Record<string, unknown>, wanted: TableInput): boolean {
  const pick = (t: Record<string, unknown>) => {
    const sd = (t.StorageDescriptor ?? {}) as Record<string, unknown>;
    return JSON.stringify({
      Columns: ((sd.Columns ?? []) as { Name?: string; Type?: string }[]).map((c) => [c.Name, c.Type]),
      Location: sd.Location,
      InputFormat: sd.InputFormat,
      OutputFormat: sd.OutputFormat,
      Serde: (sd.SerdeInfo as { SerializationLibrary?: string } | undefined)?.SerializationLibrary,
      PartitionKeys: ((t.PartitionKeys ?? []) as { Name?: string; Type?: string }[]).map((c) => [c.Name, c.Type]),
      Parameters: Object.entries((t.Parameters ?? {}) as Record<string, string>).sort(([a], [b]) => a.localeCompare(b)),
    });
  };
  return pick(existing) === pick(wanted as unknown as Record<string, unknown>);
}

/**
 * Creates (or brings up to date) the bucket, database, tables and workgroup.
 * @returns what exists now and what was done.
 */
export async function provision(ctx: CliContext, pipelines: readonly Pipeline[] = listPipelines()): Promise<ProvisionResult> {
  const actions: Record<string, ProvisionAction> = {};
  const s3 = ctx.s3();
  const glue = ctx.glue();
  const athena = ctx.athena();

  try {
    await s3.send(new HeadBucketCommand({ Bucket: ctx.bucket }));
    actions[`s3://${ctx.bucket}`] = 'unchanged';
  } catch (e) {
    if (errName(e) !== 'NotFound' && errName(e) !== 'NoSuchBucket') throw e;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: ctx.bucket }));
      actions[`s3://${ctx.bucket}`] = 'created';
    } catch (e2) {
      if (errName(e2) !== 'BucketAlreadyOwnedByYou') throw e2;
      actions[`s3://${ctx.bucket}`] = 'unchanged';
    }
  }

  try {
    await glue.send(new GetDatabaseCommand({ Name: ctx.database }));
    actions[`glue:${ctx.database}`] = 'unchanged';
  } catch (e) {
    if (errName(e) !== 'EntityNotFoundException') throw e;
    try {
      await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: ctx.database, Description: 'Lakeloader tables (provisioned by lakeloader provision)' } }));
      actions[`glue:${ctx.database}`] = 'created';
    } catch (e2) {
      if (errName(e2) !== 'AlreadyExistsException') throw e2;
      actions[`glue:${ctx.database}`] = 'unchanged';
    }
  }

  const tables: string[] = [];
  for (const p of pipelines) {
    if (p.format === 'iceberg') {
      const name = `${ctx.database}.${p.name}`;
      tables.push(name);
      const deps = { store: new S3ObjectStore(ctx.s3(), ctx.bucket), catalog: new GlueCatalog(glue), bucket: ctx.bucket, database: ctx.database, pipeline: p };
      actions[name] = (await ensureIcebergTable(deps)).created ? 'created' : 'unchanged';
    }
    for (const input of p.format === 'iceberg' ? [quarantineTableInput(p, ctx.bucket)] : [tableInput(p, ctx.bucket), quarantineTableInput(p, ctx.bucket)]) {
      const name = `${ctx.database}.${input.Name}`;
      tables.push(name);
      let existing: Record<string, unknown> | undefined;
      try {
        existing = (await glue.send(new GetTableCommand({ DatabaseName: ctx.database, Name: input.Name }))).Table as Record<string, unknown> | undefined;
      } catch (e) {
        if (errName(e) !== 'EntityNotFoundException') throw e;
      }
      if (!existing) {
        await glue.send(new CreateTableCommand({ DatabaseName: ctx.database, TableInput: input }));
        actions[name] = 'created';
      } else if (!sameTable(existing, input)) {
        await glue.send(new UpdateTableCommand({ DatabaseName: ctx.database, TableInput: input }));
        actions[name] = 'updated';
      } else {
        actions[name] = 'unchanged';
      }
    }
  }

  const resultLocation = s3Uri(ctx.bucket, ATHENA_RESULTS_PREFIX);
  let wg: { Configuration?: { ResultConfiguration?: { OutputLocation?: string } } } | undefined;
  try {
    wg = (await athena.send(new GetWorkGroupCommand({ WorkGroup: ctx.workgroup }))).WorkGroup;
  } catch (e) {
    if (errName(e) !== 'InvalidRequestException') throw e;
  }
  if (!wg) {
    await athena.send(
      new CreateWorkGroupCommand({
        Name: ctx.workgroup,
        Description: 'Lakeloader queries',
        Configuration: { ResultConfiguration: { OutputLocation: resultLocation }, EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' } },
      }),
    );
    actions[`athena:${ctx.workgroup}`] = 'created';
  } else if (wg.Configuration?.ResultConfiguration?.OutputLocation !== resultLocation) {
    await athena.send(new UpdateWorkGroupCommand({ WorkGroup: ctx.workgroup, ConfigurationUpdates: { ResultConfigurationUpdates: { OutputLocation: resultLocation } } }));
    actions[`athena:${ctx.workgroup}`] = 'updated';
  } else {
    actions[`athena:${ctx.workgroup}`] = 'unchanged';
  }

  return { endpoint: ctx.endpoint ?? null, region: ctx.region, bucket: ctx.bucket, database: ctx.database, workgroup: ctx.workgroup, resultLocation, tables, actions };
}

/** Registers `lakeloader provision`. */
export function register(program: Command): void {
  withContextOptions(
    program
      .command('provision')
      .description('create the lake bucket, Glue database, every pipeline\'s data and quarantine tables and the Athena workgroup (idempotent); prints one JSON object'),
  ).action(async (flags: ContextFlags) => {
    printJson(await provision(resolveContext(flags)));
  });
}
