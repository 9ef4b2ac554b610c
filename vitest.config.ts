import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // Interop suites start real C dqlite clusters; give their hooks room without hiding hangs.
    hookTimeout: 60_000,
    testTimeout: 30_000,
    // One file at a time unless a run asks for more (test/run-passes.ts runs the in-process and
    // interop files two at a time, the cluster and fault files alone).
    fileParallelism: false,
  },
});
