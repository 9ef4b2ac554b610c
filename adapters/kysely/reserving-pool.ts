import type { ExecResult, Parameter } from '../../drivers/client/index.js';
import type { ObjectRow } from '../../drivers/pool/index.js';

/**
 * The part of a pool's reserved connection (`ReservedConnection` of dqlite-ts/pool) the Kysely
 * adapter calls. Outside a transaction each statement follows the pool's retry rules; BEGIN or
 * SAVEPOINT starts a transaction pinned to one leader connection, carried over to a new leader
 * by the pool, so the adapter has no retry or cluster logic of its own.
 */
export interface ReservedStatements {
  /** True between BEGIN (or a first SAVEPOINT) and the COMMIT or ROLLBACK that ends it. */
  readonly inTransaction: boolean;
  /** Runs the first statement of `sql` and returns its rows. */
  query(
    sql: string,
    params?: readonly Parameter[],
    options?: { rowMode?: 'object' },
  ): Promise<{ readonly rows: ObjectRow[] }>;
  /** Runs every statement of `sql`; parameters bind to the first. */
  exec(sql: string, params?: readonly Parameter[]): Promise<ExecResult>;
  /** Rows as they arrive; breaking out early interrupts the query. */
  stream(
    sql: string,
    params?: readonly Parameter[],
    options?: { rowMode?: 'object' },
  ): AsyncIterable<unknown>;
  /** Rolls back an open transaction and gives the connection back. Idempotent. */
  release(): Promise<void>;
}

/** The part of the pool (`LeaderPool` of dqlite-ts/pool) the Kysely adapter calls. */
export interface ReservingPool {
  /** Reserves one connection; waits at most `timeoutMs` (default: the pool's). */
  reserve(options?: { timeoutMs?: number }): Promise<ReservedStatements>;
  /** Closes every connection. Idempotent. */
  close(): Promise<void>;
}
