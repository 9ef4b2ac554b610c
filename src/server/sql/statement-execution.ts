// How one statement runs on better-sqlite3 the way dqlite runs it: compiled with the node's
// refusals, executed with dqlite's EXEC semantics, or opened as a cursor of wire values. Kept
// apart from SessionStatements, which decides whether and when a statement may run (leadership,
// the write lock, the session's transaction): this is only the SQLite side of running it, and it
// holds no state of its own.

import type Database from 'better-sqlite3';
import { parameterSlots } from '../../sql/sql-text.js';
import { ErrorCode, type WireValue } from '../../wire/index.js';
import { EngineFailure } from './engine-failure.js';
import type { ExecValue } from './engine-messages.js';
import type { EngineSession, PreparedStatement } from './engine-session.js';
import { IteratorRowSource } from './row-batches.js';
import { refusalOf } from './statement-policy.js';
import { bindArguments, wireValueOf } from './values.js';

/** Compiles `sql` on `connection`, unless the node refuses it (statement-policy.ts). */
export function compileStatement(connection: Database.Database, sql: string): PreparedStatement {
  const refused = refusalOf(sql);
  if (refused !== undefined) throw new EngineFailure(ErrorCode.SQLITE_AUTH, refused);
  const statement = connection.prepare(sql);
  if (statement.reader) statement.raw(true);
  statement.safeIntegers(true);
  return { statement, slots: parameterSlots(sql) };
}

/** Runs a statement as EXEC does: to its end, any rows discarded. */
export function executeStatement(
  prepared: PreparedStatement,
  values: readonly WireValue[],
): ExecValue {
  const { statement } = prepared;
  const args = bindArguments(prepared.slots, values);
  if (!statement.reader) {
    const info = statement.run(...args);
    return { lastInsertId: BigInt(info.lastInsertRowid), rowsAffected: info.changes };
  }
  // SQLite gives result columns to statements that return no rows: ALTER TABLE … ADD COLUMN
  // with NOT NULL and no default or with a CHECK, any ADD COLUMN on a STRICT table. Dqlite
  // steps such a statement once and succeeds on SQLITE_DONE; a row is SQLITE_ROW.
  const before = changeCounters(statement.database);
  if (statement.readonly) {
    const rows = statement.iterate(...args);
    const first = rows.next();
    rows.return?.();
    if (first.done !== true) {
      throw new EngineFailure(
        ErrorCode.SQLITE_ROW,
        'another row available: EXEC ran a statement that returns rows; send it as a query',
      );
    }
  } else {
    // A write that returns rows (… RETURNING) runs to its end, rows discarded, so no write is
    // left half-done in an open statement.
    statement.all(...args);
  }
  const after = changeCounters(statement.database);
  return {
    lastInsertId: after.lastInsertId,
    rowsAffected: after.totalChanges === before.totalChanges ? 0 : after.changes,
  };
}

/**
 * Runs a query and makes its rows, as wire values, the session's cursor (closing the one it had).
 * A statement that returns no rows is dqlite's "not an error" failure.
 */
export function startQuery(
  session: EngineSession,
  prepared: PreparedStatement,
  values: readonly WireValue[],
): void {
  const { statement } = prepared;
  if (!statement.reader) throw new EngineFailure(ErrorCode.SQLITE_ERROR, 'not an error');
  const declared = statement.columns().map((column) => column.type);
  const toWire = (row: unknown[]) => row.map((value, i) => wireValueOf(value, declared[i] ?? null));
  const args = bindArguments(prepared.slots, values);
  const columns = statement.columns().map((column) => column.name);
  session.closeCursor();
  // A query that writes (RETURNING) runs to the end at once, so its transaction ends and its
  // write lock is released within this request; a read streams lazily.
  const rows: Iterator<unknown[]> = statement.readonly
    ? (statement.iterate(...args) as Iterator<unknown[]>)
    : (statement.all(...args) as unknown[][])[Symbol.iterator]();
  const mapped: Iterator<WireValue[]> = {
    next: () => {
      const step = rows.next();
      return step.done === true ? { done: true, value: undefined } : { value: toWire(step.value) };
    },
    return: () => {
      rows.return?.();
      return { done: true, value: undefined };
    },
  };
  session.cursor = new IteratorRowSource(columns, mapped);
}

const changeQueries = new WeakMap<Database.Database, Database.Statement>();

/** SQLite's change counters on a connection, as sqlite3_total_changes/changes/last_insert_rowid. */
function changeCounters(connection: Database.Database): {
  totalChanges: bigint;
  changes: number;
  lastInsertId: bigint;
} {
  let query = changeQueries.get(connection);
  if (query === undefined) {
    query = connection
      .prepare('SELECT total_changes(), changes(), last_insert_rowid()')
      .raw(true)
      .safeIntegers(true);
    changeQueries.set(connection, query);
  }
  const [totalChanges, changes, lastInsertId] = query.get() as [bigint, bigint, bigint];
  return { totalChanges, changes: Number(changes), lastInsertId };
}
