import type { ExecResult, Parameter, RowValue } from '../../drivers/client/index.js';
import { isReadOnlySql, returnsRowsFromWrite } from '../../drivers/pool/index.js';
import type { LeaderPool, PoolQueryResult, TransactionOptions } from '../../drivers/pool/index.js';

/**
 * Where Drizzle's statements run: the pool, or the handle of one pool transaction. Rows come back
 * in column order; the adapter builds objects itself.
 */
export interface StatementTarget {
  queryArrays(sql: string, params: readonly Parameter[]): Promise<PoolQueryResult<RowValue[]>>;
  exec(sql: string, params: readonly Parameter[]): Promise<ExecResult>;
}

/** The narrowest view of a pool transaction handle (`Transaction`) the adapter calls. */
export interface TransactionHandle {
  query(
    sql: string,
    params: readonly Parameter[] | undefined,
    options: { rowMode: 'array' },
  ): Promise<PoolQueryResult<RowValue[]>>;
  exec(sql: string, params?: readonly Parameter[]): Promise<ExecResult>;
}

/**
 * Statements straight on the pool, with its retry rules, except a query that is not read-only:
 * that one runs inside its own IMMEDIATE transaction. Canonical's C dqlite 1.11 only replicates a
 * write that returns rows inside an explicit transaction (in autocommit it answers with the rows,
 * never commits, and the next write aborts the node: go-dqlite#192, dqlite#527). The pool does
 * the same for `exec` of a write with RETURNING; both are exactly-once when `transactionOptions`
 * asks for it.
 */
export function poolTarget(
  pool: LeaderPool,
  transactionOptions: TransactionOptions,
): StatementTarget {
  const ownTransaction: TransactionOptions = { ...transactionOptions, behavior: 'immediate' };
  const { idempotent, timeoutMs } = transactionOptions;
  return {
    queryArrays: (sql, params) => {
      if (isReadOnlySql(sql)) return pool.query(sql, params, { rowMode: 'array' });
      return pool.transaction((tx) => tx.query(sql, params, { rowMode: 'array' }), ownTransaction);
    },
    exec: (sql, params) =>
      returnsRowsFromWrite(sql)
        ? pool.exec(sql, params, { idempotent, ...(timeoutMs ? { timeoutMs } : {}) })
        : pool.exec(sql, params),
  };
}

/**
 * Statements on the connection of one open transaction (a write with RETURNING through `exec`
 * is sent as a query by the handle itself).
 */
export function transactionTarget(handle: TransactionHandle): StatementTarget {
  return {
    queryArrays: (sql, params) => handle.query(sql, params, { rowMode: 'array' }),
    exec: (sql, params) => handle.exec(sql, params),
  };
}

/**
 * Drizzle hands parameters over as `unknown[]` after its own column mapping. The client checks
 * each value when it binds it (a TypeError names the position of one it cannot send), so they
 * pass through unchanged here.
 */
export function asParameters(params: unknown[]): readonly Parameter[] {
  return params as Parameter[];
}

/** A row object; a later column of the same name wins, as in better-sqlite3 and the pool. */
export function rowObject(
  columns: readonly string[],
  row: readonly RowValue[],
): Record<string, RowValue> {
  const object: Record<string, RowValue> = {};
  for (let index = 0; index < columns.length; index++) object[columns[index]!] = row[index] ?? null;
  return object;
}
