// The product's divergence check on a real cluster: `dqlite-ts check` (checkCluster) asks every
// node to hash its databases at one Raft index. A healthy cluster agrees; a follower whose file
// was changed behind Raft's back is named, and the command exits 1.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { checkCluster, connect, createPool } from '../../index.js';
import { cli } from './cli-process.js';

const DATABASE = 'checked';

describe('content checks across a 4-node cluster of processes (3 voters and a spare)', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 4 });
    const pool = createPool({ cluster: cluster.addresses, database: DATABASE });
    await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    for (let i = 0; i < 50; i++) await pool.exec('INSERT INTO t (v) VALUES (randomblob(2000))');
    await pool.close();
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('finds every node equal, skips the spare, and the command line says so', async () => {
    const check = await checkCluster({ cluster: cluster.addresses });
    expect(check.nodes).toHaveLength(4);
    expect(check.diverged).toEqual([]);
    for (const node of check.nodes) {
      expect(node.error).toBeUndefined();
      if (node.role === 'spare') {
        expect(node.skipped).toBe('a spare holds no data');
        continue;
      }
      expect(node.databases?.map((digest) => digest.name)).toEqual([DATABASE]);
    }
    expect(check.nodes.filter((node) => node.role === 'spare')).toHaveLength(1);
    const { stdout } = await cli('check', '--cluster', cluster.addresses.join(','), DATABASE);
    expect(stdout).toMatch(/content check at index \d+/);
    expect(stdout).toMatch(/\(spare\): not checked: a spare holds no data/);
    expect(stdout).toContain('every node that answered holds the same data');
  }, 60_000);

  it('names a follower whose database file changed behind Raft, and exits 1', async () => {
    const client = await connect({ cluster: cluster.addresses, database: DATABASE });
    const leader = client.address;
    // A voter that follows (the spare, wherever it is, holds no database file).
    const voters = (await client.cluster())
      .filter((member) => member.role === 'voter')
      .map((member) => member.address);
    await client.close();
    const follower = cluster.nodes.find(
      (node) => node.address !== leader && voters.includes(node.address),
    );
    if (follower === undefined) throw new Error('no follower');
    // A change no entry made: a few bytes inside the table's second page.
    const file = path.join(follower.dataDir, 'db', DATABASE);
    const descriptor = fs.openSync(file, 'r+');
    fs.writeSync(descriptor, Buffer.from('not replicated'), 0, 14, 4096 + 2000);
    fs.closeSync(descriptor);

    const check = await checkCluster({ cluster: cluster.addresses, database: DATABASE });
    expect(check.diverged.map((node) => node.address)).toEqual([follower.address]);
    const failed = await cli('check', '--cluster', cluster.addresses.join(',')).then(
      () => undefined,
      (error: { code?: number; stdout?: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toContain(`DIVERGED: ${follower.address}`);
  }, 60_000);
});
