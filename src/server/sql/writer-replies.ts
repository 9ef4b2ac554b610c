/**
 * Which writers' replies the main thread has taken. The SQL engine numbers, in the order they
 * begin, the requests that run a statement able to make data visible (SqlEngineOptions.writers);
 * their replies may come back in another order (a request can wait for the write lock between two
 * statements). A point read on the main thread waits until every writer up to the number it read
 * after running has been taken, so that the proposals of whatever it could have seen are Raft's.
 */
export class WriterReplies {
  /** Every writer up to this one was taken. */
  #through = 0;
  /** Writers taken out of order, above `#through`. */
  readonly #above = new Set<number>();
  /** Waits in rising `through` order (callers read a count that only grows). */
  readonly #waits: { readonly through: number; readonly resolve: () => void }[] = [];

  /** Writer `number` (0: not a writer) had its reply taken. */
  took(number: number): void {
    if (number === 0) return;
    this.#above.add(number);
    while (this.#above.delete(this.#through + 1)) this.#through++;
    while (this.#waits.length > 0 && (this.#waits[0]?.through ?? Infinity) <= this.#through) {
      this.#waits.shift()?.resolve();
    }
  }

  /** Resolves once writers 1..`through` were all taken; undefined when they already were. */
  taken(through: number): Promise<void> | undefined {
    if (through <= this.#through) return undefined;
    return new Promise((resolve) => this.#waits.push({ through, resolve }));
  }
}
