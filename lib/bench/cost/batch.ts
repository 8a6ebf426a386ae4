/**
 * The per-batch model: what one GB of input costs to load in full batches at the measured speed
 * (the marginal cost of the loader itself, without the fixed and per-level lines that model.ts
 * and levels.ts add), at list prices passed as parameters, beside Amazon Data Firehose's per-GB
 * price for an MSK source.
 *
 * Per batch (one Kafka partition's records in one invocation) the loader makes:
 * - S3: one data PUT per Parquet file, one state GET, two state PUTs (pending, committed), one
 *   manifest PUT, and one quarantine PUT when any record was quarantined;
 * - Glue: one BatchCreatePartition per 100 new table partitions (at most one call per batch for
 *   the usual hourly partitioning; none with partition projection).
 * Lambda time per batch = records / measured records-per-second + an I/O allowance per batch
 * (S3/Glue round trips, which this offline bench cannot measure; a parameter).
 */

import { PRICES } from './prices';

/** Public list prices (us-east-1) and assumptions; every one can be overridden from the CLI. */
export interface Prices {
  /** Lambda arm64, $ per GB-second. */
  lambdaGbSecond: number;
  /** Lambda, $ per request. */
  lambdaRequest: number;
  /** S3 Standard PUT/COPY/POST/LIST, $ per request. */
  s3Put: number;
  /** S3 Standard GET, $ per request. */
  s3Get: number;
  /** Glue Data Catalog requests beyond the free tier, $ per request. */
  glueRequest: number;
  /** Firehose ingestion from an MSK source, $ per GB. */
  firehoseGb: number;
  /** Firehose format conversion (JSON → Parquet), $ per GB. */
  firehoseConversionGb: number;
}

/** From the one price list (prices.ts); Firehose's ingestion is its MSK-source price (was the Direct PUT one, $0.029, before issue 15). */
export const DEFAULT_PRICES: Prices = {
  lambdaGbSecond: PRICES.lambdaArmGbSecond.usd,
  lambdaRequest: PRICES.lambdaRequest.usd,
  s3Put: PRICES.s3Put.usd,
  s3Get: PRICES.s3Get.usd,
  glueRequest: PRICES.glueRequest.usd,
  firehoseGb: PRICES.firehoseMskIngestGb.usd,
  firehoseConversionGb: PRICES.firehoseFormatConversionGb.usd,
};

export interface CostInputs {
  /** Measured loader-core throughput, records per second (median). */
  recordsPerSecond: number;
  /** Input bytes per record (the decoded JSON value, as billed by Firehose). */
  bytesPerRecord: number;
  /** Records per batch (per Kafka partition per invocation). */
  recordsPerBatch: number;
  /** Measured Parquet files per batch (table partitions touched). */
  filesPerBatch: number;
  /** Share of batches with at least one quarantined record (0..1). @default 1 (worst case) */
  quarantineBatchShare?: number;
  /** Glue BatchCreatePartition calls per batch. @default 1 */
  glueCallsPerBatch?: number;
  /** Lambda memory, MB. @default 1769 (one full vCPU) */
  memoryMb?: number;
  /** Wall time per batch spent on S3/Glue round trips, ms. @default 200 */
  ioMsPerBatch?: number;
}

export interface CostModel {
  assumptions: Required<Omit<CostInputs, 'recordsPerSecond' | 'bytesPerRecord' | 'recordsPerBatch' | 'filesPerBatch'>>;
  perBatch: {
    s3DataPuts: number;
    s3StateGets: number;
    s3StatePuts: number;
    s3ManifestPuts: number;
    s3QuarantinePuts: number;
    s3Puts: number;
    s3Gets: number;
    glueCalls: number;
    computeMs: number;
    billedMs: number;
  };
  perGb: {
    batches: number;
    lambdaSeconds: number;
    gbSeconds: number;
    lambdaComputeUsd: number;
    lambdaRequestsUsd: number;
    s3Usd: number;
    glueUsd: number;
    totalUsd: number;
    firehoseUsd: number;
    /** totalUsd / firehoseUsd. */
    vsFirehose: number;
  };
  prices: Prices;
}

const GB = 1e9;

/** Computes requests per batch and $ per GB ingested from measured figures and prices. */
export function costModel(inputs: CostInputs, prices: Prices = DEFAULT_PRICES): CostModel {
  const quarantineBatchShare = inputs.quarantineBatchShare ?? 1;
  const glueCallsPerBatch = inputs.glueCallsPerBatch ?? 1;
  const memoryMb = inputs.memoryMb ?? 1769;
  const ioMsPerBatch = inputs.ioMsPerBatch ?? 200;
  if (!(inputs.recordsPerSecond > 0)) throw new RangeError(`recordsPerSecond must be > 0, got ${inputs.recordsPerSecond}`);
  if (!(inputs.bytesPerRecord > 0)) throw new RangeError(`bytesPerRecord must be > 0, got ${inputs.bytesPerRecord}`);
  const computeMs = (inputs.recordsPerBatch / inputs.recordsPerSecond) * 1000;
  const billedMs = Math.ceil(computeMs + ioMsPerBatch);
  const perBatch = {
    s3DataPuts: inputs.filesPerBatch,
    s3StateGets: 1,
    s3StatePuts: 2,
    s3ManifestPuts: 1,
    s3QuarantinePuts: quarantineBatchShare,
    s3Puts: 0,
    s3Gets: 1,
    glueCalls: glueCallsPerBatch,
    computeMs,
    billedMs,
  };
  perBatch.s3Puts = perBatch.s3DataPuts + perBatch.s3StatePuts + perBatch.s3ManifestPuts + perBatch.s3QuarantinePuts;
  const batches = GB / (inputs.bytesPerRecord * inputs.recordsPerBatch);
  const lambdaSeconds = (batches * billedMs) / 1000;
  const gbSeconds = lambdaSeconds * (memoryMb / 1024);
  const lambdaComputeUsd = gbSeconds * prices.lambdaGbSecond;
  const lambdaRequestsUsd = batches * prices.lambdaRequest;
  const s3Usd = batches * (perBatch.s3Puts * prices.s3Put + perBatch.s3Gets * prices.s3Get);
  const glueUsd = batches * glueCallsPerBatch * prices.glueRequest;
  const totalUsd = lambdaComputeUsd + lambdaRequestsUsd + s3Usd + glueUsd;
  const firehoseUsd = prices.firehoseGb + prices.firehoseConversionGb;
  return {
    assumptions: { quarantineBatchShare, glueCallsPerBatch, memoryMb, ioMsPerBatch },
    perBatch,
    perGb: { batches, lambdaSeconds, gbSeconds, lambdaComputeUsd, lambdaRequestsUsd, s3Usd, glueUsd, totalUsd, firehoseUsd, vsFirehose: totalUsd / firehoseUsd },
    prices,
  };
}
