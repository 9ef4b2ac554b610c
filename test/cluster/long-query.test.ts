// docs/architecture.md, "The event loop is sacred": a 10-second query on the leader must not cost
// it its leadership. Three real nodes (createNode, SQL in each node's worker) in this process; the
// query runs on the leader while the test watches every node's view of the leader.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { connect } from '../../index.js';
import { requestOnce } from '../../src/server/cluster-client.js';
import { checkAndStop } from './node-content.js';

const queryMsMin = 10_000;
let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await LocalCluster.start({ nodes: 3 });
}, 60_000);

afterAll(async () => {
  await checkAndStop(cluster);
});

/**
 * Rows a recursive count must produce to keep SQLite busy for at least `ms` on this machine. The
 * fastest of three probes sets the rate, plus half again: a probe slowed by a busy moment would
 * otherwise make the real query too short to test anything (it once ran 9.7 s in CI with one
 * probe and 20% margin).
 */
function rowsForMilliseconds(ms: number): number {
  const probe = new Database(':memory:');
  const rows = 2_000_000;
  let fastestMs = Infinity;
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = process.hrtime.bigint();
    probe.prepare(countSql(rows)).get();
    fastestMs = Math.min(fastestMs, Number(process.hrtime.bigint() - started) / 1e6);
  }
  probe.close();
  return Math.ceil((rows / fastestMs) * ms * 1.5);
}

function countSql(rows: number): string {
  return `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) SELECT count(*) FROM c`;
}

describe('a long query on the leader', () => {
  it('runs 10+ seconds without an election; Raft keeps its timers', async () => {
    const client = await connect({
      cluster: cluster.addresses,
      database: 'app',
      requestTimeoutMs: 120_000,
    });
    const leader = client.address;
    const rows = rowsForMilliseconds(queryMsMin);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // Each node's own answer to LEADER, asked every 50 ms on fresh connections.
    const views = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        await Promise.all(
          cluster.addresses.map(async (address) => {
            const answer = await requestOnce(address, { type: 'LEADER', unused: 0n }, 1000).catch(
              (error: Error) => ({ type: 'error', address: error.message }),
            );
            views.add(
              `${address} sees ${'address' in answer ? answer.address || 'no leader' : '?'}`,
            );
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const started = Date.now();
    const result = await client.query(countSql(rows));
    const queryMs = Date.now() - started;
    watching = false;
    await watcher;
    loopDelay.disable();
    await client.close();
    console.log(
      `long query: ${queryMs} ms on the leader; the test process's event-loop delay max ${(loopDelay.max / 1e6).toFixed(1)} ms`,
    );
    expect(result.rows).toEqual([[rows]]);
    expect(queryMs).toBeGreaterThanOrEqual(queryMsMin);
    // Every node named the same leader throughout: no election happened.
    expect([...views].sort()).toEqual(
      cluster.addresses.map((address) => `${address} sees ${leader}`).sort(),
    );
  }, 120_000);
});
