import type { Knex } from 'knex';
import { createPool } from '../../drivers/pool/index.js';
import type { LeaderPool, PoolOptions } from '../../drivers/pool/index.js';
import { checkTransactionBehavior } from './dqlite-transaction.js';
import type { TransactionBehavior } from './dqlite-transaction.js';
import type { KnexClientConfig } from './knex-internals.js';
import type { ConnectionProvider } from './provided-pool.js';

/**
 * Knex configuration for Dqlite: Knex's own options (`useNullAsDefault`, `migrations`,
 * `postProcessResponse`, `wrapIdentifier`, `debug`, `log`, `acquireConnectionTimeout`, …) plus
 * where the connections come from. Of Knex's `pool` option only `max` (and `min`, which has no
 * effect) applies; other limits are the dqlite pool's.
 */
export interface DqliteKnexConfig extends Omit<
  Knex.Config,
  'client' | 'connection' | 'connectionPool' | 'pool'
> {
  /** Knex's pool size: `max` sizes the pool the adapter creates from `connection`. */
  pool?: { min?: number; max?: number };
  /** `'dqlite'` with this package's `knex()`, or the client class (also with Knex's own factory). */
  client: 'dqlite' | (abstract new (config: DqliteKnexConfig) => unknown);
  /**
   * The pool's options (`cluster` and `database` required; `max`, `timeoutMs`, `pragmas`, …),
   * or a function returning them (or a promise of them), asked at the first acquire and again
   * when the options' `expirationChecker` says they expired. The adapter creates the pool and
   * `knex.destroy()` closes it.
   */
  connection?: PoolOptions | ConnectionProvider;
  /**
   * An existing pool to share instead (Knex's `connectionPool`, exclusive with `connection`);
   * `knex.destroy()` leaves it open.
   */
  connectionPool?: LeaderPool;
  /** How top-level transactions begin unless `knex.transaction(fn, { behavior })` says. Default 'deferred'. */
  transactionBehavior?: TransactionBehavior;
  /**
   * Inserting rows with missing columns binds NULL (SQLite has no DEFAULT in a VALUES list).
   * Default true here; false keeps Knex's TypeError for undefined values.
   */
  useNullAsDefault?: boolean;
}

/**
 * Knex's `pool: { min, max }`, as configurations written for Knex's SQLite clients have it: `max`
 * becomes the pool's `max` (`connection.max` too is an error, except in a configuration copied
 * from another instance, where `pool.max` wins); `min` is accepted and has no effect
 * (connections open on demand and close when idle). Any other key (afterCreate, idle timeouts,
 * …) belongs to Knex's own pool, which is never built: a TypeError names the pool option to use.
 */
