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
 * 'deadline' when the connection must be closed though the leader did not change (a call ran
 * out of time, or its owner asked to retire it).
 */
export type ReleaseReason = FailureKind | 'deadline' | undefined;

/** Longest a waiting request stays inside generic-pool before it is renewed (see acquire). */
export const ACQUIRE_SLICE_MS = 1000;
/** generic-pool priorities: 0 is served first. */
const PRIORITY_WAITED = 0;
const PRIORITY_NEW = 1;

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
        acquireTimeoutMillis: ACQUIRE_SLICE_MS,
        priorityRange: 2,
        maxWaitingClients: options.waitingMax,
        idleTimeoutMillis: options.idleTimeoutMs,
        evictionRunIntervalMillis: Math.max(1000, Math.floor(options.idleTimeoutMs / 2)),
      },
    );
    this.#pool.on('factoryCreateError', onOpenError);
  }

  /**
   * Borrows a connection to the current leader, or fails with a typed error by the deadline.
   *
   * generic-pool cannot cancel a waiting request, and close() must wait for every request to
   * settle, so a caller whose deadline passed would hold up close() until generic-pool's own
   * timeout. Waiting therefore goes in slices of ACQUIRE_SLICE_MS: an abandoned request lingers
   * at most one slice. A caller that waits again does so at the higher priority, ahead of
   * newcomers, to stay roughly first come first served.
   */
  async acquire(operation: string, deadline: Deadline, lastError: unknown): Promise<Lease> {
    const waitingSince = Date.now();
    const slices = Math.ceil(deadline.timeoutMs / ACQUIRE_SLICE_MS) + 1;
    for (let slice = 0; slice < slices; slice++) {
      if (deadline.passed) break;
      try {
        return await this.#acquireSlice(deadline, slice === 0 ? PRIORITY_NEW : PRIORITY_WAITED);
      } catch (error) {
        const sliceEnded = error instanceof Error && error.name === 'TimeoutError';
        if (!sliceEnded) throw this.#typedAcquireError(operation, error);
      }
      // Waiting on only makes sense while a leader may still be found (see connectToLeader).
      const hopeless = this.#connections.hopelessSince(waitingSince);
      if (hopeless !== undefined) throw hopeless;
    }
    throw this.#timeout(operation, deadline, lastError);
  }

  /** One slice of waiting; generic-pool's TimeoutError when the slice ends first. */
  async #acquireSlice(deadline: Deadline, priority: number): Promise<Lease> {
    const acquiring = this.#pool.acquire(priority);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>(
      (resolve) => (timer = setTimeout(() => resolve('expired'), deadline.remainingMs)),
    );
    try {
      const winner = await Promise.race([acquiring, expired]);
      if (winner !== 'expired') return winner;
      // Hand the connection back if it still comes; the slice's timeout ends the request otherwise.
      acquiring.then(
        (lease) => this.release(lease, undefined),
        () => undefined,
      );
      throw Object.assign(new Error('deadline passed while waiting'), { name: 'TimeoutError' });
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
    this.#connections.abort(); // leader discovery in progress would otherwise hold up clear()
    await this.#pool.drain();
    await this.#pool.clear();
  }

  #timeout(operation: string, deadline: Deadline, lastError: unknown): PoolTimeoutError {
    return new PoolTimeoutError(
      operation,
      deadline.timeoutMs,
      lastError ?? this.#connections.searchSoFar() ?? this.#connections.lastOpenError,
    );
  }

  /** generic-pool's own rejections, as this package's typed errors. */
  #typedAcquireError(operation: string, error: unknown): unknown {
    if (!(error instanceof Error)) return error;
    if (/max waitingClients count exceeded/.test(error.message)) {
      return new PoolQueueFullError(
        `${operation}: ${this.#options.waitingMax} callers are already waiting`,
      );
    }
    if (/draining/.test(error.message)) return new ClosedError('the pool is closed');
    return error;
  }
}
