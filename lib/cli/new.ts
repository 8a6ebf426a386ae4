/**
 * `lakeloader new <name>`: scaffolds a pipeline — `pipelines/<name>.ts` (a `definePipeline`
 * declaration to edit) and `test/pipelines/<name>.test.ts` (a test that runs sample records
 * through it). Nothing else needs editing: the file is the registration (lib/pipelines.ts).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { PROJECT_ROOT } from '../bundling';
import { DEFAULT_PIPELINES_DIR } from '../pipelines';
import { errorText, stdio, type CommandIo } from '../ops/io';
import { LakeloaderError } from '../../lambdas/core/errors';

const TABLE_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** Thrown for an unusable pipeline name or an existing file. */
export class ScaffoldError extends LakeloaderError {
  readonly code = 'SCAFFOLD';
  constructor(message: string) {
    super(message);
  }
}

/** The pipeline file's text. */
export function pipelineTemplate(name: string, topic: string): string {
  return `import { definePipeline } from 'lakeloader';

/**
 * ${name}: what the topic carries, who produces it, and what a row is. Each record of topic
 * \`${topic}\` is a JSON object; rows land in table \`${name}\`, partitioned by event time (UTC).
 * Run \`npx vitest run test/pipelines/${name}.test.ts\` after editing.
 */
export default definePipeline({
  name: '${name}',
  description: 'TODO: describe the table',
  topics: ['${topic}'],
  valueFormat: 'json',
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'ts', type: 'timestamp', required: true, comment: 'event time, UTC' },
    { name: 'attributes', type: 'map<string,string>' },
  ],
  partitioning: { by: 'eventTime', source: 'ts', granularity: 'hour' },
  // A transform when the record is not the row already (value: the decoded JSON object;
  // the returned row is typed from the columns above; return null to filter a record out):
  // transform: (value, meta) => ({ id: String(value.id), ts: String(value.created_at ?? meta.timestamp) }),
});
`;
}

/** The test file's text. */
export function testTemplate(name: string, importPath: string): string {
  return `import { describe, expect, it } from 'vitest';
import { tryPipeline } from 'lakeloader/testing';
import pipeline from '${importPath}';

describe('pipeline ${name}', () => {
  it('loads a good record into its hour partition and quarantines a bad one with its reason', async () => {
    const r = await tryPipeline(pipeline, [{ id: 'a-1', ts: '2026-01-01T10:15:00Z', attributes: { source: 'test' } }, { ts: '2026-01-01T10:16:00Z' }]);
    expect(r.rows).toBe(1);
    expect(r.partitions).toEqual(['dt=2026-01-01/hour=10']);
    expect(r.quarantined).toEqual([expect.objectContaining({ offset: 1, stage: 'conform', error: expect.stringContaining('"id"') })]);
  });
});
`;
}

/**
 * Writes the pipeline file and its test. @returns the two paths
 * @throws ScaffoldError when the name is not a table name or a file exists
 */
export function scaffoldPipeline(name: string, opts: { pipelinesDir?: string; testsDir?: string; topic?: string } = {}): { pipelineFile: string; testFile: string } {
  if (!TABLE_NAME.test(name)) throw new ScaffoldError(`"${name}" is not a table name: use lower case letters, digits and _ (starting with a letter), at most 64 characters`);
  const pipelinesDir = opts.pipelinesDir ?? DEFAULT_PIPELINES_DIR;
  const testsDir = opts.testsDir ?? join(PROJECT_ROOT, 'test', 'pipelines');
  const pipelineFile = join(pipelinesDir, `${name}.ts`);
  const testFile = join(testsDir, `${name}.test.ts`);
  for (const f of [pipelineFile, testFile]) if (existsSync(f)) throw new ScaffoldError(`${f} exists already; pick another name or edit it`);
  mkdirSync(pipelinesDir, { recursive: true });
  mkdirSync(testsDir, { recursive: true });
  const importPath = relative(testsDir, pipelineFile).replace(/\.ts$/, '').split('\\').join('/');
  writeFileSync(pipelineFile, pipelineTemplate(name, opts.topic ?? name.replace(/_/g, '-')));
  writeFileSync(testFile, testTemplate(name, importPath.startsWith('.') ? importPath : `./${importPath}`));
  return { pipelineFile, testFile };
}

/** Registers `lakeloader new`. */
export function register(program: Command, io: CommandIo = stdio): void {
  program
    .command('new')
    .description('scaffold a pipeline: pipelines/<name>.ts and its test; the file is all the registration it needs')
    .argument('<name>', 'the table name (lower case, digits, _)')
    .option('--topic <topic>', 'the Kafka topic (default: the name, _ as -)')
    .action((name: string, flags: { topic?: string }) => {
      try {
        const { pipelineFile, testFile } = scaffoldPipeline(name, { topic: flags.topic });
        io.out(`created ${relative(process.cwd(), pipelineFile)} and ${relative(process.cwd(), testFile)}\nnext: edit the columns, run \`npx vitest run ${relative(process.cwd(), testFile)}\`; \`npx cdk synth\` and \`npx lakeloader provision\` pick it up\n`);
      } catch (e) {
        io.err(`lakeloader new: ${errorText(e)}\n`);
        process.exitCode = 1;
      }
    });
}
