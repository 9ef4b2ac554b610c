/**
 * The leader-aware pool: one object an application holds for the cluster's lifetime.
 *
 * @example
 * import { createPool } from 'dqlite-ts/pool';
 * const pool = createPool({ cluster: ['127.0.0.1:9001', '127.0.0.1:9002'], database: 'app' });
 * const { rows } = await pool.query('SELECT * FROM t WHERE id = ?', [1]);
 * await pool.close();
 */
export { createPool, LeaderPool } from './leader-pool.js';
export { STATEMENT_ATTEMPTS_MAX } from './statement-runner.js';
export type { RetryEvent } from './statement-runner.js';
export type { BatchStatement, CallOptions, PoolStats, QueryOptions } from './leader-pool.js';
export type { TransactionOptions } from './transaction-options.js';
export type { LeaderChange } from './leader-connections.js';
export type { PoolLogger, PoolOptions, PragmaValue } from './options.js';
export type { ReadConsistency, ReadOptions } from './replica-reads.js';
export type { ObjectRow, PoolQueryResult, RowMode } from './rows.js';
export { Transaction } from './transaction.js';
export { ReservedConnection } from './reserved-connection.js';
export {
  OutcomeUnknownError,
  PoolQueueFullError,
  PoolTimeoutError,
  TransactionReplayError,
  TransactionRetriesExhaustedError,
} from './errors.js';
export { IDEMPOTENCY_TABLE } from './idempotency.js';
export { isReadOnlySql } from './failure.js';
export { returnsRowsFromWrite } from './returning.js';
// The one statement classifier the pool and every adapter use.
export { classifyStatement, splitStatements } from '../../src/sql/index.js';
export type { StatementClass, StatementShape } from '../../src/sql/index.js';
