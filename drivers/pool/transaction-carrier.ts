/**
 * The transaction side of a reserved connection: a transaction the caller begins with BEGIN or
 * SAVEPOINT stays on one leader connection and holds the pool's write gate; if the leader goes
 * mid-transaction it is replayed on the new leader and carries on, provided every replayed
 * statement gives what the caller already saw; an unknown COMMIT outcome is settled through a
 * bookkeeping row written just before COMMIT. A transaction that cannot be carried over is lost:
 * every statement but ROLLBACK then gets the error that lost it.
 */
import type { Parameter, QueryResult } from '../client/index.js';
import type { TransactionControl } from '../../src/sql/index.js';
import type { Deadline } from './backoff.js';
import { OutcomeUnknownError, TransactionReplayError } from './errors.js';
import { classifyFailure, isOutcomeUnknown, isReadOnlySql } from './failure.js';
import { IDEMPOTENCY_TABLE, newTransactionId } from './idempotency.js';
import type { Lease } from './leader-connections.js';
import type { PinnedLease } from './pinned-lease.js';
import {
  emptyOutcome,
  runStatement,
  type StatementKind,
  type StatementOutcome,
} from './reserved-statement.js';
import { CHANGES_SQL, execResultOf } from './returning.js';
import type { StatementRunner } from './statement-runner.js';
import { ReplayMismatch, TransactionJournal } from './transaction-journal.js';
import type { WriteGate } from './write-gate.js';

/** What a transaction carrier needs from its pool. */
export interface TransactionCarrierAccess {
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

export interface OpenTransaction {
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

const NONE: TransactionControl = { kind: 'none' };
const BOOKKEEPING_INSERT = `INSERT INTO ${IDEMPOTENCY_TABLE} (id, committed_at_ms) VALUES (?, ?)`;
const BOOKKEEPING_PRUNE = `DELETE FROM ${IDEMPOTENCY_TABLE} WHERE committed_at_ms < ?`;

/** At most one open transaction of one reserved connection, carried across leader changes. */
export class TransactionCarrier {
  readonly #access: TransactionCarrierAccess;
  readonly #pinned: PinnedLease;
  #transaction: OpenTransaction | undefined;
  /** A transaction that could not be carried over; every statement but ROLLBACK gets this. */
  #lost: Error | undefined;

  constructor(access: TransactionCarrierAccess, pinned: PinnedLease) {
    this.#access = access;
    this.#pinned = pinned;
  }

  /** The transaction between BEGIN (or a first SAVEPOINT) and the COMMIT or ROLLBACK ending it. */
  get open(): OpenTransaction | undefined {
    return this.#transaction;
  }

  /** Why the last transaction was lost, until the caller acknowledges it with ROLLBACK. */
  get lost(): Error | undefined {
    return this.#lost;
  }

  /** The caller acknowledged the lost transaction (ROLLBACK), or released the connection. */
  forgetLost(): void {
    this.#lost = undefined;
  }

  /** The connection for a streamed query inside `transaction`, which can no longer be replayed. */
  async leaseForStream(transaction: OpenTransaction): Promise<Lease> {
    transaction.journal.markUnreplayable('it streamed a query');
    return this.#pinned.current ?? (await this.#replayOnNewLeader(transaction));
  }

  async begin(
    kind: StatementKind,
    sql: string,
    params: readonly Parameter[] | undefined,
    control: TransactionControl,
  ): Promise<StatementOutcome> {
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
        (client) => runStatement(client, kind, sql, params),
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
  async inOwnTransaction(
    work: (transaction: OpenTransaction) => Promise<StatementOutcome>,
  ): Promise<StatementOutcome> {
    await this.begin('exec', 'BEGIN IMMEDIATE', undefined, {
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
        await this.rollback(transaction, 'exec', 'ROLLBACK', undefined);
      this.#lost = undefined; // the transaction was ours, not the caller's
      throw error;
    }
  }

  /** An exec of a write with RETURNING: sent as a query, its counts read after it. */
  async execReturning(
    transaction: OpenTransaction,
    sql: string,
    params: readonly Parameter[] | undefined,
  ): Promise<StatementOutcome> {
    await this.inTransaction(transaction, 'query', sql, params, NONE);
    const counts = (await this.inTransaction(
      transaction,
      'query',
      CHANGES_SQL,
      undefined,
      NONE,
    )) as QueryResult;
    return execResultOf(counts);
  }

  async inTransaction(
    transaction: OpenTransaction,
    kind: StatementKind,
    sql: string,
    params: readonly Parameter[] | undefined,
    control: TransactionControl,
  ): Promise<StatementOutcome> {
    if (control.kind === 'commit') return this.#commit(transaction, kind, sql, params);
    if (control.kind === 'rollback') return this.rollback(transaction, kind, sql, params);
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
    kind: StatementKind,
    sql: string,
    params: readonly Parameter[] | undefined,
    compareOnReplay = true,
  ): Promise<StatementOutcome> {
    for (let move = 0; move <= TRANSACTION_MOVES_MAX; move++) {
      const lease = this.#pinned.current ?? (await this.#replayOnNewLeader(transaction));
      try {
        const result = await runStatement(lease.client, kind, sql, params);
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
    kind: StatementKind,
    sql: string,
    params: readonly Parameter[] | undefined,
  ): Promise<StatementOutcome> {
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
      const lease = this.#pinned.current ?? (await this.#replayOnNewLeader(transaction));
      try {
        const result = await runStatement(lease.client, kind, sql, params);
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
  #finishUnknownReadOnly(transaction: OpenTransaction, kind: StatementKind): StatementOutcome {
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

  async rollback(
    transaction: OpenTransaction,
    kind: StatementKind,
    sql: string,
    params: readonly Parameter[] | undefined,
  ): Promise<StatementOutcome> {
    const lease = this.#pinned.current;
    this.#endTransaction(transaction);
    if (!lease) return emptyOutcome(kind); // the transaction already died with its leader
    try {
      return await runStatement(lease.client, kind, sql, params);
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
    const lease = this.#pinned.current;
    if (lease) this.#pinned.release(lease, 'deadline');
    this.#lost = error;
    return error;
  }
}
