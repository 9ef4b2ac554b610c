import { entityKind, sql } from 'drizzle-orm';
import type { RelationalSchemaConfig, TablesRelationalConfig } from 'drizzle-orm';
import { SQLiteTransaction } from 'drizzle-orm/sqlite-core';
import type { SQLiteAsyncDialect, SQLiteSession } from 'drizzle-orm/sqlite-core';
import type { ExecResult } from '../../drivers/client/index.js';

/**
 * The session a transaction's statements run on: a `DqliteSession` over the transaction's
 * connection. Typed as Drizzle's base session so this module needs nothing from
 * `dqlite-session.ts`, which creates transactions.
 */
type TransactionSession<
  TFullSchema extends Record<string, unknown>,
  TSchema extends TablesRelationalConfig,
> = SQLiteSession<'async', ExecResult, TFullSchema, TSchema>;

/**
 * The `tx` that `db.transaction(fn)` passes to `fn`: a Drizzle database whose statements run on
 * the transaction's one connection. `tx.transaction(inner)` nests with a SAVEPOINT: an error in
 * `inner` rolls back to it and is rethrown; `tx.rollback()` rolls the whole transaction back.
 *
 * On a leader change before COMMIT the pool runs `fn` again from the start on the new leader (see
 * docs/drizzle.md, "Transactions"), so `fn` must not have effects outside the database.
 */
export class DqliteTransaction<
  TFullSchema extends Record<string, unknown>,
  TSchema extends TablesRelationalConfig,
> extends SQLiteTransaction<'async', ExecResult, TFullSchema, TSchema> {
  static override readonly [entityKind]: string = 'DqliteTransaction';
  readonly #dialect: SQLiteAsyncDialect;
  readonly #session: TransactionSession<TFullSchema, TSchema>;
  readonly #relational: RelationalSchemaConfig<TSchema> | undefined;

  /** @internal created by DqliteSession.transaction */
  constructor(
    dialect: SQLiteAsyncDialect,
    session: TransactionSession<TFullSchema, TSchema>,
    relational: RelationalSchemaConfig<TSchema> | undefined,
    nestedIndex = 0,
  ) {
    super('async', dialect, session, relational, nestedIndex);
    this.#dialect = dialect;
    this.#session = session;
    this.#relational = relational;
  }

  /** Runs `fn` inside a SAVEPOINT of this transaction; see the class comment. */
  override async transaction<T>(
    fn: (tx: DqliteTransaction<TFullSchema, TSchema>) => Promise<T>,
  ): Promise<T> {
    const name = `sp${this.nestedIndex}`;
    const inner = new DqliteTransaction(
      this.#dialect,
      this.#session,
      this.#relational,
      this.nestedIndex + 1,
    );
    await this.#session.run(sql.raw(`SAVEPOINT ${name}`));
    let result: T;
    try {
      result = await fn(inner);
    } catch (error) {
      await this.#rollbackTo(name);
      throw error;
    }
    await this.#session.run(sql.raw(`RELEASE SAVEPOINT ${name}`));
    return result;
  }

  async #rollbackTo(name: string): Promise<void> {
    try {
      await this.#session.run(sql.raw(`ROLLBACK TO SAVEPOINT ${name}`));
      await this.#session.run(sql.raw(`RELEASE SAVEPOINT ${name}`));
    } catch {
      // The connection died or SQLite already rolled the whole transaction back: the pool has
      // recorded the first failure and reruns or rolls back the transaction; the caller must see
      // the error `fn` threw, which the caller of this method rethrows.
    }
  }
}
