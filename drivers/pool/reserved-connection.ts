import { callerStack, withCallerStack } from './caller-stack.js';
import type {
  DqliteClient,
  ExecResult,
  Parameter,
  QueryResult,
  RowValue,
} from '../client/index.js';
import { ClosedError } from '../client/index.js';
import type { Deadline } from './backoff.js';
import { OutcomeUnknownError, TransactionReplayError } from './errors.js';
import { classifyFailure, isLeaderChange, isOutcomeUnknown, isReadOnlySql } from './failure.js';
import { CHANGES_SQL, execResultOf, returnsRowsFromWrite, writesRows } from './returning.js';
import { IDEMPOTENCY_TABLE, newTransactionId } from './idempotency.js';
import type { Lease } from './leader-connections.js';
import { checkRowMode, rowObject, shapeRows } from './rows.js';
import type { ObjectRow, PoolQueryResult, RowMode } from './rows.js';
import type { LeaseSource, StatementRunner } from './statement-runner.js';
import { transactionControl } from '../../src/sql/index.js';
import type { TransactionControl } from '../../src/sql/index.js';
import { ReplayMismatch, TransactionJournal } from './transaction-journal.js';
import type { WriteGate } from './write-gate.js';

/** What a reserved connection needs from its pool. */
export interface ReservedConnectionAccess {
  readonly leases: LeaseSource;
  readonly statements: StatementRunner;
  readonly gate: WriteGate;
  /** A fresh deadline for one statement (the pool's timeoutMs). */
  deadline(): Deadline;
  /** Makes sure the exactly-once bookkeeping table exists, running `exec` if it must create it. */
  ensureBookkeeping(deadline: Deadline, exec: (sql: string) => Promise<unknown>): Promise<unknown>;
  /** Whether the transaction with this bookkeeping id committed (asks the current leader). */
  committed(id: string, deadline: Deadline): Promise<boolean>;
  /** Whether this commit should also prune old bookkeeping rows, and which. */
  pruneNow(): { retentionMs: number } | undefined;
}

type Kind = 'query' | 'exec';

const NONE: TransactionControl = { kind: 'none' };
type Outcome = QueryResult | ExecResult;

interface OpenTransaction {
  /**
   * Lets the pool's next writer in; called once the transaction ends (or while it waits).
   * Undefined while a deferred transaction has run no statement yet: it takes the gate right
   * before its first one (see #holdGate).
   */
  leave: (() => void) | undefined;
  readonly journal: TransactionJournal;
  /** Open savepoints, innermost last; a transaction begun by SAVEPOINT ends with its release. */
  readonly savepoints: string[];
  readonly explicit: boolean;
  /** Bookkeeping id written just before COMMIT, to settle an unknown COMMIT outcome. */
  readonly id: string;
  wrote: boolean;
}

/** Times one transaction may move to a new leader before the pool gives up on it. */
export const TRANSACTION_MOVES_MAX = 8;

const BOOKKEEPING_INSERT = `INSERT INTO ${IDEMPOTENCY_TABLE} (id, committed_at_ms) VALUES (?, ?)`;
const BOOKKEEPING_PRUNE = `DELETE FROM ${IDEMPOTENCY_TABLE} WHERE committed_at_ms < ?`;

/**
 * One connection reserved for a caller that drives transactions itself with BEGIN, SAVEPOINT,
 * COMMIT and ROLLBACK statements: the ORM adapters. Outside a transaction, statements follow the
 * pool's retry rules. A transaction stays on one leader connection and holds the pool's write
 * gate. If the leader goes mid-transaction, the transaction is replayed on the new leader and
 * carries on, provided every replayed statement gives what the caller already saw; an unknown
 * COMMIT outcome is settled through a bookkeeping row written just before COMMIT.
 */
export class ReservedConnection {
  readonly #access: ReservedConnectionAccess;
  #lease: Lease | undefined;
  #transaction: OpenTransaction | undefined;
  /** A transaction that could not be carried over; every statement but ROLLBACK gets this. */
  #lost: Error | undefined;
  #released = false;
  /** Statements run one at a time, in call order: the transaction state depends on it. */
  #tail: Promise<unknown> = Promise.resolve();

