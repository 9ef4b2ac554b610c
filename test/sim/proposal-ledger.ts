import { EntryType, type Entry, type NodeId } from '../../src/raft/types.js';
import { hashBytes } from './hash-bytes.js';
import { InvariantViolation } from './invariant-violation.js';
import type { AppliedCommand } from './sim-state-machine.js';

/** A proposal accepted by a leader, waiting to be applied there. */
interface PendingProposal {
  readonly term: number;
  readonly dataHash: number;
}

/** A proposal the client saw committed: applied, at the index and term it was given, by its node. */
interface AcknowledgedProposal {
  readonly term: number;
  readonly dataHash: number;
}

export interface LedgerStats {
  proposed: number;
  acknowledged: number;
  /** Accepted by a leader, then replaced by another entry at its index: lost, never acknowledged. */
  superseded: number;
  /** Accepted by a node that crashed before applying it: the client never learns the outcome. */
  abandoned: number;
}

/**
 * The client's view of durability. A proposal is acknowledged when the node that accepted it
 * applies the entry at the index and term `propose` returned, as a real host answers its client
 * only then. Every acknowledged proposal must be applied, unchanged, by every node that applies
 * its index, and be in every state machine at the end of the run.
 */
export class ProposalLedger {
  readonly stats: LedgerStats = { proposed: 0, acknowledged: 0, superseded: 0, abandoned: 0 };
  /** node → index → proposal accepted there. */
  readonly #pending = new Map<NodeId, Map<number, PendingProposal>>();
  readonly #acknowledged = new Map<number, AcknowledgedProposal>();
  #acknowledgedIndexMax = 0;

  get acknowledgedCount(): number {
    return this.#acknowledged.size;
  }

  /** Whether the proposal at (index, term) was acknowledged to its client. */
  isAcknowledged(index: number, term: number): boolean {
    return this.#acknowledged.get(index)?.term === term;
  }

  /** The highest index acknowledged to a client so far, or 0. */
  get acknowledgedIndexMax(): number {
    return this.#acknowledgedIndexMax;
  }

  /** The leader `node` accepted `data` at (index, term). */
  accepted(node: NodeId, index: number, term: number, data: Uint8Array): void {
    this.stats.proposed++;
    let proposals = this.#pending.get(node);
    if (proposals === undefined) {
      proposals = new Map();
      this.#pending.set(node, proposals);
    }
    proposals.set(index, { term, dataHash: hashBytes(data) });
  }

  /** `node` applied `entry`: settles a proposal it accepted, and checks acknowledged ones. */
  applied(node: NodeId, entry: Entry): void {
    const acknowledged = this.#acknowledged.get(entry.index);
    if (acknowledged !== undefined) this.#checkSame(node, entry, acknowledged);
    const proposals = this.#pending.get(node);
    const pending = proposals?.get(entry.index);
    if (proposals === undefined || pending === undefined) return;
    proposals.delete(entry.index);
    if (pending.term !== entry.term || pending.dataHash !== hashBytes(entry.data)) {
      this.stats.superseded++;
      return;
    }
    this.stats.acknowledged++;
    this.#acknowledged.set(entry.index, { term: entry.term, dataHash: pending.dataHash });
    this.#acknowledgedIndexMax = Math.max(this.#acknowledgedIndexMax, entry.index);
  }

  /** `node` crashed: its clients lose their connections and never learn what happened. */
  crashed(node: NodeId): void {
    this.stats.abandoned += this.#pending.get(node)?.size ?? 0;
    this.#pending.delete(node);
  }

  /** Every acknowledged proposal is in `commands`, the history of a node's state machine. */
  checkAllPresent(node: NodeId, commands: readonly AppliedCommand[]): void {
    const byIndex = new Map<number, AppliedCommand>();
    for (const command of commands) byIndex.set(command.index, command);
    for (const [index, acknowledged] of this.#acknowledged) {
      const command = byIndex.get(index);
      if (command === undefined) {
        throw new InvariantViolation(
          'durability',
          `acknowledged proposal at index ${index} term ${acknowledged.term} is missing on node ${node}`,
        );
      }
      this.#checkSame(node, { ...command, type: EntryType.command }, acknowledged);
    }
  }

  #checkSame(node: NodeId, entry: Entry, acknowledged: AcknowledgedProposal): void {
    if (entry.term === acknowledged.term && hashBytes(entry.data) === acknowledged.dataHash) return;
    throw new InvariantViolation(
      'durability',
      `node ${node} has term ${entry.term} hash ${hashBytes(entry.data)} at index ${entry.index}, ` +
        `where an acknowledged proposal of term ${acknowledged.term} hash ${acknowledged.dataHash} was`,
    );
  }
}
