/**
 * The Iceberg table the loader writes, with the in-memory store and catalog: the table and its
 * first metadata, batches published as snapshots (read-committed, exactly once across
 * redelivery), the commit interval, manifest merging, compaction (replace) and snapshot
 * expiry racing appends, and the data files read back with hyparquet.
 */
import { parquetReadObjects } from 'hyparquet';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../lambdas/core/config';
import { readManifest, readManifestList } from '../../lambdas/core/iceberg/avro';
import { MERGE_MANIFESTS_AT, publishStaged } from '../../lambdas/core/iceberg/commit';
import { expireSnapshots, orphanFiles, replaceFiles, RewriteConflictError, type RewrittenFile } from '../../lambdas/core/iceberg/maintenance';
import { compactTable, rewriteBin } from '../../lib/iceberg/compact';
import { currentSnapshot, parseMetadata, type TableMetadata } from '../../lambdas/core/iceberg/metadata';
import { ensureIcebergTable, OFFSETS_PROPERTY, tableFiles, type IcebergDeps } from '../../lambdas/core/iceberg/table';
import { createHandler } from '../../lambdas/loader/handler';
import { buildMskEvent, type ProducedRecord } from '../../lib/local/msk-event';
import orders from '../fixtures/pipelines/orders';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';

const BUCKET = 'lake-bucket';
const ENV = { LAKELOADER_PIPELINE: 'orders', LAKELOADER_BUCKET: BUCKET, LAKELOADER_GLUE_DATABASE: 'lakeloader', AWS_REGION: 'us-east-1' };

const order = (topic: string, partition: number, offset: number, day: number): ProducedRecord => ({
  topic,
  partition,
  offset,
  timestamp: Date.parse('2026-03-01T00:00:00Z'),
  value: JSON.stringify({ id: `${topic}-${partition}-${offset}`, customer: offset, total: 12.5, at: `2026-03-0${day}T1${offset % 10}:00:00Z` }),
});

function setup(interval = 0) {
  let clock = Date.parse('2026-03-05T00:00:00Z');
  const now = () => clock;
  const store = new MemoryStore(100, now);
  const catalog = new MemoryCatalog();
  const config = loadConfig(orders, { ...ENV, LAKELOADER_COMMIT_INTERVAL_SECONDS: String(interval) });
  const handler = createHandler({ config, store, catalog, now });
  const deps: IcebergDeps = { store, catalog, bucket: BUCKET, database: 'lakeloader', pipeline: config.pipeline, now, backoff: async () => {} };
  return { store, catalog, handler, deps, tick: (ms: number) => (clock += ms) };
}

async function metadataOf(s: ReturnType<typeof setup>): Promise<TableMetadata> {
  const t = await s.catalog.getTable('lakeloader', 'orders');
  const loc = t!.input.Parameters!.metadata_location!;
  return parseMetadata(s.store.text(loc.replace(`s3://${BUCKET}/`, ''))!);
}

/** The table's rows as a reader of the current snapshot sees them (hyparquet on each live file). */
async function readTable(s: ReturnType<typeof setup>): Promise<Record<string, unknown>[]> {
  const files = await tableFiles(s.deps, await metadataOf(s));
  const rows: Record<string, unknown>[] = [];
  for (const f of files) {
    const body = s.store.objects.get(f.data_file.file_path.replace(`s3://${BUCKET}/`, ''))!.body;
    const buf = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
    rows.push(...((await parquetReadObjects({ file: buf })) as Record<string, unknown>[]));
  }
  return rows.sort((a, b) => String(a.order_id).localeCompare(String(b.order_id)));
}