  /** @internal created by LeaderPool.reserve() */
  constructor(access: ReservedConnectionAccess, lease: Lease) {
    this.#access = access;
    this.#lease = lease;
  }

  /** True between BEGIN (or a first SAVEPOINT) and the COMMIT or ROLLBACK that ends it. */
  get inTransaction(): boolean {
    return this.#transaction !== undefined;
  }

  async query(
    sql: string,
    params?: readonly Parameter[],
    options?: { rowMode?: 'object' },
  ): Promise<PoolQueryResult<ObjectRow>>;
  async query(
    sql: string,
    params: readonly Parameter[] | undefined,
    options: { rowMode: 'array' },
  ): Promise<PoolQueryResult<RowValue[]>>;
  async query(
    sql: string,
    params?: readonly Parameter[],
    options: { rowMode?: RowMode } = {},
  ): Promise<PoolQueryResult<ObjectRow | RowValue[]>> {
    const caller = callerStack();
    try {
      const mode = checkRowMode(options.rowMode);
      const { columns, rows } = (await this.#serialized(() =>
        this.#statement('query', sql, params),
      )) as QueryResult;
      return { columns, rows: shapeRows(columns, rows, mode) };
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  async exec(sql: string, params?: readonly Parameter[]): Promise<ExecResult> {
    const caller = callerStack();
    try {
      return (await this.#serialized(() => this.#statement('exec', sql, params))) as ExecResult;
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  /** Rows as they arrive. Inside a transaction, a streamed query makes it not replayable. */
  async *stream(
    sql: string,
    params?: readonly Parameter[],
    options: { rowMode?: RowMode } = {},
  ): AsyncGenerator<ObjectRow | RowValue[]> {
    const mode = checkRowMode(options.rowMode);
    this.#checkUsable();
    const transaction = this.#transaction;
    if (!transaction) {
      yield* this.#access.statements.stream(
        this.#pinned,
        sql,
        params,
        mode,
        this.#access.deadline(),
      );
      return;
    }
    transaction.journal.markUnreplayable('it streamed a query');
    const lease = this.#lease ?? (await this.#replayOnNewLeader(transaction));
    for await (const batch of lease.client.iterateBatches(sql, params)) {
      for (const row of batch.rows) yield mode === 'array' ? row : rowObject(batch.columns, row);
    }
  }

  /**
   * Rolls back an open transaction and gives the connection back to the pool; with `retire`,
   * closes it instead (after changing a per-connection setting such as `PRAGMA foreign_keys`
   * that could not be restored). Idempotent.
   */
  async release(options: { retire?: boolean } = {}): Promise<void> {
    await this.#serialized(async () => {
      if (this.#released) return;
      const transaction = this.#transaction;
      if (transaction) await this.#rollback(transaction, 'exec', 'ROLLBACK', undefined);
      this.#released = true;
      this.#lost = undefined;
      const lease = this.#lease;
      this.#lease = undefined;
      if (lease)
        this.#access.leases.release(lease, options.retire === true ? 'deadline' : undefined);
    });
  }

  /** The reserved lease, or a new one from the pool after the old one was retired. */
  readonly #pinned: LeaseSource = {
    acquire: async (operation, deadline, lastError) =>
      (this.#lease ??= await this.#access.leases.acquire(operation, deadline, lastError)),
    release: (lease, reason) => {
      const retire =
        reason === 'deadline' ||
        (reason !== undefined && isLeaderChange(reason)) ||
        !lease.client.isOpen;
      if (!retire) return;
      if (this.#lease === lease) this.#lease = undefined;
      this.#access.leases.release(lease, reason);
    },
  };

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work);
    this.#tail = result.catch(() => undefined); // the caller gets the error; the queue goes on
    return result;
  }

  async #statement(
    kind: Kind,
    sql: string,
    params: readonly Parameter[] | undefined,
  ): Promise<Outcome> {
    this.#checkUsable();
    const control = transactionControl(sql);
    if (this.#lost) {
      if (control.kind !== 'rollback') throw this.#lost;
      this.#lost = undefined; // the caller acknowledged the lost transaction
      return emptyOutcome(kind);
    }
    const transaction = this.#transaction;
    if (kind === 'exec' && returnsRowsFromWrite(sql)) {
      return transaction
        ? this.#execReturning(transaction, sql, params)
        : this.#inOwnTransaction((own) => this.#execReturning(own, sql, params));
    }
    if (transaction) return this.#inTransaction(transaction, kind, sql, params, control);
    if (control.kind === 'begin' || control.kind === 'savepoint')
      return this.#begin(kind, sql, params, control);
    if (kind === 'query' && writesRows(sql)) {
      return this.#inOwnTransaction((own) => this.#inTransaction(own, 'query', sql, params, NONE));
    }
    const statement = { operation: kind, sql };
    return this.#access.statements.run(this.#pinned, statement, this.#access.deadline(), (client) =>
      run(client, kind, sql, params),
    );
  }

  async #begin(
    kind: Kind,
    sql: string,
    params: readonly Parameter[] | undefined,
    control: TransactionControl,
  ): Promise<Outcome> {
    const deadline = this.#access.deadline();
    await this.#access.ensureBookkeeping(deadline, (create) => {
      const statement = { operation: 'exec', sql: create, idempotent: true };
      return this.#access.statements.run(this.#pinned, statement, deadline, (client) =>
        client.exec(create),
      );
    });
    // A deferred transaction (BEGIN, BEGIN DEFERRED, or a SAVEPOINT outside one) takes no lock
    // and reads no snapshot until its first statement, so it takes the gate then, not here: an
    // empty transaction never waits for the pool's other writers, and one begun inside another
    // through a second connection (Knex's db.transaction inside db.transaction) does not wait
    // for it forever. IMMEDIATE and EXCLUSIVE take SQLite's write lock at BEGIN: the gate first.
    const deferred =
      control.kind === 'savepoint' || (control.kind === 'begin' && control.behavior === 'deferred');
    const leave = deferred ? undefined : await this.#access.gate.enter('transaction', deadline);
    try {
      const statement = { operation: 'BEGIN', sql, idempotent: true, gated: false };
      const result = await this.#access.statements.run(
        this.#pinned,
        statement,
        deadline,
        (client) => run(client, kind, sql, params),
      );
      const journal = new TransactionJournal();
      journal.recordResult(kind, sql, params, result);
      const savepoints = control.kind === 'savepoint' ? [control.name] : [];
      this.#transaction = {
        leave,
        journal,
        savepoints,
        explicit: control.kind === 'begin',
        id: newTransactionId(),
        wrote: false,
      };
      return result;
    } catch (error) {
      leave?.();
      throw error;
    }
  }

  /** A write that returns rows, outside a transaction, gets one of its own (see returning.ts). */
  async #inOwnTransaction(
    work: (transaction: OpenTransaction) => Promise<Outcome>,
  ): Promise<Outcome> {
    await this.#begin('exec', 'BEGIN IMMEDIATE', undefined, {
      kind: 'begin',
      behavior: 'immediate',
    });
    const transaction = this.#transaction!;
    try {
      const result = await work(transaction);
      await this.#commit(transaction, 'exec', 'COMMIT', undefined);
      return result;
    } catch (error) {
      if (this.#transaction === transaction)
        await this.#rollback(transaction, 'exec', 'ROLLBACK', undefined);
      this.#lost = undefined; // the transaction was ours, not the caller's
      throw error;
    }
  }

  /** An exec of a write with RETURNING: sent as a query, its counts read after it. */
  async #execReturning(
    transaction: OpenTransaction,
    sql: string,
    params: readonly Parameter[] | undefined,
  ): Promise<Outcome> {
    await this.#inTransaction(transaction, 'query', sql, params, NONE);
    const counts = (await this.#inTransaction(
      transaction,
      'query',
      CHANGES_SQL,
      undefined,
      NONE,
    )) as QueryResult;
    return execResultOf(counts);
  }

  async #inTransaction(
    transaction: OpenTransaction,
    kind: Kind,
    sql: string,
    params: readonly Parameter[] | undefined,
    control: TransactionControl,
  ): Promise<Outcome> {
    if (control.kind === 'commit') return this.#commit(transaction, kind, sql, params);
    if (control.kind === 'rollback') return this.#rollback(transaction, kind, sql, params);
    await this.#holdGate(transaction);
    const result = await this.#onTransactionConnection(transaction, kind, sql, params);
    if (kind === 'exec' || !isReadOnlySql(sql)) transaction.wrote = true;
    if (control.kind === 'savepoint') transaction.savepoints.push(control.name);
    if (control.kind === 'release') this.#releaseSavepoint(transaction, control.name);
    return result;
  }

  /** RELEASE pops every savepoint down to the named one; the last one ends a SAVEPOINT-begun transaction. */
  #releaseSavepoint(transaction: OpenTransaction, name: string): void {
    const index = transaction.savepoints.lastIndexOf(name);
    if (index !== -1) transaction.savepoints.length = index;
    if (!transaction.explicit && transaction.savepoints.length === 0)
      this.#endTransaction(transaction);
  }

  /**
   * Runs one statement of the transaction, recording it; after a leader change, replays the
   * transaction on the new leader and runs the statement there. SQL errors are recorded too and
   * rethrown: SQLite keeps the transaction open after most of them.
   */
  async #onTransactionConnection(
    transaction: OpenTransaction,
    kind: Kind,
    sql: string,
    params: readonly Parameter[] | undefined,
    compareOnReplay = true,
  ): Promise<Outcome> {
    for (let move = 0; move <= TRANSACTION_MOVES_MAX; move++) {
      const lease = this.#lease ?? (await this.#replayOnNewLeader(transaction));
      try {
        const result = await run(lease.client, kind, sql, params);
        transaction.journal.recordResult(kind, sql, params, result, compareOnReplay);
        return result;
      } catch (error) {
        const failure = classifyFailure(error);
        if (failure === 'final' || failure === 'busy') {
          transaction.journal.recordError(kind, sql, params, error);
          throw error;
        }
        this.#pinned.release(lease, failure);
      }
    }
    throw this.#loseTransaction(
      transaction,
      new TransactionReplayError('the leader kept changing during the transaction'),
    );
  }

  async #replayOnNewLeader(transaction: OpenTransaction): Promise<Lease> {
    const reason = transaction.journal.unreplayableBecause;
    if (reason) {
      throw this.#loseTransaction(
        transaction,
        new TransactionReplayError(
          `the leader changed mid-transaction and it cannot be carried over: ${reason}`,
        ),
      );
    }
    const deadline = this.#access.deadline();
    let lastError: unknown;
    for (let attempt = 1; attempt <= TRANSACTION_MOVES_MAX; attempt++) {
      const lease = await this.#pinned.acquire('replay', deadline, lastError);
      try {
        await transaction.journal.replay(lease.client);
        return lease;
      } catch (error) {
        const failure = error instanceof ReplayMismatch ? 'final' : classifyFailure(error);
        if (failure === 'final' || failure === 'busy') {
          this.#pinned.release(lease, 'deadline'); // closing rolls the replayed part back
          const message = `the leader changed mid-transaction and replaying it failed: ${(error as Error).message}`;
          throw this.#loseTransaction(
            transaction,
            new TransactionReplayError(message, { cause: error }),
          );
        }
        this.#pinned.release(lease, failure);
        lastError = error;
        await this.#access.statements.pauseBeforeRetry('replay', attempt, error, deadline);
      }
    }
    throw this.#loseTransaction(
      transaction,
      new TransactionReplayError('the leader kept changing during the replay', {
        cause: lastError,
      }),
    );
  }

  /** COMMIT, with the bookkeeping row first when the transaction wrote, and settled when unknown. */
  async #commit(
    transaction: OpenTransaction,
    kind: Kind,
    sql: string,
    params: readonly Parameter[] | undefined,
  ): Promise<Outcome> {
    if (transaction.wrote) {
      const now = Date.now();
      const prune = this.#access.pruneNow();
      if (prune) {
        const cutoff = [now - prune.retentionMs];
        await this.#onTransactionConnection(transaction, 'exec', BOOKKEEPING_PRUNE, cutoff, false);
      }
      const row = [transaction.id, now];
      await this.#onTransactionConnection(transaction, 'exec', BOOKKEEPING_INSERT, row, false);
    }
    for (let move = 0; move <= TRANSACTION_MOVES_MAX; move++) {
      const lease = this.#lease ?? (await this.#replayOnNewLeader(transaction));
      try {
        const result = await run(lease.client, kind, sql, params);
        this.#endTransaction(transaction);
        return result;
      } catch (error) {
        const failure = classifyFailure(error);
        if (failure === 'final' || failure === 'busy') throw error; // the transaction is still open
        this.#pinned.release(lease, failure);
        if (!isOutcomeUnknown(failure)) continue; // refused before it ran: replay, commit again
        if (!transaction.wrote) return this.#finishUnknownReadOnly(transaction, kind);
        if (await this.#committedElsewhere(transaction)) return emptyOutcome(kind);
      }
    }
    throw this.#loseTransaction(
      transaction,
      new OutcomeUnknownError('COMMIT', new Error('the leader kept changing')),
    );
  }

  /** A transaction that wrote nothing has nothing to lose: an unknown COMMIT is a finished one. */
  #finishUnknownReadOnly(transaction: OpenTransaction, kind: Kind): Outcome {
    this.#endTransaction(transaction);
    return emptyOutcome(kind);
  }

  /**
   * After an unknown COMMIT outcome: asks the leader for the bookkeeping id. The check is a
   * writing transaction of its own, so the write gate is let go while it runs and taken back if
   * the transaction must be replayed and committed again.
   */
  async #committedElsewhere(transaction: OpenTransaction): Promise<boolean> {
    transaction.leave?.();
    transaction.leave = undefined;
    const deadline = this.#access.deadline();
    const committed = await this.#access
      .committed(transaction.id, deadline)
      .catch((error: unknown) => {
        throw this.#loseTransaction(transaction, new OutcomeUnknownError('COMMIT', error as Error));
      });
    if (committed) {
      this.#transaction = undefined;
      return true;
    }
    transaction.leave = await this.#access.gate.enter('transaction', deadline);
    this.#transaction = transaction;
    return false;
  }

  async #rollback(
    transaction: OpenTransaction,
    kind: Kind,
    sql: string,
    params: readonly Parameter[] | undefined,
  ): Promise<Outcome> {
    const lease = this.#lease;
    this.#endTransaction(transaction);
    if (!lease) return emptyOutcome(kind); // the transaction already died with its leader
    try {
      return await run(lease.client, kind, sql, params);
    } catch (error) {
      const failure = classifyFailure(error);
      if (failure === 'final') throw error;
      this.#pinned.release(lease, failure); // gone with the connection: rolled back all the same
      return emptyOutcome(kind);
    }
  }

  /** A deferred transaction's first statement: the pool's other writers go first, or after. */
  async #holdGate(transaction: OpenTransaction): Promise<void> {
    if (transaction.leave !== undefined) return;
    transaction.leave = await this.#access.gate.enter('transaction', this.#access.deadline());
  }

  #endTransaction(transaction: OpenTransaction): void {
    transaction.leave?.();
    transaction.leave = undefined;
    if (this.#transaction === transaction) this.#transaction = undefined;
  }

  /** The transaction is gone: free the gate and the connection, remember why. */
  #loseTransaction(transaction: OpenTransaction, error: Error): Error {
    this.#endTransaction(transaction);
    this.#transaction = undefined;
    const lease = this.#lease;
    if (lease) this.#pinned.release(lease, 'deadline');
    this.#lost = error;
    return error;
  }

  #checkUsable(): void {
    if (this.#released) throw new ClosedError('the reserved connection was released');
  }
}

function run(
  client: DqliteClient,
  kind: Kind,
  sql: string,
  params: readonly Parameter[] | undefined,
): Promise<Outcome> {
  return kind === 'query' ? client.query(sql, params) : client.exec(sql, params);
}

/** What a statement that had nothing left to do answers. */
function emptyOutcome(kind: Kind): Outcome {
  return kind === 'query' ? { columns: [], rows: [] } : { lastInsertId: 0, rowsAffected: 0 };
}
