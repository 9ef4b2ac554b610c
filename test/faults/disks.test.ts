// Disk faults (disks.ts): a node's disk full, slow or read-only. A write that finds no space fails
// with SQLITE_FULL and nothing else; no node stops; nothing acknowledged is lost; the cluster
// writes again once space returns, and every node ends with the same data. Needs root (mount) and
// gcc: skipped loudly without them locally, required on CI.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { DqliteError, connect } from '../../drivers/client/index.js';
import { createPool, type LeaderPool } from '../../drivers/pool/index.js';
import { nodeContent } from '../cluster/node-content.js';
import { LoopDisk, requireDiskFaults } from './disks.js';
import {
  expectLinearizableRegisters,
  faultRunMs,
  faultTestTimeoutMs,
  setUpRegisters,
  useFaultCluster,
} from './fault-cluster.js';
import { diskFaults } from './nemesis.js';

const RUN_MS = faultRunMs(12_000);
const available = requireDiskFaults();

describe.skipIf(!available)('register workload under full and slow disks', () => {
  const fixture = useFaultCluster({ disks: true, setUp: setUpRegisters });
  it(
    'stays linearizable',
    () =>
      expectLinearizableRegisters(fixture, {
        name: 'register-disks',
        faults: diskFaults,
        durationMs: RUN_MS,
      }),
    faultTestTimeoutMs(RUN_MS),
  );
});

/** Waits until every node's copy of `database` is intact and the same; returns the row count. */
async function expectConverged(cluster: LocalCluster, database: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const contents = await Promise.all(cluster.addresses.map((a) => nodeContent(a, database)));
      last = JSON.stringify(contents);
      if (contents.every((c) => c.integrity === 'ok' && c.hash === contents[0]?.hash)) return;
    } catch (error) {
      last = String(error);
    }
    await sleep(200);
  }
  throw new Error(`the nodes' copies of ${database} did not converge: ${last}`);
}

/**
 * Inserts one row per id, one at a time; counts failures by kind. Stops early after
 * `stopAfterFailures` failures in a row: once the disk is full, more attempts show nothing new
 * and only make the test slower on a slow machine.
 */
async function insertAll(
  pool: LeaderPool,
  ids: readonly number[],
  blobBytes: number,
  stopAfterFailures = Infinity,
) {
  const acknowledged: number[] = [];
  const failures = new Map<string, number>();
  let failuresInARow = 0;
  for (const id of ids) {
    if (failuresInARow >= stopAfterFailures) break;
    try {
      await pool.exec('INSERT INTO t (id, v) VALUES (?, randomblob(?))', [id, blobBytes]);
      acknowledged.push(id);
      failuresInARow = 0;
    } catch (error) {
      const kind =
        error instanceof DqliteError ? `${error.errno}: ${error.message}` : String(error);
      failures.set(kind, (failures.get(kind) ?? 0) + 1);
      failuresInARow++;
    }
  }
  return { acknowledged, failures };
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe.skipIf(!available)('a disk that fills up under every node', () => {
  const mount = fs.mkdtempSync(path.join(os.tmpdir(), 'full-disk-'));
  let cluster: LocalCluster | undefined;
  let pool: LeaderPool | undefined;
  afterAll(async () => {
    await pool?.close();
    await cluster?.stop();
    execFileSync('umount', ['-l', mount], { stdio: 'pipe' });
    fs.rmSync(mount, { recursive: true, force: true });
  });

  it('fails writes with SQLITE_FULL, stops no node, loses nothing, and writes again when space returns', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mount], { stdio: 'pipe' });
    // Each node keeps 16 MiB of the shared 48 free (limits.diskReserveBytes): once less is left,
    // the leader refuses writes before they run, so no Raft log ever finds the disk full and no
    // write is left waiting for space with its outcome unknown.
    cluster = await LocalCluster.start({
      nodes: 3,
      directory: mount,
      nodeArgs: ['--limit', `diskReserveBytes=${16 * 1024 * 1024}`],
    });
    pool = createPool({ cluster: cluster.addresses, database: 'full', timeoutMs: 10_000 });
    pool.on('error', () => undefined);
    await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');

    // 3 copies of 20 KB rows, a WAL and a Raft log each: 32 MB runs out within 1,500 rows.
    const full = await insertAll(pool, range(1, 1500), 20_000, 20);
    // Every failure is the reserve's SQLITE_FULL. Its message names the space left, which moves by
    // a tenth of a MiB between two refusals when a checkpoint or the log frees or takes some, so
    // the failures may come under more than one message.
    const kinds = [...full.failures.keys()];
    expect(kinds.length).toBeGreaterThan(0);
    for (const kind of kinds) {
      expect(kind).toMatch(/^13: SQLITE_FULL: database or disk is full: .*diskReserveBytes/);
    }
    expect(full.acknowledged.length).toBeGreaterThan(50);
    expect(cluster.nodes.map((node) => node.pid)).not.toContain(undefined);
    // Reads go on, and show exactly the acknowledged rows.
    const counted = await pool.query('SELECT count(*) AS n FROM t');
    expect(counted.rows).toEqual([{ n: full.acknowledged.length }]);

    execFileSync('mount', ['-o', 'remount,size=512m', mount], { stdio: 'pipe' });
    const again = await insertAll(pool, range(10_001, 200), 100);
    expect(Object.fromEntries(again.failures)).toEqual({});
    const present = await pool.query('SELECT id FROM t ORDER BY id');
    const ids = new Set(present.rows.map((row) => Number(row.id)));
    const lost = [...full.acknowledged, ...again.acknowledged].filter((id) => !ids.has(id));
    expect(lost).toEqual([]);
    expect(cluster.nodes.map((node) => node.pid)).not.toContain(undefined);
    await expectConverged(cluster, 'full');
  }, 600_000);
});

