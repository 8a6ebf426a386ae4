/**
 * The operations commands as an operator runs them: `node bin/lakeloader.js <command>` in a child
 * process against the local endpoint (flags parsed by commander, exit codes, stdout vs stderr),
 * including Ctrl-C during a query, which must stop the query execution.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { GetQueryExecutionCommand } from '@aws-sdk/client-athena';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GlueCatalog } from '../../lambdas/core/catalog';
import { S3ObjectStore } from '../../lambdas/core/store';
import { resolveContext, type CliContext } from '../../lib/cli/context';
import { provision } from '../../lib/cli/provision';
import { generateClickstreamRecords } from '../../lib/gen/records';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { startTestEndpoint, type TestEndpoint } from '../support/endpoint';
import { loadRecords } from './ops-fixtures';

const CLI = join(process.cwd(), 'bin', 'lakeloader.js');
/** The CLI runs as of this fixed moment (LAKELOADER_NOW), right after a midnight, never the wall clock. */
const NOW = Date.parse('2026-12-05T00:20:00Z');
let env: TestEndpoint;
let ctx: CliContext;
let flags: string[];
let eventId: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in a child process (asynchronously: the endpoint lives in this process). */
function cli(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  const childEnv: Record<string, string | undefined> = { ...process.env, NODE_NO_WARNINGS: '1' };
  for (const k of Object.keys(childEnv)) if ((k.startsWith('LAKELOADER_') && k !== 'LAKELOADER_PIPELINES_DIR') || k.startsWith('AWS_')) delete childEnv[k];
  childEnv.LAKELOADER_NOW = new Date(NOW).toISOString();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, ...flags], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  env = await startTestEndpoint();
  ctx = resolveContext({ endpoint: env.url, region: env.region, bucket: env.unique('cli-lake'), database: 'lakeloader_cli', workgroup: env.unique('cli-wg') }, {});
  flags = ['--endpoint', env.url!, '--bucket', ctx.bucket];
  await provision(ctx, [clickstream]);
  const gen = generateClickstreamRecords({ seed: 21, count: 120, malformed: 6, partitions: 1, start: new Date(NOW - 3600_000), eventsPerSecond: 0.05 });
  eventId = gen.valid[3]!.event.event_id;
  await loadRecords({ store: new S3ObjectStore(ctx.s3(), ctx.bucket), catalog: new GlueCatalog(ctx.glue()), bucket: ctx.bucket, database: ctx.database }, clickstream, gen.records, 50);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

describe('lakeloader operations commands (child process)', () => {
  it('query --param binds values (quote and semicolon included) and prints the cost on stderr', async () => {
    const wg = ['--database', ctx.database, '--workgroup', ctx.workgroup];
    const hostile = await cli(['query', 'SELECT event_id FROM clickstream WHERE event_id = ?', '--param', "x'; DROP TABLE clickstream; --", '--format', 'json', ...wg]);
    expect(hostile.code, hostile.stderr).toBe(0);
    expect(JSON.parse(hostile.stdout)).toEqual([]);
    const found = await cli(['query', 'SELECT event_id, ? AS echo FROM clickstream WHERE event_id = ? AND _offset >= ?', '--param', "it's;", '--param', eventId, '--param', '0', '--format', 'csv', ...wg]);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toBe(`event_id,echo\n${eventId},it's;\n`);
    expect(found.stderr).toMatch(/1 row · scanned [\d.]+ [KM]?B · \$0\.0000\d+ at \$5\/TB/);
    const bad = await cli(['query', 'SELECT no_such_column FROM clickstream', ...wg]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no_such_column/);
  }, 60_000);

  it('Ctrl-C stops the running query execution and exits 130', async () => {
    let sent = false;
    const slow = 'SELECT count(*) FROM UNNEST(sequence(1, 20000000)) AS t(x) CROSS JOIN UNNEST(sequence(1, 20)) AS u(y) WHERE x * y % 7 = 3';
    const r = await cli(['query', slow, '--database', ctx.database, '--workgroup', ctx.workgroup], (text, child) => {
      if (!sent && text.includes('RUNNING')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    const id = /query ([0-9a-f-]{36}) cancelled/.exec(r.stderr)?.[1];
    expect(id, r.stderr).toBeDefined();
    const qe = await ctx.athena().send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    expect(qe.QueryExecution?.Status?.State).toBe('CANCELLED');
  }, 60_000);

  it('status --json, audit (exit 0 when clean) and replay --dry-run parse their flags and report', async () => {
    const status = await cli(['status', '--table', 'clickstream', '--days', '1', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const [s] = JSON.parse(status.stdout) as { totals: { rows: number }; quarantine: { total: number } }[];
    expect(s!.totals.rows).toBe(120);
    expect(s!.quarantine.total).toBe(6);
    const audit = await cli(['audit', '--table', 'clickstream', '--database', ctx.database, '--workgroup', ctx.workgroup]);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    expect(audit.stdout).toContain('OK:');
    const replay = await cli(['replay', '--table', 'clickstream', '--stage', 'decode', '--dry-run', '--json']);
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ table: 'clickstream', dryRun: true, replayed: 0 });
  }, 60_000);
});
