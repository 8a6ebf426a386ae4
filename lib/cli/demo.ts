/**
 * `lakeloader demo` (`npm run demo`): the whole loop offline, in one command.
 *
 * 1. starts the local AWS endpoint (ephemeral port, temp data directory) and provisions it;
 * 2. starts the embedded Kafka broker (lib/local/kafka/, in this process) and produces a seeded,
 *    realistic clickstream with a few malformed records among it, across the topic's partitions;
 * 3. runs the local event source mapping, which invokes the real loader handler, with a progress bar;
 * 4. runs Athena queries through @aws-sdk/client-athena and prints them, the quarantine summary,
 *    throughput and produce-to-queryable latency;
 * 5. reconciles: rows loaded + records quarantined must equal records produced (exit 1 if not).
 *
 * `--format avro|protobuf` writes the events as Avro or Protobuf producers do: the local
 * Confluent-compatible Schema Registry is started beside the endpoint, schemas/clickstream.avsc
 * (or .proto) is registered under `clicks-value`, each event is encoded and framed with its id
 * (lib/ops/registry.ts), the malformed records stay unframed bytes (quarantined at decode), and
 * the clickstream table is declared for Confluent-framed values of that format (lib/gen/typed.ts).
 *
 * Everything it starts (endpoint, broker, consumer) and the temp directory (unless --keep) are
 * cleaned up, also on Ctrl-C. It needs nothing but Node.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { quarantineTableName } from '../../lambdas/core/glue-table';
import { ESM_FAILURES_PREFIX } from '../../lambdas/core/layout';
import { getPipeline } from '../pipelines';
import { generateClickstreamRecords } from '../gen/records';
import { CLICKSTREAM_SCHEMAS, typedClick, typedPipeline, type TypedFormat } from '../gen/typed';
import { startConfluentRegistry, type LocalSchemaRegistry } from '../local/registry/confluent';
import { registeredEncoderFromFile, type RegisteredEncoder } from '../ops/registry';
import { startLocalEsm, type LocalEventSourceMapping } from '../local/esm';
import { startKafkaBroker, type KafkaBroker } from '../local/kafka/broker';
import { ensureTopic, produceRecords } from '../local/kafka-client';
import { startLocalEndpoint, type LocalEndpoint } from '../local/server';
import { resolveContext } from './context';
import { createLocalLoader } from './invoke';
import { formatTable } from './output';
import { provision } from './provision';
import { queryLake } from '../ops/deps';
import { GlueCatalog } from '../../lambdas/core/catalog';
import { S3ObjectStore } from '../../lambdas/core/store';
import { compactTable } from '../iceberg/compact';
import { LakeloaderError } from '../../lambdas/core/errors';

export interface DemoOptions {
  /** How values are written: JSON text, or Avro / Protobuf framed by the (local) Confluent Schema Registry. @default 'json' */
  format?: 'json' | TypedFormat;
  events: number;
  malformed: number;
  partitions: number;
  seed: number;
  batchSize: number;
  windowMs: number;
  keep: boolean;
  progress: boolean;
  /** Where to print. @default process.stdout */
  out?: (s: string) => void;
}

export interface DemoResult {
  produced: number;
  loaded: number;
  quarantined: number;
  expectedValid: number;
  expectedBad: number;
  reconciled: boolean;
  recordsPerSecond: number;
  /** From the last record acknowledged by Kafka to all records queryable. */
  produceToQueryableMs: number;
  /** Iceberg: data files of the table before and after the compaction the demo runs, snapshots, and the row count after it. */
  iceberg?: { filesBefore: number; filesAfter: number; snapshots: number; rowsAfterCompaction: number };
  invocations: number;
  /** With --format avro|protobuf: the writer schema's id in the local registry, and the table's columns added from it. */
  schema?: { format: TypedFormat; id: number; subject: string };
  dataDir: string | null;
}

/** Thrown for invalid demo options. */
export class DemoOptionError extends LakeloaderError {
  readonly code = 'DEMO_OPTION';
  constructor(message: string) {
    super(message);
  }
}

const oneOfFormat = (v: string): 'json' | TypedFormat => {
  if (v !== 'json' && v !== 'avro' && v !== 'protobuf') throw new DemoOptionError(`--format must be json, avro or protobuf, got "${v}"`);
  return v;
};

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new DemoOptionError(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  return n;
};

