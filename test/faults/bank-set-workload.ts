// Two more workloads for fault runs. Bank: transfers between accounts in transactions through
// `pool.transaction`, and reads of every balance in one statement; the total must never change.
// Set: unique inserts, some by churn clients (churn-client.ts); every acknowledged one must be
// there at the end.

import { setTimeout as sleep } from 'node:timers/promises';
import type { LeaderPool } from '../../drivers/pool/index.js';
import type { BankRead } from './checkers/bank.js';
import {
  churnClientOf,
  churnPlanOf,
  onceInChurnDatabase,
  type ChurnOptions,
  type ChurnTarget,
} from './churn-client.js';
import { failedForCertain } from './failed-for-certain.js';
import { seeded } from './seeded.js';
import { poolConnection, type WorkloadConnection } from './workload-connection.js';

export const BANK_ACCOUNTS = 5;
export const BANK_BALANCE = 100;

export async function setUpBank(pool: LeaderPool): Promise<void> {
  await pool.exec(
    'CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)',
  );
  for (let id = 0; id < BANK_ACCOUNTS; id++) {
    await pool.exec('INSERT OR IGNORE INTO accounts (id, balance) VALUES (?, ?)', [
      id,
      BANK_BALANCE,
    ]);
  }
}

export interface WorkloadRun {
  readonly durationMs: number;
  readonly clients: number;
  readonly seed: number;
}

/** Transfers and reads until the time is up; returns every successful read. */
export async function runBank(
  pool: LeaderPool,
  run: WorkloadRun,
): Promise<{ reads: BankRead[]; transfers: number }> {
  const reads: BankRead[] = [];
  let transfers = 0;
  const deadline = performance.now() + run.durationMs;
  const client = async (id: number) => {
    const random = seeded(run.seed * 100 + id);
    for (let n = 0; n < 1_000_000 && performance.now() < deadline; n++) {
      try {
        if (random() < 0.5) {
          const { rows } = await pool.query('SELECT id, balance FROM accounts', [], {
            rowMode: 'array',
          });
          const balances: Record<string, number> = {};
          for (const row of rows as unknown[][]) balances[String(row[0])] = Number(row[1]);
          reads.push({ client: id, time: performance.now(), balances });
        } else {
          const from = Math.floor(random() * BANK_ACCOUNTS);
          const to = (from + 1 + Math.floor(random() * (BANK_ACCOUNTS - 1))) % BANK_ACCOUNTS;
          const amount = 1 + Math.floor(random() * 10);
          await pool.transaction(async (tx) => {
            const { rows } = await tx.query('SELECT balance FROM accounts WHERE id = ?', [from], {
              rowMode: 'array',
            });
            // Only what the account holds moves: a negative balance is an anomaly.
            if (Number((rows[0] as unknown[])[0]) < amount) return;
            await tx.exec('UPDATE accounts SET balance = balance - ? WHERE id = ?', [amount, from]);
            await tx.exec('UPDATE accounts SET balance = balance + ? WHERE id = ?', [amount, to]);
          });
          transfers++;
        }
      } catch {
        // A failed transfer either committed whole or not at all: the reads judge it.
        await sleep(5);
      }
    }
  };
  await Promise.all(Array.from({ length: run.clients }, (_, id) => client(id + 1)));
  return { reads, transfers };
}

const SET_TABLE = 'CREATE TABLE IF NOT EXISTS elements (e INTEGER PRIMARY KEY)';

export async function setUpSet(pool: LeaderPool): Promise<void> {
  await pool.exec(SET_TABLE);
}

/**
 * A set run: the churn options (churn-client.ts) count churn clients among `clients`; they insert
 * into their own database, and the final read is of both (`readSet`).
 */
export interface SetRun extends WorkloadRun, ChurnOptions {}

/** Unique inserts until the time is up; returns each element's outcome. */
export async function runSet(
  pool: LeaderPool,
  run: SetRun,
): Promise<Map<number, 'ok' | 'fail' | 'unknown'>> {
  const attempts = new Map<number, 'ok' | 'fail' | 'unknown'>();
  const churnPlan = churnPlanOf(run.clients, run);
  if (churnPlan !== undefined) {
    await onceInChurnDatabase(churnPlan.target, (connection) => connection.exec(SET_TABLE, []));
  }
  const deadline = performance.now() + run.durationMs;
  const pooled = poolConnection(pool);
  const insert = 'INSERT INTO elements (e) VALUES (?)';
  const client = async (id: number) => {
    const churn = churnClientOf(churnPlan, id, seeded(run.seed * 100 + id), deadline);
    for (let n = 0; n < 1_000_000 && performance.now() < deadline; n++) {
      const element = id * 10_000_000 + n;
      try {
        if (churn === undefined) await pooled.exec(insert, [element]);
        else await churn.run((connection) => connection.exec(insert, [element]));
        attempts.set(element, 'ok');
      } catch (error) {
        // Unless it certainly failed, whether it committed is unknown; the final read tells.
        attempts.set(element, failedForCertain('write', error) ? 'fail' : 'unknown');
        await sleep(5);
      }
      await churn?.rest();
    }
  };
  await Promise.all(Array.from({ length: run.clients }, (_, id) => client(id + 1)));
  return attempts;
}

/** Every element in the pool's database and, when given, the churn clients' database. */
export async function readSet(pool: LeaderPool, churnTarget?: ChurnTarget): Promise<number[]> {
  const read = async (connection: WorkloadConnection) =>
    (await connection.query('SELECT e FROM elements', [])).map((row) => Number(row[0]));
  const churned = churnTarget === undefined ? [] : await onceInChurnDatabase(churnTarget, read);
  return [...(await read(poolConnection(pool))), ...churned];
}
