import type { Entry, NodeId, SnapshotMetadata } from '../../src/raft/types.js';
import type { DiskState } from './disk-state.js';
import { hashBytes } from './hash-bytes.js';
import { InvariantViolation } from './invariant-violation.js';

/** What every node that holds entry (index, term) must agree on. */
interface EntryRecord {
  readonly type: number;
  readonly dataHash: number;
  /** Term of the entry before it, or undefined when the writer did not know it. */
  previousTerm: number | undefined;
}

/** A committed entry; everything applied anywhere is committed. */
interface CommittedRecord {
  readonly term: number;
  readonly type: number;
  readonly dataHash: number;
}

/**
 * The log properties of Raft (§5.3, §5.4), checked incrementally as nodes write and apply:
 *
 * - Log matching: two entries with the same index and term hold the same data and follow entries
 *   of the same term. By induction over the index, logs that share an (index, term) share the
 *   whole prefix, so one record per (index, term) checks every pair of nodes at once.
 * - No committed entry is ever removed from a log that holds it (§5.4.1).
 * - Leader completeness: a leader of term T holds every entry committed in an earlier term.
 * - State machine safety: no two nodes apply different entries at one index, and state machines
 *   are equal after the same index (docs/architecture.md, "Invariants": equal databases at
 *   equal index).
 */
export class LogInvariants {
  /** index → term → record. */
  readonly #entries = new Map<number, Map<number, EntryRecord>>();
  readonly #committed = new Map<number, CommittedRecord>();
  /** Hash of the state machine after applying each index. */
  readonly #hashAfter = new Map<number, number>();
  #committedMax = 0;
  /**
   * The term of the first leader seen with each index committed: the term the entry was
   * committed in. Leader completeness is about that term, not the entry's own (§5.4.2).
   */
  readonly #commitTerm: number[] = [];

  get committedMax(): number {
    return this.#committedMax;
  }

  committedAt(index: number): CommittedRecord | undefined {
    return this.#committed.get(index);
  }

  /** A leader of `term` has committed up to `commitIndex`. */
  leaderCommitted(term: number, commitIndex: number): void {
    for (let index = this.#commitTerm.length; index <= commitIndex; index++) {
      this.#commitTerm[index] = term;
    }
  }

  /**
   * Called before `node`, whose commit index is `commitIndex`, writes `entries` over the log
   * `latest` (every write started so far).
   */
  persisting(
    node: NodeId,
    entries: readonly Entry[],
    latest: DiskState,
    commitIndex: number,
  ): void {
    const first = entries[0];
    if (first === undefined) return;
    this.#checkNoCommittedRemoved(node, { from: first.index, entries, latest, commitIndex });
    let previousTerm = latest.termAt(first.index - 1);
    for (const entry of entries) {
      this.#record(node, entry, previousTerm);
      previousTerm = entry.term;
    }
  }

  /** Called after `node` applied `entry`; `hash` is its state machine's hash after it. */
  applied(node: NodeId, entry: Entry, hash: number): void {
    const dataHash = hashBytes(entry.data);
    const committed = this.#committed.get(entry.index);
    if (committed === undefined) {
      this.#committed.set(entry.index, { term: entry.term, type: entry.type, dataHash });
      this.#committedMax = Math.max(this.#committedMax, entry.index);
    } else if (
      committed.term !== entry.term ||
      committed.dataHash !== dataHash ||
      committed.type !== entry.type
    ) {
      throw new InvariantViolation(
        'state machine safety',
        `node ${node} applied ${describe(entry)} at index ${entry.index}, ` +
          `another node applied term ${committed.term} type ${committed.type} hash ${committed.dataHash}`,
      );
    }
    this.#checkHash(node, entry.index, hash, 'applying');
  }

  /** Called after `node` restored a snapshot whose state hashes to `hash`. */
  restored(node: NodeId, metadata: SnapshotMetadata, hash: number): void {
    const committed = this.#committed.get(metadata.index);
    if (committed !== undefined && committed.term !== metadata.term) {
      throw new InvariantViolation(
        'state machine safety',
        `node ${node} restored snapshot ${metadata.index} of term ${metadata.term}, ` +
          `but term ${committed.term} was applied at that index`,
      );
    }
    this.#checkHash(node, metadata.index, hash, 'restoring a snapshot at');
  }

