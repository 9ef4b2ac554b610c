interface Waiter {
  readonly index: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * The index of the last entry this node applied (or restored to), and the answers waiting for an
 * index to be applied. Waiters are kept in index order: answers wait for the newest proposal,
 * whose index only grows, so one applied entry releases a prefix of them.
 */
export class AppliedIndex {
  #index = 0;
  #waiters: Waiter[] = [];

  get index(): number {
    return this.#index;
  }

  /** Resolves once entry `index` is applied; rejects with the error of `failAll`. */
  reached(index: number): Promise<void> {
    if (index <= this.#index) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { index, resolve, reject };
      const last = this.#waiters.at(-1);
      if (last === undefined || last.index <= index) this.#waiters.push(waiter);
      else this.#waiters.splice(this.#insertionPoint(index), 0, waiter);
    });
  }

  /** Entry `index` was applied (or a snapshot at it restored). */
  advance(index: number): void {
    this.#index = index;
    let released = 0;
    while (released < this.#waiters.length && (this.#waiters[released] as Waiter).index <= index)
      released++;
    if (released === 0) return;
    for (const waiter of this.#waiters.splice(0, released)) waiter.resolve();
  }

  /** Every waiting answer fails with `error` (leadership lost, the node closing). */
  failAll(error: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  #insertionPoint(index: number): number {
    const at = this.#waiters.findIndex((waiter) => waiter.index > index);
    return at === -1 ? this.#waiters.length : at;
  }
}
