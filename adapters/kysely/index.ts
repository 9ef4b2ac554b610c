/**
 * Kysely on Dqlite: `new Kysely<DB>({ dialect: new DqliteDialect({ pool }) })`. Queries run on
 * the cluster's leader through the leader-aware pool, transactions survive leader changes, and
 * Kysely's Migrator holds a lock across the whole cluster. Requires the optional peer `kysely`
 * (>= 0.28 < 0.29).
 *
 * @example
 * import { Kysely } from 'kysely';
 * import { DqliteDialect } from 'dqlite-ts/kysely';
 * const db = new Kysely<Database>({
 *   dialect: new DqliteDialect({ cluster: ['127.0.0.1:9001'], database: 'app' }),
 * });
 * await db.selectFrom('person').selectAll().execute();
 * await db.destroy();
 */
export { DqliteDialect } from './dqlite-dialect.js';
export type {
  DqliteDialectConfig,
  DqliteDialectOptions,
  DqliteDialectPoolConfig,
  DqliteDialectPoolOptionsConfig,
} from './dqlite-dialect.js';
export { DqliteAdapter } from './dqlite-adapter.js';
export { MIGRATION_LOCK_TIMEOUT_MS_DEFAULT } from './migration-lock.js';
export type { ReservedStatements, ReservingPool } from './reserving-pool.js';
