import type { Parameter, RowValue } from '../client/index.js';
import { retryDelayMs, sleep } from './backoff.js';
import type { Deadline } from './backoff.js';
import { OutcomeUnknownError, PoolTimeoutError } from './errors.js';
import { classifyFailure, isOutcomeUnknown, isReadOnlySql } from './failure.js';
import type { FailureKind } from './failure.js';
import type { Lease } from './leader-connections.js';
import type { ReleaseReason } from './lease-pool.js';
import { rowObject } from './rows.js';
import type { ObjectRow, RowMode } from './rows.js';
import type { WriteGate } from './write-gate.js';

/** Where a statement gets its connection: the pool, or one reserved connection. */
export interface LeaseSource {
  acquire(operation: string, deadline: Deadline, lastError: unknown): Promise<Lease>;
  release(lease: Lease, reason: ReleaseReason): void;
}

/** Payload of the pool's 'retry' event. */
export interface RetryEvent {
  readonly operation: string;
  readonly attempt: number;
  readonly error: unknown;
  readonly delayMs: number;
}

/** Retry count cap of one statement, a backstop under its deadline. */
export const STATEMENT_ATTEMPTS_MAX = 64;

/**
 * Runs single statements with the retry rules of docs/pool.md: NOT_LEADER and unsent requests are
 * retried on the new leader; unknown outcomes only for reads and `idempotent` calls, else they
 * raise OutcomeUnknownError; SQLITE_BUSY for up to `busyTimeoutMs`. Writes pass the pool's write
 * gate, one at a time.
 */
export class StatementRunner {
  readonly #busyTimeoutMs: number;
  readonly #gate: WriteGate;
  readonly #retried: (event: RetryEvent) => void;

  constructor(busyTimeoutMs: number, gate: WriteGate, retried: (event: RetryEvent) => void) {
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#gate = gate;
    this.#retried = retried;
  }

  async run<T>(
    source: LeaseSource,
    statement: {
      operation: string;
      sql: string;
      idempotent?: boolean | undefined;
      /** Whether to pass the write gate; default: unless the SQL only reads. */
      gated?: boolean;
    },
    deadline: Deadline,
    work: (client: Lease['client']) => Promise<T>,
  ): Promise<T> {
    const { operation, sql } = statement;
    const readOnly = isReadOnlySql(sql);
    const repeatable = statement.idempotent === true || readOnly;
    let busySinceMs: number | undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= STATEMENT_ATTEMPTS_MAX; attempt++) {
      // Connection first, then the write gate, everywhere (reserved connections hold theirs
      // before they take the gate): the same order for all makes a wait cycle impossible.
      const lease = await source.acquire(operation, deadline, lastError);
      const gated = statement.gated ?? !readOnly;
      let leave: (() => void) | undefined;
      try {
        leave = gated ? await this.#gate.enter(operation, deadline) : undefined;
      } catch (error) {
        source.release(lease, undefined);
        throw error;
      }
      try {
        try {
          const result = await withinDeadline(lease, deadline, () => work(lease.client));
          source.release(lease, undefined);
          return result;
        } catch (error) {
          const kind = error instanceof PoolTimeoutError ? 'deadline' : classifyFailure(error);
          source.release(lease, kind);
          if (kind === 'deadline')
            throw repeatable ? error : new OutcomeUnknownError(operation, error as Error);
          if (kind === 'final') throw error;
          if (isOutcomeUnknown(kind) && !repeatable)
            throw new OutcomeUnknownError(operation, error as Error);
          if (kind === 'busy') {
            busySinceMs ??= Date.now();
            if (Date.now() - busySinceMs >= this.#busyTimeoutMs) throw error;
          } else {
            busySinceMs = undefined; // a busy spell ends with any other outcome (a failover)
          }
          lastError = error;
        }
      } finally {
        leave?.();
      }
      await this.pauseBeforeRetry(operation, attempt, lastError, deadline);
    }
    throw new PoolTimeoutError(operation, deadline.timeoutMs, lastError);
  }

  /**
   * Rows as they arrive. Failures before the first row are retried like `run`; after it they
   * surface (rows already seen cannot be taken back).
   */
  async *stream(
    source: LeaseSource,
    sql: string,
    params: readonly Parameter[] | undefined,
    mode: RowMode,
    deadline: Deadline,
  ): AsyncGenerator<ObjectRow | RowValue[]> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= STATEMENT_ATTEMPTS_MAX; attempt++) {
      const lease = await source.acquire('stream', deadline, lastError);
      let delivered = false;
      let kind: FailureKind | undefined;
      try {
        for await (const batch of lease.client.iterateBatches(sql, params)) {
          for (const row of batch.rows) {
            delivered = true;
            yield mode === 'array' ? row : rowObject(batch.columns, row);
          }
        }
        return;
      } catch (error) {
        kind = classifyFailure(error);
        const repeatable = !isOutcomeUnknown(kind) || isReadOnlySql(sql);
        if (delivered || kind === 'final' || !repeatable) throw error;
        lastError = error;
      } finally {
        source.release(lease, kind);
      }
      await this.pauseBeforeRetry('stream', attempt, lastError, deadline);
    }
    throw new PoolTimeoutError('stream', deadline.timeoutMs, lastError);
  }

  async pauseBeforeRetry(
    operation: string,
    attempt: number,
    error: unknown,
    deadline: Deadline,
  ): Promise<void> {
    if (deadline.passed) throw new PoolTimeoutError(operation, deadline.timeoutMs, error);
    const delayMs = retryDelayMs(attempt, deadline);
    this.#retried({ operation, attempt, error, delayMs });
    await sleep(delayMs);
  }
}

/** Runs `work`; if the deadline passes first, closes the connection and raises PoolTimeoutError. */
async function withinDeadline<T>(
  lease: Lease,
  deadline: Deadline,
  work: () => Promise<T>,
): Promise<T> {
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    void lease.client.close(); // the only way to stop waiting for a request already sent
  }, deadline.remainingMs);
  try {
    return await work();
  } catch (error) {
    if (expired) throw new PoolTimeoutError('request', deadline.timeoutMs, error);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
