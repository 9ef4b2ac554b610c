/** Options of one `transaction()` call (`LeaderPool.transaction`, run by `TransactionRunner`). */
export interface TransactionOptions {
  /** BEGIN DEFERRED (default), IMMEDIATE (takes the write lock at once) or EXCLUSIVE. */
  readonly behavior?: 'deferred' | 'immediate' | 'exclusive';
  /** Exactly-once across an unknown outcome at COMMIT; see docs/pool.md, "Exactly-once transactions". */
  readonly idempotent?: boolean;
  /** Reruns after leader changes or SQLITE_BUSY; default the pool's `transactionRetriesMax`. */
  readonly retriesMax?: number;
  readonly timeoutMs?: number;
}
