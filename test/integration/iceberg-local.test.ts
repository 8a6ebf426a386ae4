/**
 * An Iceberg pipeline (the `orders` fixture) on the local endpoint, through the real loader
 * handler and the real SDK clients: read-committed (staged files invisible to Athena until a
 * snapshot publishes them), time travel, the metadata tables, OPTIMIZE and VACUUM — and every
 * state of the table read by an independent Iceberg reader, icebird (hyparquet), over HTTP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetTableCommand } from '@aws-sdk/client-glue';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveContext, type CliContext } from '../../lib/cli/context';
import { createLocalLoader } from '../../lib/cli/invoke';
import { provision } from '../../lib/cli/provision';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import { startLocalEndpoint, type LocalEndpoint } from '../../lib/local/server';
import { queryLake } from '../../lib/ops/deps';

const order = (topic: string, partition: number, offset: number, day: number): ProducedRecord => ({
  topic,
  partition,
  offset,
  timestamp: Date.parse('2026-03-01T00:00:00Z'),
  value: JSON.stringify({ id: `${topic}-${partition}-${offset}`, customer: 1000 + offset, total: 10 + offset / 4, at: `2026-03-0${day}T1${offset % 10}:15:00Z` }),
});

describe('an Iceberg table on the local endpoint', () => {
  let dir: string;
  let ep: LocalEndpoint;
  let ctx: CliContext;
  const realFetch = globalThis.fetch;

  /** icebird reads `https://<bucket>.s3.amazonaws.com/<key>`: send those to the endpoint (path style). */
  const icebird = async (): Promise<Record<string, unknown>[]> => {
    const { icebergRead } = await import('icebird');
    const t = (await ctx.glue().send(new GetTableCommand({ DatabaseName: ctx.database, Name: 'orders' }))).Table!;
    const location = t.Parameters!.metadata_location!;
    const tableUrl = location.slice(0, location.indexOf('/metadata/'));
    return (await icebergRead({ tableUrl, metadataFileName: location.slice(location.lastIndexOf('/') + 1) })) as Record<string, unknown>[];
  };
  const ids = (rows: Record<string, unknown>[]) => rows.map((r) => String(r.order_id)).sort();
  const athenaIds = async (sql = 'SELECT order_id FROM orders') => (await queryLake(ctx, sql)).rows.map((r) => r[0]!).sort();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lakeloader-iceberg-'));
    ep = await startLocalEndpoint({ port: 0, dataDir: dir });
    ctx = resolveContext({ endpoint: ep.url }, {});
    await provision(ctx);
    globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      const m = /^https:\/\/([^.]+)\.s3\.amazonaws\.com\/(.*)$/.exec(url);
      return realFetch(m ? `${ep.url}/${m[1]}/${m[2]}` : input, init);
    }) as typeof fetch;
  }, 60_000);

  afterAll(async () => {
    globalThis.fetch = realFetch;
    await ep?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let first: string;
  let firstAt: number;

  it('publishes batches as snapshots that Athena and icebird read alike', async () => {
    const loader = createLocalLoader(ctx, 'orders', { commitIntervalSeconds: 0 });
    await loader(buildMskEvent([order('orders', 0, 0, 1), order('orders', 0, 1, 1), order('orders-eu', 0, 0, 2)]));
    const snaps = await queryLake(ctx, 'SELECT snapshot_id, operation, committed_at FROM "orders$snapshots" ORDER BY committed_at');
    expect(snaps.rows).toHaveLength(1);
    first = snaps.rows[0]![0]!;
    firstAt = Date.parse(snaps.rows[0]![2]!.replace(' UTC', 'Z').replace(' ', 'T'));
    await new Promise((r) => setTimeout(r, 20));
    await loader(buildMskEvent([order('orders', 0, 2, 2), order('orders', 1, 0, 3)]));
    const athena = await athenaIds();
    expect(athena).toEqual(['orders-0-0', 'orders-0-1', 'orders-0-2', 'orders-1-0', 'orders-eu-0-0']);
    const read = await icebird();
    expect(ids(read)).toEqual(athena);
    // icebird decodes the values the loader wrote, column by column.
    const row = read.find((r) => r.order_id === 'orders-0-2')!;
    expect(row.customer_id).toBe(1002n);
    expect(new Date(row.ordered_at as Date).toISOString()).toBe('2026-03-02T12:15:00.000Z');
    expect((await queryLake(ctx, `SELECT "partition".ordered_at_day, record_count FROM "orders$partitions" ORDER BY 1`)).rows).toEqual([
      [String(Date.UTC(2026, 2, 1) / 86_400_000), '2'],
      [String(Date.UTC(2026, 2, 2) / 86_400_000), '2'],
      [String(Date.UTC(2026, 2, 3) / 86_400_000), '1'],
    ]);
  }, 60_000);

  it('time-travels to an earlier snapshot by id and by timestamp', async () => {
    expect(await athenaIds(`SELECT order_id FROM orders FOR VERSION AS OF ${first}`)).toEqual(['orders-0-0', 'orders-0-1', 'orders-eu-0-0']);
    const at = new Date(firstAt + 5).toISOString().replace('T', ' ').replace('Z', '');
    expect(await athenaIds(`SELECT order_id FROM orders FOR TIMESTAMP AS OF TIMESTAMP '${at} UTC' WHERE customer_id >= 1000`)).toEqual(['orders-0-0', 'orders-0-1', 'orders-eu-0-0']);
    await expect(queryLake(ctx, 'SELECT * FROM orders FOR VERSION AS OF 12345')).rejects.toThrow(/snapshot ID does not exist/i);
    await expect(queryLake(ctx, 'SELECT * FROM clickstream FOR VERSION AS OF 1')).rejects.toThrow(/needs an Iceberg table/);
  }, 60_000);

  it('keeps staged batches invisible until a snapshot publishes them (read-committed)', async () => {
    const loader = createLocalLoader(ctx, 'orders', { commitIntervalSeconds: 3600 });
    const before = await athenaIds();
    const r = await loader(buildMskEvent([order('orders', 0, 3, 3), order('orders', 0, 4, 3)]));
    expect(r).toMatchObject({ written: 2, published: { batches: 0, skipped: 'fresh' } });
    // The file is in the bucket, committed by the exactly-once protocol, but no snapshot has it.
    const keys = (await ctx.s3().send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: 'tables/orders/' }))).Contents!.map((o) => o.Key!);
    expect(keys.filter((k) => k.endsWith('.parquet'))).toHaveLength(5); // 4 published before, 1 staged now
    expect(await athenaIds()).toEqual(before);
    expect(ids(await icebird())).toEqual(before);
    expect(await loader.commit()).toMatchObject({ batches: 1, rows: 2 });
    expect(await athenaIds()).toEqual([...before, 'orders-0-3', 'orders-0-4'].sort());
  }, 60_000);

  it('OPTIMIZE bin-packs the small files per partition; the rows and other readers see the same', async () => {
    const files = async () => Number((await queryLake(ctx, 'SELECT count(*) FROM "orders$files"')).rows[0]![0]);
    const before = await athenaIds();
    const sum = async () => (await queryLake(ctx, 'SELECT sum(total), sum(customer_id), min(ordered_at), max(ordered_at) FROM orders')).rows[0];
    const sums = await sum();
    expect(await files()).toBe(5);
    await queryLake(ctx, 'OPTIMIZE orders REWRITE DATA USING BIN_PACK');
    // Partitions: day 1 had 1 file, day 2 two, day 3 two (one from each batch): days 2 and 3 are rewritten.
    expect(await files()).toBe(3);
    expect(await athenaIds()).toEqual(before);
    expect(await sum()).toEqual(sums);
    expect(ids(await icebird())).toEqual(before);
    const ops = await queryLake(ctx, 'SELECT operation, count(*) FROM "orders$snapshots" GROUP BY 1 ORDER BY 1');
    expect(ops.rows).toEqual([
      ['append', '3'],
      ['replace', '1'],
    ]);
    // Nothing left to pack: no new snapshot.
    await queryLake(ctx, 'OPTIMIZE orders REWRITE DATA USING BIN_PACK');
    expect((await queryLake(ctx, 'SELECT count(*) FROM "orders$snapshots"')).rows[0]![0]).toBe('4');
    await expect(queryLake(ctx, 'OPTIMIZE clickstream REWRITE DATA USING BIN_PACK')).rejects.toThrow(/only for Iceberg tables/);
    await expect(queryLake(ctx, 'OPTIMIZE orders REWRITE DATA')).rejects.toThrow(/expected OPTIMIZE/);
  }, 60_000);

  it('VACUUM keeps what the retention keeps (the current snapshot and its files)', async () => {
    const before = await athenaIds();
    await queryLake(ctx, 'VACUUM orders');
    expect(await athenaIds()).toEqual(before);
    expect(ids(await icebird())).toEqual(before);
    expect((await queryLake(ctx, 'SELECT count(*) FROM "orders$snapshots"')).rows[0]![0]).toBe('4'); // all younger than 5 days
  }, 60_000);
});
