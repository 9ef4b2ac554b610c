import type { Prng } from './prng.js';
import type { ScheduledEvent } from './scheduler.js';
import type { SimCluster } from './sim-cluster.js';
import type { SimNode } from './sim-node.js';

/** Share of reads sent to a random node that believes it leads rather than to the newest leader. */
const staleReadProbability = 0.3;

export interface WorkloadStats {
  proposalsAccepted: number;
  proposalsRefused: number;
  barriers: number;
  reads: number;
  /** Of `reads`, those asked of a follower, which asks its leader (forwarded-reads.ts). */
  followerReads: number;
}

/**
 * A client that keeps proposing unique commands to whichever node is leader, with an occasional
 * barrier and linearizable read. The ledger records each accepted proposal so the invariants can
 * tell which ones the client saw committed.
 */
export class Workload {
  readonly stats: WorkloadStats = {
    proposalsAccepted: 0,
    proposalsRefused: 0,
    barriers: 0,
    reads: 0,
    followerReads: 0,
  };
  readonly #cluster: SimCluster;
  readonly #prng: Prng;
  /** Its own stream, so that seeds draw everything else as they did before follower reads. */
  readonly #followerReads: Prng;
  readonly #intervalMaxMilliseconds: number;
  readonly #outstandingMax: number;
  #counter = 0;
  #event: ScheduledEvent | undefined;

  constructor(options: {
    cluster: SimCluster;
    prng: Prng;
    intervalMaxMilliseconds: number;
    /** Most entries the leader may hold beyond its commit index before the client waits. */
    outstandingMax: number;
  }) {
    this.#cluster = options.cluster;
    this.#prng = options.prng;
    this.#followerReads = options.prng.fork('follower-reads');
    this.#intervalMaxMilliseconds = options.intervalMaxMilliseconds;
    this.#outstandingMax = options.outstandingMax;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    if (this.#event !== undefined) this.#cluster.scheduler.cancel(this.#event);
    this.#event = undefined;
  }

  /** A payload no other proposal of this run has, so any mix-up shows in the hashes. */
  nextPayload(label: string): Uint8Array {
    this.#counter++;
    return Buffer.from(`${label}-${this.#cluster.prng.seed}-${this.#counter}`);
  }

  #schedule(): void {
    const delay = this.#prng.int(1, this.#intervalMaxMilliseconds);
    this.#event = this.#cluster.scheduler.schedule(delay, 'client', () => {
      this.#request();
      this.#schedule();
    });
  }

  /**
   * Mostly the newest leader; sometimes any node that believes it leads, as a client that has not
   * heard of the newer one would. A stale leader must not serve a read that misses a write the
   * newer leader acknowledged (thesis §6.4); with leases, only its clock tells it to stop.
   */
  #readTarget(newest: SimNode): SimNode {
    if (!this.#prng.chance(staleReadProbability)) return newest;
    return this.#prng.pick(this.#cluster.leaders());
  }

  /** Half the reads go to a running follower, which must serve them as linearizably. */
  #followerTarget(): SimNode | undefined {
    if (!this.#followerReads.chance(0.5)) return undefined;
    const followers = this.#cluster.nodes.filter(
      (node) => node.state === 'running' && node.status()?.role === 'follower',
    );
    return followers.length === 0 ? undefined : this.#followerReads.pick(followers);
  }

  #request(): void {
    const leader = this.#cluster.leader();
    const status = leader?.status();
    if (leader === undefined || status === undefined) return;
    // A client waits for its writes like a real one: with this many outstanding it holds back,
    // so the log does not grow far beyond what the cluster commits.
    if (status.lastIndex - status.commitIndex >= this.#outstandingMax) return;
    const roll = this.#prng.next();
    if (roll < 0.03) {
      this.stats.barriers++;
      leader.proposeBarrier();
      return;
    }
    if (roll < 0.08) {
      this.stats.reads++;
      const follower = this.#followerTarget();
      if (follower !== undefined) {
        this.stats.followerReads++;
        this.#cluster.requestRead(follower, { follower: true });
      } else {
        this.#cluster.requestRead(this.#readTarget(leader));
      }
      return;
    }
    const data = this.nextPayload('command');
    const result = leader.propose(data);
    if (result === undefined) return;
    if (!result.ok) {
      this.stats.proposalsRefused++;
      return;
    }
    this.stats.proposalsAccepted++;
    this.#cluster.invariants.ledger.accepted(leader.id, result.index, result.term, data);
  }
}
