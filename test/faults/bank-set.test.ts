// Fault runs of the bank and set workloads under kills and pauses of leaders and followers (see
// register.test.ts for the register workload and the linearizability check).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { createPool, type LeaderPool } from '../../drivers/pool/index.js';
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
import { History, saveRun } from './history.js';
import { runNemesis } from './nemesis.js';

const RUN_MS = Number(process.env.FAULT_RUN_MS ?? 10_000);
const SEED = Number(process.env.FAULT_SEED ?? 7);
const nemesis = {
  faults: ['kill-leader', 'pause-leader', 'kill-follower', 'pause-follower'] as const,
  durationMs: RUN_MS,
  intervalMs: 1500,
  faultMs: 1200,
  seed: SEED,
};

describe('bank and set workloads under kills and pauses', () => {
  let cluster: LocalCluster;
  let pool: LeaderPool;
  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    pool = createPool({ cluster: cluster.addresses, database: 'faults', timeoutMs: 10_000 });
    pool.on('error', () => undefined);
    await setUpBank(pool);
    await setUpSet(pool);
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
    await cluster?.stop();
  });

  it(
    'bank: every read of all balances keeps the total',
    async () => {
      const faults = new History<unknown, unknown>();
      const [{ reads, transfers }, injected] = await Promise.all([
        runBank(pool, { durationMs: RUN_MS, clients: 4, seed: SEED }),
        runNemesis(cluster, faults, nemesis),
      ]);
      const verdict = checkBank(reads, BANK_ACCOUNTS * BANK_BALANCE, BANK_ACCOUNTS);
      const file = saveRun('bank', { verdict, transfers, nemesis: faults.nemesis, reads });
      expect(verdict.anomalies.slice(0, 3), file).toEqual([]);
      expect(verdict.valid).toBe(true);
      expect(injected).toBeGreaterThanOrEqual(2);
      expect(reads.length).toBeGreaterThan(50);
      expect(transfers).toBeGreaterThan(50);
    },
    RUN_MS * 3 + 60_000,
  );

  it(
    'set: every acknowledged insert is there at the end',
    async () => {
      const faults = new History<unknown, unknown>();
      const [attempts, injected] = await Promise.all([
        runSet(pool, { durationMs: RUN_MS, clients: 4, seed: SEED }),
        runNemesis(cluster, faults, nemesis),
      ]);
      const finalRead = await readSet(pool);
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
    },
    RUN_MS * 3 + 60_000,
  );
});
