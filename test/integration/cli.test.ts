import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetTableCommand, UpdateTableCommand } from '@aws-sdk/client-glue';
import { resolveContext, type CliContext } from '../../lib/cli/context';
import { queryLake } from '../../lib/ops/deps';
import { provision } from '../../lib/cli/provision';
import { generateClickstreamMskEvent } from '../../lib/gen/records';
import { listPipelines } from '../../lib/pipelines';
import { startLocalEndpoint, type LocalEndpoint } from '../../lib/local/server';

const CLI = join(process.cwd(), 'bin', 'lakeloader.js');
const cleanEnv = () => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if ((k.startsWith('LAKELOADER_') && k !== 'LAKELOADER_PIPELINES_DIR') || k.startsWith('AWS_')) delete env[k];
  return env;
};

/** Runs the CLI to completion (asynchronously: the endpoint it talks to runs in this process). */
function cli(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(), stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (stdin !== undefined) child.stdin!.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
const endpoints: LocalEndpoint[] = [];
async function endpoint(name: string, onRequest?: Parameters<typeof startLocalEndpoint>[0]['onRequest']): Promise<LocalEndpoint> {
  const ep = await startLocalEndpoint({ port: 0, dataDir: join(dir, name), onRequest });
  endpoints.push(ep);
  return ep;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lakeloader-cli-'));
});
afterAll(async () => {
  for (const ep of endpoints) await ep.close();
  await rm(dir, { recursive: true, force: true });
});

