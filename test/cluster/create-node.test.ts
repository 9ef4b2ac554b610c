// createNode as an application embeds it: three nodes in this process, each with its SQL in its
// own worker. Identity and data survive a restart; close() hands leadership over first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../bin/local-cluster.js';
import { createNode, createPool, type DqliteNode, type NodeOptions } from '../../index.js';

let directory: string;
let addresses: string[];
const nodes = new Map<string, DqliteNode>();

const optionsOf = (i: number): NodeOptions => ({
  address: addresses[i] as string,
  dataDir: path.join(directory, `n${i}`),
  join: i === 0 ? [] : [addresses[0] as string],
  roleCheckIntervalMs: 100,
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const leaderNode = () => [...nodes.values()].find((node) => node.isLeader());

beforeAll(async () => {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'create-node-'));
  addresses = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
  for (let i = 0; i < 3; i++) nodes.set(addresses[i] as string, await createNode(optionsOf(i)));
  const first = nodes.get(addresses[0] as string) as DqliteNode;
  await waitFor(
    () => first.cluster().filter((node) => node.role === 'voter').length === 3,
    '3 voters',
  );
}, 30_000);

afterAll(async () => {
  // Every node still running holds the same data (the product's content check).
  const report = await leaderNode()?.checkContent();
  expect(report?.diverged ?? []).toEqual([]);
  expect(report?.undecided ?? false).toBe(false);
  await Promise.all([...nodes.values()].map((node) => node.close()));
  fs.rmSync(directory, { recursive: true, force: true });
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
