import { DefaultLogger, entityKind, NoopLogger } from 'drizzle-orm';
import type { DrizzleConfig, ExtractTablesWithRelations, Logger } from 'drizzle-orm';
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch';
import { BaseSQLiteDatabase, SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';
import type { ExecResult } from '../../drivers/client/index.js';
import type { LeaderPool } from '../../drivers/pool/index.js';
import { attachCache, relationalSchemaOf } from './drizzle-internals.js';
import { DqliteSession } from './dqlite-session.js';
import type { DqliteTransaction } from './dqlite-transaction.js';
import { checkTransactionConfig, TRANSACTION_DEFAULTS } from './transaction-config.js';
import type { DqliteTransactionConfig } from './transaction-config.js';

/** Options of `drizzle(pool, config)`: Drizzle's, plus the defaults of every transaction. */
export interface DqliteDrizzleConfig<
  TSchema extends Record<string, unknown>,
> extends DrizzleConfig<TSchema> {
  /**
   * Defaults of `db.transaction`, `db.batch` and of writes with RETURNING outside a transaction
   * (which run in their own transaction). Default `{ behavior: 'immediate', idempotent: true }`:
   * writers take turns instead of colliding, and commits are exactly-once.
   */
  transactionDefaults?: DqliteTransactionConfig;
}

/** The Drizzle database of `drizzle(pool)`: an async SQLite database on the pool. */
export class DqliteDatabase<
  TSchema extends Record<string, unknown> = Record<string, never>,
> extends BaseSQLiteDatabase<'async', ExecResult, TSchema> {
  static override readonly [entityKind]: string = 'DqliteDatabase';
  /** The pool this database runs on. */
  readonly $client: LeaderPool;
  readonly #session: DqliteSession<TSchema, ExtractTablesWithRelations<TSchema>>;

  /** @internal use drizzle(pool, config) */
  constructor(
    pool: LeaderPool,
    dialect: SQLiteAsyncDialect,
    session: DqliteSession<TSchema, ExtractTablesWithRelations<TSchema>>,
    relational: ReturnType<typeof relationalSchemaOf<TSchema>> | undefined,
  ) {
    super('async', dialect, session, relational);
    this.$client = pool;
    this.#session = session;
  }

  /**
   * Runs `fn` in a transaction on one connection to the leader: BEGIN, `fn(tx)`, COMMIT.
   * After a leader change or SQLITE_BUSY before COMMIT the pool rolls back and runs `fn` again
   * (bounded), so `fn` must not have effects outside the database; an unknown COMMIT outcome is
   * settled exactly once (`idempotent`, on by default). `tx.transaction()` nests with savepoints.
   * Transactions are IMMEDIATE unless `config.behavior` (or `transactionDefaults`) says otherwise.
   *
   * @example
   * await db.transaction(async (tx) => {
   *   const [account] = await tx.select().from(accounts).where(eq(accounts.id, 1));
   *   await tx.update(accounts).set({ balance: account!.balance - 10 }).where(eq(accounts.id, 1));
   * });
   */
  override transaction<T>(
    fn: (tx: DqliteTransaction<TSchema, ExtractTablesWithRelations<TSchema>>) => Promise<T>,
    config?: DqliteTransactionConfig,
  ): Promise<T> {
    return this.#session.transaction(fn, config);
  }

  /**
   * Runs the queries in order in one IMMEDIATE transaction, all or nothing, and returns each
   * one's result as it would have alone.
   *
   * @example
   * const [, rows] = await db.batch([db.insert(users).values({ name: 'a' }), db.select().from(users)]);
   */
  async batch<U extends BatchItem<'sqlite'>, T extends Readonly<[U, ...U[]]>>(
    batch: T,
  ): Promise<BatchResponse<T>> {
    return (await this.#session.batch(batch)) as BatchResponse<T>;
  }
}

const CONFIG_KEYS = new Set(['schema', 'logger', 'casing', 'cache', 'transactionDefaults']);
const CASINGS = new Set([undefined, 'snake_case', 'camelCase']);

/**
 * Drizzle ORM on a dqlite-ts pool: an async SQLite driver whose statements go to the current
 * leader with the pool's retry rules. `db.$client` is the pool; closing it is the caller's job.
 *
 * @example
 * import { createPool } from 'dqlite-ts/pool';
 * import { drizzle } from 'dqlite-ts/drizzle';
 * import * as schema from './schema.js';
 *
 * const pool = createPool({ cluster: ['127.0.0.1:9001', '127.0.0.1:9002'], database: 'app' });
 * const db = drizzle(pool, { schema, logger: false, casing: 'snake_case' });
 * const users = await db.query.users.findMany({ with: { posts: true } });
 */
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  pool: LeaderPool,
  config: DqliteDrizzleConfig<TSchema> = {},
): DqliteDatabase<TSchema> {
  checkPool(pool);
  checkConfig(config);
  const dialect = new SQLiteAsyncDialect(config.casing ? { casing: config.casing } : {});
  const relational = config.schema ? relationalSchemaOf(config.schema) : undefined;
  const session = new DqliteSession<TSchema, ExtractTablesWithRelations<TSchema>>(
    pool,
    dialect,
    relational,
    Object.freeze({
      logger: loggerOf(config.logger),
      cache: config.cache,
      transactionDefaults: Object.freeze({
        ...TRANSACTION_DEFAULTS,
        ...checkTransactionConfig(config.transactionDefaults, 'drizzle(pool, config)'),
      }),
    }),
  );
  const db = new DqliteDatabase<TSchema>(pool, dialect, session, relational);
  attachCache(db, config.cache);
  return db;
}

function loggerOf(logger: boolean | Logger | undefined): Logger {
  if (logger === true) return new DefaultLogger();
  if (logger === undefined || logger === false) return new NoopLogger();
  if (typeof logger.logQuery !== 'function')
    throw new TypeError('drizzle(pool, config): logger must be a boolean or have logQuery()');
  return logger;
}

function checkPool(pool: LeaderPool): void {
  const candidate = pool as Partial<Record<'query' | 'exec' | 'transaction', unknown>> | null;
  const usable =
    typeof candidate?.query === 'function' &&
    typeof candidate.exec === 'function' &&
    typeof candidate.transaction === 'function';
  if (!usable) throw new TypeError('drizzle(pool): pool must come from createPool of dqlite-ts');
}

function checkConfig(config: DqliteDrizzleConfig<Record<string, unknown>>): void {
  if (typeof config !== 'object' || config === null)
    throw new TypeError('drizzle(pool, config): config must be an object');
  for (const key of Object.keys(config)) {
    if (!CONFIG_KEYS.has(key))
      throw new TypeError(`drizzle(pool, config): unknown option "${key}"`);
  }
  if (!CASINGS.has(config.casing))
    throw new TypeError(`drizzle(pool, config): casing must be 'snake_case' or 'camelCase'`);
}
