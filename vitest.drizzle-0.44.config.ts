import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The Drizzle adapter supports drizzle-orm >=0.44 <0.46: this runs its suite once more against
// the oldest supported release (installed under the alias drizzle-orm-0.44), so both ends of the
// range are tested on every run.

export default defineConfig({
  ...base,
  // A bare package name, so that the package's exports map (ESM entry points) still applies.
  resolve: { alias: [{ find: /^drizzle-orm(?=\/|$)/, replacement: 'drizzle-orm-0.44' }] },
  test: {
    ...base.test,
    include: ['test/interop/drizzle.c-dqlite.test.ts'],
  },
});