/** The demo's queries: title and Athena SQL over the clickstream table and its quarantine. */
export function demoQueries(table: string, quarantine: string, format: 'iceberg' | 'hive' = 'iceberg'): { title: string; sql: string }[] {
  // Iceberg partitions are hidden (no dt/hour columns): group by the event time itself.
  const hourly =
    format === 'iceberg'
      ? `SELECT date_format(date_trunc('hour', ts), '%Y-%m-%d %H:00') AS hour, count(*) AS events, count(DISTINCT user_id) AS users FROM ${table} GROUP BY 1 ORDER BY 1`
      : `SELECT dt, hour, count(*) AS events, count(DISTINCT user_id) AS users FROM ${table} GROUP BY dt, hour ORDER BY dt, hour`;
  return [
    { title: 'Events per type', sql: `SELECT event_type, count(*) AS events FROM ${table} GROUP BY event_type ORDER BY events DESC, event_type` },
    {
      title: 'Revenue per currency (purchases)',
      sql: `SELECT currency, count(*) AS purchases, round(sum(amount), 2) AS revenue FROM ${table} WHERE event_type = 'purchase' GROUP BY currency ORDER BY revenue DESC`,
    },
    { title: 'Top pages', sql: `SELECT page_url, count(*) AS views FROM ${table} WHERE event_type = 'page_view' GROUP BY page_url ORDER BY views DESC, page_url LIMIT 10` },
    { title: 'Events per hour (UTC)', sql: hourly },
    {
      title: 'Quarantine by stage and reason',
      // The reason is the error up to its first ':' or '(' (the rest names positions and values).
      sql: `SELECT stage, trim(regexp_extract(error, '^[^:(]*')) AS reason, count(*) AS records FROM ${quarantine} GROUP BY 1, 2 ORDER BY records DESC, stage, reason`,
    },
  ];
}

