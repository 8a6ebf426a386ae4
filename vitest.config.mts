import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // LAKELOADER_TEST_CLOCK=<ISO time> runs the suite with the clock moved there (test/support/clock.ts).
    setupFiles: ['test/support/clock.ts'],
    reporters: ['default'],
  },
});
