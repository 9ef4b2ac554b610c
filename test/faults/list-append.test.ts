// A fault run of the list-append workload under kills and pauses of leaders and followers,
// checked for the anomalies Elle names (G0, G1a, G1b, G1c, G-single, G2, lost appends).
import { describe, expect, it } from 'vitest';
import { checkListAppend } from './checkers/list-append.js';
import { FAULT_SEED, faultRunMs, faultTestTimeoutMs, useFaultCluster } from './fault-cluster.js';
import { History, saveRun } from './history.js';
import { readAllLists, runListAppend, setUpLists } from './list-append-workload.js';
import { processFaults, runNemesis } from './nemesis.js';

const RUN_MS = faultRunMs(10_000);

describe('list-append workload under kills and pauses', () => {
  const fixture = useFaultCluster({ setUp: setUpLists });

  it(
    'shows no dependency cycle, no aborted or intermediate read, and no lost append',
    async () => {
      const faults = new History<unknown, unknown>();
      const [transactions, injected] = await Promise.all([
        runListAppend(fixture.pool, {
          durationMs: RUN_MS,
          clients: 4,
          keys: 6,
          seed: FAULT_SEED,
        }),
        runNemesis(fixture.cluster, faults, fixture.nemesis(processFaults, RUN_MS)),
      ]);
      const finalRead = await readAllLists(fixture.pool);
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
    faultTestTimeoutMs(RUN_MS),
  );
});
