/** Most answers that may wait for one leadership confirmation; more are refused. */
export const confirmationWaitersMax = 65_536;

interface Round {
  readonly requestId: number;
  readonly waiters: Waiter[];
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Confirms, for answers to reads, that this node was still the leader after they ran (Raft's
 * ReadIndex, thesis §6.4): a read that ran on the leader's state and was followed by a heartbeat
 * round a majority acknowledged cannot have missed a write another leader acknowledged. Waiters
 * that arrive while a round is out join the next one, so one round serves a burst of reads. A
 * leader lease, when on, lives in the Raft core (read-index.ts): Raft then confirms at once,
 * and the simulator runs the same lease as production.
 */
export class LeadershipConfirmations {
  readonly #startRound: (requestId: number) => Error | undefined;
  readonly #nextRequestId: () => number;
  readonly #confirmedNow: () => boolean;
  #inFlight: Round | undefined;
  #next: Waiter[] = [];

  /**
   * `startRound` asks Raft for a ReadIndex round; it returns an error when Raft refuses.
   * `nextRequestId` numbers rounds, in a space shared with the node's other reads (default: its own).
   * `confirmedNow` says whether Raft would serve a round at once (a lease, applied: the node's
   * RaftDriver.readConfirmedNow); then no round is started. Rounds served at once were a tenth of
   * a leader's main thread under point reads: each went through Raft's input handling.
   */
  constructor(
    startRound: (requestId: number) => Error | undefined,
    nextRequestId?: () => number,
    confirmedNow: () => boolean = () => false,
  ) {
    this.#startRound = startRound;
    let next = 1;
    this.#nextRequestId = nextRequestId ?? (() => next++);
    this.#confirmedNow = confirmedNow;
  }

  /** Resolves once this node was confirmed leader after the call; rejects if it is not. */
  confirm(): Promise<void> {
    if (this.#confirmedNow()) return Promise.resolve();
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
    for (const waiter of round.waiters) waiter.resolve();
    if (this.#next.length > 0) this.#start();
  }

  /** Leadership is gone (or the round failed): every waiting answer fails with `error`. */
  failAll(error: Error): void {
    const waiters = [...(this.#inFlight?.waiters ?? []), ...this.#next];
    this.#inFlight = undefined;
    this.#next = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  #start(): void {
    const round: Round = { requestId: this.#nextRequestId(), waiters: this.#next };
    this.#next = [];
    this.#inFlight = round;
    const refused = this.#startRound(round.requestId);
    if (refused !== undefined) this.failAll(refused);
  }
}
