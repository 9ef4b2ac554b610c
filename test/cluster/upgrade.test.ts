// An upgrade from the previous release's data directories (test/fixtures/previous-release/): a
// 3-node cluster written and stopped by the release before the format marker comes back under
// this release one node at a time, as the rolling upgrade in docs/operations.md does. Nothing
// written before is lost, the cluster takes writes while a node is still down, each directory
// gets its format marker, and every node ends with the same data.
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../index.js';
import { startCliNode } from './cli-process.js';
import { converged } from './node-content.js';

const fixture = path.resolve('test/fixtures/previous-release/cluster-data.tar.gz');
/** The addresses the fixture's nodes were given: they are in its Raft configuration. */
const addresses = ['127.0.0.77:9001', '127.0.0.77:9002', '127.0.0.77:9003'];

describe("an upgrade from the previous release's data directories", () => {
  let directory: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'upgrade-'));
    execFileSync('tar', ['xzf', fixture, '-C', directory]);
  });

  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    fs.rmSync(directory, { recursive: true, force: true });
  });

  const dataDir = (i: number) => path.join(directory, `node${i + 1}`);
  const start = async (i: number) => {
    const args = ['--address', addresses[i] as string, '--data', dataDir(i)];
    children.push(await startCliNode(args));
  };

  it('starts them one node at a time, keeps every row, and writes the format marker', async () => {
    for (let i = 0; i < 3; i++) expect(fs.existsSync(path.join(dataDir(i), 'format'))).toBe(false);
    // Two of three make a quorum: the cluster serves before the last node is back.
    await start(0);
    await start(1);
    const pool = createPool({ cluster: addresses, database: 'app', leaderTimeoutMs: 30_000 });
    try {
      const before = await pool.query(
        'SELECT count(*) AS n, sum(length(payload)) AS bytes FROM items',
      );
      expect(before.rows).toEqual([{ n: 200, bytes: 59_800 }]);
      const named = await pool.query("SELECT id FROM items WHERE name = 'app-123'");
      expect(named.rows).toEqual([{ id: 123 }]);
      await pool.exec("INSERT INTO items (id, name) VALUES (201, 'after the upgrade')");
    } finally {
      await pool.close();
    }
    await start(2);
    for (let i = 0; i < 3; i++) {
      expect(fs.readFileSync(path.join(dataDir(i), 'format'), 'utf8')).toBe('1\n');
    }
    const app = await converged(addresses, 'app');
    expect(app.rows.items).toBe(201);
    const audit = await converged(addresses, 'audit');
    expect(audit.rows.items).toBe(200);
  }, 120_000);
});
