// `npm run faults -- [--time SECONDS] [--nemesis all|kill-leader,partition-leader,...] [--seed N]
// [--clients N] [--churn-clients N] [--keys N] [--pause MS] [--nodes 3|5]`: one fault run of any
// length, with the register workload, against a fresh 3-node cluster of `dqlite-ts node` processes
// behind partition proxies (`all`: kills, pauses, partitions, full and slow disks of leaders and
// followers, and a follower's removal; disk faults need root and gcc). `--churn-clients N` (default
// 0, at most --clients) makes N of the clients churn: each operation on a session of its own
// (`connect` or a fresh pool), sometimes quiet past the pool's idle timeout, in a database and on
// registers of their own (churn-client.ts). Prints the verdict and the history file; exits 1 when
// the history is not linearizable or the nodes do not end with the same rows. CI runs
// test/faults/*.test.ts.

import { parseArgs } from 'node:util';
import { createPool } from '../../drivers/pool/index.js';
import { converged } from '../cluster/node-content.js';
import { checkLinearizableByKey } from './checkers/linearizability.js';
import {
  registerModel,
  type RegisterInput,
  type RegisterOutput,
} from './checkers/register-model.js';
import { History } from './history.js';
import { diskFaultsUnavailable } from './disks.js';
import {
  diskFaults,
  membershipFaults,
  partitionFaults,
  processFaults,
  runNemesis,
  type Fault,
} from './nemesis.js';
import { CHURN_DATABASE, FAULT_DATABASE, startProxiedCluster } from './proxied-cluster.js';
import { REGISTER_TABLE, checkerHistory, runRegisterWorkload } from './register-workload.js';

const allFaults: readonly Fault[] = [
  ...processFaults,
  ...partitionFaults,
  ...membershipFaults,
  ...diskFaults,
];
const timeMax = 24 * 3600;

function options() {
  const { values } = parseArgs({
    options: {
      time: { type: 'string', default: '60' },
      nemesis: { type: 'string', default: 'all' },
      seed: { type: 'string', default: String(Date.now() % 100_000) },
      clients: { type: 'string', default: '6' },
      'churn-clients': { type: 'string', default: '0' },
      keys: { type: 'string', default: '4' },
      nodes: { type: 'string', default: '3' },
      // Each client's pause between operations: a long run's history must stay checkable.
      pause: { type: 'string', default: '0' },
    },
  });
  const clients = Number(values.clients);
  const churnClients = Number(values['churn-clients']);
  if (!(Number.isSafeInteger(churnClients) && churnClients >= 0 && churnClients <= clients))
    throw new RangeError('--churn-clients must be 0..--clients');
  const time = Number(values.time);
  if (!(time > 0 && time <= timeMax)) throw new RangeError(`--time must be 1..${timeMax} seconds`);
  const faults = values.nemesis === 'all' ? allFaults : (values.nemesis.split(',') as Fault[]);
  for (const fault of faults)
    if (!allFaults.includes(fault))
      throw new RangeError(`unknown fault ${fault} (${allFaults.join(', ')})`);
  return {
    timeMs: time * 1000,
    faults,
    seed: Number(values.seed),
    clients,
    churnClients,
    keys: Number(values.keys),
    nodes: Number(values.nodes),
    pauseMs: Number(values.pause),
  };
}

/** Whether every node ends with the same rows of `database` (node-content.ts); says which. */
async function nodesAgree(addresses: readonly string[], database: string): Promise<boolean> {
  try {
    const common = await converged(addresses, database);
    console.log(`${database} converged: every node holds ${JSON.stringify(common.rows)} rows`);
    return true;
  } catch (error) {
    // The verdict, not a crash: the run's record is already saved.
    console.log(`${database} not converged: ${error instanceof Error ? error.message : error}`);
    return false;
  }
}

async function main(): Promise<number> {
  const run = options();
  console.log(
    `fault run: ${run.nodes} nodes, ${run.timeMs / 1000} s, faults ${run.faults.join(', ')}, ` +
      `seed ${run.seed}, ${run.clients} clients (${run.churnClients} churn)`,
  );
  if (run.nodes !== 3 && run.nodes !== 5) throw new RangeError('--nodes must be 3 or 5');
  const disks = run.faults.some((fault) => diskFaults.includes(fault));
  const unavailable = disks ? diskFaultsUnavailable() : null;
  if (unavailable !== null) throw new Error(unavailable);
  const proxied = await startProxiedCluster(run.nodes, { disks });
  const cluster = proxied.cluster;
  const pool = createPool({
    cluster: cluster.addresses,
    database: FAULT_DATABASE,
    timeoutMs: 10_000,
  });
  pool.on('error', () => undefined);
  try {
    await pool.exec(REGISTER_TABLE);
    const history = new History<RegisterInput, RegisterOutput>();
    const [, injected] = await Promise.all([
      runRegisterWorkload(pool, history, {
        clients: run.clients,
        churnClients: run.churnClients,
        churnTarget: { cluster: cluster.addresses, database: CHURN_DATABASE },
        keys: run.keys,
        durationMs: run.timeMs,
        seed: run.seed,
        operationsMax: 10_000_000,
        ...(run.pauseMs > 0 ? { pauseMs: run.pauseMs } : {}),
      }),
      runNemesis(cluster, history, {
        faults: run.faults,
        durationMs: run.timeMs,
        intervalMs: 1500,
        faultMs: 1200,
        seed: run.seed,
        proxies: proxied.proxies,
        ...(proxied.disks === undefined ? {} : { disks: proxied.disks }),
      }),
    ]);
    const started = performance.now();
    const verdict = checkLinearizableByKey(registerModel, checkerHistory(history), {
      stepsMax: 100_000_000,
    });
    const file = history.save('register', verdict);
    console.log(
      `${injected} faults; operations ok ${history.count('ok')}, failed ${history.count('fail')}, ` +
        `unknown ${history.count('unknown')}; checked in ${Math.round(performance.now() - started)} ms`,
    );
    console.log(`verdict: ${JSON.stringify(verdict)}`);
    console.log(`history: ${file}`);
    let agreed = await nodesAgree(cluster.addresses, FAULT_DATABASE);
    if (run.churnClients > 0)
      agreed = (await nodesAgree(cluster.addresses, CHURN_DATABASE)) && agreed;
    return verdict.result === 'illegal' || !agreed ? 1 : 0;
  } finally {
    await pool.close();
    await proxied.stop();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