describe('lakeloader CLI', () => {
  it('--help works on every command', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['dev', 'provision', 'invoke', 'query', 'demo']) expect(top.stdout).toContain(c);
    const inv = await cli(['invoke', '--help']);
    expect(inv.code).toBe(0);
    expect(inv.stdout).toContain('--pipeline');
    expect(inv.stdout).toContain('--event');
  }, 60_000);

  it('provision prints one JSON object, and a second run is harmless; a drifted table is updated', async () => {
    const ep = await endpoint('provision');
    const first = await cli(['provision', '--endpoint', ep.url]);
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout) as { bucket: string; database: string; workgroup: string; tables: string[]; actions: Record<string, string> };
    expect(first.stdout.trim().split('\n')).toHaveLength(1);
    expect(a).toMatchObject({ bucket: 'lakeloader-local', database: 'lakeloader', workgroup: 'lakeloader' });
    // Every pipeline of the (fixture) directory, with its quarantine table.
    expect(a.tables).toEqual(listPipelines().flatMap((p) => [`lakeloader.${p.name}`, `lakeloader.${p.name}_quarantine`]));
    expect(a.tables).toContain('lakeloader.orders');
    expect(Object.values(a.actions).every((x) => x === 'created')).toBe(true);

    const second = await cli(['provision', '--endpoint', ep.url]);
    expect(second.code, second.stderr).toBe(0);
    const b = JSON.parse(second.stdout) as typeof a;
    expect(b.tables).toEqual(a.tables);
    expect(Object.values(b.actions).every((x) => x === 'unchanged')).toBe(true);

    // Someone drops a column by hand: provision puts the declared definition back.
    const ctx = resolveContext({ endpoint: ep.url }, {});
    const glue = ctx.glue();
    const t = (await glue.send(new GetTableCommand({ DatabaseName: 'lakeloader', Name: 'clickstream' }))).Table!;
    const cols = t.StorageDescriptor!.Columns!;
    await glue.send(
      new UpdateTableCommand({
        DatabaseName: 'lakeloader',
        TableInput: { Name: t.Name, TableType: t.TableType, Parameters: t.Parameters, PartitionKeys: t.PartitionKeys, StorageDescriptor: { ...t.StorageDescriptor, Columns: cols.slice(1) } },
      }),
    );
    const third = await provision(ctx);
    expect(third.actions['lakeloader.clickstream']).toBe('updated');
    expect(third.actions['lakeloader.clickstream_quarantine']).toBe('unchanged');
    const after = (await glue.send(new GetTableCommand({ DatabaseName: 'lakeloader', Name: 'clickstream' }))).Table!;
    expect(after.StorageDescriptor!.Columns!.map((c) => c.Name)).toEqual(cols.map((c) => c.Name));
  }, 60_000);

  describe('invoke: a process killed mid-batch and run again leaves the lake as one clean run', () => {
    let eventFile: string;
    let expected: { valid: string[]; bad: string[] };
    const coord = (r: { topic: string; partition: number; offset: number }) => `${r.topic}/${r.partition}/${r.offset}`;

    beforeAll(async () => {
      const gen = generateClickstreamMskEvent({ seed: 7, count: 1500, malformed: 12, partitions: 3, lateShare: 0.2 });
      eventFile = join(dir, 'event.json');
      await writeFile(eventFile, JSON.stringify(gen.event));
      expected = { valid: gen.valid.map((v) => coord(v.record)).sort(), bad: gen.bad.map((b) => coord(b.record)).sort() };
    });

    async function lake(ctx: CliContext): Promise<{ rows: string[]; quarantine: string[] }> {
      const rows = await queryLake(ctx, 'SELECT _topic, _partition, _offset FROM clickstream');
      const q = await queryLake(ctx, 'SELECT topic, kafka_partition, kafka_offset, stage, error FROM clickstream_quarantine');
      return { rows: rows.rows.map((r) => r.slice(0, 3).join('/')).sort(), quarantine: q.rows.map((r) => r.join('/')).sort() };
    }

    let clean: { rows: string[]; quarantine: string[] };
    let cleanDataPuts = 0;

    it('a clean run loads every valid record once and quarantines exactly the bad ones', async () => {
      const ep = await endpoint('clean', (i) => {
        if (i.service === 's3' && i.operation === 'PutObject' && i.key?.startsWith('tables/') && i.key.endsWith('.parquet')) cleanDataPuts++;
      });
      expect((await cli(['provision', '--endpoint', ep.url])).code).toBe(0);
      const r = await cli(['invoke', '--pipeline', 'clickstream', '--event', eventFile, '--endpoint', ep.url]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      const summary = JSON.parse(r.stdout) as Record<string, number>;
      expect(summary).toMatchObject({ in: 1512, written: 1500, quarantined: 12, filtered: 0, duplicates: 0 });
      expect(summary.files).toBeGreaterThan(3);
      expect(summary.partitionsRegistered).toBeGreaterThan(0);
      clean = await lake(resolveContext({ endpoint: ep.url }, {}));
      expect(clean.rows).toEqual(expected.valid);
      expect(clean.quarantine.map((q) => q.split('/').slice(0, 3).join('/'))).toEqual(expected.bad);
      expect(cleanDataPuts).toBeGreaterThan(3);
    }, 90_000);

    for (const k of [1, 3]) {
      it(`killed (SIGKILL) after its data PUT #${k}, then run again: same rows and quarantine as the clean run`, async () => {
        let puts = 0;
        let child: ReturnType<typeof spawn> | undefined;
        let killed = false;
        const ep = await endpoint(`killed-${k}`, (i) => {
          if (i.service === 's3' && i.operation === 'PutObject' && i.key?.startsWith('tables/') && i.key.endsWith('.parquet') && ++puts === k && child) {
            killed = child.kill('SIGKILL');
          }
        });
        expect((await cli(['provision', '--endpoint', ep.url])).code).toBe(0);
        child = spawn(process.execPath, [CLI, 'invoke', '--pipeline', 'clickstream', '--event', eventFile, '--endpoint', ep.url], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
        const exit = await new Promise<{ code: number | null; signal: string | null }>((res) => child!.once('exit', (code, signal) => res({ code, signal })));
        expect(killed).toBe(true);
        expect(exit.signal).toBe('SIGKILL');
        const ctx = resolveContext({ endpoint: ep.url }, {});
        // Whatever the crash left behind is invisible or incomplete; the rerun completes it.
        const again = await cli(['invoke', '--pipeline', 'clickstream', '--event', eventFile, '--endpoint', ep.url]);
        expect(again.code, again.stderr).toBe(0);
        const s = JSON.parse(again.stdout) as Record<string, number>;
        expect(s.in).toBe(1512);
        expect(s.written + s.quarantined + s.filtered + s.duplicates).toBe(1512);
        expect(await lake(ctx)).toEqual(clean);
        // A third delivery of the same batch changes nothing.
        const third = await cli(['invoke', '--pipeline', 'clickstream', '--event', eventFile, '--endpoint', ep.url]);
        expect(JSON.parse(third.stdout)).toMatchObject({ in: 1512, duplicates: 1512, written: 0, quarantined: 0 });
        expect(await lake(ctx)).toEqual(clean);
      }, 90_000);
    }
  });

  it('query prints csv with a header row, json, and fails with the reason on bad SQL', async () => {
    const ep = await endpoint('query');
    expect((await cli(['provision', '--endpoint', ep.url])).code).toBe(0);
    const csv = await cli(['query', "SELECT 1 AS a, 'x,y' AS b UNION ALL SELECT 2, NULL ORDER BY a", '--endpoint', ep.url, '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe('a,b\n1,"x,y"\n2,\n');
    const json = await cli(['query', 'SELECT 40 + 2 AS answer', '--endpoint', ep.url, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toEqual([{ answer: '42' }]);
    // invoke reads the event from stdin with --event -
    const fixture = await readFile(join(process.cwd(), 'test', 'fixtures', 'msk-clickstream.json'), 'utf8');
    const fixtureCount = Object.values((JSON.parse(fixture) as { records: Record<string, unknown[]> }).records).reduce((n, r) => n + r.length, 0);
    const inv = await cli(['invoke', '--pipeline', 'clickstream', '--event', '-', '--endpoint', ep.url], fixture);
    expect(inv.code, inv.stderr).toBe(0);
    expect(JSON.parse(inv.stdout)).toMatchObject({ in: fixtureCount });
    const loaded = await cli(['query', 'SELECT count(*) AS n FROM clickstream', '--endpoint', ep.url, '--format', 'csv']);
    expect(loaded.stdout).toBe(`n\n${JSON.parse(inv.stdout).written}\n`);
    const bad = await cli(['query', 'SELECT * FROM no_such_table', '--endpoint', ep.url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('QUERY_FAILED');
    expect(bad.stderr).toMatch(/no_such_table/i);
  }, 60_000);
});
