import { customType } from 'drizzle-orm/sqlite-core';

/**
 * A 64-bit `INTEGER` column read and written as `bigint`. Drizzle's SQLite `integer()` is a
 * `number` (a value beyond 2^53 comes back from Dqlite as a `bigint` anyway, so nothing is lost,
 * but the type says `number`); its `blob({ mode: 'bigint' })` and `numeric({ mode: 'bigint' })`
 * store text. This one stores a real INTEGER, so SQL arithmetic, ordering and indexes work.
 *
 * @example
 * import { int64 } from 'dqlite-ts/drizzle';
 * const ledger = sqliteTable('ledger', { id: int64('id').primaryKey(), amount: int64('amount') });
 */
export const int64 = customType<{ data: bigint; driverData: number | bigint }>({
  dataType: () => 'integer',
  fromDriver: (value) => BigInt(value),
  toDriver: (value) => value,
});
