import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// Each adapter supports a range of its ORM's releases (package.json peerDependencies); the main
// run tests the newest of each. This run tests the oldest: drizzle-orm 0.44.0 and kysely 0.28.0,
// installed under the aliases drizzle-orm-0.44 and kysely-0.28.0. (Knex's range, >= 3.3 < 4,
// holds one release today.)

export default defineConfig({
  ...base,
  // Bare package names, so that each package's exports map (ESM entry points) still applies.
  resolve: {
    alias: [
      { find: /^drizzle-orm(?=\/|$)/, replacement: 'drizzle-orm-0.44' },
      { find: /^kysely(?=\/|$)/, replacement: 'kysely-0.28.0' },
    ],
  },
  test: {
    ...base.test,
    include: ['test/interop/drizzle.c-dqlite.test.ts', 'test/interop/kysely.dqlite-ts.test.ts'],
  },
});
