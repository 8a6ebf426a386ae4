/**
 * Builds the operations tools' dependencies from a CLI context: the lake bucket as an object
 * store, Glue partition registration and the loader's own codec (the same code the Lambda runs),
 * and an SQL runner bound to the context's database, workgroup and result location.
 */
import { GlueCatalog, PartitionRegistrar } from '../../lambdas/core/catalog';
import type { PrepareCodec } from '../../lambdas/core/commit';
import { ATHENA_RESULTS_PREFIX, s3Uri } from '../../lambdas/core/layout';
import { encodeEmptyParquet, prepareBatch, serializeQuarantine } from '../../lambdas/core/prepare';
import { S3ObjectStore, type ObjectStore } from '../../lambdas/core/store';
import { FormatRuntime, needsRuntime } from '../../lambdas/core/formats/runtime';
import type { Pipeline } from '../../lambdas/core/pipeline';
import type { AthenaClient } from '@aws-sdk/client-athena';
import type { GlueClient } from '@aws-sdk/client-glue';
import type { S3Client } from '@aws-sdk/client-s3';
import { runQuery, type QueryParam, type QueryResult, type RunQueryOptions } from './athena';
import type { ReplayDeps } from './replay';

/** Where the operations tools act: the lake's clients and names (the CLI's context is one; see lib/cli/context.ts). */
export interface LakeContext {
  s3(): S3Client;
  glue(): GlueClient;
  athena(): AthenaClient;
  bucket: string;
  database: string;
  workgroup: string;
}

/** The loader's pure half, exactly as the Lambda uses it. */
export const loaderCodec: PrepareCodec = { prepareBatch, encodeEmptyParquet, serializeQuarantine };

/**
 * The loader's pure half with, for pipelines that need one (Avro, Protobuf, registry frames,
 * evolving tables), a format runtime bound to the lake's catalog, as the Lambda's: a replayed
 * record's new field grows the real table (an Iceberg table through a schema commit, so replayed
 * files carry the table's field ids), not a copy in memory.
 */
export function catalogCodec(ctx: LakeContext, store: ObjectStore, catalog: GlueCatalog): PrepareCodec {
  const runtimes = new Map<Pipeline, FormatRuntime>();
  return {
    ...loaderCodec,
    prepareBatch: (pipeline, records) => {
      if (!needsRuntime(pipeline)) return prepareBatch(pipeline, records);
      let runtime = runtimes.get(pipeline);
      if (!runtime) {
        const iceberg = pipeline.format === 'iceberg' ? { store, catalog, bucket: ctx.bucket, database: ctx.database, pipeline } : undefined;
        runtime = new FormatRuntime(pipeline, { glue: ctx.glue(), database: ctx.database, aws: { region: process.env.AWS_REGION, endpoint: process.env.AWS_ENDPOINT_URL }, ...(iceberg ? { iceberg } : {}) });
        runtimes.set(pipeline, runtime);
      }
      return prepareBatch(pipeline, records, { runtime });
    },
  };
}

/** Replay dependencies over the context's bucket and Glue database. */
export function replayDeps(ctx: LakeContext): ReplayDeps {
  const store = new S3ObjectStore(ctx.s3(), ctx.bucket);
  const catalog = new GlueCatalog(ctx.glue());
  return {
    store,
    codec: catalogCodec(ctx, store, catalog),
    registrar: new PartitionRegistrar(catalog),
    catalog,
    bucket: ctx.bucket,
    database: ctx.database,
  };
}

/** The Athena result location the CLI uses: `s3://<bucket>/athena-results/`. */
export const resultLocation = (ctx: LakeContext) => s3Uri(ctx.bucket, ATHENA_RESULTS_PREFIX);

/** Query options bound to the context (database, workgroup, result location). */
export function queryOptions(ctx: LakeContext): Pick<RunQueryOptions, 'athena' | 'database' | 'workgroup' | 'outputLocation'> {
  return { athena: ctx.athena(), database: ctx.database, workgroup: ctx.workgroup, outputLocation: resultLocation(ctx) };
}

/** An SQL runner for audit: runs a statement in the context and returns every row. */
export function sqlRunner(ctx: LakeContext, extra: Partial<RunQueryOptions> = {}): (sql: string, params?: QueryParam[]) => Promise<QueryResult> {
  return (sql, params) => runQuery({ ...queryOptions(ctx), ...extra, sql, params });
}

/** Runs one SQL statement against the lake (the context's database and workgroup) and returns every row. */
export function queryLake(ctx: LakeContext, sql: string, params?: QueryParam[]): Promise<QueryResult> {
  return runQuery({ ...queryOptions(ctx), sql, params });
}
