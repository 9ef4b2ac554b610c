// Client sessions' statements on the leader: each session's connection of the current leadership,
// its prepared statements, the write lock each write waits for, and a request's statements run in
// order. Kept apart from SqlEngine, which takes every request and finishes it (settling what it
// did, replying, and so keeping the ordering contract): this half only runs statements, and hands
// each request back to be finished.

import type Database from 'better-sqlite3';
import { databaseNameProblem } from '../../fsm/database-directory.js';
import type { DatabaseSet } from '../../fsm/database-set.js';
import { splitStatements } from '../../sql/sql-text.js';
import { APPLIED_INDEX_FUNCTION } from '../../sql/applied-index.js';
import { ErrorCode, ValueType, type WireValue } from '../../wire/index.js';
import { EngineFailure, failureOutcome } from './engine-failure.js';
import {
  okOutcome,
  type EngineOutcome,
  type EngineReply,
  type EngineValue,
  type ExecValue,
} from './engine-messages.js';
import { EngineSession, type PreparedStatement } from './engine-session.js';
import { IteratorRowSource, encodeRowBatches } from './row-batches.js';
import { compileStatement, executeStatement, startQuery } from './statement-execution.js';
import { reserveShortfall } from '../disk-reserve.js';
import { WriteLock, type StartTimer } from './write-lock.js';

/** What one request is doing: the proposals it made so far and how it answers. */
export interface Job {
  readonly id: number;
  readonly session: EngineSession | undefined;
  readonly proposals: Uint8Array[];
  readonly reply: (reply: EngineReply) => void;
  /** Its number in `SqlEngineOptions.writers`, 0 until it begins a statement that may write. */
  writer: number;
  /**
   * It ran a statement SQLite does not call read-only, or one inside a write transaction. A
   * request that did not may be settled by data_version alone (DatabaseSet.settle).
   */
  mayHaveWritten: boolean;
  /** It was answered: a second answer would move its proposals twice (and repeat them). */
  answered: boolean;
}

export interface SessionStatementsOptions {
  readonly databases: Pick<
    DatabaseSet,
    'openSessionConnection' | 'closeSessionConnection' | 'appliedIndex'
  >;
  /** The engine's leadership, which SqlEngine owns: its epoch, and whether it leads now. */
  readonly leadership: { readonly epoch: number; readonly leading: boolean };
  /** Every request ends here (SqlEngine's finish): exactly once per job. */
  readonly finish: (job: Job, outcome: EngineOutcome) => void;
  /** SqlEngineOptions' fields of the same names. */
  readonly busyTimeoutMs: number;
  readonly writers?: Int32Array;
  readonly statementsPerConnectionMax?: number;
  readonly queryBufferBytes?: number;
  /** A write fails with SQLITE_FULL while `directory`'s file system has less than `bytes` free. */
  readonly diskReserve?: { readonly directory: string; readonly bytes: number };
  /** Times busy waits (WriteLock); setTimeout by default. */
  readonly startTimer?: StartTimer;
}

/** PRAGMA busy_timeout, read (no value) or set (= N or (N)). */
const busyTimeoutPragma =
  /^\s*PRAGMA\s+(?:main\.)?busy_timeout\s*(?:=\s*(\d+)|\(\s*(\d+)\s*\))?\s*;?\s*$/i;
/** The longest wait a client may ask for: one hour. */
const busyTimeoutMsMax = 3_600_000;

const notLeader = () => new EngineFailure(ErrorCode.SQLITE_IOERR_NOT_LEADER, 'not leader');

/**
 * A statement of a transaction that leadership ended. Nothing of the transaction committed, so
 * it is NOT_LEADER: the client (the pool) runs the whole transaction again on the leader.
 */
const transactionLost = () =>
  new EngineFailure(
    ErrorCode.SQLITE_IOERR_NOT_LEADER,
    'not leader: leadership changed during this transaction, which was rolled back and ' +
      'nothing of it committed; ROLLBACK, then run it again',
  );

