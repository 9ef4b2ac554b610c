// The runnable examples as a newcomer runs them, with no cluster given: each embeds a 3-node
// dqlite-ts cluster in its own process (examples/example-cluster.ts) and must run to the end.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
// A backstop against a hang, not a speed target: an example takes about 5 s here when idle, and
// several times that when the machine is busy (tsx compiles it, three nodes start and stop).
const timeoutMs = 240_000;

describe('examples with embedded dqlite-ts nodes', () => {
  for (const name of ['raw', 'knex', 'drizzle', 'kysely']) {
    it(
      `runs examples/${name} without DQLITE_CLUSTER`,
      async () => {
        const environment = { ...process.env };
        delete environment.DQLITE_CLUSTER;
        const { stdout } = await execFileAsync(
          'node_modules/.bin/tsx',
          [`examples/${name}/main.ts`],
          {
            env: environment,
            timeout: timeoutMs,
          },
        ).catch((error: Error & { stdout?: string; stderr?: string }) => {
          // What the example printed says where it stopped.
          throw new Error(
            `${error.message}\nstdout:\n${error.stdout ?? ''}\nstderr:\n${error.stderr ?? ''}`,
          );
        });
        expect(stdout).toMatch(/Le Guin|Lem/);
      },
      timeoutMs + 10_000,
    );
  }
});
