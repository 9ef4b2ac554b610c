import { MESSAGE_BYTES_MAX_DEFAULT } from '../../src/wire/index.js';
import { parseAddress } from './connection.js';
import type { TlsOptions } from '../../src/wire/index.js';
import { checkTlsOptions } from './tls.js';
import type { LeaderAttempt } from './errors.js';
import type { IntegerMode } from './values.js';

/** Options of `connect`. Only `cluster` and `database` are required. */
export interface ClientOptions {
  /** Addresses ("host:port") of some or all nodes; the leader is found among them. */
  readonly cluster: readonly string[];
  /** The database to open; created on first use. */
  readonly database: string;
  /** Time allowed to open one TCP connection. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Time allowed to find the leader, all nodes and retries included. Default 10000. */
  readonly leaderTimeoutMs?: number;
  /**
   * Longest wait for each response frame of a request (for a streamed query: between batches).
   * When it passes, the connection is closed and its requests fail with TimeoutError. Default 30000.
   */
  readonly requestTimeoutMs?: number;
  /** How 64-bit integers are returned; see IntegerMode. Default 'auto'. */
  readonly integers?: IntegerMode;
  /** Largest response message accepted. Default 256 MiB (a DUMP carries whole files). */
  readonly messageBytesMax?: number;
  /** Requests that may queue behind the one in flight. Default 1024. */
  readonly queueLengthMax?: number;
  /** Aborts `connect` while it is still looking for the leader. */
  readonly signal?: AbortSignal;
  /**
   * Told what each node answered while `connect` looks for the leader (the pool keeps these to
   * explain a call that times out meanwhile).
   */
  readonly onLeaderAttempt?: (attempt: LeaderAttempt) => void;
  /**
   * Mutual TLS to nodes that require it (see TlsOptions: only the chain to `ca` is checked, not
   * host names). Default: plain TCP. A node that refuses the handshake fails the connection with
   * a HandshakeError that says why.
   */
  readonly tls?: TlsOptions;
}

export type ResolvedClientOptions = Required<
  Omit<ClientOptions, 'signal' | 'tls' | 'onLeaderAttempt'>
> & {
  readonly signal?: AbortSignal;
  readonly tls?: TlsOptions;
  readonly onLeaderAttempt?: (attempt: LeaderAttempt) => void;
};

const defaults = {
  connectTimeoutMs: 5000,
  leaderTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  integers: 'auto',
  messageBytesMax: MESSAGE_BYTES_MAX_DEFAULT,
  queueLengthMax: 1024,
} as const;

const knownKeys = new Set([
  'cluster',
  'database',
  'signal',
  'tls',
  'onLeaderAttempt',
  ...Object.keys(defaults),
]);

/** Validates, fills in defaults, copies and freezes. Misuse throws TypeError or RangeError. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('connect(options): options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!knownKeys.has(key)) throw new TypeError(`connect(options): unknown option "${key}"`);
  }
  const { cluster, database } = options;
  if (!Array.isArray(cluster) || cluster.length === 0) {
    throw new TypeError(
      'connect(options): cluster must be a non-empty array of "host:port" addresses',
    );
  }
  for (const address of cluster) parseAddress(String(address));
  if (typeof database !== 'string' || database === '' || database.includes('\0')) {
    throw new TypeError('connect(options): database must be a non-empty string without NUL');
  }
  const resolved = {
    ...defaults,
    ...options,
    cluster: Object.freeze([...cluster]),
    tls: options.tls === undefined ? undefined : checkTlsOptions(options.tls, 'connect(options)'),
  };
  for (const key of [
    'connectTimeoutMs',
    'leaderTimeoutMs',
    'requestTimeoutMs',
    'queueLengthMax',
  ] as const) {
    checkPositiveInteger(key, resolved[key]);
  }
  checkPositiveInteger('messageBytesMax', resolved.messageBytesMax);
  if (resolved.signal !== undefined && !(resolved.signal instanceof AbortSignal)) {
    throw new TypeError('connect(options): signal must be an AbortSignal');
  }
  if (resolved.onLeaderAttempt !== undefined && typeof resolved.onLeaderAttempt !== 'function') {
    throw new TypeError('connect(options): onLeaderAttempt must be a function');
  }
  if (resolved.integers !== 'auto' && resolved.integers !== 'bigint') {
    throw new TypeError(
      `connect(options): integers must be 'auto' or 'bigint', got ${String(resolved.integers)}`,
    );
  }
  return Object.freeze(resolved);
}

function checkPositiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(
      `connect(options): ${name} must be a positive integer, got ${String(value)}`,
    );
  }
}
