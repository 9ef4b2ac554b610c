import type { ExecResult, Parameter, RowValue } from '../../drivers/client/index.js';
import { isReadOnlySql } from '../../drivers/pool/index.js';
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

const RETURNING = /\bRETURNING\b/i;

/**
 * Statements straight on the pool, with its retry rules, except a write that returns rows (a
 * query that is not read-only, or any statement with RETURNING): that one runs inside its own
 * IMMEDIATE transaction. Canonical's C dqlite 1.11 only replicates such a write inside an
 * explicit transaction: in autocommit it answers with the rows, never commits the write, and the
 * next write on that connection aborts the node on an assertion (go-dqlite#192, dqlite#527). The
 * transaction also makes the write exactly-once when `transactionOptions` asks for it.
 */
export function poolTarget(
  pool: LeaderPool,
  transactionOptions: TransactionOptions,
): StatementTarget {
  const ownTransaction: TransactionOptions = { ...transactionOptions, behavior: 'immediate' };
  return {
    queryArrays: (sql, params) => {
      if (isReadOnlySql(sql)) return pool.query(sql, params, { rowMode: 'array' });
      return pool.transaction((tx) => tx.query(sql, params, { rowMode: 'array' }), ownTransaction);
    },
    exec: (sql, params) => {
      if (!RETURNING.test(sql)) return pool.exec(sql, params);
      return pool.transaction((tx) => execReturning(tx, sql, params), ownTransaction);
    },
  };
}

/** Statements on the connection of one open transaction. */
export function transactionTarget(handle: TransactionHandle): StatementTarget {
  return {
    queryArrays: (sql, params) => handle.query(sql, params, { rowMode: 'array' }),
    exec: (sql, params) =>
      RETURNING.test(sql) ? execReturning(handle, sql, params) : handle.exec(sql, params),
  };
}

/**
 * `run()` of a statement with RETURNING (`db.insert(t).values(v).returning().run()`): Dqlite's
 * EXEC refuses a statement that yields rows (SQLITE_ROW, "another row available"), so it runs
 * as a query, and the counts come from SQLite's own functions on the same connection.
 */
async function execReturning(
  handle: TransactionHandle,
  sql: string,
  params: readonly Parameter[],
): Promise<ExecResult> {
  await handle.query(sql, params, { rowMode: 'array' });
  const { rows } = await handle.query('SELECT changes(), last_insert_rowid()', [], {
    rowMode: 'array',
  });
  const [rowsAffected, lastInsertId] = rows[0] ?? [0, 0];
  return { rowsAffected: Number(rowsAffected), lastInsertId: lastInsertId as number | bigint };
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
