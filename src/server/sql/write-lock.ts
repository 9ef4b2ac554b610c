/** Most sessions that may wait for one database's write lock; more are refused at once. */
export const writeWaitersMax = 1024;

interface Waiter {
  readonly session: number;
  readonly granted: () => void;
  /** Cancels the busy timeout. */
  readonly cancel: () => void;
}

/** Starts a timer and returns its cancel; setTimeout by default (the simulator's own clock). */
export type StartTimer = (ms: number, run: () => void) => () => void;

const systemTimer: StartTimer = (ms, run) => {
  const timer = setTimeout(run, ms);
  timer.unref?.();
  return () => clearTimeout(timer);
};

/**
 * One database's write lock, handed to waiting sessions in arrival order. SQLite allows one
 * writer per database; C dqlite answers a second writer "database is locked" at once, and an
 * in-process busy handler would block the thread the holder needs to finish. Here a second writer
 * waits, without blocking anyone, until the holder's transaction ends or `busyTimeoutMs` passes.
 *
 * Invariant: `#holder` is undefined or a session that executed a write and whose connection is
 * still inside that transaction (or is executing it).
 */
export class WriteLock {
  readonly #startTimer: StartTimer;
  #holder: number | undefined;
  readonly #waiters: Waiter[] = [];
  /** While paused the lock is granted to nobody new (a snapshot waits for commits to drain). */
  #paused = false;

  constructor(startTimer: StartTimer = systemTimer) {
    this.#startTimer = startTimer;
  }

  get holder(): number | undefined {
    return this.#holder;
  }

  /**
   * Grants the lock to `session` now (returns true) or queues it: `granted` runs when it gets the
   * lock, `timedOut` when `busyTimeoutMs` passes first. Returns false when queued.
   */
  acquire(
    session: number,
    busyTimeoutMs: number,
    granted: () => void,
    timedOut: (reason: string) => void,
  ): boolean {
    if (this.#holder === session || (this.#holder === undefined && !this.#paused)) {
      this.#holder = session;
      return true;
    }
    if (this.#waiters.length >= writeWaitersMax) {
      timedOut(`${writeWaitersMax} sessions are already waiting to write`);
      return false;
    }
    const cancel = this.#startTimer(busyTimeoutMs, () => {
      const position = this.#waiters.findIndex((waiter) => waiter.session === session);
      if (position >= 0) this.#waiters.splice(position, 1);
      timedOut(`database is locked: another transaction held it for ${busyTimeoutMs} ms`);
    });
    this.#waiters.push({ session, granted, cancel });
    return false;
  }

  /** The holder's transaction ended: the next waiter, if any, gets the lock and runs. */
  release(session: number): void {
    if (this.#holder !== session) return;
    this.#holder = undefined;
    this.#grantNext();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#holder === undefined) this.#grantNext();
  }

  #grantNext(): void {
    if (this.#paused) return;
    const next = this.#waiters.shift();
    if (next === undefined) return;
    next.cancel();
    this.#holder = next.session;
    next.granted();
  }

  /** A session went away: it stops waiting and gives the lock up. */
  forget(session: number): void {
    const position = this.#waiters.findIndex((waiter) => waiter.session === session);
    if (position >= 0) {
      const [waiter] = this.#waiters.splice(position, 1);
      waiter?.cancel();
    }
    this.release(session);
  }

  /**
   * Leadership is gone: nobody holds the lock, and every waiter runs now, to find the node no
   * longer leading and fail.
   */
  clear(): void {
    this.#holder = undefined;
    this.#paused = false;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.cancel();
      waiter.granted();
    }
  }
}
