// The list-append workload: transactions of one to four micro-operations, each an append of a
// unique value to a key's list or a read of it, through `pool.transaction`; judged by
// checkers/list-append.ts (Elle's way).

import { setTimeout as sleep } from 'node:timers/promises';
import {
  TransactionReplayError,
  TransactionRetriesExhaustedError,
  type LeaderPool,
  type Transaction as PoolTransaction,
} from '../../drivers/pool/index.js';
import type { MicroOp, Transaction } from './checkers/list-append.js';
import { seeded } from './seeded.js';

export async function setUpLists(pool: LeaderPool): Promise<void> {
  await pool.exec(
    "CREATE TABLE IF NOT EXISTS lists (k INTEGER PRIMARY KEY, v TEXT NOT NULL DEFAULT '')",
  );
}

function parse(text: unknown): number[] {
  return typeof text === 'string' && text !== '' ? text.split(',').map(Number) : [];
}

async function readList(tx: PoolTransaction, key: number): Promise<number[]> {
  const { rows } = await tx.query('SELECT v FROM lists WHERE k = ?', [key], { rowMode: 'array' });
  return parse((rows[0] as unknown[] | undefined)?.[0]);
}

export interface ListAppendRun {
  readonly durationMs: number;
  readonly clients: number;
  readonly keys: number;
  readonly seed: number;
}

/** Runs transactions until the time is up; returns them with their outcomes. */
export async function runListAppend(pool: LeaderPool, run: ListAppendRun): Promise<Transaction[]> {
  const transactions: Transaction[] = [];
  let nextId = 1;
  const deadline = performance.now() + run.durationMs;
  const client = async (clientId: number) => {
    const random = seeded(run.seed * 100 + clientId);
    for (let n = 0; n < 1_000_000 && performance.now() < deadline; n++) {
      const plan: MicroOp[] = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => {
        const key = Math.floor(random() * run.keys);
        return random() < 0.5
          ? { type: 'append', key, value: clientId * 1_000_000 + n * 4 + i }
          : { type: 'read', key, value: undefined };
      });
      const id = nextId++;
      try {
        // Each attempt records afresh: the pool may run the function again after a rollback.
        const ops = await pool.transaction(async (tx) => {
          const done: MicroOp[] = [];
          for (const op of plan) {
            if (op.type === 'read') done.push({ ...op, value: await readList(tx, op.key) });
            else {
              await tx.exec(
                "INSERT INTO lists (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = CASE v WHEN '' THEN excluded.v ELSE v || ',' || excluded.v END",
                [op.key, String(op.value)],
              );
              done.push(op);
            }
          }
          return done;
        });
        transactions.push({ id, outcome: 'ok', ops });
      } catch (error) {
        // Rolled back for sure, or (anything else, the commit among it) unknown.
        const failed =
          error instanceof TransactionRetriesExhaustedError ||
          error instanceof TransactionReplayError;
        transactions.push({ id, outcome: failed ? 'fail' : 'unknown', ops: plan });
        await sleep(5);
      }
    }
  };
  await Promise.all(Array.from({ length: run.clients }, (_, i) => client(i + 1)));
  return transactions;
}

/** Every list, read in one transaction once the faults are healed. */
export async function readAllLists(pool: LeaderPool): Promise<Map<number, number[]>> {
  const { rows } = await pool.query('SELECT k, v FROM lists', [], { rowMode: 'array' });
  return new Map((rows as unknown[][]).map((row) => [Number(row[0]), parse(row[1])]));
}
