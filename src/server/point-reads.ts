import Database from 'better-sqlite3';
import path from 'node:path';
import type { WireValue } from '../wire/index.js';
import { IteratorRowSource, encodeRowBatches } from './sql/row-batches.js';
import { parameterSlots, splitStatements, type ParameterSlot } from '../sql/sql-text.js';
import { bindArguments, wireValueOf } from './sql/values.js';

/**
 * A point lookup that takes longer than this, `strikesMax` runs in a row, is never run on the
 * main thread again. In a row: on a busy machine one run can be descheduled for milliseconds.
 */
const timeBudgetMs = 5;
const strikesMax = 3;
/** Statements remembered per database (eligible or not); the oldest is forgotten first. */
const statementsPerDatabaseMax = 1024;
/** A plan this long is no point lookup worth the check. */
const planStepsMax = 4;

interface PointStatement {
  readonly statement: Database.Statement;
  /** Runs in a row over the time budget. */
  strikes: number;
  readonly slots: readonly ParameterSlot[];
  readonly columns: readonly string[];
  readonly declared: readonly (string | null)[];
}

interface OpenDatabase {
  readonly connection: Database.Database;
  /** SQL text to its compiled lookup, or null when it must run in the engine. */
  readonly statements: Map<string, PointStatement | null>;
}

/**
 * Point reads on the main thread: a query whose plan can return at most one row per IN value
 * (every step a SEARCH by equality on the rowid, a primary key or a unique index, all its
 * columns) runs here, on a read-only connection, instead of a round trip to the SQL engine's
 * worker (~90 µs here, most of a point read). Anything else, any error, and a lookup slower than
 * `timeBudgetMs` several times in a row goes (and from then on stays) with the engine, which keeps
 * long queries off the thread that runs Raft. The caller decides whether a read may run here at all (the session has
 * no transaction open, and no write is on its way back from the engine) and holds the answer as
 * it holds every read's (SessionRequests.pointRead, WritePath.answerPointRead).
 *
 * Connections are opened only while leading and closed (`closeAll`) before the engine undoes or
 * replaces anything in the files.
 */
export class PointReads {
  readonly #directory: string;
  readonly #open = new Map<string, OpenDatabase>();
  readonly #now: () => number;
  readonly #replyBytesMax: number;

  /**
   * `replyBytesMax` is the node's limits.queryBufferBytes: a bigger answer goes to the engine,
   * which streams it. `now` (monotonic ms) is for tests that need a lookup to look slow.
   */
  constructor(
    databaseDirectory: string,
    options: { now?: () => number; replyBytesMax?: number } = {},
  ) {
    this.#directory = databaseDirectory;
    this.#now = options.now ?? (() => performance.now());
    this.#replyBytesMax = options.replyBytesMax ?? 64 * 1024;
  }

  /**
   * The ROWS messages of `sql` run here, or undefined when it is not a point lookup (or failed
   * here for any reason: the engine then runs it and reports its own error).
   */
  run(database: string, sql: string, parameters: readonly WireValue[]): Buffer | undefined {
    const open = this.#database(database);
    if (open === undefined) return undefined;
    const lookup = this.#lookup(open, sql);
    if (lookup === undefined) return undefined;
    let args: unknown[];
    try {
      args = bindArguments(lookup.slots, parameters);
    } catch {
      return undefined; // wrong parameter count: the engine words the error
    }
    const startedMs = this.#now();
    try {
      // all(), not iterate(): a point plan returns at most a row per IN value, and all() is the
      // cheaper call (no iterator crossing into SQLite per row).
      const rows = lookup.statement.all(...args) as unknown[][];
      const wireRows = rows.map((row) =>
        row.map((value, i) => wireValueOf(value, lookup.declared[i] ?? null)),
      );
      const { bytes, done } = encodeRowBatches(
        new IteratorRowSource(lookup.columns, wireRows[Symbol.iterator]()),
        this.#replyBytesMax,
      );
      if (this.#now() - startedMs <= timeBudgetMs) lookup.strikes = 0;
      else if (++lookup.strikes >= strikesMax) open.statements.set(sql, null);
      if (!done) {
        open.statements.set(sql, null);
        return undefined;
      }
      return bytes;
    } catch (error) {
      // The engine runs it and words any error. SQLITE_BUSY (the engine was checkpointing) passes;
      // anything else (a schema change, a value it cannot map) is not worth trying here again.
      if (!isBusy(error)) open.statements.set(sql, null);
      return undefined;
    }
  }

  /** Closes every connection: leadership ended, or the engine is about to change the files. */
  closeAll(): void {
    for (const open of this.#open.values()) open.connection.close();
    this.#open.clear();
  }

  #database(name: string): OpenDatabase | undefined {
    let open = this.#open.get(name);
    if (open === undefined) {
      try {
        const connection = new Database(path.join(this.#directory, name), {
          readonly: true,
          fileMustExist: true,
          timeout: 0,
        });
        open = { connection, statements: new Map() };
      } catch {
        return undefined; // not created yet: the engine creates databases
      }
      this.#open.set(name, open);
    }
    return open;
  }

  #lookup(open: OpenDatabase, sql: string): PointStatement | undefined {
    const known = open.statements.get(sql);
    if (known !== undefined) return known ?? undefined;
    const lookup = compilePointLookup(open.connection, sql);
    if (open.statements.size >= statementsPerDatabaseMax) {
      const oldest = open.statements.keys().next().value;
      if (oldest !== undefined) open.statements.delete(oldest);
    }
    open.statements.set(sql, lookup ?? null);
    return lookup;
  }
}

