import type { RaftStatus } from '../../src/raft/raft-core.js';
import type { Entry, HardState, Message, NodeId, SnapshotMetadata } from '../../src/raft/types.js';
import { InvariantViolation } from './invariant-violation.js';
import { LogInvariants } from './log-invariants.js';
import type { MemoryStorage } from './memory-storage.js';
import { ProposalLedger } from './proposal-ledger.js';

/** What the checker may read of a node. */
export interface ObservedNode {
  readonly id: NodeId;
  /** Counts restarts; a new incarnation starts over from the durable state. */
  readonly incarnation: number;
  readonly storage: MemoryStorage;
  /** Undefined while the node is crashed. */
  status(): RaftStatus | undefined;
}

/** What one incarnation of a node showed at the previous step. */
interface Previous {
  readonly incarnation: number;
  readonly status: RaftStatus;
}

/** A leader whose log must be checked for completeness once its storage catches up with it. */
interface LeaderToCheck {
  readonly id: NodeId;
  readonly incarnation: number;
  readonly term: number;
}

/**
 * Raft's safety properties, checked after every simulator step and on every write, apply and
 * message that can break them (Raft paper figure 3; docs/contributing.md, "Seeded simulation"):
 *
 * - Election safety: at most one leader per term over the whole run, and a node leads a term in
 *   one incarnation only (leading it again after a restart means its vote was not durable).
 * - Votes: a node grants at most one vote per term, and only once the vote is durable.
 * - Acknowledgements promise durable state: a successful AppendEntriesResult for index N is sent
 *   only when the sender's disk holds N.
 * - A higher term is adopted (§5.1): a node that handled a message of a higher term is in that
 *   term or a later one afterwards, leader or not. Vote requests may be ignored by leader
 *   stickiness (thesis §4.2.3) and granted pre-votes carry a term nobody is in (thesis §9.6), so
 *   those two are exempt.
 * - Monotonicity within an incarnation: term and commit index never decrease; a leader's log
 *   only grows during its term; applied <= commit <= last.
 * - Log matching, leader completeness, state machine safety (`LogInvariants`) and durability of
 *   acknowledged proposals (`ProposalLedger`).
 */
export class Invariants {
  readonly log = new LogInvariants();
  readonly ledger = new ProposalLedger();
  /** term → the node (and incarnation) that led it. */
  readonly #leaders = new Map<number, { readonly id: NodeId; readonly incarnation: number }>();
  /** "voter:term" → candidate. */
  readonly #votes = new Map<string, NodeId>();
  readonly #previous = new Map<NodeId, Previous>();
  #leadersToCheck: LeaderToCheck[] = [];

  /** Terms that had a leader. */
  get leaderTerms(): number {
    return this.#leaders.size;
  }

  /** After every step: the per-node and election properties. */
  checkStep(nodes: readonly ObservedNode[]): void {
    for (const node of nodes) {
      const status = node.status();
      if (status === undefined) continue;
      const previous = this.#previous.get(node.id);
      if (previous !== undefined && previous.incarnation === node.incarnation) {
        checkMonotonic(node.id, previous.status, status);
      }
      checkIndexOrder(node.id, status);
      if (status.role === 'leader') this.#checkLeader(node, status);
      this.#previous.set(node.id, { incarnation: node.incarnation, status });
    }
    this.#checkLeadersCaughtUp(nodes);
  }

  /** Before `node` writes entries: log matching and no committed entry overwritten. */
  persisting(
    node: ObservedNode,
    write: { readonly hardState?: HardState; readonly entries: readonly Entry[] },
  ): void {
    const commitIndex = node.status()?.commitIndex ?? 0;
    this.log.persisting(node.id, write.entries, node.storage.latest, commitIndex);
  }

  applied(node: NodeId, entry: Entry, hash: number): void {
    this.log.applied(node, entry, hash);
    this.ledger.applied(node, entry);
  }

  restored(node: NodeId, metadata: SnapshotMetadata, hash: number): void {
    this.log.restored(node, metadata, hash);
  }

  /** Every message a node hands its transport, before the network touches it. */
  messageSent(message: Message, sender: ObservedNode): void {
    const durable = sender.storage.durable;
    if (message.type === 'RequestVoteResult' && message.voteGranted && !message.preVote) {
      this.#checkVote(message.from, message.term, message.to, durable.hardState);
    }
    if (
      message.type === 'AppendEntriesResult' &&
      message.success &&
      durable.lastIndex < message.index
    ) {
      throw new InvariantViolation(
        'acknowledged durability',
        `node ${message.from} acknowledges index ${message.index} of term ${message.term} ` +
          `but its disk holds only up to ${durable.lastIndex}`,
      );
    }
  }

