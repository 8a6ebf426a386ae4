import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The loader entry (lambdas/loader/main.ts) imports the pipeline its bundle holds; in tests, the fixture clickstream.
    alias: { 'lakeloader-bundled-pipeline': new URL('./test/fixtures/pipelines/clickstream.ts', import.meta.url).pathname },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // LAKELOADER_TEST_CLOCK=<ISO time> runs the suite with the clock moved there (test/support/clock.ts).
    setupFiles: ['test/support/clock.ts'],
    // The machinery's tests use their own fixture pipelines, so adding or changing a pipeline in
    // pipelines/ never breaks them; only test/pipelines/ tests the project's own pipelines.
    // The AWS SDK's "Node 20 support ends" notice is noise here: the project supports Node 20.19+ (engines), as the CLI does (bin/lakeloader.ts).
    env: { LAKELOADER_PIPELINES_DIR: 'test/fixtures/pipelines', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: ['default'],
  },
});
