import { describe, expect, it } from 'vitest';
import { AssertionError } from '../../../src/raft/assert.js';
import { RaftLog } from '../../../src/raft/raft-log.js';
import { EntryType, type Entry } from '../../../src/raft/types.js';

/**
 * RaftLog: the follower's append with truncation of conflicts (§5.3 AppendEntries receiver steps
 * 3 and 4), the assertion that committed entries are never truncated (Log Matching, §5.3),
 * compaction (§7), and how durable, committed and applied indexes bound each other.
 */

/** Entries `from`..`from + terms.length - 1` with the given terms; data is "index/term". */
function entries(from: number, terms: readonly number[]): Entry[] {
  return terms.map((term, i) => ({
    index: from + i,
    term,
    type: EntryType.command,
    data: Buffer.from(`${from + i}/${term}`),
  }));
}

/** A log holding 1..n with the given terms, all handed to storage and durable. */
function logOf(terms: readonly number[]): RaftLog {
  return new RaftLog({ baseIndex: 0, baseTerm: 0, entries: entries(1, terms) });
}

function terms(log: RaftLog): number[] {
  return log.entries.map((entry) => entry.term);
}

describe('RaftLog construction and lookups', () => {
  it('starts with everything durable and handed to storage, nothing committed or applied', () => {
    const log = logOf([1, 1, 2]);
    expect(log).toMatchObject({ commitIndex: 0, appliedIndex: 0, durableIndex: 3 });
    expect(log.unstableIndex).toBe(4);
    expect([log.firstIndex(), log.lastIndex(), log.lastTerm()]).toEqual([1, 3, 2]);
    expect([0, 1, 3, 4].map((index) => log.term(index))).toEqual([0, 1, 2, undefined]);
  });

  it('refuses entries out of place', () => {
    expect(() => new RaftLog({ baseIndex: 0, baseTerm: 0, entries: entries(2, [1]) })).toThrow(
      AssertionError,
    );
  });

  it('knows the base term after a snapshot, and not before the base', () => {
    const log = new RaftLog({ baseIndex: 5, baseTerm: 3, entries: entries(6, [3, 4]) });
    expect([4, 5, 6, 7].map((index) => log.term(index))).toEqual([undefined, 3, 3, 4]);
    const unknown = new RaftLog({ baseIndex: 5, baseTerm: -1, entries: entries(6, [3]) });
    expect(unknown.term(5)).toBeUndefined();
    expect(unknown.matchTerm(5, -1)).toBe(false);
  });

  it('compares logs by last term, then by length (§5.4.1)', () => {
    const log = logOf([1, 2, 2]);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(9, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });

  it('slices within a byte budget but always returns at least one entry', () => {
    const log = logOf([1, 1, 1, 1]);
    // Each entry carries 3 bytes ("1/1").
    expect(log.slice(1, 4, 6).map((entry) => entry.index)).toEqual([1, 2]);
    expect(log.slice(1, 4, 1).map((entry) => entry.index)).toEqual([1]);
    expect(log.slice(3, 9, Infinity).map((entry) => entry.index)).toEqual([3, 4]);
    expect(() => log.slice(0, 2, Infinity)).toThrow(AssertionError);
  });
});

describe('RaftLog.append (leader)', () => {
  it('continues the log exactly, never lowering the term', () => {
    const log = logOf([1, 2]);
    log.append(entries(3, [2, 3]));
    expect(terms(log)).toEqual([1, 2, 2, 3]);
    expect(log.unstableIndex).toBe(3);
    expect(() => log.append(entries(6, [3]))).toThrow(AssertionError);
    expect(() => log.append(entries(5, [2]))).toThrow(AssertionError);
  });
});

describe('RaftLog.appendFromLeader (§5.3 receiver steps 3 and 4)', () => {
  it('skips entries it already holds and appends the new ones', () => {
    const log = logOf([1, 1, 2]);
    expect(log.appendFromLeader(entries(2, [1, 2, 2, 3]))).toBeUndefined();
    expect(terms(log)).toEqual([1, 1, 2, 2, 3]);
    expect(log.durableIndex).toBe(3);
    expect(log.unstableIndex).toBe(4);
  });

  it('an old, shorter AppendEntries does not truncate the entries after it', () => {
    const log = logOf([1, 1, 2, 2]);
    expect(log.appendFromLeader(entries(2, [1]))).toBeUndefined();
    expect(terms(log)).toEqual([1, 1, 2, 2]);
  });

  it('truncates at the first conflict and appends the rest, reporting where', () => {
    const log = logOf([1, 1, 2, 2, 2]);
    const seen: number[] = [];
    log.onTruncate = (index) => seen.push(index);
    expect(log.appendFromLeader(entries(3, [2, 3, 3]))).toBe(4);
    expect(terms(log)).toEqual([1, 1, 2, 3, 3]);
    expect(seen).toEqual([4]);
    // Entries from the conflict on are neither durable nor handed to storage any more.
    expect(log.durableIndex).toBe(3);
    expect(log.unstableIndex).toBe(4);
  });

  it('throws an AssertionError rather than truncate a committed entry', () => {
    const log = logOf([1, 1, 2, 2]);
    log.commitTo(3);
    expect(() => log.appendFromLeader(entries(3, [3]))).toThrow(AssertionError);
    expect(() => log.appendFromLeader(entries(3, [3]))).toThrow('truncating committed entry 3');
    // The first uncommitted entry may be replaced.
    const other = logOf([1, 1, 2, 2]);
    other.commitTo(3);
    expect(other.appendFromLeader(entries(4, [3]))).toBe(4);
  });

  it('skips entries already compacted into the snapshot', () => {
    const log = new RaftLog({ baseIndex: 3, baseTerm: 2, entries: entries(4, [2]) });
    expect(log.appendFromLeader(entries(2, [1, 2, 2, 3]))).toBeUndefined();
    expect(log.entries.map((entry) => `${entry.index}/${entry.term}`)).toEqual(['4/2', '5/3']);
  });
});

describe('RaftLog durability, commit and apply', () => {
  it('hands each entry to storage once', () => {
    const log = logOf([1]);
    log.append(entries(2, [1, 1]));
    expect(log.takeUnstable().map((entry) => entry.index)).toEqual([2, 3]);
    expect(log.takeUnstable()).toEqual([]);
    log.append(entries(4, [2]));
    expect(log.takeUnstable().map((entry) => entry.index)).toEqual([4]);
  });

  it('caps the durable index at the last index and never lowers it by a late completion', () => {
    const log = logOf([1, 1]);
    log.append(entries(3, [1, 1]));
    log.markDurable(9);
    expect(log.durableIndex).toBe(4);
    log.markDurable(3);
    expect(log.durableIndex).toBe(4);
  });

  it('applies only entries that are both committed and durable here', () => {
    const log = logOf([1, 1]);
    log.append(entries(3, [1, 1]));
    log.commitTo(4);
    expect(log.takeApplicable().map((entry) => entry.index)).toEqual([1, 2]);
    expect(log.appliedIndex).toBe(2);
    log.markDurable(3);
    expect(log.takeApplicable().map((entry) => entry.index)).toEqual([3]);
    log.markDurable(4);
    expect(log.takeApplicable().map((entry) => entry.index)).toEqual([4]);
    expect(log.takeApplicable()).toEqual([]);
  });

  it('never moves the commit index back and never commits beyond the last index', () => {
    const log = logOf([1, 1, 1]);
    log.commitTo(2);
    log.commitTo(1);
    expect(log.commitIndex).toBe(2);
    expect(() => log.commitTo(4)).toThrow(AssertionError);
  });
});

describe('RaftLog compaction (§7)', () => {
  it('drops applied entries up to the compaction point and keeps its term', () => {
    const log = logOf([1, 1, 2, 2, 3]);
    log.commitTo(5);
    log.takeApplicable();
    log.compactTo(3);
    expect([log.baseIndex, log.baseTerm, log.firstIndex(), log.lastIndex()]).toEqual([3, 2, 4, 5]);
    expect([2, 3, 4].map((index) => log.term(index))).toEqual([undefined, 2, 2]);
    log.compactTo(2);
    expect(log.baseIndex).toBe(3);
  });

  it('refuses to compact entries that are not applied', () => {
    const log = logOf([1, 1, 2]);
    log.commitTo(3);
    expect(() => log.compactTo(1)).toThrow(AssertionError);
  });

  it('resets to a snapshot, discarding the whole log', () => {
    const log = logOf([1, 1, 2]);
    const seen: number[] = [];
    log.onTruncate = (index) => seen.push(index);
    log.commitTo(1);
    log.resetTo(10, 4);
    expect(log.entries).toEqual([]);
    expect([log.baseIndex, log.baseTerm, log.lastIndex(), log.lastTerm()]).toEqual([10, 4, 10, 4]);
    expect(log).toMatchObject({ commitIndex: 10, appliedIndex: 10, durableIndex: 10 });
    expect(log.unstableIndex).toBe(11);
    expect(seen).toEqual([11]);
  });
});

describe('RaftLog.trailingCount (what a snapshot leaves in memory)', () => {
  const sized = (sizes: number[]) =>
    new RaftLog({
      baseIndex: 0,
      baseTerm: 0,
      entries: sizes.map((bytes, i) => ({
        index: i + 1,
        term: 1,
        type: EntryType.command,
        data: new Uint8Array(bytes),
      })),
    });

  it('keeps at most the entry count, and no more bytes than allowed, counted back from the snapshot', () => {
    const log = sized([10, 10, 10, 10, 10]);
    expect(log.trailingCount(5, 3, 1000)).toBe(3);
    expect(log.trailingCount(5, 10, 25)).toBe(2);
    expect(log.trailingCount(5, 10, 5)).toBe(0);
    expect(log.trailingCount(2, 10, 1000)).toBe(2); // never past the start of the log
  });
});
