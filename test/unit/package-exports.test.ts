// The package's public entry points, resolved the way a user's code resolves them: by package
// name through the exports map, in a separate Node process, against the built dist/ (which
// `npm ci` builds through the prepare script).

import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<
    string,
    { types: string; default: string; require: { types: string; default: string } }
  >;
  bin: Record<string, string>;
};

describe('package exports', () => {
  it('has built every exported file and its type declarations', () => {
    for (const [subpath, target] of Object.entries(packageJson.exports)) {
      expect(existsSync(target.default), `${subpath}: ${target.default} (run npm run build)`).toBe(
        true,
      );
      expect(existsSync(target.types), `${subpath}: ${target.types}`).toBe(true);
      expect(existsSync(target.require.types), `${subpath}: ${target.require.types}`).toBe(true);
    }
    expect(existsSync(packageJson.bin['dqlite-ts']!)).toBe(true);
  });

  it('resolves dqlite-ts, dqlite-ts/client, dqlite-ts/pool, dqlite-ts/wire and dqlite-ts/backup by name', async () => {
    const script = `
      const root = await import('dqlite-ts');
      const client = await import('dqlite-ts/client');
      const wire = await import('dqlite-ts/wire');
      const pool = await import('dqlite-ts/pool');
      const backup = await import('dqlite-ts/backup');
      console.log([typeof root.connect, typeof root.createPool, typeof client.connect, typeof client.NotLeaderError, typeof wire.FrameDecoder, typeof pool.createPool, typeof backup.backup, typeof backup.restore, typeof root.restore].join(' '));`;
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script]);
    expect(stdout.trim()).toBe(
      'function function function function function function function function function',
    );
  });

  it('loads from CommonJS through require, and type-checks there under module node16', async () => {
    const script = `
      const { knex } = require('dqlite-ts/knex');
      const { createPool } = require('dqlite-ts/pool');
      const { drizzle } = require('dqlite-ts/drizzle');
      const { DqliteDialect } = require('dqlite-ts/kysely');
      const root = require('dqlite-ts');
      console.log([knex, createPool, drizzle, DqliteDialect, root.createNode].map((f) => typeof f).join(' '));`;
    const { stdout } = await execFileAsync(process.execPath, ['-e', script]);
    expect(stdout.trim()).toBe('function function function function function');

    // A CommonJS project of its own, with this package installed (linked) in its node_modules.
    const project = mkdtempSync(path.join(os.tmpdir(), 'cjs-consumer-'));
    try {
      mkdirSync(path.join(project, 'node_modules'));
      symlinkSync(process.cwd(), path.join(project, 'node_modules', 'dqlite-ts'), 'dir');
      writeFileSync(
        path.join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'node16',
            strict: true,
            noEmit: true,
            skipLibCheck: true,
            types: [],
          },
          files: ['app.cts'],
        }),
      );
      writeFileSync(
        path.join(project, 'app.cts'),
        [
          "import knexModule = require('dqlite-ts/knex');",
          "import pool = require('dqlite-ts/pool');",
          "import root = require('dqlite-ts');",
          "const options = { cluster: ['127.0.0.1:9001'], database: 'app' };",
          'export const db = knexModule.knex({ client: "dqlite", connection: options });',
          'export const shared = pool.createPool(options);',
          'export const node: typeof root.createNode = root.createNode;',
          '',
        ].join('\n'),
      );
      const tsc = path.join(process.cwd(), 'node_modules', '.bin', 'tsc');
      const checked = await execFileAsync(tsc, ['-p', project]).then(
        () => '',
        (error: { stdout: string }) => error.stdout,
      );
      expect(checked).toBe('');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 60_000);

  it('runs the dqlite-ts command', async () => {
    const { stdout } = await execFileAsync(process.execPath, [
      packageJson.bin['dqlite-ts']!,
      'help',
    ]);
    expect(stdout).toMatch(/^usage: dqlite-ts <command>/);
  });
});
