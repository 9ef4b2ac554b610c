// A database far larger than a node should hold in memory, on a 3-node dqlite-ts cluster of
// processes: each node's resident memory must stay bounded while SIZE_MB of rows are written
// (snapshots included: they stream through files), and a new node must catch up by snapshot.
//
// Writes rows of ROW_KB random bytes through the pool (WRITERS at a time) until the database
// holds SIZE_MB, sampling every node's RSS from /proc every 250 ms. Then a fourth node joins and a
// follower is killed: the leader promotes the newcomer, which must first receive the whole
// database as a snapshot. Reported: write throughput, each node's peak RSS against the database
// size, and the newcomer's catch-up time (kill to three voters again).
//
// Run: npm run bench:large   (options: SIZE_MB=2048 ROW_KB=256 WRITERS=4 SNAPSHOT_ENTRIES=2048)
// Outside CI: it writes SIZE_MB four times over on this machine's disk (three nodes and the
// snapshot), so mind the free space.

import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalCluster } from '../bin/local-cluster.js';
import { connect, createPool } from '../index.js';

const SIZE_MB = Number(process.env.SIZE_MB ?? 2048);
const ROW_KB = Number(process.env.ROW_KB ?? 256);
const WRITERS = Number(process.env.WRITERS ?? 4);
const SNAPSHOT_ENTRIES = Number(process.env.SNAPSHOT_ENTRIES ?? 2048);
const DATABASE = 'large';

/** Peak resident memory of each process we watch, in bytes. */
class RssSampler {
  readonly peaks = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(cluster: LocalCluster) {
    this.#timer = setInterval(() => {
      for (const node of cluster.nodes) {
        if (node.pid === undefined) continue;
        const rss = residentBytes(node.pid);
        if (rss > (this.peaks.get(node.address) ?? 0)) this.peaks.set(node.address, rss);
      }
    }, 250);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function residentBytes(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kilobytes = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kilobytes === undefined ? 0 : Number(kilobytes) * 1024;
  } catch {
    return 0; // the process just exited
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const rows = Math.ceil((SIZE_MB * 1024) / ROW_KB);
  // A snapshot every SNAPSHOT_ENTRIES rows, so several stream by while the database grows.
  const cluster = await LocalCluster.start({
    nodes: 3,
    nodeArgs: ['--snapshot-entries', String(SNAPSHOT_ENTRIES)],
  });
  const sampler = new RssSampler(cluster);
  const pool = createPool({ cluster: cluster.addresses, database: DATABASE, max: WRITERS });
  try {
    await pool.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, v BLOB)');
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (next < rows) {
          next += 1;
          await pool.exec('INSERT INTO big (v) VALUES (randomblob(?))', [ROW_KB * 1024]);
        }
      }),
    );
    const writeSeconds = (performance.now() - started) / 1000;
    const { rows: counted } = await pool.query('SELECT count(*) AS n FROM big');
    const databaseBytes = fs.statSync(`${cluster.nodes[1]?.dataDir}/db/${DATABASE}`).size;
    console.log(
      `wrote ${String(counted[0]?.n)} rows of ${ROW_KB} KiB in ${writeSeconds.toFixed(1)} s ` +
        `(${((rows * ROW_KB) / 1024 / writeSeconds).toFixed(1)} MiB/s); database file ${mib(databaseBytes)}`,
    );

    const added = await cluster.addNode();
    const admin = await connect({ cluster: cluster.addresses, database: DATABASE });
    const leader = admin.address;
    await admin.close();
    const victim = cluster.addresses.find((a) => a !== leader && a !== added.address) as string;
    const killedAt = performance.now();
    await cluster.kill(victim);
    // The newcomer is promoted only once it holds the whole database (catch-up rounds).
    for (;;) {
      const client = await connect({ cluster: [leader], database: DATABASE });
      const members = await client.cluster();
      await client.close();
      if (members.some((m) => m.address === added.address && m.role === 'voter')) break;
      if (performance.now() - killedAt > 30 * 60_000) throw new Error('no catch-up in 30 min');
      await sleep(100);
    }
    // Promotion follows Raft's copy of the snapshot; the database is in place once the engine
    // has restored it from there.
    const copyPath = `${added.dataDir}/db/${DATABASE}`;
    while (!fs.existsSync(copyPath) || fs.statSync(copyPath).size < databaseBytes) {
      if (performance.now() - killedAt > 30 * 60_000) throw new Error('no restore in 30 min');
      await sleep(100);
    }
    const catchUpSeconds = (performance.now() - killedAt) / 1000;
    const copied = fs.statSync(copyPath).size;
    console.log(
      `a new node caught up by snapshot in ${catchUpSeconds.toFixed(1)} s (its copy: ${mib(copied)})`,
    );
    sampler.stop();
    console.log('');
    console.log(`| node | role in the run | peak RSS | database | RSS / database |`);
    console.log(`| --- | --- | --- | --- | --- |`);
    for (const node of cluster.nodes) {
      const peak = sampler.peaks.get(node.address) ?? 0;
      const role =
        node.address === leader
          ? 'leader'
          : node.address === added.address
            ? 'joined, caught up by snapshot'
            : node.address === victim
              ? 'follower, killed to make room'
              : 'follower';
      console.log(
        `| ${node.address} | ${role} | ${mib(peak)} | ${mib(databaseBytes)} | ${(peak / databaseBytes).toFixed(3)} |`,
      );
    }
  } finally {
    sampler.stop();
    await pool.close();
    await cluster.stop();
  }
}

await main();
