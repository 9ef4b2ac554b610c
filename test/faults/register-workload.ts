// The register workload: clients read, write and compare-and-set a few keys, each operation
// recorded; the linearizability checker then judges the history per key. Most clients share the
// run's pool; churn clients (churn-client.ts) open a session for every operation, in a database
// of their own, on registers of their own.

import { setTimeout as sleep } from 'node:timers/promises';
import type { LeaderPool } from '../../drivers/pool/index.js';
import {
  churnClientOf,
  churnPlanOf,
  onceInChurnDatabase,
  type ChurnOptions,
} from './churn-client.js';
import { failedForCertain } from './failed-for-certain.js';
import type { History } from './history.js';
import type { Operation } from './checkers/linearizability.js';
import type { RegisterInput, RegisterOutput } from './checkers/register-model.js';
import { seeded } from './seeded.js';
import { poolConnection, type WorkloadConnection } from './workload-connection.js';

export const REGISTER_TABLE =
  'CREATE TABLE IF NOT EXISTS registers (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)';

/**
 * The churn options (churn-client.ts) count churn clients among `clients`. Pooled clients use
 * registers 0 to `keys - 1`, churn clients `keys` to `2 * keys - 1` in their own database, so
 * each key names one register.
 */
export interface RegisterWorkloadOptions extends ChurnOptions {
  readonly clients: number;
  readonly keys: number;
  readonly durationMs: number;
  readonly seed: number;
  /** Backstop on operations per client, beside the time. */
  readonly operationsMax?: number;
  /** A pause after each operation, to run long with a history the checker can take. */
  readonly pauseMs?: number;
}

/** A client's next operation: half reads, the rest writes and compare-and-sets from `lastSeen`. */
function nextInput(
  random: () => number,
  value: number,
  lastSeen: number | undefined,
): RegisterInput {
  const roll = random();
  if (roll < 0.5) return { type: 'read' };
  if (roll < 0.8) return { type: 'write', value };
  return { type: 'cas', from: lastSeen ?? 0, to: value };
}

/** Runs the clients until the time is up, recording into `history`. */
export async function runRegisterWorkload(
  pool: LeaderPool,
  history: History<RegisterInput, RegisterOutput>,
  options: RegisterWorkloadOptions,
): Promise<void> {
  const churnPlan = churnPlanOf(options.clients, options);
  if (churnPlan !== undefined) {
    await onceInChurnDatabase(churnPlan.target, (connection) =>
      connection.exec(REGISTER_TABLE, []),
    );
  }
  const deadline = performance.now() + options.durationMs;
  const pooled = poolConnection(pool);
  /** The last value any client read per key: compare-and-sets mostly aim at a live value. */
  const lastSeen = new Map<number, number>();
  const client = async (id: number) => {
    const random = seeded(options.seed * 1000 + id);
    const churn = churnClientOf(churnPlan, id, random, deadline);
    for (let n = 0; n < (options.operationsMax ?? 100_000) && performance.now() < deadline; n++) {
      const key = (churn === undefined ? 0 : options.keys) + Math.floor(random() * options.keys);
      // Unique values: a read names the one write it saw.
      const input = nextInput(random, id * 1_000_000 + n, lastSeen.get(key));
      const operation = history.invoke(id, key, input);
      try {
        const output =
          churn === undefined
            ? await execute(pooled, key, input)
            : await churn.run((connection) => execute(connection, key, input));
        history.complete(operation, output);
        if (output.type === 'read' && output.value !== null) lastSeen.set(key, output.value);
      } catch (error) {
        const kind = input.type === 'read' ? 'read' : 'write';
        history.failed(operation, error, failedForCertain(kind, error));
      }
      await churn?.rest();
      if (options.pauseMs !== undefined) await sleep(options.pauseMs);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, id) => client(id + 1)));
}

async function execute(
  connection: WorkloadConnection,
  key: number,
  input: RegisterInput,
): Promise<RegisterOutput> {
  switch (input.type) {
    case 'read': {
      const rows = await connection.query('SELECT v FROM registers WHERE k = ?', [key]);
      const row = rows[0];
      return { type: 'read', value: row === undefined ? null : Number(row[0]) };
    }
    case 'write':
      await connection.exec(
        'INSERT INTO registers (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
        [key, input.value],
      );
      return { type: 'written' };
    case 'cas': {
      const result = await connection.exec('UPDATE registers SET v = ? WHERE k = ? AND v = ?', [
        input.to,
        key,
        input.from,
      ]);
      return { type: 'cas', swapped: result.rowsAffected === 1 };
    }
  }
}

/**
 * The history as the checker takes it: failed operations out, unknown ones open-ended. With
 * `readStalenessMs`, each read is taken as called that much earlier: a bounded-staleness read
 * (docs/reads.md) may miss what was acknowledged in the last `readStalenessMs` before it was
 * asked, and nothing older. Linearizable with the shift is exactly that guarantee.
 */
export function checkerHistory(
  history: History<RegisterInput, RegisterOutput>,
  options: { readonly readStalenessMs?: number } = {},
): (Operation<RegisterInput, RegisterOutput> & { key: number })[] {
  const staleness = options.readStalenessMs ?? 0;
  return history.operations.flatMap((operation) => {
    if (operation.outcome === 'fail' || operation.outcome === undefined) return [];
    return [
      {
        client: operation.client,
        key: operation.key,
        input: operation.input,
        output: operation.output ?? { type: 'unknown' },
        call: operation.input.type === 'read' ? operation.call - staleness : operation.call,
        return: operation.outcome === 'unknown' ? Infinity : (operation.return as number),
      },
    ];
  });
}
