// What every fault run starts from: a cluster of `dqlite-ts node` processes behind partition
// proxies (and, when asked, on disks of their own), a pool the workload uses, the nemesis options
// of the CI schedule, and the register run most of them share.

import { afterAll, beforeAll, expect } from 'vitest';
import type { LocalCluster } from '../../bin/local-cluster.js';
import { createPool, type LeaderPool, type PoolOptions } from '../../drivers/pool/index.js';
import { converged } from '../cluster/node-content.js';
import { checkLinearizableByKey } from './checkers/linearizability.js';
import {
  registerModel,
  type RegisterInput,
  type RegisterOutput,
} from './checkers/register-model.js';
import { History } from './history.js';
import { runNemesis, type Fault, type NemesisOptions } from './nemesis.js';
import {
  CHURN_DATABASE,
  FAULT_DATABASE,
  startProxiedCluster,
  type ProxiedCluster,
} from './proxied-cluster.js';
import { REGISTER_TABLE, checkerHistory, runRegisterWorkload } from './register-workload.js';

/** FAULT_SEED and FAULT_RUN_MS override the schedule, to replay a run or make it longer. */
export const FAULT_SEED = Number(process.env.FAULT_SEED ?? 7);
export const faultRunMs = (defaultMs: number): number =>
  Number(process.env.FAULT_RUN_MS ?? defaultMs);
/** A run's test timeout: the run, the checker, and healing what the nemesis broke. */
export const faultTestTimeoutMs = (runMs: number): number => runMs * 3 + 60_000;

export interface FaultCluster {
  readonly proxied: ProxiedCluster;
  readonly cluster: LocalCluster;
  readonly pool: LeaderPool;
  /** The CI schedule: a fault every 1.5 s, lasting `faultMs`, for `durationMs`. */
  nemesis(faults: readonly Fault[], durationMs: number, faultMs?: number): NemesisOptions;
}

/**
 * Starts the cluster and the pool before the file's tests (then `setUp` makes the workload's
 * tables) and stops both after them. The returned object is usable inside the tests.
 */
export function useFaultCluster(options: {
  readonly disks?: boolean;
  readonly setUp: (pool: LeaderPool) => Promise<void>;
  /** How the run's pool serves reads (docs/reads.md); default from the leader. */
  readonly reads?: PoolOptions['reads'];
}): FaultCluster {
  let proxied: ProxiedCluster | undefined;
  let pool: LeaderPool | undefined;
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the fault cluster is not started (beforeAll failed)');
    return value;
  };
  beforeAll(async () => {
    proxied = await startProxiedCluster(3, { disks: options.disks === true });
    pool = createPool({
      cluster: proxied.cluster.addresses,
      database: FAULT_DATABASE,
      timeoutMs: 10_000,
      ...(options.reads === undefined ? {} : { reads: options.reads }),
    });
    pool.on('error', () => undefined); // connection attempts to a dead node; operations see it
    await options.setUp(pool);
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
    await proxied?.stop();
  });
  return {
    get proxied() {
      return started(proxied);
    },
    get cluster() {
      return started(proxied).cluster;
    },
    get pool() {
      return started(pool);
    },
    nemesis(faults, durationMs, faultMs = 1200) {
      const { proxies, disks } = started(proxied);
      return {
        faults,
        durationMs,
        intervalMs: 1500,
        faultMs,
        seed: FAULT_SEED,
        proxies,
        ...(disks === undefined ? {} : { disks }),
      };
    },
  };
}

/**
 * Six clients read, write and compare-and-set four registers while the nemesis injects
 * `faults`; the last `churnClients` of them (default 0) open a session per operation, in a
 * database of their own (churn-client.ts). The history must be linearizable, and afterwards every
 * node must hold the same rows in both databases. The history is kept in a file named after
 * `name`, which a failure names.
 */
export async function expectLinearizableRegisters(
  fixture: FaultCluster,
  run: {
    readonly name: string;
    readonly faults: readonly Fault[];
    readonly durationMs: number;
    readonly faultMs?: number;
    readonly churnClients?: number;
    /** The pool's reads may be this stale (bounded staleness): checkerHistory's shift. */
    readonly readStalenessMs?: number;
  },
): Promise<void> {
  const clients = 6;
  const churnClients = run.churnClients ?? 0;
  const history = new History<RegisterInput, RegisterOutput>();
  const [, injected] = await Promise.all([
    runRegisterWorkload(fixture.pool, history, {
      clients,
      churnClients,
      churnTarget: { cluster: fixture.cluster.addresses, database: CHURN_DATABASE },
      keys: 4,
      durationMs: run.durationMs,
      seed: FAULT_SEED,
    }),
    runNemesis(fixture.cluster, history, fixture.nemesis(run.faults, run.durationMs, run.faultMs)),
  ]);
  const verdict = checkLinearizableByKey(
    registerModel,
    checkerHistory(history, { readStalenessMs: run.readStalenessMs }),
  );
  const file = history.save(run.name, verdict);
  expect(verdict, `history in ${file}`).toEqual({ result: 'ok' });
  expect(injected, file).toBeGreaterThanOrEqual(2);
  expect(history.count('ok'), file).toBeGreaterThan(100);
  if (churnClients === 0) return expectConverged(fixture, [FAULT_DATABASE], file);
  // The churn clients (the highest ids) got answers, not only failures to connect.
  const churnedOk = history.operations.filter(
    (operation) => operation.client > clients - churnClients && operation.outcome === 'ok',
  );
  expect(churnedOk.length, file).toBeGreaterThan(0);
  await expectConverged(fixture, [FAULT_DATABASE, CHURN_DATABASE], file);
}

/**
 * Every node holds the same rows of each of `databases`. A write the leader acknowledged but
 * never replicated shows here even if no read met it. `file` is the run's record, for the message.
 */
export async function expectConverged(
  fixture: FaultCluster,
  databases: readonly string[],
  file: string,
): Promise<void> {
  for (const database of databases) {
    await converged(fixture.cluster.addresses, database).catch((error: Error) => {
      throw new Error(`${database}: ${error.message}; the run is in ${file}`, { cause: error });
    });
  }
}

export const setUpRegisters = async (pool: LeaderPool): Promise<void> => {
  await pool.exec(REGISTER_TABLE);
};
