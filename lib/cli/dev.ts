/**
 * `lakeloader dev`: runs the offline AWS endpoint (S3 + Glue + Athena) and the embedded Kafka
 * broker until Ctrl-C, with their state under `--data` so it survives a restart, and prints the
 * endpoint URL, the bootstrap address and the environment to use.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { startKafkaBroker } from '../local/kafka/broker';
import { startLocalEndpoint } from '../local/server';
import { startConfluentRegistry } from '../local/registry/confluent';
import { DEFAULT_BUCKET, DEFAULT_DATABASE, DEFAULT_WORKGROUP } from './context';
import { LakeloaderError } from '../../lambdas/core/errors';

/** Thrown for an invalid `--port`. */
export class DevOptionError extends LakeloaderError {
  readonly code = 'DEV_OPTION';
  constructor(message: string) {
    super(message);
  }
}

/** Parses `--port` (0 = any free port). */
export function parsePort(value: string, flag = '--port'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new DevOptionError(`${flag} must be an integer 0..65535, got "${value}"`);
  return n;
}

/** Parses `--partitions` (1..10000). */
export function parsePartitions(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new DevOptionError(`--partitions must be an integer 1..10000, got "${value}"`);
  return n;
}

/** Registers `lakeloader dev`. */
export function register(program: Command): void {
  program
    .command('dev')
    .description('run the offline AWS endpoint (S3, Glue, Athena with SQL in DuckDB) and the embedded Kafka broker on 127.0.0.1 until Ctrl-C')
    .option('--port <port>', 'TCP port of the AWS endpoint (0 = any free port)', '4566')
    .option('--kafka-port <port>', 'TCP port of the Kafka broker (0 = any free port)', '9092')
    .option('--registry-port <port>', 'TCP port of the Confluent-compatible Schema Registry (0 = any free port)', '8081')
    .option('--partitions <n>', 'partitions of a topic the broker creates on first use (Kafka num.partitions)', '1')
    .option('--data <dir>', 'state directory (objects as plain files, catalog, query results, Kafka topics and group offsets)', '.lakeloader/data')
    .option('--enforce-iam', 'verify SigV4 signatures and refuse what the IAM policies of the synthesized stack refuse (key test/test acts as the loader role, root/root as the account root)')
    .option('--cdk-out <dir>', 'with --enforce-iam: the cloud assembly to read the policies from (`npx cdk synth` output)', 'cdk.out')
    .option('--iam-role <role>', 'with --enforce-iam: the role the test key acts as (pipeline name, role name or logical id; default: the first loader role)')
    .action(async (flags: { port: string; kafkaPort: string; registryPort: string; partitions: string; data: string; enforceIam?: boolean; cdkOut: string; iamRole?: string }) => {
      const kafkaPort = parsePort(flags.kafkaPort, '--kafka-port');
      const registryPort = parsePort(flags.registryPort, '--registry-port');
      const partitions = parsePartitions(flags.partitions);
      const bucket = process.env.LAKELOADER_BUCKET ?? DEFAULT_BUCKET;
      const enforceIam = flags.enforceIam
        ? { cloudAssembly: flags.cdkOut, outputNames: { LakeBucketName: bucket }, ...(flags.iamRole ? { role: flags.iamRole } : {}) }
        : undefined;
      const ep = await startLocalEndpoint({ port: parsePort(flags.port), dataDir: flags.data, ...(enforceIam ? { enforceIam } : {}) });
      const broker = await startKafkaBroker({ port: kafkaPort, partitions, dataDir: join(ep.dataDir, 'kafka'), log: (m) => process.stderr.write(`${m}\n`) }).catch(async (e: unknown) => {
        await ep.close();
        throw e;
      });
      const registry = await startConfluentRegistry({ store: ep.registryStore, port: registryPort }).catch(async (e: unknown) => {
        await broker.stop();
        await ep.close();
        throw e;
      });
      const env = {
        AWS_ENDPOINT_URL: ep.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        LAKELOADER_BUCKET: bucket,
        // Under --enforce-iam the policies name the stack's database and workgroup: use them.
        LAKELOADER_DATABASE: ep.iam?.outputs().GlueDatabaseName ?? DEFAULT_DATABASE,
        LAKELOADER_WORKGROUP: ep.iam?.outputs().AthenaWorkGroupName ?? DEFAULT_WORKGROUP,
      };
      const bootstrap = broker.bootstrap;
      process.stdout.write(
        `Lakeloader local endpoint (S3, Glue, Athena) listening on ${ep.url}\n` +
          `Kafka bootstrap server: ${bootstrap} (topics auto-created with ${partitions} partition${partitions === 1 ? '' : 's'})\n` +
          `Schema Registry (Confluent REST API): ${registry.url}; Glue Schema Registry actions on ${ep.url}\n` +
          `data directory: ${ep.dataDir}\n` +
          (ep.iam ? `IAM enforced with the policies of ${flags.cdkOut}:\n${ep.iam.describe().map((l) => `  ${l}\n`).join('')}` : '') +
          `\n` +
          `Use it from another shell:\n` +
          Object.entries(env).map(([k, v]) => `  export ${k}=${v}\n`).join('') +
          `\nthen: ${ep.iam ? 'AWS_ACCESS_KEY_ID=root AWS_SECRET_ACCESS_KEY=root ' : ''}npx lakeloader provision\n` +
          `      npx lakeloader produce --topic clicks --file events.ndjson${bootstrap === '127.0.0.1:9092' ? '' : ` --bootstrap ${bootstrap}`}\n` +
          `      npx lakeloader esm --pipeline clickstream${bootstrap === '127.0.0.1:9092' ? '' : ` --bootstrap ${bootstrap}`}\n` +
          `      npx lakeloader query "SELECT count(*) FROM clickstream"\n` +
          `Press Ctrl-C to stop.\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await registry.close();
      await broker.stop();
      await ep.close();
      process.stdout.write('stopped\n');
    });
}
