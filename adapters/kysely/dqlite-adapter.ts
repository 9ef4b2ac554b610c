import { SqliteAdapter } from 'kysely';
import type { Kysely, MigrationLockOptions } from 'kysely';
import { asDqliteConnection } from './dqlite-driver.js';
import { checkMigrationLockTimeoutMs } from './migration-lock.js';

/**
 * Kysely's SQLite adapter, with a migration lock that holds across the whole cluster.
 *
 * Kysely's own SQLite adapter makes the lock a no-op (one process, one connection) and runs
 * migrations outside any transaction. Here `acquireMigrationLock` opens a `BEGIN IMMEDIATE`
 * transaction on the migrator's connection, which takes the database's single write lock on the
 * leader, where every write of the cluster runs: a second migrator, in any process, waits at its
 * own `BEGIN IMMEDIATE` (up to `migrationLockTimeoutMs`) and then reads the migration table as
 * the first one committed it. `supportsTransactionalDdl` is true, so the Migrator's transaction
 * nests in the lock's as a savepoint: a failing migration rolls back that run's migrations, and
 * `releaseMigrationLock` commits the rest. SQLite's DDL is transactional.
 *
 * Only Kysely's Migrator calls these methods, on a Kysely bound to one connection; called on a
 * pooled Kysely the lock would end with the borrowed connection.
 *
 * Caveat: inside that transaction `PRAGMA foreign_keys` cannot change (SQLite ignores it in a
 * transaction), so a migration cannot switch foreign keys off to rebuild a table.
 */
export class DqliteAdapter extends SqliteAdapter {
  readonly #migrationLockTimeoutMs: number;

  /**
   * @param options.migrationLockTimeoutMs how long `acquireMigrationLock` waits for another
   *   migrator; default MIGRATION_LOCK_TIMEOUT_MS_DEFAULT (five minutes), at most one hour.
   */
  constructor(options: { readonly migrationLockTimeoutMs?: number } = {}) {
    super();
    this.#migrationLockTimeoutMs = checkMigrationLockTimeoutMs(options.migrationLockTimeoutMs);
  }

  override get supportsTransactionalDdl(): boolean {
    return true;
  }

  /** Opens the lock's transaction on the migrator's connection (`db` is bound to it). */
  override async acquireMigrationLock(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own signature
    db: Kysely<any>,
    _options: MigrationLockOptions,
  ): Promise<void> {
    await db
      .getExecutor()
      .provideConnection((connection) =>
        asDqliteConnection(connection).acquireMigrationLock(this.#migrationLockTimeoutMs),
      );
  }

  /** Commits the lock's transaction, which ends the lock. */
  override async releaseMigrationLock(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own signature
    db: Kysely<any>,
    _options: MigrationLockOptions,
  ): Promise<void> {
    await db
      .getExecutor()
      .provideConnection((connection) => asDqliteConnection(connection).releaseMigrationLock());
  }
}
