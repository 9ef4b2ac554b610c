import { assert } from '../raft/assert.js';
import type { PageSet, PageSetPart } from './page-set.js';

/**
 * The parts of one transaction applied so far, until its last part completes it (page-set.ts,
 * PageSetPart). A leader proposes every part of a transaction at once, as consecutive entries of
 * its term, so the only thing that can come between two parts is the end of that leader's term:
 * any entry that does not continue the transaction means the transaction was lost with its leader
 * and never committed, and its parts are dropped.
 */
export class UnfinishedTransaction {
  #parts: PageSetPart[] = [];
  #lastIndex = 0;

  /** Whether parts are held (a snapshot now would miss them: they live only in the log). */
  get open(): boolean {
    return this.#parts.length > 0;
  }

  /** Entry `index` is not a part: a transaction still unfinished was lost with its leader. */
  interrupt(): void {
    this.#parts = [];
    this.#lastIndex = 0;
  }

  /** Part `part` arrived in entry `index`; returns the whole page set when it was the last. */
  add(index: number, part: PageSetPart): PageSet | undefined {
    if (part.part === 0) {
      this.interrupt();
    } else {
      const previous = this.#parts.at(-1);
      assert(
        previous !== undefined &&
          index === this.#lastIndex + 1 &&
          part.part === this.#parts.length &&
          part.set.database === previous.set.database &&
          part.set.pageSize === previous.set.pageSize &&
          part.set.databasePages === previous.set.databasePages &&
          (part.set.pages[0]?.pageNumber ?? 0) > (previous.set.pages.at(-1)?.pageNumber ?? 0),
        `entry ${index} (part ${part.part} of a transaction on ${part.set.database}) continues the entry before it`,
      );
    }
    this.#parts.push(part);
    this.#lastIndex = index;
    if (!part.last) return undefined;
    const parts = this.#parts;
    this.interrupt();
    if (parts.length === 1) return part.set;
    const first = parts[0] as PageSetPart;
    const pages = parts.flatMap((each) => each.set.pages);
    return { ...first.set, pages };
  }
}
