import { retryDelayMs, sleep } from './backoff.js';
import type { Deadline } from './backoff.js';
import {
  OutcomeUnknownError,
  PoolTimeoutError,
  TransactionRetriesExhaustedError,
} from './errors.js';
import { classifyFailure, isLeaderChange, isOutcomeUnknown } from './failure.js';
import type { FailureKind } from './failure.js';
import {
  CREATE_IDEMPOTENCY_TABLE,
  PRUNE_EVERY,
  checkCommitted,
  newTransactionId,
  recordTransaction,
} from './idempotency.js';
import type { Lease } from './leader-connections.js';
import type { TransactionOptions } from './transaction-options.js';
import type { RetryEvent } from './statement-runner.js';
import type { ResolvedPoolOptions } from './options.js';
import { TRANSACTION_RETRIES_MAX } from './options.js';
import { Transaction } from './transaction.js';

/** What the runner needs from the pool. */
export interface TransactionPoolAccess {
  acquire(operation: string, deadline: Deadline, lastError: unknown): Promise<Lease>;
  release(lease: Lease, kind: FailureKind | undefined): void;
  /** Waits for the pool's other writers; resolves with the exit. */
  enterWriteGate(operation: string, deadline: Deadline): Promise<() => void>;
  /** An idempotent statement with the pool's retry rules. */
  exec(sql: string, deadline: Deadline): Promise<unknown>;
  retried(event: RetryEvent): void;
}

/** How one attempt ended when it did not throw. */
type Attempt<T> =
  { committed: true; value: T } | { committed: false; error: Error; kind: FailureKind };

const BEHAVIORS = new Set(['deferred', 'immediate', 'exclusive']);
/** Checks of an unknown COMMIT whose own COMMIT was unknown too, before giving up. */
const COMMITTED_CHECKS_MAX = 8;

/**
 * Runs `transaction(fn)`: BEGIN, fn, [bookkeeping], COMMIT on one pinned connection, again on
 * leader changes and SQLITE_BUSY, and exactly once across an unknown COMMIT outcome when asked.
 */
export class TransactionRunner {
  readonly #options: ResolvedPoolOptions;
  readonly #pool: TransactionPoolAccess;
  #idempotentCommits = 0;
  #bookkeepingReady: Promise<unknown> | undefined;

  constructor(options: ResolvedPoolOptions, pool: TransactionPoolAccess) {
    this.#options = options;
    this.#pool = pool;
  }

  async run<T>(
    fn: (tx: Transaction) => Promise<T>,
    options: TransactionOptions,
    deadline: Deadline,
  ): Promise<T> {
    let behavior = options.behavior ?? 'deferred';
    if (!BEHAVIORS.has(behavior))
      throw new TypeError(`transaction: unknown behavior "${behavior}"`);
    const retriesMax = checkRetries(options.retriesMax ?? this.#options.transactionRetriesMax);
    const id = options.idempotent === true ? newTransactionId() : undefined;
    if (id) await this.ensureBookkeeping(deadline);
    let busySinceMs: number | undefined;
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= retriesMax + 1; attempt++) {
      const outcome = await this.#attempt(fn, behavior, id, deadline, lastError);
      if (outcome.committed) return outcome.value;
      lastError = outcome.error;
      if (outcome.kind === 'busy') {
        busySinceMs ??= Date.now();
        if (Date.now() - busySinceMs >= this.#options.busyTimeoutMs) throw outcome.error;
        // A deferred transaction that met SQLITE_BUSY wanted to write while another writer held
        // the lock (or had committed since it read). Run again as a deferred one, it could lose
        // the same race every time under load; as IMMEDIATE it takes its turn in the write gate
        // and on the leader's lock, so it meets BUSY at most once.
        behavior = behavior === 'deferred' ? 'immediate' : behavior;
      } else {
        busySinceMs = undefined; // a busy spell ends with any other outcome (a failover)
      }
      if (attempt > retriesMax) break;
      if (deadline.passed) throw new PoolTimeoutError('transaction', deadline.timeoutMs, lastError);
      const delayMs = retryDelayMs(attempt, deadline);
      this.#pool.retried({ operation: 'transaction', attempt, error: lastError, delayMs });
      await sleep(delayMs);
    }
    throw new TransactionRetriesExhaustedError(retriesMax + 1, lastError!);
  }

  /** One attempt: commits, asks for a rerun, or throws (user errors, unknown outcomes, SQL errors). */
  async #attempt<T>(
    fn: (tx: Transaction) => Promise<T>,
    behavior: string,
    id: string | undefined,
    deadline: Deadline,
    lastError: unknown,
  ): Promise<Attempt<T>> {
    // A transaction that takes the write lock at BEGIN waits for the pool's other writers,
    // after it has its connection (the order every writer follows: see StatementRunner.run).
    const lease = await this.#pool.acquire('transaction', deadline, lastError);
    let leaveGate = () => {};
    try {
      if (behavior !== 'deferred')
        leaveGate = await this.#pool.enterWriteGate('transaction', deadline);
    } catch (error) {
      this.#pool.release(lease, undefined);
      throw error;
    }
    try {
      return await this.#attemptOnConnection(fn, behavior, id, deadline, lease, leaveGate);
    } finally {
      leaveGate();
    }
  }

