// A node whose databases diverged from the cluster's must never lead. Three nodes embedded in this
// process: a follower's file is changed behind Raft's back, the leader's content check names it
// and tells it, and when the leader goes the diverged node does not take over; it remembers
// across a restart.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createNode, createPool, type DqliteNode, type NodeOptions } from '../../index.js';
import { waitUntil } from '../interop/poll-until.js';
import { startEmbeddedCluster, type EmbeddedCluster } from './embedded-cluster.js';

const DATABASE = 'app';
let cluster: EmbeddedCluster;
let directory: string;
let addresses: readonly string[];
let nodes: Map<string, DqliteNode>;
const optionsOf = (i: number): NodeOptions => cluster.optionsOf(i);
const leaderNode = () => cluster.leaderNode();

beforeAll(async () => {
  cluster = await startEmbeddedCluster('divergence', { contentCheckIntervalMs: 0 });
  ({ directory, addresses, nodes } = cluster);
  const pool = createPool({ cluster: addresses, database: DATABASE });
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
  for (let i = 0; i < 20; i++) await pool.exec('INSERT INTO t (v) VALUES (randomblob(3000))');
  await pool.close();
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

describe('a diverged node', () => {
  let diverged: DqliteNode;

  it('is named by the leader’s content check and told so', async () => {
    await waitUntil(() => leaderNode() !== undefined, 'a leader');
    const leader = leaderNode() as DqliteNode;
    const healthy = await leader.checkContent();
    expect(healthy.diverged).toEqual([]);
    expect(healthy.nodes.every((node) => node.check !== undefined)).toBe(true);

    diverged = [...nodes.values()].find((node) => node !== leader) as DqliteNode;
    const index = [...nodes.keys()].indexOf(diverged.address);
    const file = path.join(directory, `n${index}`, 'db', DATABASE);
    const descriptor = fs.openSync(file, 'r+');
    fs.writeSync(descriptor, Buffer.from('written behind Raft'), 0, 19, 4096 + 1000);
    fs.closeSync(descriptor);

    const report = await leader.checkContent();
    expect(report.diverged.map((node) => node.address)).toEqual([diverged.address]);
    expect(report.diverged[0]?.difference).toBe(`${DATABASE} differs in content`);
    expect(diverged.diverged()).toMatch(/differs in content/);
    expect(leader.diverged()).toBeUndefined();
  }, 60_000);

  it('refuses leadership handed to it', async () => {
    const leader = leaderNode() as DqliteNode;
    const admin = await connect({ cluster: addresses, database: DATABASE });
    try {
      await expect(admin.transfer(diverged.id)).rejects.toThrow();
    } finally {
      await admin.close();
    }
    expect(diverged.isLeader()).toBe(false);
    await waitUntil(() => leader.isLeader(), 'the leader serving again');
  }, 60_000);

  it('does not take over when the leader goes, and the other follower does', async () => {
    const leader = leaderNode() as DqliteNode;
    await leader.close();
    nodes.delete(leader.address);
    const survivor = [...nodes.values()].find((node) => node !== diverged) as DqliteNode;
    await waitUntil(() => survivor.isLeader(), 'the healthy follower leading');
    expect(diverged.isLeader()).toBe(false);
  }, 60_000);

  it('still refuses to lead after a restart', async () => {
    const index = addresses.indexOf(diverged.address);
    await diverged.close();
    const restarted = await createNode(optionsOf(index));
    nodes.set(diverged.address, restarted);
    expect(restarted.diverged()).toMatch(/differs in content/);
  }, 60_000);
});
