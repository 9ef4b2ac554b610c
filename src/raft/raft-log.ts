import { assert } from './assert.js';
import type { Entry } from './types.js';

/**
 * The in-memory view of a node's log: entries after a base point (the snapshot or compaction
 * point), how far they are committed, handed to storage, durable and applied.
 *
 * Invariants: appliedIndex <= commitIndex; appliedIndex <= durableIndex (we only apply what this
 * node itself has stored); durableIndex <= lastIndex(); committed entries are never truncated
 * (§5.3, Log Matching; etcd log.go panics on the same condition).
 */
export class RaftLog {
  /** Index of the entry just before `entries[0]`; its term is `baseTerm`. */
  baseIndex: number;
  baseTerm: number;
  entries: Entry[];
  commitIndex: number;
  /** Last index handed out in `committedEntries`. */
  appliedIndex: number;
  /** Highest index known durable on this node with the term the log now holds. */
  durableIndex: number;
  /** First index not yet handed to storage. Invariant: unstableIndex <= lastIndex() + 1. */
  unstableIndex: number;

  constructor(options: { baseIndex: number; baseTerm: number; entries: readonly Entry[] }) {
    this.baseIndex = options.baseIndex;
    this.baseTerm = options.baseTerm;
    this.entries = [...options.entries];
    this.entries.forEach((entry, i) => {
      assert(entry.index === options.baseIndex + 1 + i, `log entry ${entry.index} out of place`);
    });
    this.commitIndex = options.baseIndex;
    this.appliedIndex = options.baseIndex;
    this.durableIndex = this.lastIndex();
    this.unstableIndex = this.lastIndex() + 1;
  }

  lastIndex(): number {
    return this.baseIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.at(-1)?.term ?? this.baseTerm;
  }

  firstIndex(): number {
    return this.baseIndex + 1;
  }

  /** The term of the entry at `index`, or undefined if it was compacted away or does not exist. */
  term(index: number): number | undefined {
    if (index === this.baseIndex) return this.baseTerm < 0 ? undefined : this.baseTerm;
    return this.entries[index - this.baseIndex - 1]?.term;
  }

  entry(index: number): Entry | undefined {
    return this.entries[index - this.baseIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [from, to], stopping early once `bytesMax` is reached (at least one entry). */
  slice(from: number, to: number, bytesMax: number): Entry[] {
    assert(from > this.baseIndex, `slice from ${from} reaches compacted index ${this.baseIndex}`);
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = from; index <= Math.min(to, this.lastIndex()); index++) {
      const entry = this.entry(index);
      assert(entry !== undefined, `entry ${index} present`);
      bytes += entry.data.byteLength;
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  /** Leader append: entries continue the log exactly. */
  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      assert(
        entry.index === this.lastIndex() + 1,
        `append ${entry.index} after ${this.lastIndex()}`,
      );
      assert(entry.term >= this.lastTerm(), `append term ${entry.term} below ${this.lastTerm()}`);
      this.entries.push(entry);
    }
  }

  /**
   * Follower append (§5.3, AppendEntries receiver steps 3–4): skips entries we already hold,
   * truncates at the first conflict and appends the rest. Returns the truncation index, or
   * undefined when nothing was truncated. The caller has checked prevLogIndex/prevLogTerm.
   */
  appendFromLeader(entries: readonly Entry[]): number | undefined {
    let truncatedAt: number | undefined;
    for (const entry of entries) {
      if (entry.index <= this.baseIndex) continue; // already compacted into a snapshot, so committed
      const existing = this.term(entry.index);
      if (existing === entry.term) continue;
      if (existing !== undefined) {
        assert(entry.index > this.commitIndex, () => `truncating committed entry ${entry.index}`);
        this.truncateFrom(entry.index);
        truncatedAt ??= entry.index;
      }
      this.append([entry]);
    }
    return truncatedAt;
  }

  /**
   * Called when entries from `index` on leave the log, so persists already in flight do not mark
   * the entries that replace them durable.
   */
  onTruncate: (index: number) => void = () => {};

  private truncateFrom(index: number): void {
    this.onTruncate(index);
    this.entries.length = index - this.baseIndex - 1;
    this.unstableIndex = Math.min(this.unstableIndex, index);
    this.durableIndex = Math.min(this.durableIndex, index - 1);
  }

  /** Entries not yet handed to storage; marks them handed. */
  takeUnstable(): Entry[] {
    const from = this.unstableIndex;
    this.unstableIndex = this.lastIndex() + 1;
    return from > this.lastIndex() ? [] : this.slice(from, this.lastIndex(), Infinity);
  }

  /** A persist that wrote up to `index` finished; `index` is already capped for truncations. */
  markDurable(index: number): void {
    this.durableIndex = Math.max(this.durableIndex, Math.min(index, this.lastIndex()));
  }

  commitTo(index: number): void {
    if (index <= this.commitIndex) return;
    assert(
      index <= this.lastIndex(),
      () => `commit ${index} beyond last index ${this.lastIndex()}`,
    );
    this.commitIndex = index;
  }

  /** Committed entries this node has stored and not yet handed out for apply. */
  takeApplicable(): Entry[] {
    const to = Math.min(this.commitIndex, this.durableIndex);
    if (to <= this.appliedIndex) return [];
    const entries = this.slice(this.appliedIndex + 1, to, Infinity);
    this.appliedIndex = to;
    return entries;
  }

  /**
   * How many entries up to `index` to keep after a snapshot at `index`: at most `entriesMax`,
   * and no more than fit in `bytesMax` (counted from `index` backwards).
   */
  trailingCount(index: number, entriesMax: number, bytesMax: number): number {
    let count = 0;
    let bytes = 0;
    for (let at = index; at > this.baseIndex && count < entriesMax; at--) {
      bytes += this.entry(at)?.data.byteLength ?? 0;
      if (bytes > bytesMax) break;
      count++;
    }
    return count;
  }

  /** Drops entries up to `index` from memory (they are in a snapshot and applied). */
  compactTo(index: number): void {
    if (index <= this.baseIndex) return;
    assert(index <= this.appliedIndex, `compact ${index} beyond applied ${this.appliedIndex}`);
    const term = this.term(index);
    assert(term !== undefined, `term of compaction point ${index}`);
    this.entries = this.entries.slice(index - this.baseIndex);
    this.baseIndex = index;
    this.baseTerm = term;
  }

  /** Replaces the whole log by a snapshot's point (§7, "discard the entire log"). */
  resetTo(index: number, term: number): void {
    this.onTruncate(index + 1);
    this.entries = [];
    this.baseIndex = index;
    this.baseTerm = term;
    this.commitIndex = Math.max(this.commitIndex, index);
    this.appliedIndex = index;
    this.durableIndex = index;
    this.unstableIndex = index + 1;
  }
}
