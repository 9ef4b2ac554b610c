import type { DqliteError } from '../client/index.js';

/**
 * A write reached the leader, then leadership was lost (or the connection died) before the
 * answer came: it may or may not have committed. The pool does not guess. Retry yourself if the
 * write is idempotent, pass `{ idempotent: true }`, or use `transaction(fn, { idempotent: true })`
 * for exactly-once. `cause` is the error the node or the socket gave.
 */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError';
  /** The request whose outcome is unknown, e.g. "EXEC_SQL" or "COMMIT". */
  readonly operation: string;

  constructor(operation: string, cause: Error) {
    super(
      `${operation}: the outcome is unknown; the write may or may not have committed (${cause.message})`,
      { cause },
    );
    this.operation = operation;
  }
}

/** A pool call did not finish within its deadline (`timeoutMs`); `cause` is the last failure. */
export class PoolTimeoutError extends Error {
  override name = 'PoolTimeoutError';
  readonly timeoutMs: number;

  constructor(operation: string, timeoutMs: number, cause: unknown) {
    const reason = cause instanceof Error ? `; last failure: ${cause.message}` : '';
    super(`${operation}: no result within ${timeoutMs} ms${reason}`, { cause });
    this.timeoutMs = timeoutMs;
  }
}

/** More callers are waiting for a connection than `waitingMax` allows. */
export class PoolQueueFullError extends Error {
  override name = 'PoolQueueFullError';
}

/** `transaction(fn)` gave up after `retriesMax` retries; `cause` is the last failure. */
export class TransactionRetriesExhaustedError extends Error {
  override name = 'TransactionRetriesExhaustedError';
  readonly attempts: number;

  constructor(attempts: number, cause: DqliteError | Error) {
    super(`transaction failed ${attempts} times; last failure: ${cause.message}`, { cause });
    this.attempts = attempts;
  }
}

/**
 * The leader changed in the middle of a transaction the pool could not carry over to the new
 * leader: replaying its statements there gave a different result than the application already
 * saw (a concurrent change, `random()`, `datetime('now')`), or it was too large to replay. The
 * transaction did not commit; run it again.
 */
export class TransactionReplayError extends Error {
  override name = 'TransactionReplayError';
}
