import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { DatabaseSet, databaseNameProblem } from '../../fsm/database-set.js';
import type { SnapshotReader } from '../../fsm/snapshot-format.js';
import { ErrorCode, ValueType, type WireValue } from '../../wire/index.js';
import { assert } from '../../raft/assert.js';
import { EngineFailure, failureOf } from './engine-failure.js';
import type {
  EngineOutcome,
  EngineReply,
  EngineRequest,
  EngineValue,
  ExecValue,
} from './engine-messages.js';
import { EngineSession, type PreparedStatement } from './engine-session.js';
import { IteratorRowSource, encodeRowBatches } from './row-batches.js';
import { parameterSlots, splitStatements } from '../../sql/sql-text.js';
import { refusalOf } from './statement-policy.js';
import { bindArguments, wireValueOf } from './values.js';
import { WriteLock, type StartTimer } from './write-lock.js';

export interface SqlEngineOptions {
  /** Where the databases live (one file each). */
  readonly directory: string;
  /** How long a write waits for another session's transaction before SQLITE_BUSY. */
  readonly busyTimeoutMs: number;
  /**
   * Shared with the main thread: element 0 numbers the requests that began a statement able to
   * make data visible (each gets the next number, in `EngineReply.writer`). A point read on the
   * main thread is answered once the replies of every request numbered up to what it read here,
   * after the read, were taken (WritePath.answerPointRead).
   */
  readonly writers?: Int32Array;
  /**
   * Shared with the main thread: element 0 is the leadership epoch whose 'lead' this engine has
   * handled. Requests arrive in order, so by then every entry applied before the new leader's
   * barrier is in the database files, and a point read on the main thread may start.
   */
  readonly leading?: Int32Array;
  /** Prepared statements one session may hold (NodeLimits). Default 4096. */
  readonly statementsPerConnectionMax?: number;
  /** Bytes of rows encoded per reply for a streamed query (NodeLimits). Default 64 KiB. */
  readonly queryBufferBytes?: number;
}

type Reply = (reply: EngineReply) => void;

/** What one request is doing: the proposals it made so far and how it answers. */
interface Job {
  readonly id: number;
  readonly session: EngineSession | undefined;
  readonly proposals: Uint8Array[];
  readonly reply: Reply;
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
 * The node's SQLite side: client sessions' statements on the leader, and the replicated state
 * machine (DatabaseSet) on every node. It is synchronous and message-driven, so it runs the same
 * in a worker thread (production) and in the test's own thread.
 *
 * Ordering contract: transactions commit one at a time per database (WriteLock), and every
 * transaction's proposal leaves in the reply of the request that committed it, before the lock
 * passes to anyone else; so the main thread proposes them in commit order.
 */
export class SqlEngine {
  readonly #options: SqlEngineOptions;
  readonly #startTimer: StartTimer | undefined;
  readonly #databases: DatabaseSet;
  readonly #sessions = new Map<number, EngineSession>();
  readonly #locks = new Map<string, WriteLock>();
  /** The leadership epoch of the last 'lead' (the main thread numbers them). */
  #epoch = 0;
  #leading = false;
  /**
   * Set when `settle` could not prove what a statement did: a database changed in a way nothing
   * replicated. From then on no statement runs and the node must stop (its files are rebuilt
   * from the Raft log at the next start).
   */
  #unproven: string | undefined;
  /** A snapshot being received, between restore-begin and restore-end. */
  #restoring: SnapshotReader | undefined;

  /**
   * `startTimer` times busy waits (setTimeout by default); the whole-node simulator passes its
   * virtual clock's. It is not an option because options cross to the worker as plain data.
   */
  constructor(options: SqlEngineOptions, startTimer?: StartTimer) {
    this.#options = options;
    this.#startTimer = startTimer;
    this.#databases = new DatabaseSet(options.directory);
  }

