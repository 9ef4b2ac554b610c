import fs from 'node:fs';
import path from 'node:path';
import { databaseNameProblem } from '../../fsm/database-directory.js';
import { DatabaseSet } from '../../fsm/database-set.js';
import type { SnapshotReader } from '../../fsm/snapshot-format.js';
import { ErrorCode } from '../../wire/index.js';
import { assert } from '../../raft/assert.js';
import { EngineFailure, failureOutcome } from './engine-failure.js';
import {
  okOutcome,
  type EngineOutcome,
  type EngineReply,
  type EngineRequest,
  type EngineValue,
} from './engine-messages.js';
import type { EngineSession } from './engine-session.js';
import { ReplicaReads } from './replica-reads.js';
import { SessionStatements, type Job } from './session-statements.js';
import type { StartTimer } from './write-lock.js';

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
  /** Free bytes below which a write fails with SQLITE_FULL (NodeLimits). Default 0: never. */
  readonly diskReserveBytes?: number;
  /**
   * Most bytes of pages in one Raft entry; a larger transaction spans several. Default
   * TRANSACTION_ENTRY_BYTES_DEFAULT (1 MiB).
   */
  readonly transactionEntryBytes?: number;
}

/**
 * The node's SQLite side: client sessions' statements on the leader (SessionStatements), and the
 * replicated state machine (DatabaseSet) on every node. It is synchronous and message-driven, so
 * it runs the same in a worker thread (production) and in the test's own thread.
 *
 * Ordering contract: transactions commit one at a time per database (WriteLock), and every
 * transaction's proposal leaves in the reply of the request that committed it, before the lock
 * passes to anyone else; so the main thread proposes them in commit order.
 */
export class SqlEngine {
  readonly #options: SqlEngineOptions;
  readonly #databases: DatabaseSet;
  readonly #statements: SessionStatements;
  /**
   * The leadership epoch of the last 'lead' (the main thread numbers them), and whether this
   * engine leads now. Only this class changes it; SessionStatements reads it.
   */
  readonly #leadership = { epoch: 0, leading: false };
  /**
   * Set when `settle` could not prove what a statement did: a database changed in a way nothing
   * replicated. From then on no statement runs and the node must stop (its files are rebuilt
   * from the Raft log at the next start).
   */
  #unproven: string | undefined;
  /** A snapshot being received, between restore-begin and restore-end. */
  #restoring: SnapshotReader | undefined;
  /** Reads served while this node does not lead; closed before anything changes the files. */
  readonly #replicaReads: ReplicaReads;

