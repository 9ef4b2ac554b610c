// Rows of many megabytes on a 3-node dqlite-ts cluster of processes: does each commit without a
// leader change? One transaction is one Raft entry, so a row of N MB is an entry of about N MB
// that the leader writes to its log and sends to each follower, and each follower receives,
// checks, writes and applies while its election timer runs. For each size in SIZES_MB it inserts
// ROWS rows one at a time through the pool and reports how many committed, how long each took,
// and how many times any node became candidate or leader meanwhile (the node logs say so).
//
// Run: npm run bench:big-rows   (options: SIZES_MB=1,5,20,40,60 ROWS=3)
// With DQLITE_TS_CLI=dist/bin/dqlite-ts.js (after npm run build) the nodes run the build.

import { LocalCluster } from '../bin/local-cluster.js';
import { createPool } from '../index.js';

const SIZES_MB = (process.env.SIZES_MB ?? '1,5,20,40,60').split(',').map(Number);
const ROWS = Number(process.env.ROWS ?? 3);

/** Times any node logged becoming candidate or leader so far. */
function elections(cluster: LocalCluster): number {
  let count = 0;
  for (const node of cluster.nodes) {
    count += (node.logs().match(/"msg":"became (candidate|leader)"/g) ?? []).length;
  }
  return count;
}

const cluster = await LocalCluster.start({ nodes: 3 });
const pool = createPool({ cluster: cluster.addresses, database: 'big', timeoutMs: 120_000 });
try {
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
  console.log('| row MB | committed | ms per insert (each) | elections meanwhile |');
  console.log('| --- | --- | --- | --- |');
  for (const megabytes of SIZES_MB) {
    const before = elections(cluster);
    const times: string[] = [];
    let committed = 0;
    for (let row = 0; row < ROWS; row++) {
      const started = Date.now();
      try {
        await pool.exec('INSERT INTO t (v) VALUES (randomblob(?))', [megabytes * 1024 * 1024]);
        committed++;
        times.push(String(Date.now() - started));
      } catch {
        times.push(`${Date.now() - started} (failed)`);
      }
    }
    await pool.exec('DELETE FROM t');
    const changes = elections(cluster) - before;
    console.log(`| ${megabytes} | ${committed}/${ROWS} | ${times.join(', ')} | ${changes} |`);
  }
} finally {
  await pool.close();
  await cluster.stop();
}