  /** After `node` handled `message` (a crashed node never does). */
  received(node: ObservedNode, message: Message): void {
    const status = node.status();
    if (status === undefined || status.term >= message.term) return;
    if (message.type === 'RequestVote') return;
    if (message.type === 'RequestVoteResult' && message.preVote && message.voteGranted) return;
    throw new InvariantViolation(
      'higher term adopted',
      `node ${node.id} (${status.role}) stays in term ${status.term} after handling ` +
        `${message.type} of term ${message.term} from node ${message.from}`,
    );
  }

  #checkVote(voter: NodeId, term: number, candidate: NodeId, durable: HardState): void {
    const key = `${voter}:${term}`;
    const earlier = this.#votes.get(key);
    if (earlier !== undefined && earlier !== candidate) {
      throw new InvariantViolation(
        'one vote per term',
        `node ${voter} voted for ${earlier} and then for ${candidate} in term ${term}`,
      );
    }
    this.#votes.set(key, candidate);
    if (durable.term > term || (durable.term === term && durable.vote === candidate)) return;
    throw new InvariantViolation(
      'vote durability',
      `node ${voter} grants its term ${term} vote to ${candidate} but its disk holds ` +
        `term ${durable.term} vote ${durable.vote}`,
    );
  }

  #checkLeader(node: ObservedNode, status: RaftStatus): void {
    this.log.leaderCommitted(status.term, status.commitIndex);
    const recorded = this.#leaders.get(status.term);
    if (recorded === undefined) {
      this.#leaders.set(status.term, { id: node.id, incarnation: node.incarnation });
      this.#checkNewLeader(node, status);
      return;
    }
    if (recorded.id !== node.id) {
      throw new InvariantViolation(
        'election safety',
        `nodes ${recorded.id} and ${node.id} are both leaders of term ${status.term}`,
      );
    }
    if (recorded.incarnation !== node.incarnation) {
      throw new InvariantViolation(
        'election safety',
        `node ${node.id} leads term ${status.term} again after a restart ` +
          `(incarnations ${recorded.incarnation} and ${node.incarnation}): its vote was not durable`,
      );
    }
  }

  /** Leader completeness (§5.4): at once on the last index, later on every entry. */
  #checkNewLeader(node: ObservedNode, status: RaftStatus): void {
    const required = this.log.committedBefore(status.term);
    if (status.lastIndex < required) {
      throw new InvariantViolation(
        'leader completeness',
        `node ${node.id} leads term ${status.term} with last index ${status.lastIndex}, ` +
          `but index ${required} was committed in an earlier term`,
      );
    }
    this.#leadersToCheck.push({ id: node.id, incarnation: node.incarnation, term: status.term });
  }

  /**
   * The core may hold entries it has not yet handed to storage, so a leader's log is read from
   * its storage only once the two agree on the last entry; by log matching they then agree on
   * the whole log. A leader that stepped down before that is dropped unchecked.
   */
  #checkLeadersCaughtUp(nodes: readonly ObservedNode[]): void {
    if (this.#leadersToCheck.length === 0) return;
    this.#leadersToCheck = this.#leadersToCheck.filter((leader) => {
      const node = nodes.find((candidate) => candidate.id === leader.id);
      const status = node?.status();
      if (node === undefined || status === undefined || node.incarnation !== leader.incarnation)
        return false;
      if (status.role !== 'leader' || status.term !== leader.term) return false;
      const latest = node.storage.latest;
      if (
        latest.lastIndex !== status.lastIndex ||
        latest.termAt(status.lastIndex) !== status.lastTerm
      ) {
        return true;
      }
      this.log.checkLeaderHolds(leader.id, leader.term, latest);
      return false;
    });
  }
}

function checkMonotonic(id: NodeId, previous: RaftStatus, status: RaftStatus): void {
  if (status.term < previous.term) {
    throw new InvariantViolation(
      'term monotonic',
      `node ${id} went from term ${previous.term} to ${status.term}`,
    );
  }
  if (status.commitIndex < previous.commitIndex) {
    throw new InvariantViolation(
      'commit monotonic',
      `node ${id} commit index went from ${previous.commitIndex} to ${status.commitIndex}`,
    );
  }
  const stillLeading =
    previous.role === 'leader' && status.role === 'leader' && previous.term === status.term;
  if (stillLeading && status.lastIndex < previous.lastIndex) {
    throw new InvariantViolation(
      'leader append-only',
      `leader ${id} of term ${status.term} shrank its log from ${previous.lastIndex} to ${status.lastIndex}`,
    );
  }
}

function checkIndexOrder(id: NodeId, status: RaftStatus): void {
  if (status.appliedIndex > status.commitIndex) {
    throw new InvariantViolation(
      'index order',
      `node ${id} applied ${status.appliedIndex} beyond its commit index ${status.commitIndex}`,
    );
  }
  if (status.commitIndex > status.lastIndex) {
    throw new InvariantViolation(
      'index order',
      `node ${id} commit index ${status.commitIndex} beyond its last index ${status.lastIndex}`,
    );
  }
}
