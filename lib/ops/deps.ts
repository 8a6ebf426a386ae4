/**
 * Builds the operations tools' dependencies from a CLI context: the lake bucket as an object
 * store, Glue partition registration and the loader's own codec (the same code the Lambda runs),
 * and an SQL runner bound to the context's database, workgroup and result location.
 */
import { GlueCatalog, PartitionRegistrar } from '../../lambdas/core/catalog';
import type { PrepareCodec } from '../../lambdas/core/commit';
import { ATHENA_RESULTS_PREFIX, s3Uri } from '../../lambdas/core/layout';
import { encodeEmptyParquet, prepareBatch, serializeQuarantine } from '../../lambdas/core/prepare';
import { S3ObjectStore } from '../../lambdas/core/store';
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

/** Replay dependencies over the context's bucket and Glue database. */
export function replayDeps(ctx: LakeContext): ReplayDeps {
  return {
    store: new S3ObjectStore(ctx.s3(), ctx.bucket),
    codec: loaderCodec,
    registrar: new PartitionRegistrar(new GlueCatalog(ctx.glue())),
    catalog: new GlueCatalog(ctx.glue()),
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
