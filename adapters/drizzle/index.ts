/**
 * Drizzle ORM on dqlite-ts: `drizzle(pool)` is an async SQLite driver over the leader-aware
 * pool, with relational queries, transactions (nested with savepoints), `batch`, and a migrator
 * that is safe with several application processes starting at once.
 *
 * @example
 * import { createPool } from 'dqlite-ts/pool';
 * import { drizzle, migrate } from 'dqlite-ts/drizzle';
 *
 * const pool = createPool({ cluster: ['127.0.0.1:9001', '127.0.0.1:9002'], database: 'app' });
 * const db = drizzle(pool, { schema });
 * await migrate(db, { migrationsFolder: './drizzle' });
 * await db.insert(users).values({ name: 'Ada' });
 * await pool.close();
 */
export { drizzle, DqliteDatabase } from './dqlite-database.js';
export type { DqliteDrizzleConfig } from './dqlite-database.js';
export { DqliteTransaction } from './dqlite-transaction.js';
export type { DqliteTransactionConfig } from './transaction-config.js';
export { migrate } from './migrate.js';
export type { DqliteMigrationConfig, MigrationResult } from './migrate.js';
export { MigrationForeignKeyError, MigrationTimeoutError } from './migration-errors.js';
export type { ForeignKeyViolation } from './migration-errors.js';
export { DrizzleInternalsError } from './drizzle-internals.js';
export { int64 } from './int64.js';
