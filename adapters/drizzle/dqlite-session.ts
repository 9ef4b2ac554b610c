import { entityKind } from 'drizzle-orm';
import type { Logger, Query, RelationalSchemaConfig, TablesRelationalConfig } from 'drizzle-orm';
import type { Cache } from 'drizzle-orm/cache/core';
import type { WithCacheConfig } from 'drizzle-orm/cache/core/types';
import { SQLiteSession } from 'drizzle-orm/sqlite-core';
import type {
  PreparedQueryConfig,
  SelectedFieldsOrdered,
  SQLiteAsyncDialect,
  SQLiteExecuteMethod,
} from 'drizzle-orm/sqlite-core';
import type { ExecResult } from '../../drivers/client/index.js';
import type { LeaderPool } from '../../drivers/pool/index.js';
import { planBatchItem } from './drizzle-internals.js';
import type { BatchItemPlan } from './drizzle-internals.js';
import { DqlitePreparedQuery } from './dqlite-prepared-query.js';
import type { CustomResultMapper, QueryMetadata } from './dqlite-prepared-query.js';
import { DqliteTransaction } from './dqlite-transaction.js';
import { asParameters, poolTarget, rowObject, transactionTarget } from './statement-target.js';
import type { StatementTarget, TransactionHandle } from './statement-target.js';
import { transactionOptionsOf } from './transaction-config.js';
import type { DqliteTransactionConfig } from './transaction-config.js';

/** What every session of one `drizzle(pool)` database shares. */
export interface DqliteSessionOptions {
  readonly logger: Logger;
  readonly cache: Cache | undefined;
  readonly transactionDefaults: Readonly<DqliteTransactionConfig>;
}

/**
 * Drizzle's session over the pool: prepares statements, runs transactions and batches. The
 * session of `db` runs statements on the pool; the session of a transaction on that
 * transaction's connection.
 */
export class DqliteSession<
  TFullSchema extends Record<string, unknown>,
  TSchema extends TablesRelationalConfig,
> extends SQLiteSession<'async', ExecResult, TFullSchema, TSchema> {
  static override readonly [entityKind]: string = 'DqliteSession';
  readonly #pool: LeaderPool;
  readonly #dialect: SQLiteAsyncDialect;
  readonly #relational: RelationalSchemaConfig<TSchema> | undefined;
  readonly #options: DqliteSessionOptions;
  readonly #target: StatementTarget;

  /** @internal created by drizzle() and by transactions */
  constructor(
    pool: LeaderPool,
    dialect: SQLiteAsyncDialect,
    relational: RelationalSchemaConfig<TSchema> | undefined,
    options: DqliteSessionOptions,
    transaction?: TransactionHandle,
  ) {
    super(dialect);
    this.#pool = pool;
    this.#dialect = dialect;
    this.#relational = relational;
    this.#options = options;
    this.#target = transaction
      ? transactionTarget(transaction)
      : poolTarget(pool, transactionOptionsOf(options.transactionDefaults, undefined));
  }

  override prepareQuery<T extends Omit<PreparedQueryConfig, 'run'>>(
    query: Query,
    fields: SelectedFieldsOrdered | undefined,
    executeMethod: SQLiteExecuteMethod,
    _isResponseInArrayMode: boolean,
    customResultMapper?: CustomResultMapper,
    queryMetadata?: QueryMetadata,
    cacheConfig?: WithCacheConfig,
  ): DqlitePreparedQuery<T & { type: 'async'; run: ExecResult }> {
    return new DqlitePreparedQuery({
      target: this.#target,
      query,
      logger: this.#options.logger,
      cache: this.#options.cache,
      queryMetadata,
      cacheConfig,
      fields,
      executeMethod,
      customResultMapper,
    });
  }

  /**
   * `db.transaction(fn, config)`: `pool.transaction` with a Drizzle `tx` over its connection.
   * The pool runs `fn` again after a leader change or SQLITE_BUSY before COMMIT, and with
   * `idempotent` (the adapter's default) settles an unknown COMMIT outcome exactly once.
   */
  override async transaction<T>(
    fn: (tx: DqliteTransaction<TFullSchema, TSchema>) => Promise<T>,
    config?: DqliteTransactionConfig,
  ): Promise<T> {
    if (typeof fn !== 'function')
      throw new TypeError('transaction(fn): fn must be an async function');
    const options = transactionOptionsOf(this.#options.transactionDefaults, config);
    return this.#pool.transaction(async (handle) => {
      const session = new DqliteSession<TFullSchema, TSchema>(
        this.#pool,
        this.#dialect,
        this.#relational,
        this.#options,
        handle,
      );
      return fn(new DqliteTransaction(this.#dialect, session, this.#relational));
    }, options);
  }

  /**
   * `db.batch([...])`: the statements in order, in one IMMEDIATE transaction (all or nothing),
   * rerun as a whole after a leader change. Returns each statement's result as Drizzle maps it.
   */
  async batch(items: readonly unknown[]): Promise<unknown[]> {
    if (!Array.isArray(items)) throw new TypeError('batch(queries): queries must be an array');
    const plans = items.map((item, index) => checkPlan(planBatchItem(item, index), index));
    if (plans.length === 0) return [];
    const options = {
      ...transactionOptionsOf(this.#options.transactionDefaults, undefined),
      behavior: 'immediate' as const,
    };
    return this.#pool.transaction(async (handle) => {
      const target = transactionTarget(handle);
      const results: unknown[] = [];
      for (const plan of plans) results.push(await this.#runBatchItem(plan, target));
      return results;
    }, options);
  }

  async #runBatchItem(plan: BatchItemPlan, target: StatementTarget): Promise<unknown> {
    if (plan.kind === 'prepared') return (plan.prepared as DqlitePreparedQuery).executeOn(target);
    this.#options.logger.logQuery(plan.sql, plan.params);
    const params = asParameters(plan.params);
    if (plan.method === 'run') return plan.mapResult(await target.exec(plan.sql, params));
    const { columns, rows } = await target.queryArrays(plan.sql, params);
    switch (plan.method) {
      case 'values':
        return plan.mapResult(rows);
      case 'all':
        return plan.mapResult(rows.map((row) => rowObject(columns, row)));
      case 'get':
        return plan.mapResult(rows[0] === undefined ? undefined : rowObject(columns, rows[0]));
    }
  }

  // The raw results `#runBatchItem` hands to SQLiteRaw.mapResult are already final.
  /** @internal */
  extractRawAllValueFromBatchResult(result: unknown): unknown {
    return result;
  }

  /** @internal */
  extractRawGetValueFromBatchResult(result: unknown): unknown {
    return result;
  }

  /** @internal */
  extractRawValuesValueFromBatchResult(result: unknown): unknown {
    return result;
  }
}

function checkPlan(plan: BatchItemPlan, index: number): BatchItemPlan {
  if (plan.kind === 'prepared' && !(plan.prepared instanceof DqlitePreparedQuery)) {
    throw new TypeError(`batch(queries): item ${index} was built by another Drizzle database`);
  }
  return plan;
}
