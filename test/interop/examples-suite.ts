// Smoke test of the runnable examples (examples/*/main.ts): each must run to completion against
// a real 3-node cluster, as a user would run it.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';
import { requirePeer } from './peer-available.js';

const execFileAsync = promisify(execFile);
const EXAMPLE_TIMEOUT_MS = 60_000;
const EXPECTED_EXAMPLES = ['raw', 'knex', 'drizzle', 'kysely'];

/** Example folders that hold a main.ts. */
function exampleNames(): string[] {
  return readdirSync('examples', { withFileTypes: true })
    .filter(
      (entry) => entry.isDirectory() && existsSync(path.join('examples', entry.name, 'main.ts')),
    )
    .map((entry) => entry.name)
    .sort();
}

export function defineExamplesSuite(provider: ClusterProvider): void {
  describe.skipIf(!requirePeer(provider))(`examples against ${provider.name}`, () => {
    let cluster: ClusterHandle;

    beforeAll(async () => {
      cluster = await provider.start({ nodes: 3 });
    }, 90_000);

    afterAll(async () => {
      await cluster?.stop();
    }, 60_000);

    it('has an example for the raw pool and for each ORM adapter', () => {
      expect(exampleNames()).toEqual(expect.arrayContaining(EXPECTED_EXAMPLES));
    });

    for (const name of exampleNames()) {
      it(
        `runs examples/${name}`,
        async () => {
          const environment = {
            ...process.env,
            DQLITE_CLUSTER: cluster.addresses.join(','),
            DQLITE_DATABASE: `smoke-${name}`,
          };
          const { stdout } = await execFileAsync(
            'node_modules/.bin/tsx',
            [`examples/${name}/main.ts`],
            {
              env: environment,
              timeout: EXAMPLE_TIMEOUT_MS,
            },
          );
          expect(stdout.length).toBeGreaterThan(0);
        },
        EXAMPLE_TIMEOUT_MS + 10_000,
      );
    }
  });
}
