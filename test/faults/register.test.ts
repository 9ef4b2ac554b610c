// A fault run: clients read, write and compare-and-set registers through the pool while the
// nemesis kills and pauses leaders and followers of a 3-node cluster of processes and removes a
// follower (which then joins again); the history must be linearizable
// (checkers/linearizability.ts). The run's history is kept in a file under the temporary
// directory; a failure names it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { createPool, type LeaderPool } from '../../drivers/pool/index.js';
import { checkLinearizableByKey } from './checkers/linearizability.js';
import {
  registerModel,
  type RegisterInput,
  type RegisterOutput,
} from './checkers/register-model.js';
import { History } from './history.js';
import { runNemesis } from './nemesis.js';
import { REGISTER_TABLE, checkerHistory, runRegisterWorkload } from './register-workload.js';

const RUN_MS = Number(process.env.FAULT_RUN_MS ?? 12_000);
const SEED = Number(process.env.FAULT_SEED ?? 7);

describe('register workload under kills, pauses and a removal', () => {
  let cluster: LocalCluster;
  let pool: LeaderPool;
  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    pool = createPool({ cluster: cluster.addresses, database: 'faults', timeoutMs: 10_000 });
    pool.on('error', () => undefined); // connection attempts to a dead node; operations see it
    await pool.exec(REGISTER_TABLE);
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
    await cluster?.stop();
  });

  it(
    'stays linearizable',
    async () => {
      const history = new History<RegisterInput, RegisterOutput>();
      const [, injected] = await Promise.all([
        runRegisterWorkload(pool, history, { clients: 6, keys: 4, durationMs: RUN_MS, seed: SEED }),
        runNemesis(cluster, history, {
          faults: [
            'kill-leader',
            'pause-leader',
            'kill-follower',
            'pause-follower',
            'remove-follower',
          ],
          durationMs: RUN_MS,
          intervalMs: 1500,
          faultMs: 1200,
          seed: SEED,
        }),
      ]);
      const verdict = checkLinearizableByKey(registerModel, checkerHistory(history));
      const file = history.save('register', verdict);
      expect(verdict, `history in ${file}`).toEqual({ result: 'ok' });
      expect(injected, file).toBeGreaterThanOrEqual(2);
      expect(history.count('ok'), file).toBeGreaterThan(100);
    },
    RUN_MS * 3 + 60_000,
  );
});
