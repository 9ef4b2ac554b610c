import type { ExecResult } from '../client/index.js';
import type { PoolQueryResult } from './rows.js';
import type { RowValue } from '../client/index.js';

const WRITING_KEYWORDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'REPLACE']);

/**
 * True for a data-changing statement that may return rows (INSERT/UPDATE/DELETE … RETURNING,
 * or a WITH clause ending in one). The C dqlite 1.11 leader answers such a statement sent as a
 * query outside a transaction with its rows but does not commit it, and aborts on the next
 * write (`vfs.c: Assertion wal->n_tx == 0`); inside a transaction it works. So the pool runs
 * these in a transaction of their own.
 */
export function writesRows(sql: string): boolean {
  const body = sql.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/, '');
  const keyword = /^[A-Za-z]+/.exec(body)?.[0]?.toUpperCase() ?? '';
  if (WRITING_KEYWORDS.has(keyword)) return true;
  return keyword === 'WITH' && /\b(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(body);
}

/**
 * True for a data-changing statement with a RETURNING clause (string literals, quoted names and
 * comments set aside). C dqlite 1.11 answers it through EXEC with SQLITE_ROW and then aborts on the next
 * write, so the pool never sends it as an EXEC.
 */
export function returnsRowsFromWrite(sql: string): boolean {
  if (!writesRows(sql)) return false;
  const unquoted = sql.replace(
    /'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|\/\*[\s\S]*?\*\//g,
    ' ',
  );
  return /\bRETURNING\b/i.test(unquoted);
}

/** Read right after a write with RETURNING, in the same transaction, for exec's result. */
export const CHANGES_SQL = 'SELECT changes(), last_insert_rowid()';

export function execResultOf(counts: PoolQueryResult<RowValue[]>): ExecResult {
  const [changes, lastInsertId] = counts.rows[0] ?? [0, 0];
  return { rowsAffected: Number(changes), lastInsertId: lastInsertId as number | bigint };
}
