/**
 * The loader Lambda's wiring: clients, logger and metrics are created once per container (lazily,
 * on the first invocation); the work is in lambdas/core/loader.ts. The entry point of the bundle
 * is ./main.ts, which supplies the configuration of the one pipeline the bundle holds.
 *
 * The handler returns the batch summary on success and throws only when infrastructure failed or
 * another writer conflicted, so that the event source mapping retries the batch; the commit
 * protocol makes the retry safe (committed records become duplicates).
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, MSKEvent } from 'aws-lambda';
import { GlueCatalog, PartitionRegistrar, type Catalog, type TableCatalog } from '../core/catalog';
import { ensureIcebergTable, publishStaged, type IcebergDeps, type PublishResult } from '../core/iceberg/commit';
import type { PrepareCodec } from '../core/commit';
import type { LoaderConfig } from '../core/config';
import { BatchLoadError, loadEvent } from '../core/loader';
import type { MskEvent } from '../core/model';
import { encodeEmptyParquet, prepareBatch, serializeQuarantine } from '../core/prepare';
import { METRIC, recordMetrics, summarize, type BatchSummary } from '../core/report';
import { S3ObjectStore, type ObjectStore } from '../core/store';
import { FormatRuntime, needsRuntime } from '../core/formats/runtime';

/** The real pure half of the loader. */
export const defaultCodec: PrepareCodec = { prepareBatch, encodeEmptyParquet, serializeQuarantine };

/** Everything the handler uses; each is created from the configuration when not given. */
export interface HandlerDeps {
  /** The loader's configuration (see loadConfig; lambdas/loader/main.ts builds it for the bundled pipeline). */
  config: LoaderConfig;
  /** @default S3ObjectStore over an S3Client for config.bucket */
  store?: ObjectStore;
  /** @default GlueCatalog over a GlueClient */
  catalog?: Catalog & TableCatalog;
  /** The Glue client of the format runtime (Glue Schema Registry lookups, a Hive table's evolution). @default one from the configuration */
  glue?: Pick<GlueClient, 'send'>;
  /** @default the real prepare half */
  codec?: PrepareCodec;
  logger?: Logger;
  metrics?: Metrics;
  /** @default Date.now */
  now?: () => number;
}

export type LoaderHandler = (event: MSKEvent | MskEvent, context?: Partial<Context>) => Promise<BatchSummary>;

/** S3 and Glue clients for the configuration: region from the environment, path-style S3 behind a custom endpoint. */
export function createAwsClients(config: LoaderConfig): { s3: S3Client; glue: GlueClient } {
  const common = { ...(config.region ? { region: config.region } : {}), ...(config.endpointUrl ? { endpoint: config.endpointUrl } : {}) };
  return { s3: new S3Client({ ...common, forcePathStyle: config.endpointUrl !== undefined }), glue: new GlueClient(common) };
}

/**
 * The codec of the container: the default one, or — for Avro, Protobuf, registry frames and
 * evolving tables — one whose prepareBatch uses the container's format runtime (writer schemas
 * cached for the container's life, the Glue table grown in the catalog).
 */
function formatCodec(config: LoaderConfig, glue: () => Pick<GlueClient, 'send'>, iceberg: () => IcebergDeps): PrepareCodec {
  if (!needsRuntime(config.pipeline)) return defaultCodec;
  let runtime: FormatRuntime | undefined;
  return {
    ...defaultCodec,
    prepareBatch: (pipeline, records) => {
      runtime ??= new FormatRuntime(config.pipeline, {
        glue: glue(),
        database: config.glueDatabase,
        aws: { region: config.region, endpoint: config.endpointUrl },
        ...(config.pipeline.format === 'iceberg' ? { iceberg: iceberg() } : {}),
      });
      return prepareBatch(pipeline, records, pipeline === config.pipeline ? { runtime } : {});
    },
  };
}

interface Container {
  config: LoaderConfig;
  store: ObjectStore;
  tables: TableCatalog;
  registrar: PartitionRegistrar;
  codec: PrepareCodec;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
}

function createContainer(deps: HandlerDeps): Container {
  const { config } = deps;
  let clients: ReturnType<typeof createAwsClients> | undefined;
  const aws = () => (clients ??= createAwsClients(config));
  const pipeline = config.pipeline.name;
  const catalog = deps.catalog ?? new GlueCatalog(aws().glue);
  const store = deps.store ?? new S3ObjectStore(aws().s3, config.bucket);
  const now = deps.now ?? Date.now;
  return {
    config,
    store,
    tables: catalog,
    registrar: new PartitionRegistrar(catalog),
    codec: deps.codec ?? formatCodec(config, () => deps.glue ?? aws().glue, () => ({ store, catalog, bucket: config.bucket, database: config.glueDatabase, pipeline: config.pipeline, now })),
    logger: deps.logger ?? new Logger({ serviceName: 'lakeloader', persistentKeys: { pipeline } }),
    metrics: deps.metrics ?? new Metrics({ namespace: config.metricsNamespace, serviceName: 'lakeloader', defaultDimensions: { pipeline } }),
    now,
  };
}

