/**
 * `lakeloader demo` as a user runs it (a child process with nothing on its PATH: Node alone must
 * do): it reconciles and exits 0, and it leaves no temp directory behind, also when interrupted
 * with Ctrl-C (SIGINT).
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CLI = join(process.cwd(), 'bin', 'lakeloader.js');

/** Starts the demo with an empty PATH (no system tool can be used) and watches for its temp data directory and broker. */
function startDemo(args: string[]) {
  const child = spawn(process.execPath, [CLI, 'demo', '--no-progress', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: '' } });
  let stdout = '';
  let stderr = '';
  const seen = { dataDir: '', broker: '' };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    seen.dataDir ||= /data in (\S+)\)/.exec(stdout)?.[1] ?? '';
    seen.broker ||= /embedded Kafka broker at (\S+);/.exec(stdout)?.[1] ?? '';
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null }>((resolve) => child.once('close', (code) => resolve({ code })));
  return { child, seen, done, out: () => stdout, err: () => stderr };
}

describe('lakeloader demo', () => {
  it('loads, queries, reconciles (exit 0) with nothing but Node, and removes its temp directory', async () => {
    const d = startDemo(['--events', '2000', '--malformed', '12', '--seed', '5']);
    const { code } = await d.done;
    expect(code, d.err()).toBe(0);
    const out = d.out();
    expect(out).toMatch(/loaded \+ quarantined = produced\s+│ yes/);
    expect(out).toMatch(/records produced\s+│\s+2012/);
    expect(out).toMatch(/records quarantined \(Athena\)\s+│\s+12/);
    for (const title of ['Events per type', 'Revenue per currency', 'Top pages', 'Events per hour', 'Quarantine by stage and reason']) expect(out).toContain(title);
    expect(d.seen.broker).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(d.seen.dataDir).not.toBe('');
    expect(existsSync(d.seen.dataDir)).toBe(false);
  }, 90_000);

  it('on Ctrl-C (SIGINT) stops, removes the temp directory and exits 130', async () => {
    const d = startDemo(['--events', '30000']);
    while (!d.seen.broker || !d.seen.dataDir) {
      if (d.child.exitCode !== null) throw new Error(`demo exited early: ${d.err()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    d.child.kill('SIGINT');
    const { code } = await d.done;
    expect(code).toBe(130);
    expect(existsSync(d.seen.dataDir)).toBe(false);
  }, 90_000);
});
