import type Database from 'better-sqlite3';
import { ErrorCode } from '../../wire/index.js';
import { EngineFailure } from './engine-failure.js';
import type { IteratorRowSource } from './row-batches.js';
import type { ParameterSlot } from '../../sql/sql-text.js';

export interface PreparedStatement {
  readonly statement: Database.Statement;
  readonly slots: readonly ParameterSlot[];
}

/**
 * The engine's side of one client connection (dqlite's "gateway"): the database it opened, its
 * own SQLite connection, its statements by id, and the query whose rows are being streamed.
 *
 * Invariant: `connection` belongs to leadership epoch `epoch`; once the engine's epoch moves on
 * the connection is closed and its statements are dead.
 */
export class EngineSession {
  readonly id: number;
  database: string | undefined;
  connection: Database.Database | undefined;
  epoch = 0;
  /** Slot table: a finalized id is reused by the next PREPARE, lowest first, as in dqlite. */
  readonly statements: (PreparedStatement | undefined)[] = [];
  cursor: IteratorRowSource | undefined;
  /** Set by PRAGMA busy_timeout; undefined means the node's default. */
  busyTimeoutMs: number | undefined;
  /**
   * Leadership ended while this session had a transaction open: SQLite rolled it back with the
   * connection. Until the client says ROLLBACK (or reconnects) its statements are refused, so
   * none of them runs outside the transaction the client believes it is in.
   */
  transactionLost = false;

  /** Most prepared statements it may hold (STMT ids are slots of this table). */
  readonly #statementsMax: number;

  constructor(id: number, statementsMax: number) {
    this.id = id;
    this.#statementsMax = statementsMax;
  }

  addStatement(prepared: PreparedStatement): number {
    const free = this.statements.indexOf(undefined);
    if (free >= 0) {
      this.statements[free] = prepared;
      return free;
    }
    if (this.statements.length >= this.#statementsMax) {
      throw new EngineFailure(
        ErrorCode.SQLITE_ERROR,
        `too many prepared statements (at most ${this.#statementsMax} per connection; finalize some, or raise the node's limits.statementsPerConnectionMax)`,
      );
    }
    this.statements.push(prepared);
    return this.statements.length - 1;
  }

  /** The statement with `id`; a finalized or unknown id is SQLITE_NOTFOUND (never a crash). */
  statement(id: number): PreparedStatement {
    const prepared = this.statements[id];
    if (prepared === undefined) {
      throw new EngineFailure(ErrorCode.SQLITE_NOTFOUND, 'no statement with the given id');
    }
    return prepared;
  }

  finalize(id: number): void {
    this.statement(id);
    this.statements[id] = undefined;
    while (this.statements.length > 0 && this.statements.at(-1) === undefined) {
      this.statements.pop();
    }
  }

  closeCursor(): void {
    this.cursor?.close();
    this.cursor = undefined;
  }

  /** The connection died with its leadership epoch: forget it and every statement on it. */
  dropConnection(): void {
    this.closeCursor();
    this.connection = undefined;
    this.statements.length = 0;
  }
}