  /**
   * `startTimer` times busy waits (setTimeout by default); the whole-node simulator passes its
   * virtual clock's. It is not an option because options cross to the worker as plain data.
   */
  constructor(options: SqlEngineOptions, startTimer?: StartTimer) {
    this.#options = options;
    this.#replicaReads = new ReplicaReads(options.directory);
    this.#databases = new DatabaseSet(options.directory, {
      entryBytesMax: options.transactionEntryBytes,
    });
    this.#statements = new SessionStatements({
      databases: this.#databases,
      leadership: this.#leadership,
      finish: (job, outcome) => this.#finish(job, outcome),
      busyTimeoutMs: options.busyTimeoutMs,
      writers: options.writers,
      statementsPerConnectionMax: options.statementsPerConnectionMax,
      queryBufferBytes: options.queryBufferBytes,
      diskReserve: { directory: options.directory, bytes: options.diskReserveBytes ?? 0 },
      startTimer,
    });
  }

  /** Closes every session and database at once, as a terminated worker does (DatabaseSet.close). */
  close(): void {
    this.#replicaReads.closeAll();
    this.#statements.closeAll();
    this.#databases.close();
    this.#unproven ??= 'the engine was closed';
  }

  handle(request: EngineRequest, reply: (reply: EngineReply) => void): void {
    const session = 'session' in request ? this.#statements.session(request.session) : undefined;
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
      this.#finish(job, failureOutcome(error));
    }
  }

  #dispatch(request: EngineRequest, job: Job): void {
    const session = job.session;
    const statements = this.#statements;
    if (changesFiles(request)) this.#replicaReads.closeAll();
    switch (request.op) {
      case 'open':
        return this.#finish(job, okOutcome(statements.open(required(session), request.database)));
      case 'prepare':
        return this.#finish(job, okOutcome(statements.prepare(required(session), request.sql)));
      case 'exec':
      case 'query':
        return statements.runPrepared(
          job,
          required(session),
          request.statement,
          request.parameters,
          request.op,
        );
      case 'exec-sql':
      case 'query-sql':
        return statements.runText(
          job,
          required(session),
          request.sql,
          request.parameters,
          request.op,
        );
      case 'more-rows':
        return this.#finish(job, okOutcome(statements.moreRows(required(session))));
      case 'interrupt':
        required(session).closeCursor();
        return this.#finish(job, okOutcome(undefined));
      case 'finalize':
        required(session).finalize(request.statement);
        return this.#finish(job, okOutcome(undefined));
      case 'close':
        statements.close(required(session));
        return this.#finish(job, okOutcome(undefined));
      case 'lead':
        assert(request.epoch > this.#leadership.epoch, 'each leadership has a new epoch');
        this.#databases.lead();
        this.#leadership.epoch = request.epoch;
        this.#leadership.leading = true;
        if (this.#options.leading !== undefined)
          Atomics.store(this.#options.leading, 0, this.#leadership.epoch);
        return this.#finish(job, okOutcome(undefined));
      case 'step-down':
        this.#stepDown();
        return this.#finish(job, okOutcome(undefined));
      case 'apply':
        this.#databases.apply(request);
        if (this.#databases.pendingWrites === 0) statements.resumeWriters();
        return this.#finish(job, okOutcome(undefined));
      case 'proposed':
        this.#databases.proposed(request.index, request.term);
        return this.#finish(job, okOutcome(undefined));
      case 'snapshot':
        return this.#finish(job, okOutcome(this.#snapshot()));
      case 'restore-begin':
        this.#restoring?.abandon();
        this.#restoring = this.#databases.beginRestore();
        return this.#finish(job, okOutcome(undefined));
      case 'restore-chunk':
        required(this.#restoring).push(request.data);
        return this.#finish(job, okOutcome(undefined));
      case 'restore-end':
        this.#databases.finishRestore(required(this.#restoring), request.index);
        this.#restoring = undefined;
        return this.#finish(job, okOutcome(undefined));
      case 'dump':
        return this.#finish(job, okOutcome({ files: this.#dump(request.database) }));
      case 'content-check':
        return this.#finish(job, okOutcome({ check: this.#databases.contentCheck(request.index) }));
      case 'replica-query':
        if (this.#leadership.leading) {
          // It became leader meanwhile: its files are SQLite's now, reads go the leader's way.
          return this.#finish(job, {
            ok: false,
            code: ErrorCode.SQLITE_IOERR_NOT_LEADER,
            message: 'not leader: this node leads now; ask again',
          });
        }
        return this.#finish(
          job,
          this.#replicaReads.query(request.database, request.sql, request.parameters),
        );
    }
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
      if (settled.kind === 'committed') job.proposals.push(...settled.entries);
      if (settled.kind === 'unproven') {
        this.#unproven ??= settled.why;
        outcome = unprovenFailure(settled.why);
      }
    }
    const { id, proposals, writer } = job;
    const unproven = outcome === result ? undefined : this.#unproven;
    const epoch = this.#leadership.epoch;
    job.reply({ id, epoch, proposals, outcome, inTransaction, writer, unproven });
    if (session !== undefined) this.#statements.answered(session, inTransaction);
  }

  /** The session has a connection of the current leadership (its statements may have written). */
  #hasLiveConnection(session: EngineSession): boolean {
    return (
      this.#leadership.leading &&
      session.connection !== undefined &&
      session.database !== undefined &&
      session.epoch === this.#leadership.epoch
    );
  }

  #stepDown(): void {
    if (!this.#leadership.leading) return;
    this.#leadership.leading = false;
    this.#statements.dropConnections();
    this.#databases.stepDown();
    this.#statements.clearLocks();
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
      this.#statements.resumeWriters();
      return { ...snapshot, index };
    } else if (this.#leadership.leading && this.#databases.pendingWrites > 0) {
      // Only waiting commits justify holding writers back; a reader that keeps the checkpoint
      // from finishing does not go away by itself being waited for.
      this.#statements.pauseWriters();
    }
    return { file: undefined, bytes: 0, index };
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

/** Whether the engine may write database files while handling `request` (ReplicaReads). */
function changesFiles(request: EngineRequest): boolean {
  switch (request.op) {
    case 'apply':
    case 'lead':
    case 'step-down':
    case 'restore-begin':
    case 'restore-end':
      return true;
    default:
      return false;
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

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new TypeError('a request out of order: what it needs is missing');
  return value;
}