function withKnexPoolSize(
  connection: PoolOptions,
  knexPool: unknown,
  copied: boolean,
): PoolOptions {
  if (knexPool === undefined) return connection;
  const bothSized =
    typeof knexPool === 'object' && knexPool !== null && 'max' in knexPool && 'max' in connection;
  if (bothSized && !copied) {
    throw new TypeError(
      'dqlite-ts/knex: give the pool size once, as `pool.max` or `connection.max`',
    );
  }
  if (typeof knexPool !== 'object' || knexPool === null) {
    throw new TypeError('dqlite-ts/knex: `pool` must be an object like { max: 10 }');
  }
  const { min, max, ...other } = knexPool as { min?: unknown; max?: unknown };
  const unsupported = Object.keys(other);
  if (unsupported.length > 0) {
    throw new TypeError(
      `dqlite-ts/knex: Knex's pool option ${unsupported.map((key) => `\`${key}\``).join(', ')} does not apply: ` +
        'the dqlite pool manages connections (set pragmas, timeoutMs, idleTimeoutMs, … in `connection`)',
    );
  }
  for (const [name, value] of [
    ['min', min],
    ['max', max],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 0)) {
      throw new RangeError(
        `dqlite-ts/knex: pool.${name} must be a non-negative integer, got ${String(value)}`,
      );
    }
  }
  if (max === undefined || max === 0) return connection;
  return { ...connection, max: max as number };
}

/** The options a connection provider gave, sized by Knex's `pool.max` when the config has one. */
export function sizedByKnexPool(options: PoolOptions, knexPool: unknown): PoolOptions {
  return withKnexPoolSize(options, knexPool, true);
}

/** Pools the adapter created from `connection`, with the options to create them again. */
const ownedPools = new WeakMap<LeaderPool, PoolOptions>();
const closedPools = new WeakSet<LeaderPool>();

/**
 * Validates the configuration and turns `connection` into a pool the adapter owns, so that Knex
 * itself only ever sees `connectionPool`: then its SQLite client finds no `filename` to warn
 * about and Knex never builds a tarn pool. Misuse throws TypeError or RangeError at once.
 */
export function prepareConfig(config: DqliteKnexConfig): KnexClientConfig {
  if (typeof config !== 'object' || config === null) {
    throw new TypeError('dqlite-ts/knex: the configuration must be an object');
  }
  const { connection: given, connectionPool: sharedPool, pool: knexPool, ...rest } = config;
  // A configuration copied from another instance's `knex.client.config` names the pool that
  // instance created: this instance gets a pool of its own from the same options, as Knex gives
  // every instance its own pool.
  const copiedFrom = sharedPool === undefined ? undefined : ownedPools.get(sharedPool);
  const connectionPool = copiedFrom === undefined ? sharedPool : undefined;
  if (given !== undefined && connectionPool !== undefined) {
    throw new TypeError('dqlite-ts/knex: `connection` and `connectionPool` are exclusive');
  }
  if (typeof given === 'function') {
    // A connection provider: the pool is made from what it returns, at the first acquire.
    checkTransactionBehavior(rest.transactionBehavior, 'transactionBehavior');
    checkAcquireTimeout(rest.acquireConnectionTimeout);
    withKnexPoolSize({} as PoolOptions, knexPool, false);
    // Knex's SQLite client warns about a `connection` without `filename`; a provider has none.
    const provider = Object.assign((() => given()) as ConnectionProvider, {
      filename: '(a dqlite-ts pool)',
    });
    return {
      ...rest,
      useNullAsDefault: rest.useNullAsDefault ?? true,
      pool: { ...(knexPool as object | undefined) },
      connection: provider,
    };
  }
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw new TypeError(
      'dqlite-ts/knex: `connection` must be the pool options, e.g. { cluster, database }, or a function returning them',
    );
  }
  const options = given ?? copiedFrom;
  const connection =
    options === undefined
      ? undefined
      : withKnexPoolSize(options, knexPool, copiedFrom !== undefined);
  if (connectionPool !== undefined && knexPool !== undefined) {
    throw new TypeError(
      "dqlite-ts/knex: Knex's `pool` option sizes a pool the adapter creates; `connectionPool` is already sized",
    );
  }
  checkTransactionBehavior(rest.transactionBehavior, 'transactionBehavior');
  checkAcquireTimeout(rest.acquireConnectionTimeout);
  const prepared: KnexClientConfig = { ...rest, useNullAsDefault: rest.useNullAsDefault ?? true };
  // Kept for code that reads or copies `knex.client.config.pool`; Knex's own pool is never built.
  prepared.pool = { ...(knexPool as object | undefined) };
  if (connectionPool !== undefined) prepared.connectionPool = checkLeaderPool(connectionPool);
  if (connection !== undefined) {
    const pool = createPool(connection);
    ownedPools.set(pool, { ...connection });
    prepared.connectionPool = pool;
  }
  return prepared;
}

/** The pool to use: an owned pool closed by `knex.destroy()` is created again for `initialize()`. */
export function usablePool(given: unknown): { pool: LeaderPool; owned: boolean } {
  const pool = checkLeaderPool(given);
  const options = ownedPools.get(pool);
  if (options === undefined) return { pool, owned: false };
  if (!closedPools.has(pool)) return { pool, owned: true };
  const reopened = createPool(options);
  ownedPools.set(reopened, options);
  return { pool: reopened, owned: true };
}

/** Closes a pool the adapter owns and remembers that it did. */
export async function closeOwnedPool(pool: LeaderPool): Promise<void> {
  closedPools.add(pool);
  await pool.close();
}

function checkLeaderPool(pool: unknown): LeaderPool {
  const candidate = pool as Partial<LeaderPool> | null;
  if (typeof candidate?.reserve !== 'function' || typeof candidate.close !== 'function') {
    throw new TypeError('dqlite-ts/knex: `connectionPool` must be a pool from createPool()');
  }
  return pool as LeaderPool;
}

function checkAcquireTimeout(timeoutMs: unknown): void {
  if (timeoutMs === undefined) return;
  if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(
      `dqlite-ts/knex: acquireConnectionTimeout must be a positive integer, got ${String(timeoutMs)}`,
    );
  }
}
