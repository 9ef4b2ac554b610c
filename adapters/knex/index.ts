/**
 * Knex on Dqlite. Knex's SQLite3 dialect (query builder, schema builder, migrations) runs on the
 * cluster's leader through the leader-aware pool; transactions survive leader changes. Requires
 * the optional peer `knex` (>= 3.3 < 4).
 *
 * @example
 * import { knex } from 'dqlite-ts/knex';
 * const db = knex({
 *   client: 'dqlite',
 *   connection: { cluster: ['127.0.0.1:9001', '127.0.0.1:9002'], database: 'app' },
 * });
 * await db('users').insert({ id: 1, name: 'Ada' });
 * await db.transaction(async (trx) => trx('users').where({ id: 1 }).update({ name: 'Ada L.' }), {
 *   behavior: 'immediate',
 * });
 * await db.destroy();
 */
import type { Knex } from 'knex';
import type { DqliteKnexConfig } from './client-config.js';
import { DqliteKnexClient } from './dqlite-knex-client.js';
import { createKnex } from './knex-internals.js';
import type { TransactionBehavior } from './dqlite-transaction.js';

export { DqliteKnexClient } from './dqlite-knex-client.js';
export type { DqliteKnexConfig } from './client-config.js';
export type { TransactionBehavior } from './dqlite-transaction.js';
export { UnsafeTableRebuildError } from './errors.js';
export { QUEUED_STATEMENTS_MAX } from './knex-connection.js';

declare module 'knex' {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- merges into Knex's own namespace
  namespace Knex {
    interface TransactionConfig {
      /** dqlite-ts/knex: BEGIN DEFERRED (default), IMMEDIATE or EXCLUSIVE. */
      behavior?: TransactionBehavior;
    }
  }
}

/**
 * Creates a Knex instance on Dqlite: `client: 'dqlite'` (or the DqliteKnexClient class) and
 * either `connection` (the pool's options: the adapter owns the pool and `destroy()` closes it)
 * or `connectionPool` (a pool from createPool() to share; `destroy()` leaves it open).
 * `useNullAsDefault` defaults to true. Knex's `pool` option is rejected: limits are the pool's.
 *
 * Caveats: schema changes SQLite can only make by rebuilding a table are refused inside a
 * transaction when other tables reference it (UnsafeTableRebuildError); a transaction the pool
 * cannot carry over to a new leader fails with TransactionReplayError.
 *
 * @example
 * const db = knex({ client: 'dqlite', connection: { cluster, database: 'app' } });
 * const [id] = await db('t').insert({ name: 'x' });
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Knex's own default record type
export function knex<TRecord extends object = any, TResult = unknown[]>(
  config: DqliteKnexConfig,
): Knex<TRecord, TResult> {
  if (typeof config !== 'object' || config === null) {
    throw new TypeError('dqlite-ts/knex: knex(config) needs a configuration object');
  }
  if (config.client !== 'dqlite' && config.client !== DqliteKnexClient) {
    throw new TypeError(
      `dqlite-ts/knex: client must be 'dqlite' or DqliteKnexClient, got ${String(config.client)}`,
    );
  }
  return createKnex<TRecord, TResult>({ ...config, client: DqliteKnexClient });
}
