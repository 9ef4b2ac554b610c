// The package's public entry points, resolved the way a user's code resolves them: by package
// name through the exports map, in a separate Node process, against the built dist/ (which
// `npm ci` builds through the prepare script).

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, { types: string; default: string }>;
  bin: Record<string, string>;
};

describe('package exports', () => {
  it('has built every exported file and its type declarations', () => {
    for (const [subpath, target] of Object.entries(packageJson.exports)) {
      expect(existsSync(target.default), `${subpath}: ${target.default} (run npm run build)`).toBe(
        true,
      );
      expect(existsSync(target.types), `${subpath}: ${target.types}`).toBe(true);
    }
    expect(existsSync(packageJson.bin['dqlite-ts']!)).toBe(true);
  });

  it('resolves dqlite-ts, dqlite-ts/client, dqlite-ts/pool and dqlite-ts/wire by name', async () => {
    const script = `
      const root = await import('dqlite-ts');
      const client = await import('dqlite-ts/client');
      const wire = await import('dqlite-ts/wire');
      const pool = await import('dqlite-ts/pool');
      console.log([typeof root.connect, typeof root.createPool, typeof client.connect, typeof client.NotLeaderError, typeof wire.FrameDecoder, typeof pool.createPool].join(' '));`;
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script]);
    expect(stdout.trim()).toBe('function function function function function function');
  });

  it('runs the dqlite-ts command', async () => {
    const { stdout } = await execFileAsync(process.execPath, [
      packageJson.bin['dqlite-ts']!,
      'help',
    ]);
    expect(stdout).toMatch(/^usage: dqlite-ts <command>/);
  });
});