  /**
   * Leader completeness for a leader of `term` whose log is `log` (its storage, once it has caught
   * up with the core): every entry committed in an earlier term, and applied somewhere so that its
   * term is known, is in the log or at or below its snapshot.
   */
  checkLeaderHolds(node: NodeId, term: number, log: DiskState): void {
    const snapshotIndex = log.snapshotIndex;
    const last = Math.min(this.#committedMax, this.#commitTerm.length - 1);
    for (let index = last; index > snapshotIndex && index > 0; index--) {
      const committed = this.#committed.get(index);
      const commitTerm = this.#commitTerm[index];
      if (committed === undefined || commitTerm === undefined || commitTerm >= term) continue;
      const held = log.termAt(index);
      if (held !== committed.term) {
        throw new InvariantViolation(
          'leader completeness',
          `leader ${node} of term ${term} holds term ${held} at index ${index}, ` +
            `where an entry of term ${committed.term} was committed`,
        );
      }
    }
  }

  /** The largest index committed in a term before `term`, or 0; a leader's log must reach it. */
  committedBefore(term: number): number {
    // Commit terms grow with the index but for stale leaders, so the scan stops at the first
    // index committed earlier and passes only those committed in this term or later ones.
    for (let index = this.#commitTerm.length - 1; index > 0; index--) {
      const commitTerm = this.#commitTerm[index];
      if (commitTerm !== undefined && commitTerm < term) return index;
    }
    return 0;
  }

  #record(node: NodeId, entry: Entry, previousTerm: number | undefined): void {
    const dataHash = hashBytes(entry.data);
    let terms = this.#entries.get(entry.index);
    if (terms === undefined) {
      terms = new Map();
      this.#entries.set(entry.index, terms);
    }
    const record = terms.get(entry.term);
    if (record === undefined) {
      terms.set(entry.term, { type: entry.type, dataHash, previousTerm });
      return;
    }
    if (record.type !== entry.type || record.dataHash !== dataHash) {
      throw new InvariantViolation(
        'log matching',
        `node ${node} writes ${describe(entry)} at index ${entry.index} term ${entry.term}; ` +
          `another copy has type ${record.type} hash ${record.dataHash}`,
      );
    }
    if (
      previousTerm !== undefined &&
      record.previousTerm !== undefined &&
      previousTerm !== record.previousTerm
    ) {
      throw new InvariantViolation(
        'log matching',
        `node ${node} writes index ${entry.index} term ${entry.term} after term ${previousTerm}; ` +
          `another copy follows term ${record.previousTerm}`,
      );
    }
    record.previousTerm ??= previousTerm;
  }

  /**
   * A write replaces entries from its first index on. A node that knows an entry is committed
   * (its commit index covers it) never replaces it (§5.3; etcd log.go panics on this). A node
   * that does not know may: its copy may be one the commit did not count, say after a torn write.
   */
  #checkNoCommittedRemoved(
    node: NodeId,
    write: { from: number; entries: readonly Entry[]; latest: DiskState; commitIndex: number },
  ): void {
    const { from, entries, latest } = write;
    const last = Math.min(latest.lastIndex, write.commitIndex);
    for (let index = Math.max(from, latest.snapshotIndex + 1); index <= last; index++) {
      const held = latest.entryAt(index);
      const committed = this.#committed.get(index);
      if (held === undefined || committed === undefined || held.term !== committed.term) continue;
      const replacement = entries[index - from];
      if (replacement === undefined || replacement.term !== held.term) {
        throw new InvariantViolation(
          'committed entry removed',
          `node ${node} overwrites committed index ${index} term ${held.term} ` +
            `with ${replacement === undefined ? 'nothing (truncation)' : `term ${replacement.term}`}`,
        );
      }
    }
  }

  #checkHash(node: NodeId, index: number, hash: number, what: string): void {
    const expected = this.#hashAfter.get(index);
    if (expected === undefined) {
      this.#hashAfter.set(index, hash);
    } else if (expected !== hash) {
      throw new InvariantViolation(
        'state machine safety',
        `node ${node} has state hash ${hash} after ${what} index ${index}; another node had ${expected}`,
      );
    }
  }
}

function describe(entry: Entry): string {
  return `type ${entry.type} hash ${hashBytes(entry.data)}`;
}
