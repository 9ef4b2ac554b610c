// Disaster recovery on a cluster of processes: two of three nodes are lost for good, the survivor
// is recovered with `dqlite-ts recover` as the only voter, leads, serves, and two brand-new nodes
// join it; every write the survivor held is on all three.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { connect, createPool } from '../../index.js';
import { cli } from './cli-process.js';
import { checkAndStop, converged, nodeContent } from './node-content.js';

const DATABASE = 'app';
let cluster: LocalCluster | undefined;

afterAll(() => checkAndStop(cluster), 60_000);

async function leaderAddress(addresses: readonly string[]): Promise<string> {
  const client = await connect({ cluster: [...addresses], database: DATABASE });
  const address = client.address;
  await client.close();
  return address;
}

describe('dqlite-ts recover', () => {
  it('lets a lone survivor form a new cluster with every write it held', async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    const pool = createPool({ cluster: cluster.addresses, database: DATABASE });
    await pool.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, v BLOB)');
    for (let seq = 1; seq <= 40; seq++) {
      await pool.exec('INSERT INTO t VALUES (?, randomblob(32))', [seq]);
    }
    await pool.close();
    // Every acknowledged write is on every node now, so any node may be the survivor: take a
    // follower, whose log ends where the leader's committed.
    const before = await converged(cluster.addresses, DATABASE);
    const leader = await leaderAddress(cluster.addresses);
    const survivor = cluster.nodes.find((node) => node.address !== leader);
    if (survivor === undefined) throw new Error('no follower');
    for (const lost of cluster.nodes.filter((node) => node !== survivor)) {
      await cluster.kill(lost.address);
      fs.rmSync(lost.dataDir, { recursive: true, force: true });
    }
    const { id } = JSON.parse(fs.readFileSync(path.join(survivor.dataDir, 'node.json'), 'utf8'));
    const members = `${(id as number).toString(16)}@${survivor.address}`;
    const recover = (...extra: string[]) =>
      cli('recover', '--data', survivor.dataDir, '--members', members, ...extra);

    // A running node is refused, and nothing changes.
    await expect(recover()).rejects.toThrow(/is running/);
    await cluster.kill(survivor.address, 'SIGTERM');

    const dryRun = await recover('--dry-run');
    const last = /last index (\d+), last term (\d+)/.exec(dryRun.stdout);
    expect(last).not.toBeNull();
    const lastIndex = Number(last?.[1]);
    expect(lastIndex).toBeGreaterThan(40);
    // A dry run writes nothing: the same answer twice.
    expect((await recover('--dry-run')).stdout).toBe(dryRun.stdout);

    const recovered = await recover();
    expect(recovered.stdout).toContain(dryRun.stdout.trim());
    expect(recovered.stdout).toContain(`wrote configuration entry ${lastIndex + 1}`);

    await cluster.restart(survivor.address);
    await cluster.waitForVoters(1);
    expect(await leaderAddress([survivor.address])).toBe(survivor.address);
    expect((await nodeContent(survivor.address, DATABASE)).hash).toBe(before.hash);
    const again = createPool({ cluster: [survivor.address], database: DATABASE });
    for (let seq = 41; seq <= 50; seq++) {
      await again.exec('INSERT INTO t VALUES (?, randomblob(32))', [seq]);
    }
    await again.close();

    const added = [await cluster.addNode(), await cluster.addNode()];
    await cluster.waitForVoters(3);
    const running = [survivor.address, ...added.map((node) => node.address)];
    const after = await converged(running, DATABASE);
    expect(after.rows.t).toBe(50);
    const client = await connect({ cluster: running, database: DATABASE });
    try {
      const seqs = await client.query('SELECT seq FROM t ORDER BY seq');
      expect(seqs.rows.map((row) => row[0])).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    } finally {
      await client.close();
    }
  }, 240_000);
});
