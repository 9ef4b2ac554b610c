import { entityKind, fillPlaceholders } from 'drizzle-orm';
import type { Logger, Query } from 'drizzle-orm';
import type { Cache } from 'drizzle-orm/cache/core';
import type { WithCacheConfig } from 'drizzle-orm/cache/core/types';
import { SQLitePreparedQuery } from 'drizzle-orm/sqlite-core';
import type {
  PreparedQueryConfig,
  SelectedFieldsOrdered,
  SQLiteExecuteMethod,
} from 'drizzle-orm/sqlite-core';
import type { ExecResult, RowValue } from '../../drivers/client/index.js';
import type { PoolQueryResult } from '../../drivers/pool/index.js';
import { joinsNotNullableMapOf, mapResultRow, queryWithCache } from './drizzle-internals.js';
import { asParameters, rowObject } from './statement-target.js';
import type { StatementTarget } from './statement-target.js';

/** Maps Drizzle's relational query rows (given as arrays) to their result. */
export type CustomResultMapper = (rows: unknown[][]) => unknown;

/** What a statement's `queryMetadata` says about it, for Drizzle's cache. */
export interface QueryMetadata {
  type: 'select' | 'update' | 'delete' | 'insert';
  tables: string[];
}

/** Everything a prepared query is built from. */
export interface DqlitePreparedQueryInit {
  readonly target: StatementTarget;
  readonly query: Query;
  readonly logger: Logger;
  readonly cache: Cache | undefined;
  readonly queryMetadata: QueryMetadata | undefined;
  readonly cacheConfig: WithCacheConfig | undefined;
  readonly fields: SelectedFieldsOrdered | undefined;
  readonly executeMethod: SQLiteExecuteMethod;
  readonly customResultMapper: CustomResultMapper | undefined;
}

/**
 * One statement as Drizzle prepares it, run on the pool or on a transaction's connection:
 * `run` with `exec` (lastInsertId, rowsAffected), `all`/`get`/`values` with a query in array
 * mode, mapped by Drizzle's own `mapResultRow` (or the relational mapper). Nothing is prepared on
 * the node: Dqlite statements belong to one connection, and the pool's connections come and go
 * with the leader.
 */
export class DqlitePreparedQuery<
  T extends PreparedQueryConfig = PreparedQueryConfig,
> extends SQLitePreparedQuery<{
  type: 'async';
  run: ExecResult;
  all: T['all'];
  get: T['get'];
  values: T['values'];
  execute: T['execute'];
}> {
  static override readonly [entityKind]: string = 'DqlitePreparedQuery';
  readonly #init: DqlitePreparedQueryInit;

  constructor(init: DqlitePreparedQueryInit) {
    super(
      'async',
      init.executeMethod,
      init.query,
      init.cache,
      init.queryMetadata,
      init.cacheConfig,
    );
    this.#init = init;
  }

  async run(placeholderValues?: Record<string, unknown>): Promise<ExecResult> {
    return this.#runOn(this.#init.target, placeholderValues);
  }

  async all(placeholderValues?: Record<string, unknown>): Promise<T['all']> {
    return this.#allOn(this.#init.target, placeholderValues);
  }

  async get(placeholderValues?: Record<string, unknown>): Promise<T['get']> {
    return this.#getOn(this.#init.target, placeholderValues);
  }

  async values(placeholderValues?: Record<string, unknown>): Promise<T['values']> {
    const { rows } = await this.#arraysOn(this.#init.target, placeholderValues);
    return rows;
  }

  /**
   * @internal Runs the statement the way `execute()` would, but on `target`: `db.batch` runs
   * the queries it was given on its own transaction's connection.
   */
  executeOn(target: StatementTarget): Promise<unknown> {
    switch (this.#init.executeMethod) {
      case 'run':
        return this.#runOn(target, undefined);
      case 'all':
        return this.#allOn(target, undefined);
      case 'get':
        return this.#getOn(target, undefined);
      default: {
        const unknownMethod: never = this.#init.executeMethod;
        throw new TypeError(`unknown execute method ${String(unknownMethod)}`);
      }
    }
  }

  #runOn(
    target: StatementTarget,
    placeholderValues: Record<string, unknown> | undefined,
  ): Promise<ExecResult> {
    const { sql, params } = this.#statement(placeholderValues);
    return queryWithCache(this, sql, params, () => target.exec(sql, asParameters(params)));
  }

  async #allOn(
    target: StatementTarget,
    placeholderValues: Record<string, unknown> | undefined,
  ): Promise<T['all']> {
    const { columns, rows } = await this.#arraysOn(target, placeholderValues);
    const { fields, customResultMapper } = this.#init;
    if (customResultMapper) return customResultMapper(rows);
    if (!fields) return rows.map((row) => rowObject(columns, row));
    const joins = joinsNotNullableMapOf(this);
    return rows.map((row) => mapResultRow(fields, row, joins));
  }

  async #getOn(
    target: StatementTarget,
    placeholderValues: Record<string, unknown> | undefined,
  ): Promise<T['get']> {
    const { columns, rows } = await this.#arraysOn(target, placeholderValues);
    const row = rows[0];
    const { fields, customResultMapper } = this.#init;
    if (!row) return undefined;
    if (customResultMapper) return customResultMapper([row]);
    if (!fields) return rowObject(columns, row);
    return mapResultRow(fields, row, joinsNotNullableMapOf(this));
  }

  #arraysOn(
    target: StatementTarget,
    placeholderValues: Record<string, unknown> | undefined,
  ): Promise<PoolQueryResult<RowValue[]>> {
    const { sql, params } = this.#statement(placeholderValues);
    return queryWithCache(this, sql, params, () => target.queryArrays(sql, asParameters(params)));
  }

  /** The SQL and its parameters with placeholders filled in; logged as Drizzle's drivers do. */
  #statement(placeholderValues: Record<string, unknown> | undefined): {
    sql: string;
    params: unknown[];
  } {
    const { query, logger } = this.#init;
    const params = fillPlaceholders(query.params, placeholderValues ?? {});
    logger.logQuery(query.sql, params);
    return { sql: query.sql, params };
  }
}
