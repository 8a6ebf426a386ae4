/**
 * `lakeloader demo` as a user runs it (a child process): it reconciles and exits 0, and it leaves
 * no kcat process or temp directory behind, also when interrupted with Ctrl-C (SIGINT).
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CLI = join(process.cwd(), 'bin', 'lakeloader.js');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts the demo and watches for its kcat child and its temp data directory. */
function startDemo(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, [CLI, 'demo', '--no-progress', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  const seen = { kcatPid: 0, dataDir: '' };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    seen.dataDir ||= /data in (\S+)\)/.exec(stdout)?.[1] ?? '';
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const poll = setInterval(() => {
    if (seen.kcatPid) return;
    const r = spawnSync('pgrep', ['-P', String(child.pid), 'kcat'], { encoding: 'utf8' });
    const pid = Number(r.stdout.trim().split('\n')[0]);
    if (pid > 0) seen.kcatPid = pid;
  }, 50);
  const done = new Promise<{ code: number | null }>((resolve) =>
    child.once('close', (code) => {
      clearInterval(poll);
      resolve({ code });
    }),
  );
  return { child, seen, done, out: () => stdout, err: () => stderr };
}

describe('lakeloader demo', () => {
  it('loads, queries, reconciles (exit 0) and cleans up its kcat process and temp directory', async () => {
    const d = startDemo(['--events', '2000', '--malformed', '12', '--seed', '5']);
    const { code } = await d.done;
    expect(code, d.err()).toBe(0);
    const out = d.out();
    expect(out).toMatch(/loaded \+ quarantined = produced\s+│ yes/);
    expect(out).toMatch(/records produced\s+│\s+2012/);
    expect(out).toMatch(/records quarantined \(Athena\)\s+│\s+12/);
    for (const title of ['Events per type', 'Revenue per currency', 'Top pages', 'Events per hour', 'Quarantine by stage and reason']) expect(out).toContain(title);
    expect(d.seen.kcatPid).toBeGreaterThan(0);
    expect(alive(d.seen.kcatPid)).toBe(false);
    expect(d.seen.dataDir).not.toBe('');
    expect(existsSync(d.seen.dataDir)).toBe(false);
  }, 90_000);

  it('on Ctrl-C (SIGINT) stops kcat, removes the temp directory and exits 130', async () => {
    const d = startDemo(['--events', '30000']);
    while (!d.seen.kcatPid || !d.seen.dataDir) {
      if (d.child.exitCode !== null) throw new Error(`demo exited early: ${d.err()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    d.child.kill('SIGINT');
    const { code } = await d.done;
    expect(code).toBe(130);
    expect(alive(d.seen.kcatPid)).toBe(false);
    expect(existsSync(d.seen.dataDir)).toBe(false);
  }, 90_000);

  it('says how to install kcat when it is missing, before starting anything, and exits 1', async () => {
    const d = startDemo(['--events', '10'], { ...process.env, LAKELOADER_KCAT: '/nonexistent/kcat' });
    const { code } = await d.done;
    expect(code).toBe(1);
    expect(d.err()).toContain('sudo apt-get install kcat');
    // Checked before anything starts: no endpoint, no temp directory.
    expect(d.out()).not.toContain('local AWS endpoint');
    expect(d.seen.dataDir).toBe('');
  }, 60_000);
});
