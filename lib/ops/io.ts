/** Where an operations command writes: stdout for results, stderr for progress and errors. Injectable for tests. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

/** The process's stdout and stderr. */
export const stdio: CommandIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

/** The message of an error, for a one-line CLI failure. */
export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
