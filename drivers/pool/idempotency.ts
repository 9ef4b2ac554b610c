import { randomUUID } from 'node:crypto';
import type { DqliteClient } from '../client/index.js';
import type { Transaction } from './transaction.js';

/**
 * Bookkeeping for exactly-once transactions. An idempotent transaction inserts a fresh random
 * id here in the same transaction as its own writes, so the row exists if and only if the
 * transaction committed. After an unknown outcome at COMMIT the pool asks the (new) leader for
 * the id, inside a transaction that also writes (BARRIER_ID): once that write commits in the
 * leader's term, an entry of an older term the leader does not have can never commit any more
 * (Raft's Leader Completeness, paper §5.4), so "absent" is final. A plain read would not do: a
 * leader that has not committed anything in its own term may not have the entry, and a later
 * leader that does could still commit it (thesis §6.4).
 *
 * Rows are pruned by age, inside idempotent transactions, once every PRUNE_EVERY commits.
 */
export const IDEMPOTENCY_TABLE = 'dqlite_ts_transactions';

/** One pruning DELETE per this many idempotent commits of a pool (and on its first). */
export const PRUNE_EVERY = 128;

export const CREATE_IDEMPOTENCY_TABLE = `CREATE TABLE IF NOT EXISTS ${IDEMPOTENCY_TABLE} (
  id TEXT PRIMARY KEY,
  committed_at_ms INTEGER NOT NULL
)`;

export function newTransactionId(): string {
  return randomUUID();
}

/** Records the id inside the open transaction; prunes old ids when `prune` is set. */
export async function recordTransaction(
  client: DqliteClient,
  id: string,
  prune: { retentionMs: number } | undefined,
): Promise<void> {
  const now = Date.now();
  if (prune) {
    await client.exec(`DELETE FROM ${IDEMPOTENCY_TABLE} WHERE committed_at_ms < ?`, [
      now - prune.retentionMs,
    ]);
  }
  await client.exec(`INSERT INTO ${IDEMPOTENCY_TABLE} (id, committed_at_ms) VALUES (?, ?)`, [
    id,
    now,
  ]);
}

/** The row the check rewrites so that it commits an entry of the current leader's term. */
export const BARRIER_ID = 'dqlite-ts:barrier';

/**
 * Run inside an IMMEDIATE transaction: whether a transaction with this id committed. The answer
 * holds only if the enclosing transaction then commits.
 */
export async function checkCommitted(statements: Transaction, id: string): Promise<boolean> {
  await statements.exec(
    `INSERT OR REPLACE INTO ${IDEMPOTENCY_TABLE} (id, committed_at_ms) VALUES (?, ?)`,
    [BARRIER_ID, Date.now()],
  );
  const { rows } = await statements.query(`SELECT 1 FROM ${IDEMPOTENCY_TABLE} WHERE id = ?`, [id], {
    rowMode: 'array',
  });
  return rows.length > 0;
}
