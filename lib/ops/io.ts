import { LakeloaderError } from '../../lambdas/core/errors';

/** Where an operations command writes: stdout for results, stderr for progress and errors. Injectable for tests. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

/** The process's stdout and stderr. */
export const stdio: CommandIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** An error for a one-line CLI failure: `CODE: message` for Lakeloader's own errors (codes are stable, for scripts and logs), else the message. */
export const errorText = (e: unknown) => (e instanceof LakeloaderError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e));