  /** Closes every session and database at once, as a terminated worker does (DatabaseSet.close). */
  close(): void {
    for (const session of this.#sessions.values()) session.closeCursor();
    this.#sessions.clear();
    this.#databases.close();
    this.#unproven ??= 'the engine was closed';
  }

  handle(request: EngineRequest, reply: Reply): void {
    const session = 'session' in request ? this.#session(request.session) : undefined;
    const job: Job = {
      id: request.id,
      session,
      proposals: [],
      reply,
      writer: 0,
      mayHaveWritten: false,
      answered: false,
    };
    if (this.#unproven !== undefined && session !== undefined) {
      // The files hold a change nothing replicated: no statement runs on them again.
      return this.#finish(job, unprovenFailure(this.#unproven));
    }
    try {
      this.#dispatch(request, job);
    } catch (error) {
      this.#finish(job, { ok: false, ...failureFields(error) });
    }
  }

  #dispatch(request: EngineRequest, job: Job): void {
    const session = job.session;
    switch (request.op) {
      case 'open':
        return this.#finish(job, ok(this.#open(required(session), request.database)));
      case 'prepare':
        return this.#finish(job, ok(this.#prepare(required(session), request.sql)));
      case 'exec':
      case 'query': {
        const prepared = this.#liveStatement(required(session), request.statement);
        return this.#runStatements(job, [prepared], request.parameters, request.op);
      }
      case 'exec-sql':
      case 'query-sql':
        return this.#runText(job, request.sql, request.parameters, request.op);
      case 'more-rows':
        return this.#finish(job, ok(this.#moreRows(required(session))));
      case 'interrupt':
        required(session).closeCursor();
        return this.#finish(job, ok(undefined));
      case 'finalize':
        required(session).finalize(request.statement);
        return this.#finish(job, ok(undefined));
      case 'close':
        this.#close(required(session));
        return this.#finish(job, ok(undefined));
      case 'lead':
        assert(request.epoch > this.#epoch, 'each leadership has a new epoch');
        this.#databases.lead();
        this.#epoch = request.epoch;
        this.#leading = true;
        if (this.#options.leading !== undefined)
          Atomics.store(this.#options.leading, 0, this.#epoch);
        return this.#finish(job, ok(undefined));
      case 'step-down':
        this.#stepDown();
        return this.#finish(job, ok(undefined));
      case 'apply':
        this.#databases.apply(request);
        if (this.#databases.pendingWrites === 0) this.#resumeWriters();
        return this.#finish(job, ok(undefined));
      case 'proposed':
        this.#databases.proposed(request.index, request.term);
        return this.#finish(job, ok(undefined));
      case 'snapshot':
        return this.#finish(job, ok(this.#snapshot()));
      case 'restore-begin':
        this.#restoring?.abandon();
        this.#restoring = this.#databases.beginRestore();
        return this.#finish(job, ok(undefined));
      case 'restore-chunk':
        required(this.#restoring).push(request.data);
        return this.#finish(job, ok(undefined));
      case 'restore-end':
        this.#databases.finishRestore(required(this.#restoring), request.index);
        this.#restoring = undefined;
        return this.#finish(job, ok(undefined));
      case 'dump':
        return this.#finish(job, ok({ files: this.#dump(request.database) }));
      case 'content-check':
        return this.#finish(job, ok({ check: this.#databases.contentCheck(request.index) }));
    }
  }

  #session(id: number): EngineSession {
    let session = this.#sessions.get(id);
    if (session === undefined) {
      session = new EngineSession(id, this.#options.statementsPerConnectionMax ?? 4096);
      this.#sessions.set(id, session);
    }
    return session;
  }

  #open(session: EngineSession, database: string): undefined {
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

  /** The session's connection, opened on first use; only a leader has connections. */
  #connection(session: EngineSession): Database.Database {
    if (session.database === undefined) {
      throw new EngineFailure(ErrorCode.SQLITE_NOTFOUND, 'no database opened');
    }
    if (!this.#leading) throw notLeader();
    if (session.transactionLost) throw transactionLost();
    if (session.connection !== undefined && session.epoch === this.#epoch) {
      return session.connection;
    }
    session.dropConnection();
    session.connection = this.#databases.openSessionConnection(session.database);
    session.epoch = this.#epoch;
    return session.connection;
  }

  #prepare(session: EngineSession, sql: string): EngineValue {
    const first = splitStatements(sql)[0];
    if (first === undefined) throw new EngineFailure(0, 'empty statement');
    const prepared = this.#compile(this.#connection(session), first.sql);
    return { statement: session.addStatement(prepared), parameterCount: prepared.slots.length };
  }

  #compile(connection: Database.Database, sql: string): PreparedStatement {
    if (busyTimeoutPragma.test(sql)) {
      // SQLite's own busy handler would block the engine's thread; the engine waits instead.
      throw new EngineFailure(ErrorCode.SQLITE_ERROR, 'PRAGMA busy_timeout must be sent alone');
    }
    const refused = refusalOf(sql);
    if (refused !== undefined) throw new EngineFailure(ErrorCode.SQLITE_AUTH, refused);
    const statement = connection.prepare(sql);
    if (statement.reader) statement.raw(true);
    statement.safeIntegers(true);
    return { statement, slots: parameterSlots(sql) };
  }

  /** A statement prepared in this leadership epoch; older ones died with their connection. */
  #liveStatement(session: EngineSession, id: number): PreparedStatement {
    if (!this.#leading) throw notLeader();
    if (session.connection !== undefined && session.epoch !== this.#epoch) {
      session.dropConnection();
      throw new EngineFailure(
        ErrorCode.SQLITE_IOERR_NOT_LEADER,
        'not leader: the statement was closed when leadership changed; reconnect',
      );
    }
    return session.statement(id);
  }

  /** EXEC_SQL runs every statement of the text; QUERY_SQL only the first (as dqlite 1.11). */
  #runText(
    job: Job,
    sql: string,
    parameters: readonly WireValue[],
    op: 'exec-sql' | 'query-sql',
  ): void {
    const session = required(job.session);
    if (session.transactionLost && rollbackStatement.test(sql)) {
      // The transaction is gone already; the client's ROLLBACK ends the refusal.
      session.transactionLost = false;
      return this.#finish(job, ok({ lastInsertId: 0n, rowsAffected: 0 }));
    }
    const connection = this.#connection(session);
    const texts = splitStatements(sql);
    const pragma =
      texts.length === 1 ? busyTimeoutPragma.exec((texts[0] as { sql: string }).sql) : null;
    if (pragma !== null) return this.#busyTimeout(job, session, pragma, op);
    if (texts.length === 0) {
      if (op === 'query-sql') throw new EngineFailure(0, 'empty statement');
      return this.#finish(job, ok({ lastInsertId: 0n, rowsAffected: 0 }));
    }
    if (op === 'query-sql') {
      const first = this.#compile(connection, (texts[0] as { sql: string }).sql);
      return this.#runStatements(job, [first], parameters, 'query');
    }
    // Statements are compiled one at a time, right before each runs: a later one may name a
    // table an earlier one creates.
    const pending = texts.map((text) => () => this.#compile(connection, text.sql));
    return this.#runStatements(job, pending, parameters, 'exec');
  }

  /**
   * Runs statements in order (parameters bind to the first only). A statement that writes waits
   * for the database's write lock first; the job then continues when the lock is granted.
   */
  #runStatements(
    job: Job,
    statements: readonly (PreparedStatement | (() => PreparedStatement))[],
    parameters: readonly WireValue[],
    mode: 'exec' | 'query',
    position = 0,
    last: ExecValue = { lastInsertId: 0n, rowsAffected: 0 },
  ): void {
    const session = required(job.session);
    let result = last;
    for (let i = position; i < statements.length; i++) {
      const entry = statements[i] as PreparedStatement | (() => PreparedStatement);
      let prepared: PreparedStatement;
      try {
        prepared = typeof entry === 'function' ? entry() : entry;
      } catch (error) {
        return this.#finish(job, { ok: false, ...failureFields(error) });
      }
      if (!prepared.statement.readonly && !this.#holdsLock(session)) {
        const resume = () => {
          if (!this.#leading || session.connection === undefined) {
            return this.#finish(job, { ok: false, ...failureFields(notLeader()) });
          }
          const again = [...statements];
          again[i] = prepared;
          this.#runStatements(job, again, parameters, mode, i, result);
        };
        const granted = this.#lock(session).acquire(
          session.id,
          session.busyTimeoutMs ?? this.#options.busyTimeoutMs,
          resume,
          (reason) =>
            this.#finish(job, { ok: false, code: ErrorCode.SQLITE_BUSY, message: reason }),
        );
        if (!granted) return;
      }
      const values = i === 0 ? parameters : [];
      // A write, or anything inside a write transaction (COMMIT counts as read-only to SQLite),
      // may make data visible before this request's reply carries its proposal.
      if (!prepared.statement.readonly || this.#holdsLock(session)) {
        job.mayHaveWritten = true;
        this.#countWriter(job);
      }
      try {
        if (mode === 'query') return this.#startQuery(job, prepared, values);
        result = this.#execute(prepared, values);
      } catch (error) {
        return this.#finish(job, { ok: false, ...failureFields(error) });
      }
    }
    this.#finish(job, ok(result));
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
    const value = pragma[1] ?? pragma[2];
    if (value !== undefined) session.busyTimeoutMs = Math.min(Number(value), busyTimeoutMsMax);
    const timeout = BigInt(session.busyTimeoutMs ?? this.#options.busyTimeoutMs);
    if (op === 'exec-sql') return this.#finish(job, ok({ lastInsertId: 0n, rowsAffected: 0 }));
    const row: WireValue[] = [{ type: ValueType.INTEGER, value: timeout }];
    session.cursor = new IteratorRowSource(['timeout'], [row][Symbol.iterator]());
    this.#finish(job, ok(this.#moreRows(session)));
  }

  #execute(prepared: PreparedStatement, values: readonly WireValue[]): ExecValue {
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

  #startQuery(job: Job, prepared: PreparedStatement, values: readonly WireValue[]): void {
    const session = required(job.session);
    const { statement } = prepared;
    if (!statement.reader) throw new EngineFailure(ErrorCode.SQLITE_ERROR, 'not an error');
    const declared = statement.columns().map((column) => column.type);
    const toWire = (row: unknown[]) =>
      row.map((value, i) => wireValueOf(value, declared[i] ?? null));
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
        return step.done === true
          ? { done: true, value: undefined }
          : { value: toWire(step.value) };
      },
      return: () => {
        rows.return?.();
        return { done: true, value: undefined };
      },
    };
    session.cursor = new IteratorRowSource(columns, mapped);
    this.#finish(job, ok(this.#moreRows(session)));
  }

