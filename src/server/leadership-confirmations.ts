import { clockRateDifferenceMax, loyaltyTicks, type RaftConfig } from '../raft/index.js';

/**
 * How long a confirmed round's lease lasts on the leader's monotonic clock after the round
 * started (thesis §6.4.1); 0 for none. Each follower of the majority that answered the round
 * received its heartbeat no earlier than the round started, and from then refuses candidates for
 * at least loyaltyTicks = electionTimeoutTicks − 1 tick periods of its own clock (the first tick
 * may come at once): 5 × 50 = 250 ms by default. A follower that restarted meanwhile refuses for
 * as long after its start. Its clock may run up to clockRateDifferenceMax (20%) faster than the
 * leader's, so those 250 ms may pass in 250 / 1.2 = 208.3 ms on the leader's clock: the lease is
 * that, floored to 208 ms. No other leader can be elected within it, since it needs a vote from
 * that majority. Without checkQuorum followers refuse no candidate, and with a one-tick timeout
 * they promise nothing: no lease.
 */
export function leaseMilliseconds(config: RaftConfig, enabled: boolean): number {
  if (!enabled || !config.checkQuorum) return 0;
  const loyaltyMs = loyaltyTicks(config) * config.tickMilliseconds;
  return Math.floor(loyaltyMs / (1 + clockRateDifferenceMax));
}

/** Most answers that may wait for one leadership confirmation; more are refused. */
export const confirmationWaitersMax = 65_536;

interface Round {
  readonly requestId: number;
  readonly waiters: Waiter[];
  /** When the round was asked for (monotonic ms): its heartbeats left no earlier. */
  readonly startedMs: number;
}

/**
 * Lease reads (thesis §6.4.1), measured on a monotonic clock rather than in Raft ticks: a tick
 * counter stands still while the process is paused (SIGSTOP, a long GC), so a lease in ticks would
 * outlive a pause in which another leader was elected.
 */
export interface LeaseOptions {
  /** How long after a confirmed round started reads need no round of their own; 0: never. */
  readonly leaseMs: number;
  /** Monotonic milliseconds; performance.now by default (it advances during a pause). */
  readonly now?: () => number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Confirms, for answers to reads, that this node was still the leader after they ran (Raft's
 * ReadIndex, thesis §6.4): a read that ran on the leader's state and was followed by a heartbeat
 * round a majority acknowledged cannot have missed a write another leader acknowledged. Waiters
 * that arrive while a round is out join the next one, so one round serves a burst of reads.
 */
export class LeadershipConfirmations {
  readonly #startRound: (requestId: number) => Error | undefined;
  #nextRequestId = 1;
  #inFlight: Round | undefined;
  #next: Waiter[] = [];
  readonly #leaseMs: number;
  readonly #now: () => number;
  #leaseUntilMs = 0;
  /** Reasons the lease is off right now, each released by whoever took it. */
  readonly #holds = new Set<object>();

  /** `startRound` asks Raft for a ReadIndex round; it returns an error when Raft refuses. */
  constructor(
    startRound: (requestId: number) => Error | undefined,
    lease: LeaseOptions = { leaseMs: 0 },
  ) {
    this.#startRound = startRound;
    this.#leaseMs = lease.leaseMs;
    this.#now = lease.now ?? (() => performance.now());
  }

  /** True while a read may be answered at once, without a round. */
  get leased(): boolean {
    return this.#holds.size === 0 && this.#now() < this.#leaseUntilMs;
  }

  /**
   * Ends the lease now and keeps it off until the returned function is called (or a new
   * leadership begins); a confirmed round then starts a new one.
   */
  holdLease(): () => void {
    const hold = {};
    this.#holds.add(hold);
    this.#leaseUntilMs = 0;
    return () => void this.#holds.delete(hold);
  }

  /** A new leadership began: no hold of the previous one applies, and no lease carries over. */
  resumeLease(): void {
    this.#holds.clear();
    this.#leaseUntilMs = 0;
  }

  confirm(): Promise<void> {
    if (this.leased) return Promise.resolve();
    if (this.#next.length >= confirmationWaitersMax) {
      return Promise.reject(new Error(`${confirmationWaitersMax} answers already wait`));
    }
    return new Promise((resolve, reject) => {
      this.#next.push({ resolve, reject });
      if (this.#inFlight === undefined) this.#start();
    });
  }

  /** Raft served ReadIndex `requestId`: the round's answers may go. */
  confirmed(requestId: number): void {
    const round = this.#inFlight;
    if (round === undefined || round.requestId !== requestId) return;
    this.#inFlight = undefined;
    if (this.#leaseMs > 0 && this.#holds.size === 0)
      this.#leaseUntilMs = Math.max(this.#leaseUntilMs, round.startedMs + this.#leaseMs);
    for (const waiter of round.waiters) waiter.resolve();
    if (this.#next.length > 0) this.#start();
  }

  /** Leadership is gone (or the round failed): every waiting answer fails with `error`. */
  failAll(error: Error): void {
    const waiters = [...(this.#inFlight?.waiters ?? []), ...this.#next];
    this.#inFlight = undefined;
    this.#leaseUntilMs = 0;
    this.#next = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  #start(): void {
    const round: Round = {
      requestId: this.#nextRequestId++,
      waiters: this.#next,
      startedMs: this.#now(),
    };
    this.#next = [];
    this.#inFlight = round;
    const refused = this.#startRound(round.requestId);
    if (refused !== undefined) this.failAll(refused);
  }
}
