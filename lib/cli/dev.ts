/**
 * `lakeloader dev`: runs the offline AWS endpoint (S3 + Glue + Athena) until Ctrl-C, with its state
 * under `--data` so it survives a restart, and prints the URL and the environment to use.
 */
import type { Command } from 'commander';
import { startLocalEndpoint } from '../local/server';
import { DEFAULT_BUCKET, DEFAULT_DATABASE, DEFAULT_WORKGROUP } from './context';

/** Thrown for an invalid `--port`. */
export class DevOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevOptionError';
  }
}

/** Parses `--port` (0 = any free port). */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new DevOptionError(`--port must be an integer 0..65535, got "${value}"`);
  return n;
}

/** Registers `lakeloader dev`. */
export function register(program: Command): void {
  program
    .command('dev')
    .description('run the offline AWS endpoint (S3, Glue, Athena with SQL in DuckDB) on 127.0.0.1 until Ctrl-C')
    .option('--port <port>', 'TCP port (0 = any free port)', '4566')
    .option('--data <dir>', 'state directory (objects as plain files, catalog, query results)', '.lakeloader/data')
    .action(async (flags: { port: string; data: string }) => {
      const ep = await startLocalEndpoint({ port: parsePort(flags.port), dataDir: flags.data });
      const env = {
        AWS_ENDPOINT_URL: ep.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        LAKELOADER_BUCKET: DEFAULT_BUCKET,
        LAKELOADER_DATABASE: DEFAULT_DATABASE,
        LAKELOADER_WORKGROUP: DEFAULT_WORKGROUP,
      };
      process.stdout.write(
        `Lakeloader local endpoint (S3, Glue, Athena) listening on ${ep.url}\n` +
          `data directory: ${ep.dataDir}\n\n` +
          `Use it from another shell:\n` +
          Object.entries(env).map(([k, v]) => `  export ${k}=${v}\n`).join('') +
          `\nthen: npx lakeloader provision && npx lakeloader query "SELECT 1"\nPress Ctrl-C to stop.\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await ep.close();
      process.stdout.write('stopped\n');
    });
}
