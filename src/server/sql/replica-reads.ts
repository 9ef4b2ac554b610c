import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { databaseNameProblem } from '../../fsm/database-directory.js';
import { parameterSlots, splitStatements, type ParameterSlot } from '../../sql/sql-text.js';
import { ErrorCode, type WireValue } from '../../wire/index.js';
import { EngineFailure, failureOutcome } from './engine-failure.js';
import { okOutcome, type EngineOutcome } from './engine-messages.js';
import { IteratorRowSource, encodeRowBatches } from './row-batches.js';
import { bindArguments, wireValueOf } from './values.js';

/**
 * Most bytes of ROWS one read served by a follower returns. Its rows are read in one go (a
 * follower writes each committed transaction's pages straight into the files, so a cursor
 * cannot stay open across entries); a bigger result is refused with a message that says to read
 * it from the leader, which streams.
 */
export const replicaReadBytesMax = 16 * 1024 * 1024;

/** Statements kept compiled per connection; the oldest is dropped first. */
const statementsPerDatabaseMax = 256;

interface ReadStatement {
  readonly statement: Database.Statement;
  readonly slots: readonly ParameterSlot[];
  readonly columns: readonly string[];
  readonly declared: readonly (string | null)[];
}

interface OpenDatabase {
  readonly connection: Database.Database;
  /** SQL text to its compiled statement, until the connection closes. */
  readonly statements: Map<string, ReadStatement>;
}

/**
 * Reads served on a follower or standby, in the SQL engine's thread, between the entries it
 * applies: each runs on a read-only connection to the database file as the applied entries
 * left it. The caller (the main thread) runs one only once this node applied what the read must
 * see (a read index from the leader, or one recent enough for a bounded-staleness read).
 *
 * Invariant: no connection is open while the engine writes pages (`closeAll` before every apply,
 * restore, lead or step-down), and SQLite caches nothing across them: a connection is opened
 * afresh after each change. A connection to a WAL-mode file creates an empty `-wal` and `-shm`
 * beside it; `closeAll` removes them, so the files are as a follower keeps them.
 */
export class ReplicaReads {
  readonly #directory: string;
  readonly #open = new Map<string, OpenDatabase>();

  constructor(directory: string) {
    this.#directory = directory;
  }

  /** The ROWS of the first statement of `sql`, which must only read. */
  query(database: string, sql: string, parameters: readonly WireValue[]): EngineOutcome {
    try {
      const { statement, slots, columns, declared } = this.#statement(
        this.#connection(database),
        sql,
      );
      const args = bindArguments(slots, parameters);
      const rows = statement.iterate(...args) as IterableIterator<unknown[]>;
      const wireRows = (function* () {
        for (const row of rows)
          yield row.map((value, i) => wireValueOf(value, declared[i] ?? null));
      })();
      const source = new IteratorRowSource(columns, wireRows);
      try {
        const { bytes, done } = encodeRowBatches(source, replicaReadBytesMax);
        if (!done) {
          throw new EngineFailure(
            ErrorCode.SQLITE_TOOBIG,
            `a read served by a follower returns at most ${replicaReadBytesMax} bytes of rows; ` +
              'read this one from the leader, which streams it',
          );
        }
        return okOutcome({ rows: bytes, done: true });
      } finally {
        source.close();
      }
    } catch (error) {
      return failureOutcome(error);
    }
  }

  /** Closes every connection and removes the empty WAL files they made: the files change next. */
  closeAll(): void {
    for (const [database, { connection }] of this.#open) {
      connection.close();
      removeEmptyWal(path.join(this.#directory, database));
    }
    this.#open.clear();
  }

  /** The statement for `sql` on `open`, compiled once per connection. */
  #statement(open: OpenDatabase, sql: string): ReadStatement {
    const known = open.statements.get(sql);
    if (known !== undefined) return known;
    const text = splitStatements(sql)[0]?.sql;
    if (text === undefined) throw new EngineFailure(ErrorCode.SQLITE_MISUSE, 'empty statement');
    const statement = open.connection.prepare(text);
    if (!statement.reader || !statement.readonly) {
      // Only the leader writes; the pool sends writes there. A client that sent one here gets
      // what any follower answers a write with.
      throw new EngineFailure(
        ErrorCode.SQLITE_IOERR_NOT_LEADER,
        'not leader: a follower serves only reads',
      );
    }
    statement.raw(true);
    statement.safeIntegers(true);
    const described = statement.columns();
    const compiled: ReadStatement = {
      statement,
      slots: parameterSlots(text),
      columns: described.map((column) => column.name),
      declared: described.map((column) => column.type),
    };
    if (open.statements.size >= statementsPerDatabaseMax) {
      const oldest = open.statements.keys().next().value;
      if (oldest !== undefined) open.statements.delete(oldest);
    }
    open.statements.set(sql, compiled);
    return compiled;
  }

  #connection(database: string): OpenDatabase {
    const known = this.#open.get(database);
    if (known !== undefined) return known;
    const problem = databaseNameProblem(database);
    if (problem !== undefined) throw new EngineFailure(ErrorCode.SQLITE_CANTOPEN, problem);
    const file = path.join(this.#directory, database);
    if (walBytes(file) > 0) {
      // Frames only a leader's connections write, never checkpointed: not the applied state.
      throw new EngineFailure(
        ErrorCode.SQLITE_IOERR_NOT_LEADER,
        `not leader: ${database} has a WAL with frames here; read it from the leader`,
      );
    }
    // A database no entry has created yet reads as an empty one, as on the leader.
    const connection = fs.existsSync(file)
      ? new Database(file, { readonly: true, fileMustExist: true, timeout: 0 })
      : new Database(':memory:');
    const open = { connection, statements: new Map<string, ReadStatement>() };
    this.#open.set(database, open);
    return open;
  }
}

/** Bytes in `<file>-wal`; 0 when there is none. */
function walBytes(file: string): number {
  try {
    return fs.statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

/** Removes `<file>-wal` and `<file>-shm` when the WAL is empty: a reader made them. */
function removeEmptyWal(file: string): void {
  if (!fs.existsSync(`${file}-wal`) || walBytes(file) !== 0) return;
  fs.rmSync(`${file}-wal`, { force: true });
  fs.rmSync(`${file}-shm`, { force: true });
}
