// A fault run of the list-append workload under kills and pauses of leaders and followers,
// checked for the anomalies Elle names (G0, G1a, G1b, G1c, G-single, G2, lost appends).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { createPool, type LeaderPool } from '../../drivers/pool/index.js';
import { checkListAppend } from './checkers/list-append.js';
import { History, saveRun } from './history.js';
import { readAllLists, runListAppend, setUpLists } from './list-append-workload.js';
import { runNemesis } from './nemesis.js';

const RUN_MS = Number(process.env.FAULT_RUN_MS ?? 10_000);
const SEED = Number(process.env.FAULT_SEED ?? 7);

describe('list-append workload under kills and pauses', () => {
  let cluster: LocalCluster;
  let pool: LeaderPool;
  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    pool = createPool({ cluster: cluster.addresses, database: 'faults', timeoutMs: 10_000 });
    pool.on('error', () => undefined);
    await setUpLists(pool);
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
    await cluster?.stop();
  });

  it(
    'shows no dependency cycle, no aborted or intermediate read, and no lost append',
    async () => {
      const faults = new History<unknown, unknown>();
      const [transactions, injected] = await Promise.all([
        runListAppend(pool, { durationMs: RUN_MS, clients: 4, keys: 6, seed: SEED }),
        runNemesis(cluster, faults, {
          faults: ['kill-leader', 'pause-leader', 'kill-follower', 'pause-follower'],
          durationMs: RUN_MS,
          intervalMs: 1500,
          faultMs: 1200,
          seed: SEED,
        }),
      ]);
      const finalRead = await readAllLists(pool);
      const verdict = checkListAppend(transactions, finalRead);
      const file = saveRun('list-append', {
        verdict,
        nemesis: faults.nemesis,
        transactions,
        finalRead: [...finalRead],
      });
      expect(verdict.anomalies.slice(0, 5), file).toEqual([]);
      expect(transactions.filter((txn) => txn.outcome === 'ok').length, file).toBeGreaterThan(100);
      expect(injected, file).toBeGreaterThanOrEqual(2);
    },
    RUN_MS * 3 + 60_000,
  );
});