describe.skipIf(!available || LoopDisk.unavailable() !== null)(
  'a follower whose disk turns read-only',
  () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'read-only-'));
    let disk: LoopDisk | undefined;
    let cluster: LocalCluster | undefined;
    let pool: LeaderPool | undefined;
    afterAll(async () => {
      await pool?.close();
      await cluster?.stop();
      disk?.remove();
      fs.rmSync(directory, { recursive: true, force: true });
    });

    it('leaves the others writing, stops cleanly, and catches up after fsck and a restart', async () => {
      disk = LoopDisk.create(path.join(directory, 'node3'));
      cluster = await LocalCluster.start({ nodes: 3, directory });
      const broken = cluster.nodes[2]?.address as string;
      pool = createPool({ cluster: cluster.addresses, database: 'ro', timeoutMs: 10_000 });
      pool.on('error', () => undefined);
      await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
      await moveLeadershipOff(cluster, broken);
      expect(Object.fromEntries((await insertAll(pool, range(1, 200), 1000)).failures)).toEqual({});

      disk.breakReadOnly();
      const during = await insertAll(pool, range(1001, 500), 1000);
      expect(Object.fromEntries(during.failures)).toEqual({});
      expect(cluster.node(broken).pid).toBeDefined(); // waiting, not stopped

      await cluster.kill(broken, 'SIGTERM'); // throws unless it exits (cleanly) within 30 s
      disk.repair();
      await cluster.restart(broken);
      const after = await insertAll(pool, range(2001, 200), 1000);
      expect(Object.fromEntries(after.failures)).toEqual({});
      await expectConverged(cluster, 'ro');
      const counted = await pool.query('SELECT count(*) AS n FROM t');
      expect(counted.rows).toEqual([{ n: 900 }]);
    }, 600_000);
  },
);

/** Transfers leadership to another node if `address` leads. */
async function moveLeadershipOff(cluster: LocalCluster, address: string): Promise<void> {
  const client = await connect({ cluster: cluster.addresses, database: 'ro' });
  try {
    if (client.address !== address) return;
    const members = await client.cluster();
    const other = members.find((member) => member.address !== address && member.role === 'voter');
    if (other === undefined) throw new Error('no other voter to lead');
    await client.transfer(other.id);
  } finally {
    await client.close();
  }
}
