/** Most reads that may wait for one read index; more are refused. */
export const followerReadWaitersMax = 65_536;

/**
 * Requests to the leader out at once. A read that arrives while one is out need not wait for it
 * to come back before its own is asked (a round trip saved); beyond this many, reads gather for
 * the next one, so a burst still costs the leader a few requests, not one per read.
 */
export const followerRequestsInFlightMax = 4;

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface Round {
  readonly requestId: number;
  /** When it was asked (the node's monotonic clock): it covers every write acknowledged before. */
  readonly askedAtMs: number;
  readonly waiters: Waiter[];
}

/**
 * The follower's side of reads it serves itself (docs/reads.md): asks the leader for a read index
 * through Raft (src/raft/forwarded-reads.ts), and lets the reads go once this node applied that
 * index (the Raft driver releases the read state only then). A read never joins a request already
 * out: that one was asked before the read arrived, and may miss a write acknowledged in between.
 * It starts a request of its own, with every read waiting then, unless
 * `followerRequestsInFlightMax` are out; then it waits with others for the next one to start.
 *
 * It also remembers when the newest confirmed request was asked: everything acknowledged before
 * that moment is applied here, which is what a bounded-staleness read needs (`freshWithin`).
 */
export class FollowerReadIndex {
  readonly #start: (requestId: number) => Error | undefined;
  readonly #nextRequestId: () => number;
  readonly #now: () => number;
  readonly #inFlight = new Map<number, Round>();
  #next: Waiter[] = [];
  /** When the newest confirmed request was asked; -Infinity before the first. */
  #confirmedAsOfMs = Number.NEGATIVE_INFINITY;

  /**
   * `start` asks Raft for a read index as a follower (an error when Raft refuses at once);
   * `nextRequestId` numbers requests in the space the node's other reads share.
   */
  constructor(options: {
    start: (requestId: number) => Error | undefined;
    nextRequestId: () => number;
    now: () => number;
  }) {
    this.#start = options.start;
    this.#nextRequestId = options.nextRequestId;
    this.#now = options.now;
  }

  /** Resolves once this node applied everything acknowledged before the call. */
  confirm(): Promise<void> {
    if (this.#next.length >= followerReadWaitersMax) {
      return Promise.reject(new Error(`${followerReadWaitersMax} reads already wait`));
    }
    return new Promise((resolve, reject) => {
      this.#next.push({ resolve, reject });
      if (this.#inFlight.size < followerRequestsInFlightMax) this.#startRound();
    });
  }

  /**
   * Whether this node applied everything acknowledged up to `maxStalenessMs` ago: a confirmed
   * request was asked no longer ago than that.
   */
  freshWithin(maxStalenessMs: number): boolean {
    return this.#now() - this.#confirmedAsOfMs <= maxStalenessMs;
  }

  /** Raft served read `requestId` (this node applied its index); false when it is not ours. */
  confirmed(requestId: number): boolean {
    const round = this.#inFlight.get(requestId);
    if (round === undefined) return false;
    this.#inFlight.delete(requestId);
    this.#confirmedAsOfMs = Math.max(this.#confirmedAsOfMs, round.askedAtMs);
    for (const waiter of round.waiters) waiter.resolve();
    if (this.#next.length > 0) this.#startRound();
    return true;
  }

  /** Raft failed read `requestId`; false when it is not ours. Reads waiting for the next go on. */
  failed(requestId: number, error: Error): boolean {
    const round = this.#inFlight.get(requestId);
    if (round === undefined) return false;
    this.#inFlight.delete(requestId);
    for (const waiter of round.waiters) waiter.reject(error);
    if (this.#next.length > 0) this.#startRound();
    return true;
  }

  /** Every waiting read fails with `error` (the node stops). */
  failAll(error: Error): void {
    const waiters = [
      ...[...this.#inFlight.values()].flatMap((round) => round.waiters),
      ...this.#next,
    ];
    this.#inFlight.clear();
    this.#next = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  #startRound(): void {
    const round: Round = {
      requestId: this.#nextRequestId(),
      askedAtMs: this.#now(),
      waiters: this.#next,
    };
    this.#next = [];
    this.#inFlight.set(round.requestId, round);
    const refused = this.#start(round.requestId);
    if (refused !== undefined) {
      this.#inFlight.delete(round.requestId);
      for (const waiter of round.waiters) waiter.reject(refused);
    }
  }
}