beforeEach(() => {
  // The handler logs and emits metrics on stdout/stderr; keep the test output readable.
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

describe('Iceberg table', () => {
  it('is created once with its first metadata, however many callers race', async () => {
    const s = setup();
    const results = await Promise.all([1, 2, 3, 4].map(() => ensureIcebergTable(s.deps)));
    const t = await s.catalog.getTable('lakeloader', 'orders');
    expect(t!.input.Parameters).toMatchObject({ table_type: 'ICEBERG' });
    expect(new Set(results.map((r) => r.metadataLocation)).size).toBe(1);
    expect(results.filter((r) => r.created).length).toBe(1);
    const m = await metadataOf(s);
    expect(m['format-version']).toBe(2);
    expect(m['partition-specs'][0]!.fields).toEqual([{ 'source-id': 4, 'field-id': 1000, name: 'ordered_at_day', transform: 'day' }]);
    expect(m['current-snapshot-id']).toBeNull();
  });

  it('publishes each committed batch once as a snapshot; a redelivered batch adds nothing', async () => {
    const s = setup();
    await s.handler.ensureTable();
    const batch1 = [order('orders', 0, 0, 1), order('orders', 0, 1, 2), order('orders-eu', 0, 5, 1)];
    const r1 = await s.handler(buildMskEvent(batch1));
    expect(r1.published).toMatchObject({ batches: 2, rows: 3 });
    let m = await metadataOf(s);
    expect(JSON.parse(m.properties[OFFSETS_PROPERTY]!)).toEqual({ 'orders/0': 1, 'orders-eu/0': 5 });
    expect(currentSnapshot(m)!.summary).toMatchObject({ operation: 'append', 'added-records': '3', 'total-records': '3' });
    expect((await readTable(s)).map((r) => r.order_id)).toEqual(['orders-0-0', 'orders-0-1', 'orders-eu-0-5']);

    // The ESM redelivers the batch (at-least-once): the rows stay as they were, and no new snapshot appears.
    const again = await s.handler(buildMskEvent(batch1));
    expect(again.duplicates).toBe(3);
    m = await metadataOf(s);
    expect(m.snapshots).toHaveLength(1);
    await s.handler(buildMskEvent([order('orders', 0, 1, 2), order('orders', 0, 2, 3)]));
    expect((await readTable(s)).map((r) => r.order_id)).toEqual(['orders-0-0', 'orders-0-1', 'orders-0-2', 'orders-eu-0-5']);
    m = await metadataOf(s);
    expect(m.snapshots).toHaveLength(2);
    // Partition values are days since the epoch of ordered_at, in the manifest.
    const list = await readManifestList(s.store.objects.get(currentSnapshot(m)!['manifest-list'].replace(`s3://${BUCKET}/`, ''))!.body);
    const { entries } = await readManifest(s.store.objects.get(list.at(-1)!.manifest_path.replace(`s3://${BUCKET}/`, ''))!.body);
    expect(entries.map((e) => e.data_file.partition.ordered_at_day)).toEqual([Date.UTC(2026, 2, 3) / 86_400_000]);
  });

  it('stages batches within the commit interval; readers see them only once a later batch or the scheduled commit publishes', async () => {
    const s = setup(60);
    await s.handler.ensureTable();
    // The first batch publishes at once (the table has no snapshot yet).
    expect((await s.handler(buildMskEvent([order('orders', 0, 0, 1)]))).published).toMatchObject({ batches: 1 });
    s.tick(30_000);
    expect((await s.handler(buildMskEvent([order('orders', 0, 1, 1)]))).published).toMatchObject({ batches: 0, skipped: 'fresh' });
    expect(await readTable(s)).toHaveLength(1);
    expect(s.store.keys('tables/orders/').filter((k) => k.endsWith('.parquet'))).toHaveLength(2); // written and committed, not yet published
    s.tick(31_000);
    const r = await s.handler(buildMskEvent([order('orders', 0, 2, 1)]));
    expect(r.published).toMatchObject({ batches: 2, rows: 2 });
    expect(await readTable(s)).toHaveLength(3);
    await s.handler(buildMskEvent([order('orders', 0, 3, 1)]));
    expect(await readTable(s)).toHaveLength(3);
    expect(await s.handler.commit()).toMatchObject({ batches: 1, rows: 1 });
    expect(await readTable(s)).toHaveLength(4);
    expect(await s.handler.commit()).toMatchObject({ skipped: 'nothing' });
  });

  it(`merges the data manifests into one when a snapshot would hold more than ${MERGE_MANIFESTS_AT}`, async () => {
    const s = setup();
    await s.handler.ensureTable();
    const counts: number[] = [];
    for (let i = 0; i < MERGE_MANIFESTS_AT + 2; i++) {
      await s.handler(buildMskEvent([order('orders', 0, i, 1 + (i % 3))]));
      const m = await metadataOf(s);
      counts.push((await readManifestList(s.store.objects.get(currentSnapshot(m)!['manifest-list'].replace(`s3://${BUCKET}/`, ''))!.body)).length);
    }
    expect(counts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 1, 2]);
    expect(await readTable(s)).toHaveLength(MERGE_MANIFESTS_AT + 2);
  });

  it('keeps every row exactly once when two committers and a compaction race', async () => {
    const s = setup(3600);
    await s.handler.ensureTable();
    for (let i = 0; i < 6; i++) await s.handler(buildMskEvent([order('orders', 0, i, 1), order('orders-eu', 1, i, 1)]));
    // The first invocation published its 2 batches (the table had no snapshot); the other 10 wait
    // (interval 1 h). Two scheduled committers race: each batch is published by exactly one.
    const [a, b] = await Promise.all([publishStaged(s.deps), publishStaged(s.deps)]);
    expect(a.batches + b.batches).toBe(10);
    expect(Math.min(a.batches, b.batches)).toBe(0);
    expect(await readTable(s)).toHaveLength(12);
    // Compact the day's files while a batch is published: both land, the rows are the same.
    const m = await metadataOf(s);
    const live = await tableFiles(s.deps, m);
    expect(live.length).toBe(12);
    const before = await readTable(s);
    const rewritten = await rewriteAll(s, live.map((e) => e.data_file.file_path));
    for (let i = 6; i < 8; i++) await s.handler(buildMskEvent([order('orders', 0, i, 1)]));
    const [compacted, published] = await Promise.all([replaceFiles(s.deps, live.map((e) => e.data_file.file_path), [rewritten]), publishStaged(s.deps)]);
    expect(compacted).toMatchObject({ removed: 12, added: 1 });
    expect(published.batches).toBe(2);
    const rows = await readTable(s);
    expect(rows).toHaveLength(14);
    expect(new Set(rows.map((r) => r.order_id)).size).toBe(14);
    // The rewrite holds the same values (DuckDB wrote them; hyparquet reads both).
    expect(rows.filter((r) => before.some((b) => b.order_id === r.order_id))).toEqual(before);
    expect((await tableFiles(s.deps, await metadataOf(s))).length).toBe(3);
    // A second rewrite of the same files is refused, not applied twice.
    await expect(replaceFiles(s.deps, live.map((e) => e.data_file.file_path), [rewritten])).rejects.toBeInstanceOf(RewriteConflictError);
    expect(await readTable(s)).toHaveLength(14);
    // The offsets survived the replace: a redelivery is still a duplicate.
    expect((await s.handler(buildMskEvent([order('orders', 0, 7, 1)]))).duplicates).toBe(1);
  });

  it('expires old snapshots and lists what only they referenced; orphans exclude staged batches', async () => {
    const s = setup(3600);
    await s.handler.ensureTable();
    for (let i = 0; i < 3; i++) {
      await s.handler(buildMskEvent([order('orders', 0, i, 1)]));
      await publishStaged(s.deps);
      s.tick(3_600_000);
    }
    const live = (await tableFiles(s.deps, await metadataOf(s))).map((e) => e.data_file.file_path);
    await replaceFiles(s.deps, live, [await rewriteAll(s, live)]);
    await s.handler(buildMskEvent([order('orders', 0, 3, 1)])); // staged, not published
    s.tick(3_600_000);
    const r = await expireSnapshots(s.deps, { olderThanMs: s.deps.now!() - 1000, retainLast: 1 });
    expect(r).toMatchObject({ expired: 3, kept: 1 });
    // The three original data files are referenced by no snapshot left; manifests and lists neither.
    for (const f of live) expect(r.unreferenced).toContain(f.replace(`s3://${BUCKET}/`, ''));
    expect(await readTable(s)).toHaveLength(3);
    const m = await metadataOf(s);
    const t = await s.catalog.getTable('lakeloader', 'orders');
    const orphans = await orphanFiles(s.deps, m, t!.input.Parameters!.metadata_location!, s.deps.now!());
    const staged = s.store.keys('tables/orders/').filter((k) => k.endsWith('.parquet') && !live.some((l) => l.endsWith(k)) && !k.includes('compacted'));
    expect(staged).toHaveLength(1);
    expect(orphans).not.toContain(staged[0]);
    for (const f of live) expect(orphans).toContain(f.replace(`s3://${BUCKET}/`, ''));
    expect(await publishStaged(s.deps)).toMatchObject({ rows: 1 });
    expect(await readTable(s)).toHaveLength(4);
  });

  it('a failed publish does not fail the batch: it is committed and published later', async () => {
    const s = setup();
    await s.handler.ensureTable();
    const update = vi.spyOn(s.catalog, 'updateTable').mockRejectedValueOnce(new Error('throttled'));
    const r = await s.handler(buildMskEvent([order('orders', 0, 0, 1)]));
    expect(r.written).toBe(1);
    expect(r.published).toMatchObject({ batches: 0, error: 'throttled' });
    expect(await readTable(s)).toEqual([]);
    update.mockRestore();
    expect(await s.handler.commit()).toMatchObject({ batches: 1 });
    expect(await readTable(s)).toHaveLength(1);
  });
});

/** The compactor's rewrite of `paths` (all in one partition) as one file, not yet committed. */
async function rewriteAll(s: ReturnType<typeof setup>, paths: string[]): Promise<RewrittenFile> {
  const files = (await tableFiles(s.deps, await metadataOf(s))).filter((f) => paths.includes(f.data_file.file_path));
  return rewriteBin(s.deps, files);
}
