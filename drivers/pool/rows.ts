import type { RowValue } from '../client/index.js';

/** How rows come back: objects keyed by column name (default), or arrays in column order. */
export type RowMode = 'object' | 'array';

export type ObjectRow = Record<string, RowValue>;

/** The answer to a pool query. */
export interface PoolQueryResult<Row = ObjectRow> {
  readonly columns: string[];
  readonly rows: Row[];
}

/** Builds a row object; a later column of the same name wins, as in better-sqlite3. */
export function rowObject(columns: readonly string[], row: readonly RowValue[]): ObjectRow {
  const object: ObjectRow = {};
  for (let index = 0; index < columns.length; index++) object[columns[index]!] = row[index] ?? null;
  return object;
}

export function shapeRows(
  columns: readonly string[],
  rows: RowValue[][],
  mode: RowMode,
): ObjectRow[] | RowValue[][] {
  return mode === 'array' ? rows : rows.map((row) => rowObject(columns, row));
}

export function checkRowMode(mode: unknown): RowMode {
  if (mode === undefined) return 'object';
  if (mode !== 'object' && mode !== 'array') {
    throw new TypeError(`rowMode must be 'object' or 'array', got ${String(mode)}`);
  }
  return mode;
}
