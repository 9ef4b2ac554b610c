// The register workload: clients read, write and compare-and-set a few keys through the pool,
// each operation recorded; the linearizability checker then judges the history per key.

import { setTimeout as sleep } from 'node:timers/promises';
import { DqliteError } from '../../drivers/client/index.js';
import type { LeaderPool } from '../../drivers/pool/index.js';
import type { History } from './history.js';
import type { Operation } from './checkers/linearizability.js';
import type { RegisterInput, RegisterOutput } from './checkers/register-model.js';
import { seeded } from './seeded.js';

export const REGISTER_TABLE =
  'CREATE TABLE IF NOT EXISTS registers (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)';

export interface RegisterWorkloadOptions {
  readonly clients: number;
  readonly keys: number;
  readonly durationMs: number;
  readonly seed: number;
  /** Backstop on operations per client, beside the time. */
  readonly operationsMax?: number;
  /** A pause after each operation, to run long with a history the checker can take. */
  readonly pauseMs?: number;
}

/**
 * SQLite could not write its WAL (SQLITE_FULL, SQLITE_READONLY): the statement failed in the engine
 * before any transaction was proposed, so a one-statement write certainly did not happen.
 */
function refusedByDisk(error: unknown): boolean {
  if (!(error instanceof DqliteError)) return false;
  const primary = error.code & 0xff;
  return primary === 13 || primary === 8;
}

/** Runs the clients until the time is up, recording into `history`. */
export async function runRegisterWorkload(
  pool: LeaderPool,
  history: History<RegisterInput, RegisterOutput>,
  options: RegisterWorkloadOptions,
): Promise<void> {
  const deadline = performance.now() + options.durationMs;
  /** The last value any client read per key: compare-and-sets mostly aim at a live value. */
  const lastSeen = new Map<number, number>();
  const client = async (id: number) => {
    const random = seeded(options.seed * 1000 + id);
    for (let n = 0; n < (options.operationsMax ?? 100_000) && performance.now() < deadline; n++) {
      const key = Math.floor(random() * options.keys);
      // Unique values: a read names the one write it saw.
      const value = id * 1_000_000 + n;
      const roll = random();
      const input: RegisterInput =
        roll < 0.5
          ? { type: 'read' }
          : roll < 0.8
            ? { type: 'write', value }
            : { type: 'cas', from: lastSeen.get(key) ?? 0, to: value };
      const operation = history.invoke(id, key, input);
      try {
        history.complete(operation, await execute(pool, key, input));
        if (input.type === 'read') {
          const output = operation.output;
          if (output?.type === 'read' && output.value !== null) lastSeen.set(key, output.value);
        }
      } catch (error) {
        // A failed read changed nothing; a failed write may have committed all the same, unless
        // the node's disk refused it (see refusedByDisk).
        history.failed(operation, error, input.type === 'read' || refusedByDisk(error));
      }
      if (options.pauseMs !== undefined) await sleep(options.pauseMs);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, id) => client(id + 1)));
}

async function execute(
  pool: LeaderPool,
  key: number,
  input: RegisterInput,
): Promise<RegisterOutput> {
  switch (input.type) {
    case 'read': {
      const { rows } = await pool.query('SELECT v FROM registers WHERE k = ?', [key], {
        rowMode: 'array',
      });
      const row = rows[0] as unknown[] | undefined;
      return { type: 'read', value: row === undefined ? null : Number(row[0]) };
    }
    case 'write':
      await pool.exec(
        'INSERT INTO registers (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
        [key, input.value],
      );
      return { type: 'written' };
    case 'cas': {
      const result = await pool.exec('UPDATE registers SET v = ? WHERE k = ? AND v = ?', [
        input.to,
        key,
        input.from,
      ]);
      return { type: 'cas', swapped: result.rowsAffected === 1 };
    }
  }
}

/** The history as the checker takes it: failed operations out, unknown ones open-ended. */
export function checkerHistory(
  history: History<RegisterInput, RegisterOutput>,
): (Operation<RegisterInput, RegisterOutput> & { key: number })[] {
  return history.operations.flatMap((operation) => {
    if (operation.outcome === 'fail' || operation.outcome === undefined) return [];
    return [
      {
        client: operation.client,
        key: operation.key,
        input: operation.input,
        output: operation.output ?? { type: 'unknown' },
        call: operation.call,
        return: operation.outcome === 'unknown' ? Infinity : (operation.return as number),
      },
    ];
  });
}
