/**
 * Time as the node's main thread and SQL engine see it. Production passes `systemClock`; the
 * whole-node simulator passes a virtual clock driven by its scheduler, so that every wait, timer
 * and lease of the real node runs on simulated time and a seed replays exactly.
 */
export interface Clock {
  /** Monotonic milliseconds; keeps running while the process is paused. */
  now(): number;
  /** Runs `run` once after `ms`; the returned function cancels it. */
  after(ms: number, run: () => void): () => void;
  /** Runs `run` every `ms`; the returned function stops it. */
  every(ms: number, run: () => void): () => void;
  /** Runs `run` soon, after the current burst of input (setImmediate). */
  defer(run: () => void): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after(ms, run) {
    const timer = setTimeout(run, ms);
    return () => clearTimeout(timer);
  },
  every(ms, run) {
    const timer = setInterval(run, ms);
    return () => clearInterval(timer);
  },
  defer: (run) => void setImmediate(run),
};

/** A clock's sleep: resolves after `ms`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.after(ms, resolve));
}
