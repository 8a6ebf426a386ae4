#!/usr/bin/env -S npx tsx
/**
 * The `lakeloader` CLI. Each command lives in lib/cli/<name>.ts and registers itself here.
 */
import { Command, CommanderError } from 'commander';
import { LakeloaderError } from '../lambdas/core/errors';
import { LOADER_VERSION } from '../lambdas/core/version';
import { register as registerBench } from '../lib/cli/bench';
import { register as registerDemo } from '../lib/cli/demo';
import { register as registerDev } from '../lib/cli/dev';
import { register as registerEsm } from '../lib/cli/esm';
import { register as registerInvoke } from '../lib/cli/invoke';
import { register as registerNew } from '../lib/cli/new';
import { register as registerProduce } from '../lib/cli/produce';
import { register as registerProvision } from '../lib/cli/provision';
import { register as registerQuery } from '../lib/cli/query';
import { register as registerReplay } from '../lib/cli/replay';
import { register as registerAudit } from '../lib/cli/audit';
import { register as registerStatus } from '../lib/cli/status';
import { register as registerTopics } from '../lib/cli/topics';

// The project supports Node 20 (package.json engines); the SDK's Node 22 notice on every command is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command()
  .name('lakeloader')
  .description('Kafka (MSK) → S3 Parquet → Glue → Athena, exactly once. Local loop: dev, provision, produce, esm, query, demo.')
  .version(LOADER_VERSION)
  .showHelpAfterError('(add --help for usage)');

registerNew(program);
registerDev(program);
registerProvision(program);
registerInvoke(program);
registerProduce(program);
registerTopics(program);
registerEsm(program);
registerQuery(program);
registerReplay(program);
registerAudit(program);
registerStatus(program);
registerDemo(program);
registerBench(program);

program.exitOverride();
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const e = err as Error;
  process.stderr.write(`lakeloader: ${err instanceof LakeloaderError ? `${err.code}: ` : e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? String(err)}\n`);
  if ((err as { code?: string }).code === 'ECONNREFUSED') {
    process.stderr.write('hint: nothing listens at the endpoint; start the local one with `npx lakeloader dev` or pass --endpoint / AWS_ENDPOINT_URL\n');
  }
  if (process.env.LAKELOADER_DEBUG) process.stderr.write(`${e.stack ?? ''}\n`);
  process.exit(1);
});
