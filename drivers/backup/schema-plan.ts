// What a copy of one database creates, in which order, and how it reads and writes each table's
// rows. Shared by backup (cluster to file) and restore (file to cluster); pure functions over the
// rows of sqlite_master and pragma_table_xinfo, so both directions build the same plan.

/** One row of sqlite_master that a copy recreates. */
export interface SchemaObject {
  readonly type: 'table' | 'index' | 'trigger' | 'view';
  readonly name: string;
  readonly sql: string;
}

/** A table whose rows are copied: the columns that hold stored values, and its rowid alias. */
export interface TablePlan {
  readonly name: string;
  readonly sql: string;
  /** Ordinary columns in declaration order; generated columns are computed again, not copied. */
  readonly columns: readonly string[];
  /** A name that reads and writes the rowid, or undefined (WITHOUT ROWID, or all three shadowed). */
  readonly rowid: string | undefined;
}

/**
 * The objects a copy leaves out: SQLite's own tables (sqlite_sequence is copied as rows, after the
 * tables' rows) and the pool's bookkeeping table of exactly-once transactions, which belongs to the
 * cluster it lives in (docs/pool.md).
 */
export const POOL_BOOKKEEPING_TABLE = 'dqlite_ts_transactions';

/** sqlite_master's rows of the objects a copy recreates, in creation (rowid) order. */
export const SCHEMA_SQL = `SELECT type, name, sql FROM sqlite_master
  WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '${POOL_BOOKKEEPING_TABLE}'
  ORDER BY rowid`;

/** pragma_table_xinfo's columns: hidden 0 is an ordinary column, 2 and 3 generated ones. */
export const COLUMNS_SQL = 'SELECT name, hidden FROM pragma_table_xinfo(?) ORDER BY cid';

/** An identifier as SQL text: always quoted, so keywords and odd characters work. */
export function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Validates sqlite_master's rows. A virtual table is refused (`virtualTable` names it): its module
 * creates shadow tables of its own, which a copy of the rows would collide with.
 */
export function schemaObjects(rows: readonly (readonly unknown[])[]): {
  readonly objects: SchemaObject[];
  readonly virtualTable: string | undefined;
} {
  const objects: SchemaObject[] = [];
  let virtualTable: string | undefined;
  for (const [type, name, sql] of rows) {
    if (typeof name !== 'string' || typeof sql !== 'string') continue;
    if (type !== 'table' && type !== 'index' && type !== 'trigger' && type !== 'view') continue;
    if (type === 'table' && /^\s*CREATE\s+VIRTUAL\s/i.test(sql)) virtualTable ??= name;
    objects.push({ type, name, sql });
  }
  return { objects, virtualTable };
}

/**
 * The order a copy runs in: tables first (creation order), then their rows, then indexes, views
 * and triggers in creation order. Indexes are built once over all rows, and triggers exist only
 * after the rows are in, so none fires during the copy.
 */
export function creationOrder(objects: readonly SchemaObject[]): {
  readonly tables: SchemaObject[];
  readonly afterRows: SchemaObject[];
} {
  return {
    tables: objects.filter((object) => object.type === 'table'),
    afterRows: objects.filter((object) => object.type !== 'table'),
  };
}

/** A table's copy plan from its CREATE statement and its pragma_table_xinfo rows. */
export function tablePlan(
  table: SchemaObject,
  columnRows: readonly (readonly unknown[])[],
): TablePlan {
  const all = columnRows.map(([name, hidden]) => ({ name: String(name), hidden: Number(hidden) }));
  const columns = all.filter((column) => column.hidden === 0).map((column) => column.name);
  if (columns.length === 0) throw new Error(`table ${table.name} has no columns to copy`);
  const taken = new Set(all.map((column) => column.name.toLowerCase()));
  const rowid = withoutRowid(table.sql)
    ? undefined
    : ['_rowid_', 'rowid', 'oid'].find((name) => !taken.has(name));
  return { name: table.name, sql: table.sql, columns, rowid };
}

/** The columns a table's copy reads and writes: the rowid first when it has one. */
export function copiedColumns(plan: TablePlan): string[] {
  const columns = plan.columns.map(quoteName);
  return plan.rowid === undefined ? columns : [plan.rowid, ...columns];
}

/**
 * The SELECT that reads a table's rows. Each column is read through unary `+`, which leaves the
 * value as stored but drops the declared type, so a DATETIME or BOOLEAN column arrives as the
 * integer, real or text SQLite holds rather than as a Date or a boolean.
 */
export function selectRowsSql(plan: TablePlan): string {
  const columns = copiedColumns(plan).map((column) => `+${column}`);
  return `SELECT ${columns.join(', ')} FROM ${quoteName(plan.name)}`;
}

/** `CREATE TABLE ... ) WITHOUT ROWID`: the table options follow the last parenthesis. */
function withoutRowid(sql: string): boolean {
  const options = sql.slice(sql.lastIndexOf(')') + 1);
  return /\bWITHOUT\s+ROWID\b/i.test(options);
}
