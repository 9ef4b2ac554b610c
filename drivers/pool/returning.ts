import { classifyStatement } from '../../src/sql/index.js';
import type { ExecResult } from '../client/index.js';
import type { PoolQueryResult } from './rows.js';
import type { RowValue } from '../client/index.js';

/**
 * True for a data-changing statement that may return rows (INSERT/UPDATE/DELETE … RETURNING,
 * or a WITH clause ending in one). The C dqlite 1.11 leader answers such a statement sent as a
 * query outside a transaction with its rows but does not commit it, and aborts on the next
 * write (`vfs.c: Assertion wal->n_tx == 0`); inside a transaction it works. So the pool runs
 * these in a transaction of their own.
 */
export function writesRows(sql: string): boolean {
  return classifyStatement(sql).changesRows;
}

/**
 * True for a data-changing statement with a RETURNING clause. C dqlite 1.11 answers it through
 * EXEC with SQLITE_ROW and then aborts on the next write, so the pool never sends it as an EXEC.
 */
export function returnsRowsFromWrite(sql: string): boolean {
  return classifyStatement(sql).shape === 'write-returning';
}

/** Read right after a write with RETURNING, in the same transaction, for exec's result. */
export const CHANGES_SQL = 'SELECT changes(), last_insert_rowid()';

export function execResultOf(counts: PoolQueryResult<RowValue[]>): ExecResult {
  const [changes, lastInsertId] = counts.rows[0] ?? [0, 0];
  return { rowsAffected: Number(changes), lastInsertId: lastInsertId as number | bigint };
}