/** Runs the demo end to end and returns its numbers. */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const out = o.out ?? ((s: string) => void process.stdout.write(s));
  const format = o.format ?? 'json';
  const declared = getPipeline('clickstream');
  let pipeline = declared;
  const topic = declared.topics[0]!;
  let dataDir: string | null = null;
  let endpoint: LocalEndpoint | null = null;
  let broker: KafkaBroker | null = null;
  let registry: LocalSchemaRegistry | null = null;
  let esm: LocalEventSourceMapping | null = null;
  let bar: cliProgress.SingleBar | null = null;
  const cleanup = async () => {
    bar?.stop();
    bar = null;
    await esm?.stop().catch(() => undefined);
    esm = null;
    await broker?.stop();
    broker = null;
    await registry?.close().catch(() => undefined);
    registry = null;
    await endpoint?.close().catch(() => undefined);
    endpoint = null;
    if (dataDir && !o.keep) await rm(dataDir, { recursive: true, force: true });
  };
  // Ctrl-C: clean up, then exit 130. The main flow may fail meanwhile (its broker is gone): it
  // then waits for the exit instead of reporting that failure.
  let interrupted: Promise<void> | null = null;
  const onSignal = () => {
    interrupted ??= cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const t0 = Date.now();
    dataDir = await mkdtemp(join(tmpdir(), 'lakeloader-demo-'));
    endpoint = await startLocalEndpoint({ port: 0, dataDir });
    const ctx = resolveContext({ endpoint: endpoint.url }, {});
    let schema: DemoResult['schema'];
    let encoder: RegisteredEncoder | undefined;
    if (format !== 'json') {
      // The local Confluent-compatible registry (as `lakeloader dev` serves it), the writer schema
      // registered as a producer's serializer registers it, and the clickstream table declared for
      // Confluent-framed values of that format.
      registry = await startConfluentRegistry({ store: endpoint.registryStore, port: 0 });
      encoder = await registeredEncoderFromFile({ registryUrl: registry.url, subject: `${topic}-value`, format, schemaFile: CLICKSTREAM_SCHEMAS[format] });
      schema = { format, id: encoder.schemaId, subject: encoder.subject };
      pipeline = typedPipeline(declared, format, registry.url);
    }
    const prov = await provision(ctx, format === 'json' ? undefined : [pipeline]);
    out(`▶ local AWS endpoint ${endpoint.url} (data in ${dataDir}); provisioned ${prov.tables.join(', ')} and workgroup ${prov.workgroup}\n`);
    if (registry && schema) out(`▶ Schema Registry ${registry.url}: ${relative(process.cwd(), CLICKSTREAM_SCHEMAS[schema.format])} registered as subject ${schema.subject}, schema id ${schema.id}\n`);

    // Generate first: it is synchronous CPU work, during which Ctrl-C could not be handled.
    const gen = generateClickstreamRecords({ seed: o.seed, count: o.events, malformed: o.malformed, partitions: o.partitions, topic });
    if (encoder && format !== 'json') {
      // Valid events encoded and framed as a serializer does; the malformed records stay raw bytes (not framed: quarantined at decode).
      for (const v of gen.valid) v.record.value = encoder.encode(typedClick(v.event, format));
    }
    const produced = gen.records.length;
    broker = await startKafkaBroker({ port: 0, dataDir: join(dataDir, 'kafka') });
    const kafka = { brokers: [broker.bootstrap], clientId: 'lakeloader-demo' };
    const partitions = await ensureTopic(kafka, topic, o.partitions);
    out(`▶ embedded Kafka broker at ${broker.bootstrap}; topic "${topic}" with ${partitions} partitions\n`);

    // Commit interval 0: every batch publishes its Iceberg snapshot at once (deployed: one per 60 s).
    const handler = createLocalLoader(ctx, pipeline, { commitIntervalSeconds: 0 });
    if (o.progress) {
      bar = new cliProgress.SingleBar(
        { format: '  loading  {bar} {value}/{total} records | {invocations} invocations | lag {lag}', hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
      bar.start(produced, 0, { invocations: 0, lag: produced });
    }
    esm = await startLocalEsm({
      brokers: kafka.brokers,
      topics: [topic],
      groupId: `lakeloader-demo-${pipeline.name}`,
      batchSize: o.batchSize,
      batchingWindowMs: o.windowMs,
      handler,
      onFailure: { s3: ctx.s3(), bucket: ctx.bucket },
      onProgress: (p) => bar?.update(p.committed, { invocations: p.invocations, lag: p.lag }),
    });

    out(`▶ producing ${produced} records (${gen.valid.length} events${format === 'json' ? '' : ` as Confluent-framed ${format}`}, ${gen.bad.length} malformed) …\n`);
    const tProduceStart = Date.now();
    await produceRecords(kafka, gen.records, { expectOffsets: true });
    const tProduced = Date.now();
    const progress = await esm.waitForCaughtUp(300_000);
    const tLoaded = Date.now();
    bar?.stop();
    bar = null;
    await esm.stop();
    esm = null;
    if (progress.discarded > 0) out(`✖ ${progress.discarded} records went to the ESM on-failure destination (s3://${ctx.bucket}/${ESM_FAILURES_PREFIX})\n`);

    const table = pipeline.name;
    const quarantine = quarantineTableName(pipeline);
    const counts = await queryLake(ctx, `SELECT (SELECT count(*) FROM ${table}) AS loaded, (SELECT count(*) FROM ${quarantine}) AS quarantined`);
    const tQueryable = Date.now();
    const loaded = Number(counts.rows[0]![0]);
    const quarantined = Number(counts.rows[0]![1]);

    let iceberg: DemoResult['iceberg'];
    if (pipeline.format === 'iceberg') {
      // What the Glue compaction optimizer does in an account: bin-pack the small files per partition.
      const filesOf = async () => Number((await queryLake(ctx, `SELECT count(*) FROM "${table}$files"`)).rows[0]![0]);
      const filesBefore = await filesOf();
      await compactTable({ store: new S3ObjectStore(ctx.s3(), ctx.bucket), catalog: new GlueCatalog(ctx.glue()), bucket: ctx.bucket, database: ctx.database, pipeline });
      const after = await queryLake(ctx, `SELECT (SELECT count(*) FROM "${table}$files") AS files, (SELECT count(*) FROM "${table}$snapshots") AS snapshots, (SELECT count(*) FROM ${table}) AS rows_`);
      iceberg = { filesBefore, filesAfter: Number(after.rows[0]![0]), snapshots: Number(after.rows[0]![1]), rowsAfterCompaction: Number(after.rows[0]![2]) };
    }

    out('\n');
    for (const q of demoQueries(table, quarantine, pipeline.format)) {
      const r = await queryLake(ctx, q.sql);
      out(formatTable({ columns: r.columns.map((c) => c.name), rows: r.rows }, `■ ${q.title}`) + '\n');
    }

    const loadSeconds = Math.max(0.001, (tLoaded - tProduceStart) / 1000);
    const result: DemoResult = {
      produced,
      loaded,
      quarantined,
      expectedValid: gen.valid.length,
      expectedBad: gen.bad.length,
      reconciled: loaded + quarantined === produced && loaded === gen.valid.length && quarantined === gen.bad.length && (!iceberg || iceberg.rowsAfterCompaction === loaded),
      recordsPerSecond: Math.round(produced / loadSeconds),
      produceToQueryableMs: tQueryable - tProduced,
      invocations: progress.invocations,
      ...(iceberg ? { iceberg } : {}),
      ...(schema ? { schema } : {}),
      dataDir: o.keep ? dataDir : null,
    };
    out(
      formatTable(
        {
          columns: ['metric', 'value'],
          rows: [
            ['records produced', String(produced)],
            ...(schema ? [['value format', `${schema.format}, Confluent-framed (schema id ${schema.id})`]] : []),
            ['rows loaded (Athena)', String(loaded)],
            ['records quarantined (Athena)', String(quarantined)],
            ['loaded + quarantined = produced', result.reconciled ? 'yes' : 'NO'],
            ['handler invocations', String(progress.invocations)],
            ...(iceberg
              ? [
                  ['Iceberg snapshots (appends + compaction)', String(iceberg.snapshots)],
                  ['data files before → after compaction', `${iceberg.filesBefore} → ${iceberg.filesAfter}`],
                  ['rows after compaction = rows loaded', iceberg.rowsAfterCompaction === loaded ? 'yes' : 'NO'],
                ]
              : []),
            ['time in the loader handler (s)', (progress.handlerMs / 1000).toFixed(1)],
            ['throughput (records/s, produce → committed)', String(result.recordsPerSecond)],
            ['produce-to-queryable latency (ms, last record)', String(result.produceToQueryableMs)],
            ['total demo time (s)', ((Date.now() - t0) / 1000).toFixed(1)],
          ],
        },
        '■ Summary',
      ),
    );
    if (o.keep) out(`data kept in ${dataDir} (run \`npx lakeloader dev --data ${join(dataDir)}\` to query it again)\n`);
    return result;
  } catch (e) {
    if (interrupted) await new Promise<never>(() => undefined);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

/** Registers `lakeloader demo`. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('the whole loop offline, with nothing but Node: embedded Kafka broker → local ESM → loader → Parquet in local S3 → Glue → Athena SQL; exits 1 unless loaded + quarantined = produced')
    .option('--format <format>', 'value format: json, or avro / protobuf framed by the local Confluent Schema Registry (schemas/clickstream.avsc, .proto)', oneOfFormat, 'json')
    .option('--events <n>', 'valid clickstream events to produce', int('events', 1, 2_000_000), 30_000)
    .option('--malformed <n>', 'malformed records mixed in', int('malformed', 0, 100_000), 36)
    .option('--partitions <n>', 'partitions of the Kafka topic', int('partitions', 1, 64), 4)
    .option('--seed <n>', 'generator seed (same seed → same data)', int('seed', 0, 2 ** 31 - 1), 42)
    .option('--batch-size <n>', 'ESM batch size (max 10000)', int('batch-size', 1, 10_000), 10_000)
    .option('--window-ms <ms>', 'ESM batching window', int('window-ms', 0, 300_000), 500)
    .option('--keep', 'keep the temp data directory', false)
    .option('--no-progress', 'no progress bar')
    .action(async (flags: DemoOptions) => {
      const r = await runDemo(flags);
      if (!r.reconciled) {
        process.stderr.write(
          `demo FAILED to reconcile: produced ${r.produced} = ${r.expectedValid} valid + ${r.expectedBad} malformed, but Athena sees ${r.loaded} rows and ${r.quarantined} quarantined\n`,
        );
        process.exitCode = 1;
      }
    });
}
