import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    // Interop suites start real C dqlite clusters; give their hooks room without hiding hangs.
    hookTimeout: 60_000,
    testTimeout: 30_000,
    // Each interop file owns its cluster; running files in parallel on 2 cores only adds noise.
    fileParallelism: false,
  },
});
