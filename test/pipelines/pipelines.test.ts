/**
 * The project's own pipelines (pipelines/*.ts, not the fixtures the machinery's tests use): every
 * file there loads as exactly one valid pipeline with a unique name — what `cdk synth` and
 * `lakeloader provision` will read. A pipeline's own behaviour is tested in test/pipelines/<name>.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { declaredPipelines, DEFAULT_PIPELINES_DIR } from '../../lib/pipelines';

describe('pipelines/', () => {
  it('every file declares one valid pipeline, names unique', () => {
    const declared = declaredPipelines(DEFAULT_PIPELINES_DIR);
    expect(declared.length).toBeGreaterThan(0);
    expect(new Set(declared.map((d) => d.pipeline.name)).size).toBe(declared.length);
    for (const d of declared) expect(d.file.startsWith(DEFAULT_PIPELINES_DIR)).toBe(true);
  });
});
