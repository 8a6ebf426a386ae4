/**
 * `lakeloader new`: the scaffolded pipeline file is a valid pipeline that the registry picks up
 * with nothing else edited, and the scaffolded test's own sample behaves as the test expects.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tryPipeline } from 'lakeloader/testing';
import { PROJECT_ROOT } from '../../lib/bundling';
import { scaffoldPipeline, ScaffoldError } from '../../lib/cli/new';
import { declaredPipelines } from '../../lib/pipelines';

// Inside the project, so that the scaffolded files resolve `lakeloader` as a user's would.
const root = mkdtempSync(join(PROJECT_ROOT, '.lakeloader-scaffold-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('lakeloader new', () => {
  it('writes a pipeline the registry loads and a test whose sample passes', async () => {
    const pipelinesDir = join(root, 'pipelines');
    const { pipelineFile, testFile } = scaffoldPipeline('page_views', { pipelinesDir, testsDir: join(root, 'test') });
    const [declared] = declaredPipelines(pipelinesDir);
    expect(declared!.file).toBe(pipelineFile);
    expect(declared!.pipeline).toMatchObject({ name: 'page_views', topics: ['page-views'] });
    // The scaffolded test imports the file it tests, and its sample gives what it asserts.
    expect(readFileSync(testFile, 'utf8')).toContain("import pipeline from '../pipelines/page_views';");
    const r = await tryPipeline(declared!.pipeline, [{ id: 'a-1', ts: '2026-01-01T10:15:00Z', attributes: { source: 'test' } }, { ts: '2026-01-01T10:16:00Z' }]);
    expect(r.rows).toBe(1);
    expect(r.partitions).toEqual(['dt=2026-01-01/hour=10']);
    expect(r.quarantined).toEqual([expect.objectContaining({ offset: 1, stage: 'conform', error: expect.stringContaining('"id"') })]);
  });

  it('refuses a name that is not a table name, and an existing file', () => {
    expect(() => scaffoldPipeline('Bad-Name', { pipelinesDir: join(root, 'p2'), testsDir: join(root, 't2') })).toThrow(ScaffoldError);
    scaffoldPipeline('twice', { pipelinesDir: join(root, 'p3'), testsDir: join(root, 't3') });
    expect(() => scaffoldPipeline('twice', { pipelinesDir: join(root, 'p3'), testsDir: join(root, 't3') })).toThrow(/exists already/);
  });
});
