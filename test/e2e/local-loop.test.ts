/**
 * End to end, offline: the embedded Kafka broker → the local event source mapping → the real loader
 * handler → Parquet in the local S3 → Glue partitions → Athena SQL (DuckDB) through the real SDK.
 * Expectations are computed from the generated events, never hard-coded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveContext, type CliContext } from '../../lib/cli/context';
import { createLocalLoader } from '../../lib/cli/invoke';
import { provision } from '../../lib/cli/provision';
import { queryLake } from '../../lib/ops/deps';
import { generateClickstreamRecords, type ClickstreamRecords } from '../../lib/gen/records';
import { startLocalEsm, type EsmProgress, type LocalEventSourceMapping } from '../../lib/local/esm';
import { startKafkaBroker, type KafkaBroker } from '../../lib/local/kafka/broker';
import { ensureTopic, produceRecords, type KafkaConnection } from '../../lib/local/kafka-client';
import { startLocalEndpoint, type LocalEndpoint } from '../../lib/local/server';

describe('the whole loop offline: Kafka → ESM → loader → S3/Glue → Athena', () => {
  let dir: string;
  let ep: LocalEndpoint;
  let broker: KafkaBroker;
  let kafka: KafkaConnection;
  let esm: LocalEventSourceMapping | undefined;
  let ctx: CliContext;
  let gen: ClickstreamRecords;
  let progress: EsmProgress;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lakeloader-e2e-'));
    ep = await startLocalEndpoint({ port: 0, dataDir: dir });
    ctx = resolveContext({ endpoint: ep.url }, {});
    await provision(ctx);
    broker = await startKafkaBroker({ port: 0 });
    kafka = { brokers: [broker.bootstrap] };
    await ensureTopic(kafka, 'clicks', 4);
    gen = generateClickstreamRecords({ seed: 2026, count: 6000, malformed: 30, partitions: 4, topic: 'clicks', lateShare: 0.05 });
    esm = await startLocalEsm({
      brokers: kafka.brokers,
      topics: ['clicks'],
      groupId: 'e2e-clickstream',
      batchSize: 2500,
      batchingWindowMs: 200,
      maxRetryAttempts: 1,
      retryBaseDelayMs: 50,
      handler: createLocalLoader(ctx, 'clickstream'),
      onFailure: { s3: ctx.s3(), bucket: ctx.bucket },
    });
    await produceRecords(kafka, gen.records, { expectOffsets: true, chunk: 500 });
    progress = await esm.waitForCaughtUp(90_000);
  }, 120_000);

  afterAll(async () => {
    await esm?.stop();
    await broker?.stop();
    await ep?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the ESM delivered every record in successful invocations (nothing discarded)', () => {
    expect(progress.delivered).toBe(gen.records.length);
    expect(progress.discarded).toBe(0);
    expect(progress.failureRecords).toEqual([]);
    expect(progress.lag).toBe(0);
    expect(progress.invocations).toBeGreaterThanOrEqual(Math.ceil(gen.records.length / 2500));
  });

  it('Athena returns exactly the expected counts per event type', async () => {
    const expected = new Map<string, number>();
    for (const v of gen.valid) expected.set(v.event.event_type, (expected.get(v.event.event_type) ?? 0) + 1);
    const r = await queryLake(ctx, 'SELECT event_type, count(*) AS n FROM clickstream GROUP BY event_type');
    expect(new Map(r.rows.map((row) => [row[0]!, Number(row[1])]))).toEqual(expected);
    const total = await queryLake(ctx, 'SELECT count(*), count(DISTINCT event_id) FROM clickstream');
    expect(total.rows[0]!.map(Number)).toEqual([gen.valid.length, gen.valid.length]);
  }, 60_000);

  it('Athena returns exactly the expected revenue per currency (in cents) and exact big user ids', async () => {
    const cents = new Map<string, number>();
    const purchases = new Map<string, number>();
    for (const v of gen.valid) {
      if (v.event.event_type !== 'purchase' || v.event.amountCents === undefined) continue;
      cents.set(v.event.currency!, (cents.get(v.event.currency!) ?? 0) + v.event.amountCents);
      purchases.set(v.event.currency!, (purchases.get(v.event.currency!) ?? 0) + 1);
    }
    const r = await queryLake(
      ctx,
      "SELECT currency, count(*) AS n, CAST(sum(round(amount * 100)) AS bigint) AS cents FROM clickstream WHERE event_type = 'purchase' AND amount IS NOT NULL GROUP BY currency",
    );
    expect(new Map(r.rows.map((row) => [row[0]!, Number(row[2])]))).toEqual(cents);
    expect(new Map(r.rows.map((row) => [row[0]!, Number(row[1])]))).toEqual(purchases);
    const maxUser = gen.valid.reduce((m, v) => (v.event.user_id > m ? v.event.user_id : m), 0n);
    const u = await queryLake(ctx, 'SELECT CAST(max(user_id) AS varchar) FROM clickstream');
    expect(u.rows[0]![0]).toBe(maxUser.toString());
  }, 60_000);

  it('every valid record is a row exactly once, at its Kafka coordinates and timestamp, in its event-time partition', async () => {
    const r = await queryLake(ctx, "SELECT _topic, _partition, _offset, event_id, dt || ' ' || hour, CAST(round(to_unixtime(_kafka_ts) * 1000) AS bigint) FROM clickstream");
    const got = r.rows.map((row) => row.join('|')).sort();
    const hourOf = (ms: number) => new Date(ms).toISOString().slice(0, 13).replace('T', ' ');
    // The Kafka timestamp survives producer → broker → ESM → loader → Parquet.
    const want = gen.valid.map((v) => [v.record.topic, v.record.partition, v.record.offset, v.event.event_id, hourOf(v.event.tsMs), v.record.timestamp].join('|')).sort();
    expect(got).toEqual(want);
  }, 60_000);

  it('the quarantine holds exactly the malformed records (by offset), each with its expected stage', async () => {
    const r = await queryLake(ctx, 'SELECT topic, kafka_partition, kafka_offset, stage FROM clickstream_quarantine');
    const got = r.rows.map((row) => row.join('|')).sort();
    const want = gen.bad.map((b) => [b.record.topic, b.record.partition, b.record.offset, b.stage].join('|')).sort();
    expect(got).toEqual(want);
  }, 60_000);
});
