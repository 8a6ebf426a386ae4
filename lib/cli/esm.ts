/**
 * `lakeloader esm --pipeline NAME`: runs the local event source mapping until Ctrl-C — a consumer
 * group on the pipeline's topics (by default on `lakeloader dev`'s embedded broker; any real
 * cluster with `--bootstrap` and the TLS/SASL flags) that invokes the real loader handler with
 * MSK events against the endpoint (local or AWS), committing offsets only after success.
 */
import type { Command } from 'commander';
import { getPipeline } from '../pipelines';
import { GlueCatalog } from '../../lambdas/core/catalog';
import { S3ObjectStore } from '../../lambdas/core/store';
import { startLocalEsm } from '../local/esm';
import { startIcebergServices } from '../local/iceberg-services';
import { resolveContext, withContextOptions, type ContextFlags } from './context';
import { createLocalLoader } from './invoke';
import { kafkaConnection, withKafkaOptions, type KafkaFlags } from './kafka-options';

interface EsmFlags extends ContextFlags, KafkaFlags {
  pipeline: string;
  group?: string;
  batchSize: string;
  windowMs: string;
  startingPosition: string;
  logLevel: string;
}

/** Registers `lakeloader esm`. */
export function register(program: Command): void {
  withContextOptions(
    withKafkaOptions(
      program
        .command('esm')
        .description("run the local event source mapping for a pipeline until Ctrl-C: consume its topics, invoke the real loader, commit after success")
        .requiredOption('--pipeline <name>', 'the pipeline whose topics to load')
        .option('--group <id>', 'consumer group id (default: lakeloader-<pipeline>)')
        .option('--batch-size <n>', 'records per invocation, 1..10000', '10000')
        .option('--window-ms <ms>', 'batching window', '500')
        .option('--starting-position <p>', 'TRIM_HORIZON or LATEST, when the group has no offsets', 'TRIM_HORIZON')
        .option('--log-level <level>', 'handler log level on stderr: DEBUG, INFO, WARN, ERROR, SILENT', 'WARN'),
    ),
    ['endpoint', 'region', 'bucket', 'database', 'outputs'],
  ).action(async (flags: EsmFlags) => {
    const pipeline = getPipeline(flags.pipeline);
    const ctx = resolveContext(flags);
    const conn = kafkaConnection(flags);
    const position = flags.startingPosition.toUpperCase();
    if (position !== 'TRIM_HORIZON' && position !== 'LATEST') throw new Error(`--starting-position must be TRIM_HORIZON or LATEST, got "${flags.startingPosition}"`);
    let last = '';
    const handler = createLocalLoader(ctx, pipeline.name, { logLevel: flags.logLevel.toUpperCase() as 'WARN' });
    // Iceberg: the stack's scheduled committer, and (against the local endpoint) the Glue compaction optimizer.
    const services = startIcebergServices({
      pipeline,
      commit: () => handler.commit(),
      deps: { store: new S3ObjectStore(ctx.s3(), ctx.bucket), catalog: new GlueCatalog(ctx.glue()), bucket: ctx.bucket, database: ctx.database, pipeline },
      ...(ctx.endpoint ? {} : { minSmallFiles: Number.MAX_SAFE_INTEGER }),
      onError: (e) => process.stderr.write(`scheduled commit/compaction failed (retried next minute): ${(e as Error).message}\n`),
      onCompacted: (r) => process.stderr.write(`compacted: ${r.rewritten} files → ${r.written} (table now ${r.filesAfter} files)\n`),
    });
    const esm = await startLocalEsm({
      brokers: conn.brokers,
      kafka: conn,
      topics: pipeline.topics,
      groupId: flags.group ?? `lakeloader-${pipeline.name}`,
      batchSize: Number(flags.batchSize),
      batchingWindowMs: Number(flags.windowMs),
      startingPosition: position,
      eventSource: 'SelfManagedKafka',
      handler,
      onFailure: { s3: ctx.s3(), bucket: ctx.bucket },
      onProgress: (p) => {
        const line = `invocations ${p.invocations}, delivered ${p.delivered}, discarded ${p.discarded}, lag ${p.lag}${p.lastError ? `, last error: ${p.lastError}` : ''}`;
        if (line !== last) process.stderr.write(`${(last = line)}\n`);
      },
    });
    process.stdout.write(`local ESM: group ${flags.group ?? `lakeloader-${pipeline.name}`} on ${pipeline.topics.join(', ')} at ${conn.brokers.join(',')} → pipeline ${pipeline.name}; Ctrl-C stops\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await esm.stop();
    await services.tick().catch(() => undefined); // publish what the last batches staged
    await services.stop();
    process.stdout.write(`stopped: ${JSON.stringify(esm.progress(), ['invocations', 'delivered', 'discarded', 'committed', 'lag'])}\n`);
  });
}
