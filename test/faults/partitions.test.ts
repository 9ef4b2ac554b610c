// The register workload while the nemesis partitions the cluster: the leader cut off from both
// followers (clients still reach it, so it must notice and stop answering), one follower cut off,
// and one-way loss from the leader to a follower. The history must stay linearizable, which also
// tests that a leader's lease ends before anyone else can lead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type LeaderPool } from '../../drivers/pool/index.js';
import { checkLinearizableByKey } from './checkers/linearizability.js';
import {
  registerModel,
  type RegisterInput,
  type RegisterOutput,
} from './checkers/register-model.js';
import { History } from './history.js';
import { partitionFaults, runNemesis } from './nemesis.js';
import { startProxiedCluster, type ProxiedCluster } from './proxied-cluster.js';
import { REGISTER_TABLE, checkerHistory, runRegisterWorkload } from './register-workload.js';

const RUN_MS = Number(process.env.FAULT_RUN_MS ?? 12_000);
const SEED = Number(process.env.FAULT_SEED ?? 7);

describe('register workload under partitions', () => {
  let proxied: ProxiedCluster;
  let pool: LeaderPool;
  beforeAll(async () => {
    proxied = await startProxiedCluster();
    pool = createPool({
      cluster: proxied.cluster.addresses,
      database: 'faults',
      timeoutMs: 10_000,
    });
    pool.on('error', () => undefined);
    await pool.exec(REGISTER_TABLE);
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
    await proxied?.stop();
  });

  it(
    'stays linearizable',
    async () => {
      const history = new History<RegisterInput, RegisterOutput>();
      const [, injected] = await Promise.all([
        runRegisterWorkload(pool, history, { clients: 6, keys: 4, durationMs: RUN_MS, seed: SEED }),
        runNemesis(proxied.cluster, history, {
          faults: partitionFaults,
          durationMs: RUN_MS,
          intervalMs: 1500,
          faultMs: 1500,
          seed: SEED,
          proxies: proxied.proxies,
        }),
      ]);
      const verdict = checkLinearizableByKey(registerModel, checkerHistory(history));
      const file = history.save('register-partitions', verdict);
      expect(verdict, `history in ${file}`).toEqual({ result: 'ok' });
      expect(injected, file).toBeGreaterThanOrEqual(2);
      expect(history.count('ok'), file).toBeGreaterThan(100);
    },
    RUN_MS * 3 + 60_000,
  );
});