const icebergDeps = (c: Container): IcebergDeps => ({ store: c.store, catalog: c.tables, bucket: c.config.bucket, database: c.config.glueDatabase, pipeline: c.config.pipeline, now: c.now });

/**
 * Publishes an Iceberg table's staged batches after a batch, when the last snapshot is older than
 * the commit interval. A failed commit does not fail the batch (its records are committed and
 * safe): it is logged and counted, and the next invocation or the scheduled committer publishes.
 */
async function publishAfterBatch(c: Container): Promise<BatchSummary['published']> {
  try {
    const r = await publishStaged(icebergDeps(c), { minAgeMs: c.config.commitIntervalSeconds * 1000 });
    if (r.batches) c.metrics.addMetric(METRIC.batchesPublished, 'Count', r.batches);
    return { snapshotId: r.snapshotId, batches: r.batches, files: r.files, rows: r.rows, ...(r.skipped ? { skipped: r.skipped } : {}) };
  } catch (e) {
    c.metrics.addMetric(METRIC.commitFailures, 'Count', 1);
    c.logger.error('Iceberg commit failed; the batch is staged and the scheduled committer will publish it', e as Error);
    return { snapshotId: null, batches: 0, files: 0, rows: 0, error: e instanceof Error ? e.message : String(e) };
  }
}

/** The handler of one pipeline: MSK batches, plus the scheduled commit and the stack's table set-up for Iceberg tables. */
export interface PipelineHandler extends LoaderHandler {
  /** Publishes whatever is staged (the scheduled committer). @returns null for a Hive table */
  commit(): Promise<PublishResult | null>;
  /** Creates the Iceberg table and its first metadata if missing (deploy time, `lakeloader provision`). @returns null for a Hive table */
  ensureTable(): Promise<{ created: boolean; metadataLocation: string } | null>;
}

/**
 * Builds a handler. The container (config, clients, Glue partition cache) is created on the first
 * invocation and reused by later ones, like a warm Lambda container.
 */
export function createHandler(deps: HandlerDeps): PipelineHandler {
  let container: Container | undefined;
  const handler = async (rawEvent: Parameters<LoaderHandler>[0], context?: Parameters<LoaderHandler>[1]): Promise<BatchSummary> => {
    const c = (container ??= createContainer(deps));
    const { config, logger, metrics } = c;
    if (context?.awsRequestId) logger.addContext(context as Context);
    // Wire boundary: the ESM's event is the MskEvent shape (see lambdas/core/model.ts).
    const event = rawEvent as unknown as MskEvent;
    const loaderDeps = {
      store: c.store,
      codec: c.codec,
      bucket: config.bucket,
      database: config.glueDatabase,
      registrar: c.registrar,
      pipeline: config.pipeline,
      concurrency: config.concurrency,
      now: c.now,
    };
    try {
      const summary = summarize(await loadEvent(loaderDeps, event));
      if (config.pipeline.format === 'iceberg' && summary.files > 0) summary.published = await publishAfterBatch(c);
      recordMetrics(metrics, summary, c.now());
      logger.info('batch loaded', { summary });
      return summary;
    } catch (e) {
      if (e instanceof BatchLoadError) {
        const partial = summarize(e.results);
        recordMetrics(metrics, partial, c.now());
        metrics.addMetric(METRIC.partitionsFailed, 'Count', e.failures.length);
        logger.error('batch failed; the event source mapping will retry it (committed topic-partitions are skipped as duplicates)', {
          committed: partial,
          failures: e.failures.map((f) => ({
            topic: f.topic,
            partition: f.partition,
            records: f.records,
            error: f.error instanceof Error ? { name: f.error.name, message: f.error.message } : String(f.error),
          })),
        });
      } else {
        logger.error('batch failed', e as Error);
      }
      throw e;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
  return Object.assign(handler, {
    async commit(): Promise<PublishResult | null> {
      const c = (container ??= createContainer(deps));
      if (c.config.pipeline.format !== 'iceberg') return null;
      try {
        const r = await publishStaged(icebergDeps(c));
        if (r.batches) c.metrics.addMetric(METRIC.batchesPublished, 'Count', r.batches);
        c.logger.info('scheduled commit', { published: r });
        return r;
      } finally {
        c.metrics.publishStoredMetrics();
      }
    },
    async ensureTable() {
      const c = (container ??= createContainer(deps));
      return c.config.pipeline.format === 'iceberg' ? ensureIcebergTable(icebergDeps(c)) : null;
    },
  });
}