  #moreRows(session: EngineSession): EngineValue {
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

  #holdsLock(session: EngineSession): boolean {
    return this.#lock(session).holder === session.id;
  }

  #lock(session: EngineSession): WriteLock {
    const database = session.database as string;
    let lock = this.#locks.get(database);
    if (lock === undefined) {
      lock = new WriteLock(this.#startTimer);
      this.#locks.set(database, lock);
    }
    return lock;
  }

  /** Replies, then passes the write lock on if the session's transaction ended. */
  #countWriter(job: Job): void {
    if (job.writer !== 0 || this.#options.writers === undefined) return;
    job.writer = Atomics.add(this.#options.writers, 0, 1) + 1;
  }

  /**
   * Every request ends here, and here is where what it did is proven (DatabaseSet.settle): a
   * session outside a transaction has each commit it made captured as a proposal, or is proven
   * to have changed nothing. A request whose effect cannot be proven fails, and so does every
   * session after it (`#unproven`). Then the reply, then the write lock passes on (so proposals
   * leave in commit order).
   */
  #finish(job: Job, result: EngineOutcome): void {
    assert(!job.answered, `request ${job.id} is answered once`);
    job.answered = true;
    const session = job.session;
    // A session whose transaction leadership ended is still in it, as its client sees it.
    const inTransaction =
      session?.connection?.inTransaction === true || session?.transactionLost === true;
    let outcome = result;
    if (session !== undefined && !inTransaction && this.#hasLiveConnection(session)) {
      const settled = this.#databases.settle(session.database as string, {
        readOnly: !job.mayHaveWritten,
      });
      if (settled.kind === 'committed') job.proposals.push(settled.data);
      if (settled.kind === 'unproven') {
        this.#unproven ??= settled.why;
        outcome = unprovenFailure(settled.why);
      }
    }
    const { id, proposals, writer } = job;
    const unproven = outcome === result ? undefined : this.#unproven;
    job.reply({ id, epoch: this.#epoch, proposals, outcome, inTransaction, writer, unproven });
    if (session === undefined || session.database === undefined) return;
    if (!inTransaction && this.#holdsLock(session)) this.#lock(session).release(session.id);
  }

  /** The session has a connection of the current leadership (its statements may have written). */
  #hasLiveConnection(session: EngineSession): boolean {
    return (
      this.#leading &&
      session.connection !== undefined &&
      session.database !== undefined &&
      session.epoch === this.#epoch
    );
  }

  #close(session: EngineSession): void {
    session.closeCursor();
    if (session.connection !== undefined && session.epoch === this.#epoch && this.#leading) {
      // Closing rolls back a transaction left open; nothing of it was captured or proposed.
      this.#databases.closeSessionConnection(session.connection);
    }
    session.dropConnection();
    if (session.database !== undefined) this.#lock(session).forget(session.id);
    this.#sessions.delete(session.id);
  }

  #stepDown(): void {
    if (!this.#leading) return;
    this.#leading = false;
    for (const session of this.#sessions.values()) {
      if (session.connection?.inTransaction === true) session.transactionLost = true;
      session.dropConnection();
    }
    this.#databases.stepDown();
    for (const lock of this.#locks.values()) lock.clear();
  }

  /**
   * A copy of every database at the applied index. While transactions await their commit it
   * cannot be taken (their frames are in the WAL), so new writers are held back until those
   * commit, and Raft asks again: under a steady write load a snapshot still happens. A reader
   * holding old frames also prevents it (the checkpoint cannot finish); Raft then asks later.
   */
  #snapshot(): EngineValue {
    const snapshot = this.#databases.snapshotToFile();
    const index = this.#databases.appliedIndex;
    if (snapshot !== undefined) {
      this.#resumeWriters();
      return { ...snapshot, index };
    } else if (this.#leading && this.#databases.pendingWrites > 0) {
      // Only waiting commits justify holding writers back; a reader that keeps the checkpoint
      // from finishing does not go away by itself being waited for.
      for (const lock of this.#locks.values()) lock.pause();
    }
    return { file: undefined, bytes: 0, index };
  }

  #resumeWriters(): void {
    for (const lock of this.#locks.values()) lock.resume();
  }

  /** DUMP: the local database file and its WAL, as they are on disk (docs/wire-protocol.md §6.1). */
  #dump(database: string): { name: string; data: Uint8Array }[] {
    const problem = databaseNameProblem(database);
    if (problem !== undefined) throw new EngineFailure(ErrorCode.SQLITE_CANTOPEN, problem);
    const file = path.join(this.#options.directory, database);
    const read = (name: string) => (fs.existsSync(name) ? fs.readFileSync(name) : Buffer.alloc(0));
    return [
      { name: database, data: read(file) },
      { name: `${database}-wal`, data: read(`${file}-wal`) },
    ];
  }
}

/** The answer to a request whose effect on the files could not be proven: never OK. */
function unprovenFailure(why: string): EngineOutcome {
  return {
    ok: false,
    code: ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST,
    message:
      `leadership lost: ${why}; nothing of it was acknowledged, and this node stops ` +
      'so that its databases are rebuilt from the Raft log',
  };
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

function ok(value: EngineValue): EngineOutcome {
  return { ok: true, value };
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new TypeError('a request out of order: what it needs is missing');
  return value;
}

function failureFields(error: unknown): { code: number; message: string } {
  const failure = failureOf(error);
  return { code: failure.code, message: failure.message };
}
