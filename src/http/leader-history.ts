import type { NodeId } from '../raft/index.js';

/** One leader change as this node saw it. */
export interface LeaderChange {
  /** When this node learned of it, in milliseconds since the epoch. */
  readonly atMs: number;
  readonly term: number;
  /** 0: the node knows no leader (an election started). */
  readonly leaderId: NodeId;
}

/** Most leader changes kept: enough to see a flapping leader, small enough to poll every second. */
export const leaderChangesKept = 20;

/**
 * The last `leaderChangesKept` leader changes this node saw, oldest first, for the status page.
 * A ring buffer: recording never allocates more than one entry.
 */
export class LeaderHistory {
  readonly #changes: (LeaderChange | undefined)[] = new Array(leaderChangesKept);
  /** Changes recorded since the node started. Invariant: only grows. */
  #recorded = 0;

  record(change: LeaderChange): void {
    this.#changes[this.#recorded % leaderChangesKept] = change;
    this.#recorded += 1;
  }

  /** Changes recorded since the node started, including those no longer kept. */
  get recorded(): number {
    return this.#recorded;
  }

  /** The kept changes, oldest first. */
  list(): LeaderChange[] {
    const kept = Math.min(this.#recorded, leaderChangesKept);
    const changes: LeaderChange[] = [];
    for (let i = this.#recorded - kept; i < this.#recorded; i++) {
      changes.push(this.#changes[i % leaderChangesKept] as LeaderChange);
    }
    return changes;
  }
}
