import type { ClientOptions, IntegerMode, TlsOptions } from '../client/index.js';
import { checkTlsOptions } from '../client/tls.js';
import { checkReadOptions, type ReadOptions } from './replica-reads.js';

/** Where the pool's diagnostics go; every method optional. Silent when absent. */
export interface PoolLogger {
  debug?(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
  warn?(message: string, details?: Record<string, unknown>): void;
  error?(message: string, details?: Record<string, unknown>): void;
}

/** A PRAGMA value: numbers and identifiers as given, booleans as ON/OFF. */
export type PragmaValue = number | boolean | string;

/** Options of `createPool`. Only `cluster` and `database` are required. */
export interface PoolOptions {
  /** Addresses ("host:port") of some or all nodes. */
  readonly cluster: readonly string[];
  /** The database every connection opens. */
  readonly database: string;
  /** Most connections open at once (all to the leader). Default 16. */
  readonly max?: number;
  /**
   * Deadline of each call (query, exec, batch, transaction, the start of a stream), waiting for a
   * connection and every retry included; also the longest a call may ask for. Default 30000.
   */
  readonly timeoutMs?: number;
  /** How long to keep retrying SQLITE_BUSY ("database is locked") before surfacing it. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Reruns of `transaction(fn)` after leader changes or SQLITE_BUSY. Default 8. */
  readonly transactionRetriesMax?: number;
  /** Callers that may wait for a connection (one being opened included) before PoolQueueFullError. Default 10000. */
  readonly waitingMax?: number;
  /** An idle connection is closed after this long. Default 30000. */
  readonly idleTimeoutMs?: number;
  /** PRAGMAs set on every new connection, also after a leader change, e.g. `{ foreign_keys: true }`. */
  readonly pragmas?: Readonly<Record<string, PragmaValue>>;
  /**
   * Rows of idempotent transactions' bookkeeping table older than this are pruned (they only
   * need to outlive any retry). Default 86400000 (one day).
   */
  readonly idempotencyRetentionMs?: number;
  /** Time to open one TCP connection (client option). Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Time to find the leader for a new connection (client option). Default 10000. */
  readonly leaderTimeoutMs?: number;
  /** Longest wait for each response frame (client option). Default 30000. */
  readonly requestTimeoutMs?: number;
  /** How 64-bit integers come back (client option). Default 'auto'. */
  readonly integers?: IntegerMode;
  /** Diagnostics; the pool is silent without one. */
  readonly logger?: PoolLogger;
  /**
   * Mutual TLS to the nodes (client option; see TlsOptions: only the chain to `ca` is checked,
   * not host names). Default: plain TCP.
   */
  readonly tls?: TlsOptions;
  /**
   * How reads outside transactions may be served (docs/reads.md); each call may choose otherwise.
   * Default `{ consistency: 'leader' }`: every read goes to the leader.
   */
  readonly reads?: ReadOptions;
}

export type ResolvedPoolOptions = Required<Omit<PoolOptions, 'logger' | 'tls' | 'reads'>> & {
  readonly logger: PoolLogger | undefined;
  readonly tls: TlsOptions | undefined;
  readonly reads: ReadOptions | undefined;
};

const defaults = {
  max: 16,
  timeoutMs: 30_000,
  busyTimeoutMs: 5000,
  transactionRetriesMax: 8,
  waitingMax: 10_000,
  idleTimeoutMs: 30_000,
  pragmas: {},
  idempotencyRetentionMs: 86_400_000,
  connectTimeoutMs: 5000,
  leaderTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  integers: 'auto',
} as const;

const knownKeys = new Set([
  'cluster',
  'database',
  'logger',
  'tls',
  'reads',
  ...Object.keys(defaults),
]);
const positiveIntegerKeys = [
  'max',
  'timeoutMs',
  'busyTimeoutMs',
  'waitingMax',
  'idleTimeoutMs',
  'idempotencyRetentionMs',
  'connectTimeoutMs',
  'leaderTimeoutMs',
  'requestTimeoutMs',
] as const;
/** A pool of more connections than this would only queue on the leader's single writer. */
export const POOL_SIZE_MAX = 1024;
/** Retries beyond this would outlast any sensible deadline. */
export const TRANSACTION_RETRIES_MAX = 100;

/** Validates, fills in defaults, copies and freezes. Misuse throws TypeError or RangeError. */
export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createPool(options): options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!knownKeys.has(key)) throw new TypeError(`createPool(options): unknown option "${key}"`);
  }
  const resolved = { ...defaults, logger: undefined, reads: undefined, ...options };
  checkReadOptions(resolved.reads, 'createPool(options).reads');
  for (const key of positiveIntegerKeys) checkPositiveInteger(key, resolved[key]);
  if (resolved.max > POOL_SIZE_MAX) {
    throw new RangeError(`createPool(options): max must be at most ${POOL_SIZE_MAX}`);
  }
  const retries = resolved.transactionRetriesMax;
  if (!Number.isSafeInteger(retries) || retries < 0 || retries > TRANSACTION_RETRIES_MAX) {
    throw new RangeError(
      `createPool(options): transactionRetriesMax must be an integer from 0 to ${TRANSACTION_RETRIES_MAX}`,
    );
  }
  return Object.freeze({
    ...resolved,
    cluster: Object.freeze([...(resolved.cluster ?? [])]),
    pragmas: Object.freeze(checkPragmas(resolved.pragmas)),
    reads: resolved.reads === undefined ? undefined : Object.freeze({ ...resolved.reads }),
    // Checked once here; every connection then reuses the one copy and its parsed PEM.
    tls:
      resolved.tls === undefined ? undefined : checkTlsOptions(resolved.tls, 'createPool(options)'),
  });
}

/** The options each pooled client connects with. */
export function clientOptionsOf(
  options: ResolvedPoolOptions,
  cluster: readonly string[],
  signal?: AbortSignal,
): ClientOptions {
  return {
    cluster,
    ...(signal ? { signal } : {}),
    database: options.database,
    connectTimeoutMs: options.connectTimeoutMs,
    leaderTimeoutMs: options.leaderTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs,
    integers: options.integers,
    ...(options.tls ? { tls: options.tls } : {}),
  };
}

const PRAGMA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PRAGMA_WORD = /^[A-Za-z0-9_-]+$/;

/** PRAGMA names and values are spliced into SQL: only identifiers, numbers and booleans pass. */
function checkPragmas(pragmas: Readonly<Record<string, PragmaValue>>): Record<string, PragmaValue> {
  const checked: Record<string, PragmaValue> = {};
  for (const [name, value] of Object.entries(pragmas)) {
    if (!PRAGMA_NAME.test(name))
      throw new TypeError(`createPool(options): bad pragma name "${name}"`);
    const fine =
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && PRAGMA_WORD.test(value));
    if (!fine)
      throw new TypeError(`createPool(options): bad value for pragma ${name}: ${String(value)}`);
    checked[name] = value;
  }
  return checked;
}

/** `PRAGMA name = value` statements for a new connection. */
export function pragmaStatements(pragmas: Readonly<Record<string, PragmaValue>>): string[] {
  return Object.entries(pragmas).map(([name, value]) => {
    const text = typeof value === 'boolean' ? (value ? 'ON' : 'OFF') : String(value);
    return `PRAGMA ${name} = ${text}`;
  });
}

function checkPositiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(
      `createPool(options): ${name} must be a positive integer, got ${String(value)}`,
    );
  }
}
