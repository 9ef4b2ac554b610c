// Nodes and clients on one machine can use Unix sockets instead of TCP: a node's address is then
// the socket's path, for its peers and its clients alike.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNode, createPool, type DqliteNode } from '../../index.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'unix-socket-'));
const nodes: DqliteNode[] = [];

afterAll(async () => {
  // Every node holds the same data (the product's content check, over the sockets too).
  const report = await nodes.find((node) => node.isLeader())?.checkContent();
  expect(report?.diverged ?? []).toEqual([]);
  expect(report?.nodes.every((node) => node.check !== undefined) ?? true).toBe(true);
  await Promise.all(nodes.map((node) => node.close()));
  fs.rmSync(directory, { recursive: true, force: true });
});

describe('a cluster on Unix sockets', () => {
  it('bootstraps, joins, replicates and serves the pool', async () => {
    const sockets = [1, 2, 3].map((i) => path.join(directory, `node${i}.sock`));
    // A socket file left by a killed process must not stop the node from listening.
    const stale = sockets[0] as string;
    const listenThenDie = `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`;
    spawnSync(process.execPath, ['-e', listenThenDie]);
    expect(fs.statSync(stale).isSocket()).toBe(true);
    for (const [i, address] of sockets.entries()) {
      nodes.push(
        await createNode({
          address,
          dataDir: path.join(directory, `data${i}`),
          join: i === 0 ? [] : [sockets[0] as string],
          roleCheckIntervalMs: 100,
        }),
      );
    }
    const deadline = Date.now() + 15_000;
    while (nodes[0]!.cluster().filter((node) => node.role === 'voter').length < 3) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const pool = createPool({ cluster: sockets, database: 'app' });
    await pool.exec('CREATE TABLE t (x)');
    await pool.exec('INSERT INTO t VALUES (1), (2)');
    expect((await pool.query('SELECT sum(x) AS total FROM t')).rows).toEqual([{ total: 3 }]);
    await pool.close();
  }, 30_000);
});