/** The statement compiled for this thread when `sql` is one point lookup, else undefined. */
function compilePointLookup(
  connection: Database.Database,
  sql: string,
): PointStatement | undefined {
  const texts = splitStatements(sql);
  const text = texts[0]?.sql;
  if (texts.length !== 1 || text === undefined || !/^\s*SELECT\b/i.test(text)) return undefined;
  try {
    const statement = connection.prepare(text);
    if (!statement.reader || !statement.readonly) return undefined;
    const slots = parameterSlots(text);
    if (!isPointPlan(connection, text, slots)) return undefined;
    statement.raw(true);
    statement.safeIntegers(true);
    const described = statement.columns();
    return {
      statement,
      strikes: 0,
      slots,
      columns: described.map((column) => column.name),
      declared: described.map((column) => column.type),
    };
  } catch {
    return undefined; // the engine reports what is wrong with it
  }
}

const searchByRowid = /^SEARCH \S+ USING INTEGER PRIMARY KEY \(rowid=\?\)$/;
const searchByIndex = /^SEARCH \S+ USING (?:COVERING )?INDEX (\S+) \(([^()]+)\)$/;
const searchByPrimaryKey = /^SEARCH (\S+) USING PRIMARY KEY \(([^()]+)\)$/;
const equalityTerm = /^[A-Za-z_][A-Za-z0-9_]*=\?$/;

/**
 * True when every step of the query plan finds at most one row per IN value: a SEARCH with
 * equality on the rowid, or on every column of a unique index or a WITHOUT ROWID table's primary
 * key. Scans, subqueries, sorts and temporary b-trees all disqualify.
 */
function isPointPlan(
  connection: Database.Database,
  text: string,
  slots: readonly ParameterSlot[],
): boolean {
  const explain = connection.prepare(`EXPLAIN QUERY PLAN ${text}`);
  // Every slot without a value binds NULL: the plan does not depend on the values.
  const steps = explain.all(...bindArguments(slots, [])) as { detail: string }[];
  if (steps.length === 0 || steps.length > planStepsMax) return false;
  return steps.every(({ detail }) => {
    if (searchByRowid.test(detail)) return true;
    const byIndex = searchByIndex.exec(detail);
    if (byIndex !== null) return uniqueKeyCovered(connection, byIndex[1]!, byIndex[2]!);
    const byPrimaryKey = searchByPrimaryKey.exec(detail);
    if (byPrimaryKey !== null)
      return primaryKeyCovered(connection, byPrimaryKey[1]!, byPrimaryKey[2]!);
    return false;
  });
}

/** How many terms a SEARCH's constraint ("a=? AND b=?") has; undefined unless all are equalities. */
function equalityColumns(constraint: string): number | undefined {
  const terms = constraint.split(' AND ');
  return terms.every((term) => equalityTerm.test(term)) ? terms.length : undefined;
}

function uniqueKeyCovered(
  connection: Database.Database,
  index: string,
  constraint: string,
): boolean {
  const terms = equalityColumns(constraint);
  if (terms === undefined) return false;
  const row = connection
    .prepare("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?")
    .get(index) as { sql: string | null } | undefined;
  if (row === undefined) return false;
  // Automatic indexes (sql NULL) back PRIMARY KEY and UNIQUE constraints: unique by definition.
  const unique = row.sql === null || /^\s*CREATE\s+UNIQUE\s+INDEX\b/i.test(row.sql);
  const keyColumns = (connection.pragma(`index_info(${quoteIdentifier(index)})`) as unknown[])
    .length;
  return unique && terms === keyColumns;
}

function primaryKeyCovered(
  connection: Database.Database,
  table: string,
  constraint: string,
): boolean {
  const terms = equalityColumns(constraint);
  if (terms === undefined) return false;
  // The plan names the table as the query wrote it. An alias names no table and gives up; an
  // alias that happens to name another table can only let a multi-row lookup run here, where
  // the time budget still applies and the answer is the same.
  const columns = connection.pragma(`table_info(${quoteIdentifier(table)})`) as { pk: number }[];
  const keyColumns = columns.filter((column) => column.pk > 0).length;
  return keyColumns > 0 && terms === keyColumns;
}

function isBusy(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY');
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
