/**
 * The demo's Iceberg table (the example pipeline, clickstream) read by an independent implementation: icebird (Iceberg metadata,
 * Avro manifests) with hyparquet (Parquet), neither written by this project. The demo runs as a
 * user runs it (`lakeloader demo --keep`), then the kept data directory is served by the local
 * endpoint and icebird reads the table over its S3 API. Compared with what was produced: every
 * row (ids and values), the schema (names, types, field ids), and the snapshot history (each
 * snapshot read back through time travel holds its summary's record count; the compaction's
 * snapshot holds the same rows as the last append).
 */
import { GetTableCommand } from '@aws-sdk/client-glue';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveContext } from '../../lib/cli/context';
import { generateClickstreamRecords } from '../../lib/gen/records';
import { startLocalEndpoint, type LocalEndpoint } from '../../lib/local/server';

const CLI = join(process.cwd(), 'bin', 'lakeloader.js');
const ARGS = { events: 1500, malformed: 9, seed: 7, partitions: 4 };

interface Snapshot {
  'snapshot-id': number;
  'parent-snapshot-id'?: number;
  summary: Record<string, string>;
}
interface Metadata {
  'format-version': number;
  'current-snapshot-id': number;
  'current-schema-id': number;
  schemas: Array<{ 'schema-id': number; fields: Array<{ id: number; name: string; required: boolean; type: unknown }> }>;
  snapshots: Snapshot[];
}

function runDemo(): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(
    process.execPath,
    [CLI, 'demo', '--no-progress', '--keep', '--events', String(ARGS.events), '--malformed', String(ARGS.malformed), '--seed', String(ARGS.seed), '--partitions', String(ARGS.partitions)],
    // The project's own pipelines (the suite runs with the machinery's fixtures): the demo's table is the example's.
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LAKELOADER_PIPELINES_DIR: 'pipelines' } },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}

describe("the demo's Iceberg table, read by icebird", () => {
  let dataDir = '';
  let ep: LocalEndpoint | undefined;
  const realFetch = globalThis.fetch;

  afterAll(async () => {
    globalThis.fetch = realFetch;
    await ep?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('rows, schema and snapshot history match what was produced', async () => {
    const demo = await runDemo();
    dataDir = /data kept in (\S+) /.exec(demo.out)?.[1] ?? '';
    expect(demo.code, demo.err).toBe(0);
    expect(dataDir).not.toBe('');
    const snapshotsReported = Number(/Iceberg snapshots \(appends \+ compaction\)\s+│\s+(\d+)/.exec(demo.out)?.[1]);

    ep = await startLocalEndpoint({ port: 0, dataDir });
    const ctx = resolveContext({ endpoint: ep.url }, {});
    // icebird addresses S3 as https://<bucket>.s3.amazonaws.com/<key>: send those to the endpoint.
    globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      const m = /^https:\/\/([^.]+)\.s3\.amazonaws\.com\/(.*)$/.exec(url);
      return realFetch(m ? `${ep!.url}/${m[1]}/${m[2]}` : input, init);
    }) as typeof fetch;

    const table = (await ctx.glue().send(new GetTableCommand({ DatabaseName: ctx.database, Name: 'clickstream' }))).Table!;
    expect(table.Parameters?.table_type).toBe('ICEBERG');
    const location = table.Parameters!.metadata_location!;
    const tableUrl = location.slice(0, location.indexOf('/metadata/'));
    const metadataFileName = location.slice(location.lastIndexOf('/') + 1);
    const { icebergMetadata, icebergRead } = await import('icebird');
    const metadata = (await icebergMetadata({ tableUrl, metadataFileName })) as unknown as Metadata;

    // Schema: the declared columns then the Kafka coordinates, with Iceberg types and field ids.
    expect(metadata['format-version']).toBe(2);
    const schema = metadata.schemas.find((s) => s['schema-id'] === metadata['current-schema-id'])!;
    const types = Object.fromEntries(schema.fields.map((f) => [f.name, typeof f.type === 'string' ? f.type : (f.type as { type: string }).type]));
    expect(schema.fields.map((f) => f.name)).toEqual([
      'event_id', 'user_id', 'session_id', 'event_type', 'ts', 'amount', 'currency', 'country', 'device', 'page_url', 'referrer', 'props',
      '_topic', '_partition', '_offset', '_kafka_ts',
    ]);
    expect(types).toMatchObject({ event_id: 'string', user_id: 'long', ts: 'timestamptz', amount: 'double', props: 'map', _partition: 'int', _offset: 'long' });
    expect(new Set(schema.fields.map((f) => f.id)).size).toBe(schema.fields.length);

    // Rows: exactly the valid events produced, with their values.
    const gen = generateClickstreamRecords({ seed: ARGS.seed, count: ARGS.events, malformed: ARGS.malformed, partitions: ARGS.partitions, topic: 'clicks' });
    const rows = (await icebergRead({ tableUrl, metadataFileName })) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(gen.valid.length);
    const byId = new Map(rows.map((r) => [String(r.event_id), r]));
    expect(byId.size).toBe(gen.valid.length);
    for (const v of gen.valid) {
      const row = byId.get(v.event.event_id);
      expect(row, v.event.event_id).toBeDefined();
      expect(BigInt(row!.user_id as bigint)).toBe(BigInt(v.event.user_id));
      expect(new Date(row!.ts as Date).getTime()).toBe(Date.parse(v.event.ts));
      expect(row!._partition).toBe(v.record.partition);
      expect(BigInt(row!._offset as bigint)).toBe(BigInt(v.record.offset));
    }

    // Snapshot history: appends, then the compaction's replace; each snapshot, read as of itself,
    // holds the records its summary counts; the last append and the compaction hold the same rows.
    const snaps = metadata.snapshots;
    expect(snaps).toHaveLength(snapshotsReported);
    const ops = snaps.map((s) => s.summary.operation);
    expect(ops.at(-1)).toBe('replace');
    expect(ops.slice(0, -1).every((o) => o === 'append')).toBe(true);
    expect(snaps.slice(0, -1).reduce((n, s) => n + Number(s.summary['added-records']), 0)).toBe(gen.valid.length);
    for (let i = 1; i < snaps.length; i++) expect(snaps[i]!['parent-snapshot-id']).toBe(snaps[i - 1]!['snapshot-id']);
    const ids = (r: Array<Record<string, unknown>>) => r.map((x) => String(x.event_id)).sort();
    let previous: string[] = [];
    for (const s of snaps) {
      const asOf = (await icebergRead({ tableUrl, metadata: { ...metadata, 'current-snapshot-id': s['snapshot-id'] } as never })) as Array<Record<string, unknown>>;
      expect(asOf.length, `snapshot ${s['snapshot-id']}`).toBe(Number(s.summary['total-records']));
      const now = ids(asOf);
      if (s.summary.operation === 'replace') expect(now).toEqual(previous);
      else expect(now.length).toBeGreaterThan(previous.length);
      previous = now;
    }
  }, 120_000);
});
