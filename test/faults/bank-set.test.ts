// Fault runs of the bank and set workloads under kills and pauses of leaders and followers (see
// register.test.ts for the register workload and the linearizability check). One of the set's
// clients churns, a session per insert in a database of its own (churn-client.ts); afterwards
// every node must hold the same rows of both databases.
import { describe, expect, it } from 'vitest';
import {
  BANK_ACCOUNTS,
  BANK_BALANCE,
  readSet,
  runBank,
  runSet,
  setUpBank,
  setUpSet,
} from './bank-set-workload.js';
import { checkBank } from './checkers/bank.js';
import { checkSet } from './checkers/set.js';
import {
  FAULT_SEED,
  expectConverged,
  faultRunMs,
  faultTestTimeoutMs,
  useFaultCluster,
} from './fault-cluster.js';
import { History, saveRun } from './history.js';
import { processFaults, runNemesis } from './nemesis.js';
import { CHURN_DATABASE, FAULT_DATABASE } from './proxied-cluster.js';

const RUN_MS = faultRunMs(10_000);

describe('bank and set workloads under kills and pauses', () => {
  const fixture = useFaultCluster({
    setUp: async (pool) => {
      await setUpBank(pool);
      await setUpSet(pool);
    },
  });

  it(
    'bank: every read of all balances keeps the total',
    async () => {
      const faults = new History<unknown, unknown>();
      const [{ reads, transfers }, injected] = await Promise.all([
        runBank(fixture.pool, { durationMs: RUN_MS, clients: 4, seed: FAULT_SEED }),
        runNemesis(fixture.cluster, faults, fixture.nemesis(processFaults, RUN_MS)),
      ]);
      const verdict = checkBank(reads, BANK_ACCOUNTS * BANK_BALANCE, BANK_ACCOUNTS);
      const file = saveRun('bank', { verdict, transfers, nemesis: faults.nemesis, reads });
      expect(verdict.anomalies.slice(0, 3), file).toEqual([]);
      expect(verdict.valid).toBe(true);
      expect(injected).toBeGreaterThanOrEqual(2);
      expect(reads.length).toBeGreaterThan(50);
      expect(transfers).toBeGreaterThan(50);
    },
    faultTestTimeoutMs(RUN_MS),
  );

  it(
    'set: every acknowledged insert is there at the end',
    async () => {
      const faults = new History<unknown, unknown>();
      const churnTarget = { cluster: fixture.cluster.addresses, database: CHURN_DATABASE };
      const [attempts, injected] = await Promise.all([
        runSet(fixture.pool, {
          durationMs: RUN_MS,
          clients: 4,
          churnClients: 1,
          churnTarget,
          seed: FAULT_SEED,
        }),
        runNemesis(fixture.cluster, faults, fixture.nemesis(processFaults, RUN_MS)),
      ]);
      const finalRead = await readSet(fixture.pool, churnTarget);
      const verdict = checkSet(attempts, finalRead);
      const file = saveRun('set', {
        verdict,
        nemesis: faults.nemesis,
        attempts: [...attempts],
        finalRead,
      });
      const wrong = { lost: verdict.lost.slice(0, 5), unexpected: verdict.unexpected.slice(0, 5) };
      expect(wrong, file).toEqual({ lost: [], unexpected: [] });
      expect(verdict.acknowledged).toBeGreaterThan(100);
      expect(injected).toBeGreaterThanOrEqual(2);
      await expectConverged(fixture, [FAULT_DATABASE, CHURN_DATABASE], file);
    },
    faultTestTimeoutMs(RUN_MS),
  );
});
