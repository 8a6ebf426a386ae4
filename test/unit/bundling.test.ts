/**
 * A loader bundle holds protobufjs only when its pipeline declares a Protobuf format: the JSON
 * pipelines' bundles leave its 108 KB out (less to compile at every cold start), with a stub
 * that says why if it were ever required.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleLikeCdk } from '../../lib/bench/bundle';
import { ABSENT_PROTOBUFJS, bundledFormats, LOADER_ENTRY, loaderAliases, PROJECT_ROOT, PUBLIC_API } from '../../lib/bundling';

// Inside the project, so that the pipeline files resolve `lakeloader` by the package's name.
const dir = mkdtempSync(join(PROJECT_ROOT, '.lakeloader-bundling-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pipelineFile = (name: string, format: string, extra = '') => {
  const file = join(dir, `${name}.ts`);
  writeFileSync(
    file,
    `import { definePipeline } from 'lakeloader';\nexport default definePipeline({ name: '${name}', topics: ['t'], valueFormat: '${format}', ${extra}\n` +
      `  columns: [{ name: 'id', type: 'string', required: true }], partitioning: { by: 'none' } });\n`,
  );
  return file;
};

describe('loader bundles and protobufjs', () => {
  it('aliases protobufjs to a stub unless a value or key format is protobuf', () => {
    expect(bundledFormats({ valueFormat: 'json' })).toEqual({ protobuf: false });
    expect(bundledFormats({ valueFormat: 'avro', keyFormat: 'protobuf' })).toEqual({ protobuf: true });
    expect(loaderAliases('/p.ts', { protobuf: false })).toMatchObject({ protobufjs: ABSENT_PROTOBUFJS, lakeloader: PUBLIC_API });
    expect(loaderAliases('/p.ts', { protobuf: true })).not.toHaveProperty('protobufjs');
  });

  it('a JSON pipeline bundle leaves protobufjs out; a Protobuf pipeline bundle holds it', async () => {
    const proto = join(dir, 'o.proto');
    writeFileSync(proto, 'syntax = "proto3";\nmessage O { string id = 1; }\n');
    const json = await bundleLikeCdk({ entry: LOADER_ENTRY, outDir: join(dir, 'json'), pipelineFile: pipelineFile('j', 'json') });
    const pb = await bundleLikeCdk({ entry: LOADER_ENTRY, outDir: join(dir, 'pb'), pipelineFile: pipelineFile('p', 'protobuf', `schemaFile: ${JSON.stringify(proto)},`) });
    const marker = 'protobufjs is not in this bundle';
    const jsonText = readFileSync(json.file, 'utf8');
    const pbText = readFileSync(pb.file, 'utf8');
    expect(jsonText.includes(marker)).toBe(true);
    expect(pbText.includes(marker)).toBe(false);
    // protobufjs's own buffer check is in the Protobuf bundle only.
    expect(pbText.includes('illegal buffer')).toBe(true);
    expect(jsonText.includes('illegal buffer')).toBe(false);
    expect(pb.jsBytes - json.jsBytes).toBeGreaterThan(80_000);
  }, 60_000);
});
