import { assert } from '../raft/assert.js';

/**
 * Whether this node serves SQL as leader, kept in one place on the main thread: the epoch the SQL
 * engine is told in 'lead' and repeats in every reply, the newest index proposed in it, and the
 * sessions with a transaction open.
 *
 * Raft can keep this node leader while the engine stops serving (a proposal was refused: a
 * transfer was running, or too many entries were uncommitted). The engine then serves again once
 * a new barrier of the term is applied (`barrierDue`), however many times that happens in a term.
 */
export class Leadership {
  /** Invariant: defined exactly while the engine serves SQL as leader. */
  #epoch: number | undefined;
  /** Invariant: every epoch handed out is below or equal to this; epochs only grow. */
  #epochsBegun = 0;
  /**
   * The newest index proposed in this epoch, or the barrier that began it. Invariant: rises within
   * an epoch; answers wait for it to be applied. A new epoch starts again from its barrier: the
   * log after an older epoch's proposals may have been replaced by another leader's, so indexes
   * can be lower than the last epoch's.
   */
  #lastProposedIndex = 0;
  /** The barrier proposed to serve again, until it is applied (0: none). */
  #barrierIndex = 0;
  /** Sessions with a transaction open in the engine: their reads must see their own writes. */
  readonly #sessionsInTransaction = new Set<number>();

  /** The epoch being served, or undefined when this node does not serve SQL as leader. */
  get epoch(): number | undefined {
    return this.#epoch;
  }

  get lastProposedIndex(): number {
    return this.#lastProposedIndex;
  }

  /** The barrier at `barrierIndex`, of this node's term, was applied: a new epoch starts. */
  begin(barrierIndex: number): number {
    assert(this.#epoch === undefined, 'a leadership begins only after the last one ended');
    this.#epochsBegun += 1;
    this.#epoch = this.#epochsBegun;
    this.#barrierIndex = 0;
    this.#lastProposedIndex = barrierIndex;
    return this.#epoch;
  }

  /** Serving stops; returns whether it was serving (the engine must then step down). */
  end(): boolean {
    if (this.#epoch === undefined) return false;
    this.#epoch = undefined;
    // Sessions in a transaction stay so: the engine refuses their statements until ROLLBACK
    // (its transactionLost), and none of them may be answered by a point read meanwhile.
    return true;
  }

  /** A transaction of the current epoch was proposed as entry `index`. */
  proposed(index: number): void {
    assert(this.#epoch !== undefined, 'only a serving leader proposes transactions');
    assert(index > this.#lastProposedIndex, 'proposals get rising indexes');
    this.#lastProposedIndex = index;
  }

  /**
   * Whether a Raft leader that does not serve SQL should propose a barrier to serve again: it
   * does not serve, it has no such barrier pending, and nothing is waiting to commit (the term's
   * own first barrier included, which brings it to serve by itself).
   */
  barrierDue(raft: {
    readonly role: string;
    readonly lastIndex: number;
    readonly commitIndex: number;
    readonly appliedIndex: number;
  }): boolean {
    if (raft.role !== 'leader' || this.#epoch !== undefined) return false;
    if (this.#barrierIndex > raft.appliedIndex) return false;
    return raft.lastIndex <= raft.commitIndex;
  }

  barrierProposed(index: number): void {
    assert(
      this.#epoch === undefined,
      'a barrier to serve again is proposed only while not serving',
    );
    this.#barrierIndex = index;
  }

  /** Records whether `session` has a transaction open after its last request. */
  setInTransaction(session: number, open: boolean): void {
    if (open) this.#sessionsInTransaction.add(session);
    else this.#sessionsInTransaction.delete(session);
  }

  inTransaction(session: number): boolean {
    return this.#sessionsInTransaction.has(session);
  }
}
