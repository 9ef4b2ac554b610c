import type { SQLiteTransactionConfig } from 'drizzle-orm/sqlite-core';
import type { TransactionOptions } from '../../drivers/pool/index.js';

/**
 * Options of `db.transaction(fn, config)` (and the adapter's `transactionDefaults`): Drizzle's
 * `behavior` plus the pool's transaction options.
 *
 * @example
 * await db.transaction(async (tx) => { ... }, { behavior: 'immediate' });
 */
export interface DqliteTransactionConfig extends SQLiteTransactionConfig {
  /**
   * BEGIN IMMEDIATE (default in this adapter), DEFERRED or EXCLUSIVE. Every write goes to the one
   * leader, which admits one writer at a time: an IMMEDIATE transaction waits its turn in the
   * pool's write gate, first come first served, where DEFERRED ones that write would collide on
   * the leader's write lock and rerun on SQLITE_BUSY. Pass 'deferred' for read-only transactions
   * that should not wait for writers.
   */
  behavior?: 'deferred' | 'immediate' | 'exclusive';
  /**
   * Exactly-once across an unknown COMMIT outcome (the leader died with the COMMIT in flight):
   * the pool records a bookkeeping row in the transaction and asks the new leader for it.
   * Default true in this adapter. With false such a COMMIT raises OutcomeUnknownError.
   */
  idempotent?: boolean;
  /** Reruns of `fn` after leader changes or SQLITE_BUSY; default the pool's `transactionRetriesMax`. */
  retriesMax?: number;
  /** Deadline of the whole transaction, reruns included; default the pool's `timeoutMs`. */
  timeoutMs?: number;
}

/** What the adapter uses when neither `transactionDefaults` nor the call says otherwise. */
export const TRANSACTION_DEFAULTS: Readonly<DqliteTransactionConfig> = Object.freeze({
  behavior: 'immediate',
  idempotent: true,
});

const KEYS = new Set(['behavior', 'idempotent', 'retriesMax', 'timeoutMs']);

/** Rejects misspelled keys; the pool checks the values. Returns a frozen copy. */
export function checkTransactionConfig(
  config: DqliteTransactionConfig | undefined,
  where: string,
): Readonly<DqliteTransactionConfig> {
  if (config === undefined) return Object.freeze({});
  if (typeof config !== 'object' || config === null)
    throw new TypeError(`${where}: the transaction config must be an object`);
  for (const key of Object.keys(config)) {
    if (!KEYS.has(key)) throw new TypeError(`${where}: unknown transaction option "${key}"`);
  }
  return Object.freeze({ ...config });
}

/** The pool's options for one transaction: the call's config over the adapter's defaults. */
export function transactionOptionsOf(
  defaults: Readonly<DqliteTransactionConfig>,
  config: DqliteTransactionConfig | undefined,
): TransactionOptions {
  const merged = { ...defaults, ...checkTransactionConfig(config, 'transaction(fn, config)') };
  const options: {
    behavior?: 'deferred' | 'immediate' | 'exclusive';
    idempotent?: boolean;
    retriesMax?: number;
    timeoutMs?: number;
  } = {};
  if (merged.behavior !== undefined) options.behavior = merged.behavior;
  if (merged.idempotent !== undefined) options.idempotent = merged.idempotent;
  if (merged.retriesMax !== undefined) options.retriesMax = merged.retriesMax;
  if (merged.timeoutMs !== undefined) options.timeoutMs = merged.timeoutMs;
  return options;
}
