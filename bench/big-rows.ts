// Rows of many megabytes on a 3-node dqlite-ts cluster of processes: does each commit without a
// leader change, or even a pre-vote? The client sends each row's bytes, as an application does,
// so a row of N MB is a request of N MB that the leader reassembles; the transaction's pages then
// travel as Raft entries of at most 1 MiB each (a larger transaction spans several), which the
// leader writes to its log and sends to each follower, and each follower receives, checks, writes
// and applies while its election timer runs. For each size in SIZES_MB it inserts ROWS rows one at
// a time through the pool and reports how many committed, how long each took, and how many times
// any node became pre-candidate, candidate or leader meanwhile (the nodes log it at debug level),
// and the largest event-loop delay of any node's main thread meanwhile, the check and the DELETE
// included (read from each node's /metrics before and after: the maximum resets at each read).
// `cap` is the largest row one request carries: a message just under the node's 64 MiB limit.
//
// Run: npm run bench:big-rows   (options: SIZES_MB=1,5,20,40,cap ROWS=3)
// With DQLITE_TS_CLI=dist/bin/dqlite-ts.js (after npm run build) the nodes run the build.

import { randomBytes } from 'node:crypto';
import { LocalCluster } from '../bin/local-cluster.js';
import { createPool } from '../index.js';

/** The largest row one request takes: the message cap less room for the header and the SQL. */
const CAP_BYTES = 64 * 1024 * 1024 - 4096;
const SIZES = (process.env.SIZES_MB ?? '1,5,20,40,cap')
  .split(',')
  .map((size) => (size === 'cap' ? CAP_BYTES : Number(size) * 1024 * 1024));
const ROWS = Number(process.env.ROWS ?? 3);

const cluster = await LocalCluster.start({
  nodes: 3,
  nodeArgs: ['--log-level', 'debug', '--http', '127.0.0.1:0'],
});

/** The largest event-loop delay of any node since the last call, in ms (resets the maximum). */
async function largestLoopDelayMs(): Promise<number> {
  const delays = await Promise.all(
    cluster.nodes.map(async (node) => {
      const text = await (await fetch(`http://${String(node.httpAddress)}/metrics`)).text();
      const line = /^dqlite_ts_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
      if (line === null) throw new Error(`no event-loop delay in ${node.address}'s metrics`);
      return Number(line[1]) * 1000;
    }),
  );
  return Math.max(...delays);
}
const pool = createPool({ cluster: cluster.addresses, database: 'big', timeoutMs: 120_000 });
try {
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
  console.log(
    '| row MB | committed | ms per insert (each) | pre-votes and elections meanwhile | largest event-loop delay, ms |',
  );
  console.log('| --- | --- | --- | --- | --- |');
  for (const bytes of SIZES) {
    const value = randomBytes(bytes);
    const before = cluster.campaigns().length;
    await largestLoopDelayMs();
    const times: string[] = [];
    let committed = 0;
    for (let attempt = 0; attempt < ROWS; attempt++) {
      const started = Date.now();
      try {
        await pool.exec('INSERT INTO t (v) VALUES (?)', [value]);
        committed++;
        times.push(String(Date.now() - started));
      } catch {
        times.push(`${Date.now() - started} (failed)`);
      }
    }
    const { rows } = await pool.query('SELECT count(*) AS n FROM t WHERE v = ?', [value]);
    if (Number(rows[0]?.n) !== committed) {
      throw new Error(`${committed} inserts committed, but the table holds ${String(rows[0]?.n)}`);
    }
    await pool.exec('DELETE FROM t');
    const delayMs = await largestLoopDelayMs();
    const changes = cluster.campaigns().length - before;
    const megabytes = (bytes / 1024 / 1024).toFixed(bytes === CAP_BYTES ? 3 : 0);
    console.log(
      `| ${megabytes} | ${committed}/${ROWS} | ${times.join(', ')} | ${changes} | ${delayMs.toFixed(0)} |`,
    );
  }
} finally {
  await pool.close();
  await cluster.stop();
}
