import { createPool as createGenericPool } from 'generic-pool';
import type { Pool as GenericPool } from 'generic-pool';
import { ClosedError } from '../client/index.js';
import type { Deadline } from './backoff.js';
import { PoolQueueFullError, PoolTimeoutError } from './errors.js';
import { isLeaderChange } from './failure.js';
import type { FailureKind } from './failure.js';
import type { LeaderConnections, Lease } from './leader-connections.js';
import type { ResolvedPoolOptions } from './options.js';

/**
 * Why a lease comes back: undefined when all went well, the failure's kind otherwise, or
 * 'deadline' when the pool itself closed the connection because a call ran out of time.
 */
export type ReleaseReason = FailureKind | 'deadline' | undefined;

/**
 * The connections, on generic-pool, configured around its traps: `create` does leader discovery
 * with backoff and a deadline (a fast-failing create would spin and never reject waiters);
 * acquires always time out; `validate` never throws (a throwing validate wedges the pool) and
 * retires old leader generations; the idle timeout is explicit (0 would silently mean 30 s);
 * close drains before clearing (clear alone hands out destroyed connections).
 */
export class LeasePool {
  readonly #connections: LeaderConnections;
  readonly #options: ResolvedPoolOptions;
  readonly #pool: GenericPool<Lease>;

  constructor(
    connections: LeaderConnections,
    options: ResolvedPoolOptions,
    onOpenError: (error: unknown) => void,
  ) {
    this.#connections = connections;
    this.#options = options;
    this.#pool = createGenericPool<Lease>(
      {
        create: () => connections.open(),
        destroy: async (lease) => lease.client.close(),
        validate: async (lease) => connections.isCurrent(lease),
      },
      {
        max: options.max,
        min: 0,
        testOnBorrow: true,
        acquireTimeoutMillis: options.timeoutMs,
        maxWaitingClients: options.waitingMax,
        idleTimeoutMillis: options.idleTimeoutMs,
        evictionRunIntervalMillis: Math.max(1000, Math.floor(options.idleTimeoutMs / 2)),
      },
    );
    this.#pool.on('factoryCreateError', onOpenError);
  }

  /** Borrows a connection to the current leader, or fails with a typed error by the deadline. */
  async acquire(operation: string, deadline: Deadline, lastError: unknown): Promise<Lease> {
    if (deadline.passed) throw new PoolTimeoutError(operation, deadline.timeoutMs, lastError);
    const acquiring = this.#pool.acquire();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>(
      (resolve) => (timer = setTimeout(() => resolve('expired'), deadline.remainingMs)),
    );
    try {
      const winner = await Promise.race([acquiring, expired]);
      if (winner !== 'expired') return winner;
      // Hand the connection back if it still comes; generic-pool's own timeout ends it otherwise.
      acquiring.then(
        (lease) => this.release(lease, undefined),
        () => undefined,
      );
      throw this.#timeout(operation, deadline, lastError);
    } catch (error) {
      throw this.#typedAcquireError(operation, deadline, error, lastError);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Returns a connection, or retires it (and, after a leader change, its generation). */
  release(lease: Lease, reason: ReleaseReason): void {
    const leaderChanged = reason !== undefined && reason !== 'deadline' && isLeaderChange(reason);
    if (leaderChanged) this.#connections.leaderLost(lease, reason);
    const retire = leaderChanged || reason === 'deadline' || !lease.client.isOpen;
    const settled = retire ? this.#pool.destroy(lease) : this.#pool.release(lease);
    settled.catch((error: unknown) =>
      this.#options.logger?.warn?.('dqlite-ts pool: release failed', { error }),
    );
  }

  counts(): { size: number; available: number; borrowed: number; waiting: number } {
    const pool = this.#pool;
    return {
      size: pool.size,
      available: pool.available,
      borrowed: pool.borrowed,
      waiting: pool.pending,
    };
  }

  async close(): Promise<void> {
    await this.#pool.drain();
    await this.#pool.clear();
  }

  #timeout(operation: string, deadline: Deadline, lastError: unknown): PoolTimeoutError {
    return new PoolTimeoutError(
      operation,
      deadline.timeoutMs,
      lastError ?? this.#connections.lastOpenError,
    );
  }

  /** generic-pool's own rejections, as this package's typed errors. */
  #typedAcquireError(
    operation: string,
    deadline: Deadline,
    error: unknown,
    lastError: unknown,
  ): unknown {
    if (!(error instanceof Error) || error instanceof PoolTimeoutError) return error;
    if (error.name === 'TimeoutError') return this.#timeout(operation, deadline, lastError);
    if (/max waitingClients count exceeded/.test(error.message)) {
      return new PoolQueueFullError(
        `${operation}: ${this.#options.waitingMax} callers are already waiting`,
      );
    }
    if (/draining/.test(error.message)) return new ClosedError('the pool is closed');
    return error;
  }
}
