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
import { GlueCatalog, PartitionRegistrar, type Catalog } from '../core/catalog';
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
  catalog?: Catalog;
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
function formatCodec(config: LoaderConfig, aws: () => ReturnType<typeof createAwsClients>): PrepareCodec {
  if (!needsRuntime(config.pipeline)) return defaultCodec;
  let runtime: FormatRuntime | undefined;
  return {
    ...defaultCodec,
    prepareBatch: (pipeline, records) => {
      runtime ??= new FormatRuntime(config.pipeline, { glue: aws().glue, database: config.glueDatabase, aws: { region: config.region, endpoint: config.endpointUrl } });
      return prepareBatch(pipeline, records, pipeline === config.pipeline ? { runtime } : {});
    },
  };
}

interface Container {
  config: LoaderConfig;
  store: ObjectStore;
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
  return {
    config,
    store: deps.store ?? new S3ObjectStore(aws().s3, config.bucket),
    registrar: new PartitionRegistrar(deps.catalog ?? new GlueCatalog(aws().glue)),
    codec: deps.codec ?? formatCodec(config, aws),
    logger: deps.logger ?? new Logger({ serviceName: 'lakeloader', persistentKeys: { pipeline } }),
    metrics: deps.metrics ?? new Metrics({ namespace: config.metricsNamespace, serviceName: 'lakeloader', defaultDimensions: { pipeline } }),
    now: deps.now ?? Date.now,
  };
}

/**
 * Builds a handler. The container (config, clients, Glue partition cache) is created on the first
 * invocation and reused by later ones, like a warm Lambda container.
 */
export function createHandler(deps: HandlerDeps): LoaderHandler {
  let container: Container | undefined;
  return async (rawEvent, context) => {
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
}
