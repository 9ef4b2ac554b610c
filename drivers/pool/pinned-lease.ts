/**
 * The one leader connection a reserved connection keeps, as the LeaseSource its statements run
 * on: it hands every statement that lease, lets it go only when a statement's outcome says the
 * connection is done for, and takes a new one from the pool on the next statement.
 */
import type { Deadline } from './backoff.js';
import { isLeaderChange } from './failure.js';
import type { Lease } from './leader-connections.js';
import type { ReleaseReason } from './lease-pool.js';
import type { LeaseSource } from './statement-runner.js';

export class PinnedLease implements LeaseSource {
  readonly #pool: LeaseSource;
  /** Undefined after the lease was retired (or given back), until the next `acquire`. */
  #lease: Lease | undefined;

  constructor(pool: LeaseSource, lease: Lease) {
    this.#pool = pool;
    this.#lease = lease;
  }

  /** The lease held now, if any. */
  get current(): Lease | undefined {
    return this.#lease;
  }

  /** The reserved lease, or a new one from the pool after the old one was retired. */
  async acquire(operation: string, deadline: Deadline, lastError: unknown): Promise<Lease> {
    return (this.#lease ??= await this.#pool.acquire(operation, deadline, lastError));
  }

  /**
   * Keeps the lease after a statement, unless the connection is done for: a deadline, a leader
   * change, or a closed client. Then it goes back to the pool, which closes it.
   */
  release(lease: Lease, reason: ReleaseReason): void {
    const retire =
      reason === 'deadline' ||
      (reason !== undefined && isLeaderChange(reason)) ||
      !lease.client.isOpen;
    if (!retire) return;
    if (this.#lease === lease) this.#lease = undefined;
    this.#pool.release(lease, reason);
  }

  /** Ends the reservation: the lease goes back to the pool, or with `retire`, is closed. */
  giveBack(retire: boolean): void {
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease) this.#pool.release(lease, retire ? 'deadline' : undefined);
  }
}
