/**
 * The audit's checks one by one over the in-memory S3 double, with the SQL answered from the
 * Parquet files themselves (the Athena path runs in ops-local.test.ts): gaps, overlaps, a state
 * that disagrees with its manifests, quarantine mismatches and unfinished replays.
 */
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { PartitionRegistrar } from '../../lambdas/core/catalog';
import { manifestsPrefix, quarantinePrefix, stateKey } from '../../lambdas/core/layout';
import { generateClickstreamRecords } from '../../lib/gen/records';
import { auditTable, type SqlRunner } from '../../lib/ops/audit';
import { readCommitManifests } from '../../lib/ops/lake';
import { replayQuarantine } from '../../lib/ops/replay';
import type { ObjectStore } from '../../lambdas/core/store';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { MemoryCatalog } from '../support/memory-catalog';
import { MemoryStore } from '../support/memory-store';
import { codec, loadRecords } from './ops-fixtures';

/** Answers the audit's per-partition query from the Parquet objects under the table prefix. */
function sqlFromFiles(store: MemoryStore): SqlRunner {
  return async () => {
    const acc = new Map<string, { rows: number; offsets: Set<number>; latest: number }>();
    for (const key of store.keys('tables/clickstream/')) {
      const t = tableFromIPC(readParquet(store.objects.get(key)!.body, { columns: ['_topic', '_partition', '_offset', 'ts'] }).intoIPCStream());
      for (let i = 0; i < t.numRows; i++) {
        const r = t.get(i)!.toJSON() as { _topic: string; _partition: number; _offset: bigint; ts: number };
        const k = `${r._topic}\u0000${r._partition}`;
        const a = acc.get(k) ?? { rows: 0, offsets: new Set<number>(), latest: 0 };
        a.rows++;
        a.offsets.add(Number(r._offset));
        a.latest = Math.max(a.latest, Number(r.ts));
        acc.set(k, a);
      }
    }
    const rows = [...acc].map(([k, a]) => [...k.split('\u0000'), String(a.rows), String(a.offsets.size), new Date(a.latest).toISOString()]);
    return { columns: [], rows, dataScannedBytes: 0, costUsd: 0 };
  };
}

async function lake() {
  const store = new MemoryStore(100);
  const catalog = new MemoryCatalog();
  const gen = generateClickstreamRecords({ seed: 9, count: 300, malformed: 12, partitions: 2 });
  await loadRecords({ store, catalog, bucket: 'lake', database: 'db' }, clickstream, gen.records, 60);
  const audit = () => auditTable({ store, sql: sqlFromFiles(store), database: 'db' }, clickstream);
  return { store, catalog, audit };
}

const kinds = (r: Awaited<ReturnType<typeof auditTable>>) => r.problems.map((p) => p.kind).sort();

describe('audit checks', () => {
  it('a clean lake: contiguous ranges, counts reconciled, freshness per partition', async () => {
    const { audit } = await lake();
    const r = await audit();
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.partitions).toHaveLength(2);
    for (const p of r.partitions) {
      expect(p.ranges).toHaveLength(1);
      expect(p.rows).toBe(p.expectedRows);
      expect(p.duplicates).toBe(0);
      expect(p.latestEventTime).toMatch(/^20\d\d-/);
    }
    expect(r.totals.rows).toBe(300);
    expect(r.totals.quarantined).toBe(12);
  });

  it('reports a gap and the files of a deleted manifest as stray', async () => {
    const { store, audit } = await lake();
    const ms = (await readCommitManifests(store, 'clickstream')).filter((m) => m.manifest.partition === 0);
    const middle = ms[1]!;
    await store.deleteMany([middle.key]);
    const r = await audit();
    expect(kinds(r)).toContain('gap');
    expect(r.problems.find((p) => p.kind === 'gap')!.detail).toContain(`${middle.manifest.fromOffset}..${middle.manifest.toOffset}`);
    expect(r.problems.filter((p) => p.kind === 'stray-file').map((p) => p.key).sort()).toEqual(
      [...middle.manifest.files.map((f) => f.key), ...(middle.manifest.quarantine && middle.manifest.quarantine.records ? [middle.manifest.quarantine.key] : [])].sort(),
    );
    expect(r.ok).toBe(false);
  });

  it('reports an overlap and a state that disagrees with the manifests', async () => {
    const { store, audit } = await lake();
    const ms = (await readCommitManifests(store, 'clickstream')).filter((m) => m.manifest.partition === 1);
    const last = ms[ms.length - 1]!;
    const fake = { ...last.manifest, fromOffset: last.manifest.fromOffset - 3, toOffset: last.manifest.toOffset + 5, files: [], quarantine: null, generation: 99 };
    await store.put(`${manifestsPrefix('clickstream')}clicks/1/zz-overlap.json`, new TextEncoder().encode(JSON.stringify(fake)));
    const r = await audit();
    expect([...new Set(kinds(r))]).toEqual(['overlap', 'state-mismatch']);
    expect(r.problems.find((p) => p.kind === 'state-mismatch')!.detail).toContain(`manifests end at ${last.manifest.toOffset + 5}`);
  });

  it('reports a quarantine object with lines removed by hand, and one deleted', async () => {
    const { store, audit } = await lake();
    const qs = store.keys(quarantinePrefix('clickstream')).filter((k) => store.objects.get(k)!.body.length > 0);
    const text = store.text(qs[0]!)!;
    await store.put(qs[0]!, new TextEncoder().encode(text.split('\n').slice(1).join('\n')));
    await store.deleteMany([qs[1]!]);
    const r = await audit();
    expect(kinds(r)).toEqual(['lost-object', 'quarantine-mismatch']);
    expect(r.problems.find((p) => p.kind === 'lost-object')!.key).toBe(qs[1]);
  });

  it('reports a replay that committed but did not rewrite its quarantine object; the rerun fixes it', async () => {
    const { store, catalog, audit } = await lake();
    const fixTs = () => ({ value: '{"event_id":"x","user_id":1,"ts":"2026-01-15T10:00:00Z"}' });
    const crashing: ObjectStore = {
      get: (k) => store.get(k),
      list: (p) => store.list(p),
      deleteMany: (k) => store.deleteMany(k),
      put: (k, b, o) => (k.startsWith(quarantinePrefix('clickstream')) ? Promise.reject(new Error('crash')) : store.put(k, b, o)),
    };
    const deps = { store: crashing, codec, registrar: new PartitionRegistrar(catalog), bucket: 'lake', database: 'db' };
    await expect(replayQuarantine(deps, clickstream, { filter: { stage: 'decode' }, fix: fixTs, concurrency: 1 })).rejects.toThrow('crash');
    const r = await audit();
    expect(kinds(r)).toContain('incomplete-replay');
    await replayQuarantine({ ...deps, store }, clickstream, { filter: { stage: 'decode' }, fix: fixTs });
    const after = await audit();
    expect(after.problems).toEqual([]);
    // A hand-edited state: the audit says so.
    await store.put(stateKey('clickstream', 'clicks', 0), new TextEncoder().encode(JSON.stringify({ ...JSON.parse(store.text(stateKey('clickstream', 'clicks', 0))!), committedOffset: 5 })));
    expect(kinds(await audit())).toEqual(['state-mismatch']);
  });
});