/** ROLLBACK of the whole transaction (not ROLLBACK TO a savepoint), alone. */
const rollbackStatement = /^\s*ROLLBACK(?:\s+TRANSACTION)?\s*;?\s*$/i;

/**
 * The sessions of the engine, by id, and one write lock per database. A session's connection
 * belongs to the leadership epoch it was opened in; once the epoch moves on it is dropped, with
 * its statements.
 */
export class SessionStatements {
  readonly #options: SessionStatementsOptions;
  readonly #sessions = new Map<number, EngineSession>();
  readonly #locks = new Map<string, WriteLock>();

  constructor(options: SessionStatementsOptions) {
    this.#options = options;
  }

  /** The session `id`, created on its first request. */
  session(id: number): EngineSession {
    let session = this.#sessions.get(id);
    if (session === undefined) {
      session = new EngineSession(id, this.#options.statementsPerConnectionMax ?? 4096);
      this.#sessions.set(id, session);
    }
    return session;
  }

  open(session: EngineSession, database: string): undefined {
    if (session.database !== undefined) {
      throw new EngineFailure(
        ErrorCode.SQLITE_BUSY,
        'a database for this connection is already open',
      );
    }
    const problem = databaseNameProblem(database);
    if (problem !== undefined) throw new EngineFailure(ErrorCode.SQLITE_CANTOPEN, problem);
    session.database = database;
    return undefined;
  }

  prepare(session: EngineSession, sql: string): EngineValue {
    const first = splitStatements(sql)[0];
    if (first === undefined) throw new EngineFailure(0, 'empty statement');
    const prepared = this.#compile(this.#connection(session), first.sql);
    return { statement: session.addStatement(prepared), parameterCount: prepared.slots.length };
  }

  /** EXEC and QUERY: runs the prepared statement `id` of the session. */
  runPrepared(
    job: Job,
    session: EngineSession,
    id: number,
    parameters: readonly WireValue[],
    mode: 'exec' | 'query',
  ): void {
    const prepared = this.#liveStatement(session, id);
    return this.#runStatements(job, session, [prepared], parameters, mode);
  }

  /** EXEC_SQL runs every statement of the text; QUERY_SQL only the first (as dqlite 1.11). */
  runText(
    job: Job,
    session: EngineSession,
    sql: string,
    parameters: readonly WireValue[],
    op: 'exec-sql' | 'query-sql',
  ): void {
    const { finish } = this.#options;
    if (session.transactionLost && rollbackStatement.test(sql)) {
      // The transaction is gone already; the client's ROLLBACK ends the refusal.
      session.transactionLost = false;
      return finish(job, okOutcome({ lastInsertId: 0n, rowsAffected: 0 }));
    }
    const connection = this.#connection(session);
    const texts = splitStatements(sql);
    const pragma =
      texts.length === 1 ? busyTimeoutPragma.exec((texts[0] as { sql: string }).sql) : null;
    if (pragma !== null) return this.#busyTimeout(job, session, pragma, op);
    if (texts.length === 0) {
      if (op === 'query-sql') throw new EngineFailure(0, 'empty statement');
      return finish(job, okOutcome({ lastInsertId: 0n, rowsAffected: 0 }));
    }
    if (op === 'query-sql') {
      const first = this.#compile(connection, (texts[0] as { sql: string }).sql);
      return this.#runStatements(job, session, [first], parameters, 'query');
    }
    // Statements are compiled one at a time, right before each runs: a later one may name a
    // table an earlier one creates.
    const pending = texts.map((text) => () => this.#compile(connection, text.sql));
    return this.#runStatements(job, session, pending, parameters, 'exec');
  }

  /** The next rows of the session's query. */
  moreRows(session: EngineSession): EngineValue {
    const cursor = session.cursor;
    if (cursor === undefined) throw new EngineFailure(ErrorCode.SQLITE_MISUSE, 'no query running');
    try {
      const { bytes, done } = encodeRowBatches(cursor, this.#options.queryBufferBytes ?? 64 * 1024);
      if (done) session.cursor = undefined;
      return { rows: bytes, done };
    } catch (error) {
      session.closeCursor();
      throw error;
    }
  }

  /** A request of `session` was answered: outside a transaction, its write lock passes on. */
  answered(session: EngineSession, inTransaction: boolean): void {
    if (session.database === undefined) return;
    if (!inTransaction && this.#holdsLock(session)) this.#lock(session).release(session.id);
  }

  close(session: EngineSession): void {
    const { leadership, databases } = this.#options;
    session.closeCursor();
    if (
      session.connection !== undefined &&
      session.epoch === leadership.epoch &&
      leadership.leading
    ) {
      // Closing rolls back a transaction left open; nothing of it was captured or proposed.
      databases.closeSessionConnection(session.connection);
    }
    session.dropConnection();
    if (session.database !== undefined) this.#lock(session).forget(session.id);
    this.#sessions.delete(session.id);
  }

  /**
   * Leadership ended: every connection is gone (the engine closes them), and a session that had a
   * transaction open is refused until its client says ROLLBACK.
   */
  dropConnections(): void {
    for (const session of this.#sessions.values()) {
      if (session.connection?.inTransaction === true) session.transactionLost = true;
      session.dropConnection();
    }
  }

  /** Nobody holds a write lock any more; waiters run now, to find no leader and fail. */
  clearLocks(): void {
    for (const lock of this.#locks.values()) lock.clear();
  }

  /** New writers wait (a snapshot waits for the writes awaiting their commit). */
  pauseWriters(): void {
    for (const lock of this.#locks.values()) lock.pause();
  }

  resumeWriters(): void {
    for (const lock of this.#locks.values()) lock.resume();
  }

  /** The engine closes: every session's query ends and every session is forgotten. */
  closeAll(): void {
    for (const session of this.#sessions.values()) session.closeCursor();
    this.#sessions.clear();
  }

  /** The session's connection, opened on first use; only a leader has connections. */
  #connection(session: EngineSession): Database.Database {
    const { leadership } = this.#options;
    if (session.database === undefined) {
      throw new EngineFailure(ErrorCode.SQLITE_NOTFOUND, 'no database opened');
    }
    if (!leadership.leading) throw notLeader();
    if (session.transactionLost) throw transactionLost();
    if (session.connection !== undefined && session.epoch === leadership.epoch) {
      return session.connection;
    }
    session.dropConnection();
    const connection = this.#options.databases.openSessionConnection(session.database);
    const databases = this.#options.databases;
    connection.function(APPLIED_INDEX_FUNCTION, { deterministic: false }, () =>
      BigInt(databases.appliedIndex),
    );
    session.connection = connection;
    session.epoch = leadership.epoch;
    return session.connection;
  }

  #compile(connection: Database.Database, sql: string): PreparedStatement {
    if (busyTimeoutPragma.test(sql)) {
      // SQLite's own busy handler would block the engine's thread; the engine waits instead.
      throw new EngineFailure(ErrorCode.SQLITE_ERROR, 'PRAGMA busy_timeout must be sent alone');
    }
    return compileStatement(connection, sql);
  }

  /** A statement prepared in this leadership epoch; older ones died with their connection. */
  #liveStatement(session: EngineSession, id: number): PreparedStatement {
    const { leadership } = this.#options;
    if (!leadership.leading) throw notLeader();
    if (session.connection !== undefined && session.epoch !== leadership.epoch) {
      session.dropConnection();
      throw new EngineFailure(
        ErrorCode.SQLITE_IOERR_NOT_LEADER,
        'not leader: the statement was closed when leadership changed; reconnect',
      );
    }
    return session.statement(id);
  }

  /**
   * Runs statements in order (parameters bind to the first only). A statement that writes waits
   * for the database's write lock first; the job then continues when the lock is granted.
   */
  #runStatements(
    job: Job,
    session: EngineSession,
    statements: readonly (PreparedStatement | (() => PreparedStatement))[],
    parameters: readonly WireValue[],
    mode: 'exec' | 'query',
    position = 0,
    last: ExecValue = { lastInsertId: 0n, rowsAffected: 0 },
  ): void {
    const { finish, leadership } = this.#options;
    let result = last;
    for (let i = position; i < statements.length; i++) {
      const entry = statements[i] as PreparedStatement | (() => PreparedStatement);
      let prepared: PreparedStatement;
      try {
        prepared = typeof entry === 'function' ? entry() : entry;
      } catch (error) {
        return finish(job, failureOutcome(error));
      }
      if (!prepared.statement.readonly && !this.#holdsLock(session)) {
        const resume = () => {
          if (!leadership.leading || session.connection === undefined) {
            return finish(job, failureOutcome(notLeader()));
          }
          const again = [...statements];
          again[i] = prepared;
          this.#runStatements(job, session, again, parameters, mode, i, result);
        };
        const granted = this.#lock(session).acquire(
          session.id,
          session.busyTimeoutMs ?? this.#options.busyTimeoutMs,
          resume,
          (reason) => finish(job, { ok: false, code: ErrorCode.SQLITE_BUSY, message: reason }),
        );
        if (!granted) return;
      }
      const values = i === 0 ? parameters : [];
      if (!prepared.statement.readonly) {
        // Before it runs: refused here, a write leaves nothing to undo and nothing to propose.
        const shortfall = this.#diskShortfall();
        if (shortfall !== undefined) {
          return finish(job, failureOutcome(new EngineFailure(ErrorCode.SQLITE_FULL, shortfall)));
        }
      }
      // A write, or anything inside a write transaction (COMMIT counts as read-only to SQLite),
      // may make data visible before this request's reply carries its proposal.
      if (!prepared.statement.readonly || this.#holdsLock(session)) {
        job.mayHaveWritten = true;
        this.#countWriter(job);
      }
      try {
        if (mode === 'query') {
          startQuery(session, prepared, values);
          return finish(job, okOutcome(this.moreRows(session)));
        }
        result = executeStatement(prepared, values);
      } catch (error) {
        return finish(job, failureOutcome(error));
      }
    }
    finish(job, okOutcome(result));
  }

  /**
   * PRAGMA busy_timeout sets how long this connection's writes wait for another transaction,
   * as in SQLite; the wait happens in the engine's write queue, never in SQLite.
   */
  #busyTimeout(
    job: Job,
    session: EngineSession,
    pragma: RegExpExecArray,
    op: 'exec-sql' | 'query-sql',
  ): void {
    const { finish } = this.#options;
    const value = pragma[1] ?? pragma[2];
    if (value !== undefined) session.busyTimeoutMs = Math.min(Number(value), busyTimeoutMsMax);
    const timeout = BigInt(session.busyTimeoutMs ?? this.#options.busyTimeoutMs);
    if (op === 'exec-sql') return finish(job, okOutcome({ lastInsertId: 0n, rowsAffected: 0 }));
    const row: WireValue[] = [{ type: ValueType.INTEGER, value: timeout }];
    session.cursor = new IteratorRowSource(['timeout'], [row][Symbol.iterator]());
    finish(job, okOutcome(this.moreRows(session)));
  }

  #holdsLock(session: EngineSession): boolean {
    return this.#lock(session).holder === session.id;
  }

  #lock(session: EngineSession): WriteLock {
    const database = session.database as string;
    let lock = this.#locks.get(database);
    if (lock === undefined) {
      lock = new WriteLock(this.#options.startTimer);
      this.#locks.set(database, lock);
    }
    return lock;
  }

  /** Numbers the job in `writers` the first time it begins a statement that may write. */
  #countWriter(job: Job): void {
    if (job.writer !== 0 || this.#options.writers === undefined) return;
    job.writer = Atomics.add(this.#options.writers, 0, 1) + 1;
  }

  /** Why a write may not start for lack of disk space (disk-reserve.ts), or undefined. */
  #diskShortfall(): string | undefined {
    const reserve = this.#options.diskReserve;
    return reserve === undefined ? undefined : reserveShortfall(reserve.directory, reserve.bytes);
  }
}
