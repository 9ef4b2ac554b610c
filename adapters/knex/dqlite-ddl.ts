import { UnsafeTableRebuildError, isSqlError } from './errors.js';
import { KnexConnection } from './knex-connection.js';
import { SqliteDdl } from './knex-internals.js';
import type { AlterCommands, KnexTransactor } from './knex-internals.js';

/**
 * Tables (other than the table itself) whose foreign keys to the table named by both parameters
 * change rows when it loses its rows: ON DELETE CASCADE, SET NULL or SET DEFAULT. (With NO ACTION
 * or RESTRICT, SQLite fails the DROP TABLE itself when child rows exist: loud, nothing lost.)
 */
const REFERENCING_TABLES_SQL =
  'SELECT DISTINCT m.name FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f ' +
  'WHERE m.type = \'table\' AND lower(m.name) <> lower(?) AND lower(f."table") = lower(?) ' +
  "AND upper(f.on_delete) IN ('CASCADE', 'SET NULL', 'SET DEFAULT') ORDER BY m.name";

/**
 * Knex's SQLite schema-change helper, made safe for a database whose foreign keys are on (Dqlite
 * turns them on for every connection). Knex changes a table SQLite cannot ALTER in place by
 * rebuilding it, and its DROP TABLE of the original then deletes every row first, firing the ON
 * DELETE actions of the tables that reference it: ON DELETE CASCADE children vanish. Knex turns
 * foreign keys off around the rebuild, but SQLite ignores that inside a transaction, where
 * migrations run by default. So:
 * - `dropColumn` uses SQLite's own ALTER TABLE DROP COLUMN (3.35+), which touches no other
 *   table, and rebuilds only when SQLite refuses it (keys, indexed or constrained columns);
 * - every rebuild first looks for tables whose ON DELETE actions would change rows. With such
 *   tables and foreign keys on, a rebuild inside a transaction is refused with
 *   UnsafeTableRebuildError; outside one it runs with foreign keys off, checked from inside its
 *   own transaction, so a connection that moved to a new leader (where they are on again) stops
 *   it instead of deleting rows.
 */
export class DqliteDdl extends SqliteDdl {
  override async dropColumn(columns: readonly string[]): Promise<unknown> {
    if (await this.#dropNatively(columns)) return undefined;
    return super.dropColumn(columns);
  }

  /** Knex's rebuild (new table, copy, drop, rename, indices), with the safety check first. */
  override async alter(
    newSql: string,
    createIndices: readonly string[],
    columns?: readonly string[],
  ): Promise<void> {
    const connection = this.#knexConnection();
    const transacting = this.client.transacting === true;
    await this.client.transaction(
      async (trx: KnexTransactor) => {
        await this.#refuseUnsafeRebuild(connection, transacting);
        await trx.raw(newSql);
        await this.copyData(trx, columns);
        await this.dropOriginal(trx);
        await this.renameTable(trx);
        for (const createIndex of createIndices) await trx.raw(createIndex);
      },
      // Outside a transaction, Knex turns foreign keys off before BEGIN and checks them after.
      { connection, enforceForeignCheck: transacting ? null : false },
    );
  }

  /**
   * Knex would hand these statements to its runner, which turns foreign keys off with a PRAGMA
   * that is silently ignored inside a transaction. The checked rebuild runs here instead, and the
   * runner gets nothing left to do. Without a connection, Knex is only listing the statements
   * (`generateDdlCommands()`): they are listed, not run.
   */
  override async generateAlterCommands(
    newSql: string,
    createIndices: readonly string[],
    columns?: readonly string[],
  ): Promise<AlterCommands> {
    if (this.connection === undefined) {
      return super.generateAlterCommands(newSql, createIndices, columns);
    }
    await this.alter(newSql, createIndices, columns);
    return { pre: [], sql: [], check: null, post: [] };
  }

  /**
   * ALTER TABLE … DROP COLUMN for every column, atomically (a savepoint inside a transaction).
   * False when SQLite refuses: the column is a key, unique, indexed, in a foreign key, a CHECK,
   * a view or a trigger; Knex's rebuild then does what it always did.
   */
  async #dropNatively(columns: readonly string[]): Promise<boolean> {
    const table = this.wrap(this.tableName());
    try {
      await this.client.transaction(
        async (trx: KnexTransactor) => {
          for (const column of columns) {
            await trx.raw(`alter table ${table} drop column ${this.wrap(column)}`);
          }
        },
        { connection: this.connection, enforceForeignCheck: null },
      );
      return true;
    } catch (error) {
      if (isSqlError(error)) return false; // SQLite's refusal, rolled back; see above
      throw error;
    }
  }

  async #refuseUnsafeRebuild(connection: KnexConnection, transacting: boolean): Promise<void> {
    const table = this.tableName();
    const rows = await connection.queryArrays(REFERENCING_TABLES_SQL, [table, table]);
    const referencing = rows.map((row) => String(row[0]));
    if (referencing.length === 0) return;
    const [[foreignKeys] = []] = await connection.queryArrays('PRAGMA foreign_keys');
    if (foreignKeys === 0 || foreignKeys === false) return;
    const reason = transacting
      ? 'foreign keys are on, and SQLite ignores PRAGMA foreign_keys inside a transaction'
      : 'foreign keys are on again: the connection moved to a new leader before the rebuild';
    throw new UnsafeTableRebuildError(table, referencing, reason);
  }

  #knexConnection(): KnexConnection {
    if (!(this.connection instanceof KnexConnection)) {
      throw new TypeError('dqlite-ts/knex: a schema change ran without a dqlite connection');
    }
    return this.connection;
  }
}
