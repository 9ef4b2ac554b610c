import type { DqliteError } from '../../drivers/client/index.js';

/**
 * A schema change Knex can only make on SQLite by rebuilding the table (create a copy, copy the
 * rows, drop the original, rename) was refused because dropping the original would delete or
 * change rows of other tables. With foreign keys on (Dqlite's default), DROP TABLE first deletes
 * every row, which fires the ON DELETE actions of the tables that reference it: CASCADE children
 * are deleted, SET NULL ones lose their parent. SQLite ignores `PRAGMA foreign_keys = OFF` inside
 * a transaction, so the rebuild is only safe outside one, where the adapter runs it with foreign
 * keys off. In a Knex migration, give that migration `export const config = { transaction: false }`.
 * Dropping a plain column never rebuilds: the adapter uses SQLite's own ALTER TABLE DROP COLUMN.
 */
export class UnsafeTableRebuildError extends Error {
  override name = 'UnsafeTableRebuildError';
  /** The table that was to be rebuilt. */
  readonly table: string;
  /** Tables whose foreign keys to it delete or change rows (ON DELETE CASCADE, SET NULL, SET DEFAULT). */
  readonly referencingTables: readonly string[];

  constructor(table: string, referencingTables: readonly string[], reason: string) {
    super(
      `dqlite-ts/knex: refusing to rebuild table "${table}" (${reason}); ` +
        `its DROP TABLE would fire the ON DELETE actions of ${referencingTables.map((name) => `"${name}"`).join(', ')}. ` +
        'Run this schema change outside a transaction (in a migration: export const config = { transaction: false }).',
    );
    this.table = table;
    this.referencingTables = Object.freeze([...referencingTables]);
  }
}

/**
 * True for a plain SQL error (SQLITE_ERROR, primary code 1) the node answered, such as SQLite
 * refusing an ALTER TABLE. Checked by shape: adapters see the client's error classes as types only.
 */
export function isSqlError(error: unknown): error is DqliteError {
  if (typeof error !== 'object' || error === null) return false;
  const { code, sqliteMessage } = error as Partial<DqliteError>;
  return code === 'SQLITE_ERROR' && typeof sqliteMessage === 'string';
}
