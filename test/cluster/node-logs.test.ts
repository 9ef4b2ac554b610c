// What a node logs, read as an operator reads it: one JSON line per role change, membership change
// and snapshot, each naming the node, and nothing per request at level info.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../bin/local-cluster.js';
import { createNode, createPool, type DqliteNode } from '../../index.js';
import { waitUntil } from '../interop/poll-until.js';
import { startEmbeddedCluster, type EmbeddedCluster } from './embedded-cluster.js';

interface Line {
  readonly level: number;
  readonly msg: string;
  readonly node: string;
  readonly address: string;
  readonly role?: string;
  readonly term?: number;
}

/** Every line the three nodes wrote, as written. */
const written: string[] = [];
const lines = (): Line[] => written.map((line) => JSON.parse(line) as Line);
const leaderLines = () => lines().filter((line) => line.msg === 'became leader');

let cluster: EmbeddedCluster;

beforeAll(async () => {
  const logger = pino({ level: 'info' }, { write: (line: string) => void written.push(line) });
  cluster = await startEmbeddedCluster('node-logs', { logger });
}, 30_000);

afterAll(async () => {
  await cluster?.close();
});

describe('node logs', () => {
  it('logs one "became leader" line per leadership, naming the node, as JSON', async () => {
    await waitUntil(() => cluster.leaderNode() !== undefined, 'a leader');
    const leader = cluster.leaderNode() as DqliteNode;
    expect(leaderLines()).toHaveLength(1);
    expect(leaderLines()[0]).toMatchObject({
      level: 30,
      node: leader.id.toString(16),
      address: leader.address,
      role: 'leader',
    });
    for (const line of lines()) {
      expect(typeof line.node).toBe('string');
      expect(cluster.addresses).toContain(line.address);
    }
    // Every node logged the membership changes it applied: each was added and promoted.
    const membership = lines().filter((line) => line.msg.startsWith('membership changed'));
    for (const node of cluster.nodes.values()) {
      const own = membership.filter((line) => line.node === node.id.toString(16));
      expect(own.length).toBeGreaterThan(0);
    }
  });

  it('logs nothing per request at level info', async () => {
    const pool = createPool({ cluster: [...cluster.addresses], database: 'app' });
    try {
      await pool.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
      for (let i = 0; i < 40; i++) await pool.exec('INSERT INTO t (v) VALUES (?)', [`${i}`]);
      const before = written.length;
      for (let i = 0; i < 50; i++) {
        await pool.exec('UPDATE t SET v = ? WHERE k = ?', [`u${i}`, (i % 40) + 1]);
        await pool.query('SELECT v FROM t WHERE k = ?', [(i % 40) + 1]);
      }
      expect(written.slice(before)).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it('logs the role changes of a leader change', async () => {
    const leader = cluster.leaderNode() as DqliteNode;
    const hex = leader.id.toString(16);
    await leader.close();
    cluster.nodes.delete(leader.address);
    await waitUntil(() => cluster.leaderNode() !== undefined, 'a new leader');
    await waitUntil(() => leaderLines().length === 2, 'a second "became leader" line');
    const [first, second] = leaderLines();
    expect(second?.node).toBe(cluster.leaderNode()?.id.toString(16));
    expect(second?.term).toBeGreaterThan(first?.term ?? Infinity);
    const stepDown = lines().find((line) => line.node === hex && line.msg === 'became follower');
    expect(stepDown?.term).toBe(second?.term);
    expect(written.every((line) => typeof JSON.parse(line) === 'object')).toBe(true);
  });
});

describe('snapshot lines', () => {
  it('says when a snapshot was taken: index, bytes and milliseconds', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'node-logs-snapshot-'));
    const captured: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void captured.push(line) });
    const [port] = await freePorts(1);
    const node = await createNode({
      address: `127.0.0.1:${port}`,
      dataDir: directory,
      snapshotThresholdEntries: 5,
      logger,
    });
    const pool = createPool({ cluster: [node.address], database: 'app' });
    try {
      await pool.exec('CREATE TABLE t (v)');
      for (let i = 0; i < 8; i++) await pool.exec('INSERT INTO t VALUES (?)', [i]);
      const taken = () =>
        captured
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((line) => line.msg === 'snapshot taken');
      await waitUntil(() => taken() !== undefined, 'a snapshot line');
      expect(taken()).toMatchObject({ node: node.id.toString(16), address: node.address });
      expect(taken()?.index).toBeGreaterThanOrEqual(5);
      expect(taken()?.bytes).toBeGreaterThan(0);
      expect(typeof taken()?.ms).toBe('number');
    } finally {
      await pool.close();
      await node.close();
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});
