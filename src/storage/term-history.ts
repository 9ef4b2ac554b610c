import { assert } from '../raft/assert.js';

interface TermRun {
  /** First index of the run. */
  index: number;
  readonly term: number;
}

/**
 * The term of every stored entry, kept as runs of equal terms so that memory grows with the
 * number of elections, not of entries. Lets a persist check that terms never decrease (§5.3:
 * terms in a log are non-decreasing) without reading the disk.
 *
 * Invariant: run indexes strictly increase and run terms strictly increase.
 */
export class TermHistory {
  readonly #runs: TermRun[] = [];

  /** The term of the entry at `index`; the caller ensures the entry is stored. */
  termAt(index: number): number {
    let low = 0;
    let high = this.#runs.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if ((this.#runs[middle] as TermRun).index <= index) low = middle;
      else high = middle - 1;
    }
    const run = this.#runs[low];
    assert(run !== undefined && run.index <= index, `no term recorded for index ${index}`);
    return run.term;
  }

  /** Records the entry at `index`, which directly follows the last recorded one. */
  append(index: number, term: number): void {
    const last = this.#runs[this.#runs.length - 1];
    if (last !== undefined && last.term === term) return;
    assert(last === undefined || last.term < term, `term ${term} at ${index} decreases`);
    this.#runs.push({ index, term });
  }

  /** Forgets entries from `index` on. */
  truncateFrom(index: number): void {
    while (this.#runs.length > 0 && (this.#runs[this.#runs.length - 1] as TermRun).index >= index) {
      this.#runs.pop();
    }
  }

  /** Forgets entries before `index`. */
  compactBefore(index: number): void {
    while (this.#runs.length > 1 && (this.#runs[1] as TermRun).index <= index) this.#runs.shift();
    const first = this.#runs[0];
    if (first !== undefined && first.index < index) first.index = index;
  }

  clear(): void {
    this.#runs.length = 0;
  }
}
