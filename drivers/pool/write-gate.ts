import type { Deadline } from './backoff.js';
import { PoolTimeoutError } from './errors.js';

/**
 * Lets one of this pool's writers at a time through, first come first served. SQLite (and so
 * the leader) admits one writer at a time anyway; without the gate, the pool's own connections
 * would race for that lock, lose with SQLITE_BUSY and retry in a storm, and an unlucky caller
 * could lose every race until its busy timeout. Writers from other processes still meet
 * SQLITE_BUSY, which the pool retries.
 */
export class WriteGate {
  #held = false;
  readonly #waiting: (() => void)[] = [];

  /** Resolves with the function that lets the next writer through; rejects at the deadline. */
  async enter(operation: string, deadline: Deadline): Promise<() => void> {
    if (!this.#held) {
      this.#held = true;
      return this.#leave();
    }
    return new Promise((resolve, reject) => {
      const admit = () => {
        clearTimeout(timer);
        resolve(this.#leave());
      };
      const timer = setTimeout(() => {
        const index = this.#waiting.indexOf(admit);
        if (index !== -1) this.#waiting.splice(index, 1);
        reject(
          new PoolTimeoutError(
            operation,
            deadline.timeoutMs,
            new Error("waiting for the pool's other writers"),
          ),
        );
      }, deadline.remainingMs);
      this.#waiting.push(admit);
    });
  }

  /** Writers waiting to enter. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** A one-shot exit: the next waiter, if any, enters as this writer leaves. */
  #leave(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#held = false;
    };
  }
}
