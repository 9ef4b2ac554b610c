// Every use of a Drizzle member that Drizzle's typings do not show, in one file. Drizzle strips
// the members it marks @internal from its .d.ts files, and its driver classes change between
// minor versions, so each cast below names the member it reaches and the versions it was checked
// against: drizzle-orm 0.44.0, 0.44.7 and 0.45.4 (the supported range is >=0.44 <0.46). A member
// that went missing fails loudly with DrizzleInternalsError instead of misbehaving.

import * as drizzleOrm from 'drizzle-orm';
import { createTableRelationsHelpers, extractTablesRelationalConfig, is } from 'drizzle-orm';
import type { Cache } from 'drizzle-orm/cache/core';
import type { ExtractTablesWithRelations, RelationalSchemaConfig } from 'drizzle-orm';
import type { SelectedFieldsOrdered, SQLitePreparedQuery } from 'drizzle-orm/sqlite-core';
import type { PreparedQueryConfig } from 'drizzle-orm/sqlite-core';
import { SQLiteRaw } from 'drizzle-orm/sqlite-core/query-builders/raw';

/** Drizzle changed in a way this adapter does not know; the message names the member. */
export class DrizzleInternalsError extends Error {
  override name = 'DrizzleInternalsError';

  constructor(member: string) {
    super(
      `drizzle-orm has no ${member} (dqlite-ts/drizzle supports drizzle-orm >=0.44 <0.46); ` +
        'check the installed drizzle-orm version',
    );
  }
}

type MapResultRow = (
  columns: SelectedFieldsOrdered,
  row: unknown[],
  joinsNotNullableMap: Record<string, boolean> | undefined,
) => Record<string, unknown>;

/** `mapResultRow` in drizzle-orm/utils.js: exported at run time, @internal in the typings. */
const drizzleMapResultRow = (drizzleOrm as unknown as { mapResultRow?: MapResultRow }).mapResultRow;

/**
 * Drizzle's own row mapping for selected fields (column decoders, nested objects, null-joined
 * tables), so rows come out exactly as from Drizzle's other SQLite drivers.
 */
export function mapResultRow(
  fields: SelectedFieldsOrdered,
  row: unknown[],
  joinsNotNullableMap: Record<string, boolean> | undefined,
): Record<string, unknown> {
  if (typeof drizzleMapResultRow !== 'function') throw new DrizzleInternalsError('mapResultRow');
  return drizzleMapResultRow(fields, row, joinsNotNullableMap);
}

type AnyPreparedQuery = SQLitePreparedQuery<PreparedQueryConfig>;

/**
 * `joinsNotNullableMap`: the select builder sets it on the prepared query after preparing it
 * (sqlite-core/query-builders/select.js `_prepare`); @internal on SQLitePreparedQuery.
 */
export function joinsNotNullableMapOf(
  prepared: AnyPreparedQuery,
): Record<string, boolean> | undefined {
  return (prepared as unknown as { joinsNotNullableMap?: Record<string, boolean> })
    .joinsNotNullableMap;
}

/**
 * `queryWithCache` on SQLitePreparedQuery (@internal): runs the query through Drizzle's cache
 * and wraps a failure in DrizzleQueryError, as every Drizzle driver does.
 */
export function queryWithCache<T>(
  prepared: AnyPreparedQuery,
  sql: string,
  params: unknown[],
  query: () => Promise<T>,
): Promise<T> {
  const method = (
    prepared as unknown as {
      queryWithCache?: (sql: string, params: unknown[], query: () => Promise<T>) => Promise<T>;
    }
  ).queryWithCache;
  if (typeof method !== 'function') throw new DrizzleInternalsError('queryWithCache');
  return method.call(prepared, sql, params, query);
}

/** What a batch item turns into: a prepared query of this adapter, or a raw `db.run/all/…`. */
export type BatchItemPlan =
  | { readonly kind: 'prepared'; readonly prepared: unknown }
  | {
      readonly kind: 'raw';
      readonly method: 'run' | 'all' | 'get' | 'values';
      readonly sql: string;
      readonly params: unknown[];
      readonly mapResult: (result: unknown) => unknown;
    };

/**
 * Prepares one item of `db.batch([...])`. Query builders have `_prepare()` (@internal), which
 * returns the session's prepared query; `db.run/all/get/values` return SQLiteRaw, whose own
 * execute would run outside the batch, so the batch runs its SQL itself and maps the result with
 * the raw's `mapResult(result, true)`.
 */
export function planBatchItem(item: unknown, index: number): BatchItemPlan {
  if (is(item, SQLiteRaw)) {
    const { method, sql, params } = item.getQuery();
    return {
      kind: 'raw',
      method,
      sql,
      params,
      mapResult: (result) => item.mapResult(result, true),
    };
  }
  const prepare = (item as { _prepare?: () => unknown } | null)?._prepare;
  if (typeof prepare !== 'function') {
    throw new TypeError(`batch(queries): item ${index} is not a Drizzle query of this database`);
  }
  return { kind: 'prepared', prepared: prepare.call(item) };
}

/** Drizzle's relational configuration of a schema, as its own drivers build it. */
export function relationalSchemaOf<TFullSchema extends Record<string, unknown>>(
  fullSchema: TFullSchema,
): RelationalSchemaConfig<ExtractTablesWithRelations<TFullSchema>> {
  const config = extractTablesRelationalConfig(fullSchema, createTableRelationsHelpers);
  return {
    fullSchema,
    schema: config.tables as ExtractTablesWithRelations<TFullSchema>,
    tableNamesMap: config.tableNamesMap,
  };
}

/** `db.$cache`, as Drizzle's drivers set it (sqlite-core/db.js declares it, the drivers fill it). */
export function attachCache(database: object, cache: Cache | undefined): void {
  const target = database as { $cache?: { invalidate?: Cache['onMutate'] } };
  target.$cache = cache as { invalidate?: Cache['onMutate'] } | undefined;
  if (cache) target.$cache!.invalidate = cache.onMutate;
}
