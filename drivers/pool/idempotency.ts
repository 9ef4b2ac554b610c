import { randomUUID } from 'node:crypto';
import type { DqliteClient } from '../client/index.js';

/**
 * Bookkeeping for exactly-once transactions. An idempotent transaction inserts a fresh random
 * id here in the same transaction as its own writes, so the row exists if and only if the
 * transaction committed. After an unknown outcome at COMMIT the pool asks the (new) leader for
 * the id: present means committed, absent means it never will be (the new leader's first
 * commit settles every entry of the old term), so running the transaction again is safe.
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

/** Whether a transaction with this id committed (asked of the current leader). */
export async function transactionCommitted(client: DqliteClient, id: string): Promise<boolean> {
  const { rows } = await client.query(`SELECT 1 FROM ${IDEMPOTENCY_TABLE} WHERE id = ?`, [id]);
  return rows.length > 0;
}
