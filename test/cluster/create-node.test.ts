// createNode as an application embeds it: three nodes in this process, each with its SQL in its
// own worker. Identity and data survive a restart; close() hands leadership over first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNode, createPool, type DqliteNode, type NodeOptions } from '../../index.js';
import { waitUntil } from '../interop/poll-until.js';
import { startEmbeddedCluster, type EmbeddedCluster } from './embedded-cluster.js';

let cluster: EmbeddedCluster;
let directory: string;
let addresses: readonly string[];
let nodes: Map<string, DqliteNode>;
const optionsOf = (i: number): NodeOptions => cluster.optionsOf(i);
const leaderNode = () => cluster.leaderNode();
const waitFor = (condition: () => boolean, what: string, timeoutMs = 10_000) =>
  waitUntil(condition, what, timeoutMs);

beforeAll(async () => {
  cluster = await startEmbeddedCluster('create-node');
  ({ directory, addresses, nodes } = cluster);
}, 30_000);

afterAll(async () => {
  // Every node still running holds the same data (the product's content check).
  const report = await leaderNode()?.checkContent();
  expect(report?.diverged ?? []).toEqual([]);
  expect(report?.undecided ?? false).toBe(false);
  await cluster?.close();
});

describe('createNode', () => {
  it('refuses options it does not know or cannot use', async () => {
    await expect(
      createNode({ address: '127.0.0.1:1', dataDir: directory, colour: 'red' } as never),
    ).rejects.toThrow('unknown option "colour"');
    await expect(createNode({ address: 'nowhere', dataDir: directory })).rejects.toThrow(TypeError);
    await expect(createNode({ ...optionsOf(0), voters: 0 })).rejects.toThrow(RangeError);
    // A data directory belongs to one node: another address is refused.
    await expect(createNode({ ...optionsOf(1), address: '127.0.0.1:1' })).rejects.toThrow(
      /belongs to node/,
    );
  });

  it('hands leadership over on close, so the survivors need no election', async () => {
    const pool = createPool({ cluster: addresses, database: 'app' });
    await pool.exec('CREATE TABLE IF NOT EXISTS t (x PRIMARY KEY)');
    const leader = leaderNode() as DqliteNode;
    const survivors = [...nodes.values()].filter((node) => node !== leader);
    await leader.close();
    nodes.delete(leader.address);
    // TRANSFER completes when the old leader follows the new one; an election would take 300+ ms.
    const started = Date.now();
    await waitFor(() => survivors.some((node) => node.isLeader()), 'a survivor leads', 2000);
    expect(Date.now() - started).toBeLessThan(250);
    // The pool's idle connection to the closed node may take this write: it may retry it
    // (the outcome is unknown to a client whose socket closes), and the key makes that harmless.
    await pool.exec('INSERT OR IGNORE INTO t VALUES (1)', [], { idempotent: true });

    // Restarted from its directory it is the same node, with the data it had.
    const index = addresses.indexOf(leader.address);
    const again = await createNode(optionsOf(index));
    nodes.set(again.address, again);
    expect(again.id).toBe(leader.id);
    await waitFor(() => again.leader() !== undefined, 'the restarted node follows a leader');
    const { rows } = await pool.query('SELECT count(*) AS n FROM t');
    expect(rows).toEqual([{ n: 1 }]);
    await pool.close();
  }, 30_000);
});