  async #attemptOnConnection<T>(
    fn: (tx: Transaction) => Promise<T>,
    behavior: string,
    id: string | undefined,
    deadline: Deadline,
    lease: Lease,
    leaveGate: () => void,
  ): Promise<Attempt<T>> {
    const tx = new Transaction(lease.client);
    let stage: 'begin' | 'body' | 'record' | 'commit' = 'begin';
    let value: T | undefined;
    try {
      await lease.client.exec(`BEGIN ${behavior.toUpperCase()}`);
      stage = 'body';
      value = await fn(tx);
      // fn may have caught a statement's failure and carried on: the transaction is still broken.
      if (tx.retryableFailure) throw tx.retryableFailure.error;
      stage = 'record';
      if (id) await recordTransaction(lease.client, id, this.pruneNow());
      stage = 'commit';
      await lease.client.exec('COMMIT');
      tx.finish();
      this.#pool.release(lease, undefined);
      return { committed: true, value };
    } catch (error) {
      tx.finish();
      const kind =
        stage === 'body' && tx.retryableFailure ? tx.retryableFailure.kind : classifyFailure(error);
      const userError = stage === 'body' && !tx.retryableFailure;
      if (userError || kind === 'final') {
        await this.#rollbackAndRelease(lease);
        throw error;
      }
      if (stage === 'commit' && isOutcomeUnknown(kind)) {
        this.#pool.release(lease, kind);
        if (!id) throw new OutcomeUnknownError('COMMIT', error as Error);
        leaveGate(); // the check is a writing transaction of its own
        const committed = await this.committed(id, deadline);
        return committed
          ? { committed: true, value: value as T }
          : { committed: false, error: error as Error, kind };
      }
      if (isLeaderChange(kind)) this.#pool.release(lease, kind);
      else await this.#rollbackAndRelease(lease);
      return { committed: false, error: error as Error, kind };
    }
  }

  /**
   * Whether the transaction `id` committed, decided by a check transaction of its own (see
   * idempotency.ts). If the check's own COMMIT has an unknown outcome, it is simply asked again.
   */
  async committed(id: string, deadline: Deadline): Promise<boolean> {
    for (let attempt = 1; attempt <= COMMITTED_CHECKS_MAX; attempt++) {
      try {
        return await this.run(
          async (tx) => checkCommitted(tx, id),
          { behavior: 'immediate' },
          deadline,
        );
      } catch (error) {
        if (!(error instanceof OutcomeUnknownError)) throw error;
      }
    }
    throw new PoolTimeoutError(
      'transaction',
      deadline.timeoutMs,
      new Error('could not learn whether it committed'),
    );
  }

  /**
   * Best-effort ROLLBACK on a live connection. If it fails the connection is closed instead,
   * which makes the node roll back too; the caller's error is the one that matters.
   */
  async #rollbackAndRelease(lease: Lease): Promise<void> {
    if (!lease.client.isOpen) {
      this.#pool.release(lease, undefined);
      return;
    }
    try {
      await lease.client.exec('ROLLBACK');
      this.#pool.release(lease, undefined);
    } catch {
      // "no transaction is active" after SQLite already rolled back, or a dying connection.
      await lease.client.close();
      this.#pool.release(lease, undefined);
    }
  }

  /**
   * Creates the exactly-once bookkeeping table once per pool (again after a failure). `exec`
   * runs the statement; by default on a pool connection, but a reserved connection passes its
   * own, since every pool connection may be reserved already.
   */
  ensureBookkeeping(
    deadline: Deadline,
    exec: (sql: string) => Promise<unknown> = (sql) => this.#pool.exec(sql, deadline),
  ): Promise<unknown> {
    this.#bookkeepingReady ??= exec(CREATE_IDEMPOTENCY_TABLE).catch((error: unknown) => {
      this.#bookkeepingReady = undefined; // try again on the next idempotent transaction
      throw error;
    });
    return this.#bookkeepingReady;
  }

  /** Prune on the first idempotent commit of the pool and every PRUNE_EVERY after. */
  pruneNow(): { retentionMs: number } | undefined {
    const count = this.#idempotentCommits++;
    return count % PRUNE_EVERY === 0
      ? { retentionMs: this.#options.idempotencyRetentionMs }
      : undefined;
  }
}

function checkRetries(retries: number): number {
  if (!Number.isSafeInteger(retries) || retries < 0 || retries > TRANSACTION_RETRIES_MAX) {
    throw new RangeError(
      `transaction: retriesMax must be an integer from 0 to ${TRANSACTION_RETRIES_MAX}`,
    );
  }
  return retries;
}
