import { assert } from '../raft/assert.js';
import type { ProposeAllResult } from '../raft/index.js';
import type { AppliedIndex } from './applied-index.js';
import type { Leadership } from './leadership.js';
import type { LeadershipConfirmations } from './leadership-confirmations.js';
import { LeadershipLost, isNotLeader, leadershipLost, notCommitted } from './outcomes.js';
import type { EngineLink } from './sql/engine-link.js';
import type { EngineCall, EngineOutcome, EngineReply } from './sql/engine-messages.js';

/** What the write path needs of the node; each piece has its own owner (ReplicatedEngine). */
export interface WritePathParts {
  readonly leadership: Leadership;
  readonly link: Pick<
    EngineLink,
    'tookWriter' | 'holdUntilNext' | 'writersStarted' | 'writersTaken'
  >;
  /** Proposes a request's transactions as consecutive entries (RaftCore.proposeAll). */
  readonly propose: (data: readonly Uint8Array[]) => ProposeAllResult;
  readonly confirmations: Pick<LeadershipConfirmations, 'confirm'>;
  readonly applied: Pick<AppliedIndex, 'reached'>;
  /** A proposal was refused: the engine must stop serving and undo what did not commit. */
  readonly stepDownEngine: (why: string) => void;
  /** The node cannot go on safely. */
  readonly fatal: (error: Error) => void;
}

/**
 * What a leader answers for a request the SQL engine ran, or for a point read it ran on this
 * thread: the one place that decides.
 *
 * Invariant, "no OK without a commit": `answer` returns OK only when every transaction the
 * request committed was proposed in the current leadership and is applied, and, when it
 * committed none, the engine proved it changed nothing (DatabaseSet.settle, which the engine runs
 * for every request before it replies) and this node was confirmed leader after it ran. A reply
 * the engine could not prove is never answered OK: the node stops, and rebuilds from Raft. A
 * point read (`answerPointRead`) is held as a read the engine ran is, and also until every write
 * it could have seen has its proposal made.
 */
export class WritePath {
  readonly #parts: WritePathParts;

  constructor(parts: WritePathParts) {
    this.#parts = parts;
  }

  /** `hold: 'none'` (PREPARE) may skip waiting only when the request committed nothing. */
  async answer(
    call: EngineCall,
    reply: EngineReply,
    hold: 'commit' | 'none',
  ): Promise<EngineOutcome> {
    const { link, confirmations, applied, leadership } = this.#parts;
    if (reply.unproven !== undefined) {
      link.tookWriter(reply);
      assert(!reply.outcome.ok, 'an unproven request is answered with a failure');
      this.#parts.fatal(new Error(`SQL engine: ${reply.unproven}`));
      return reply.outcome;
    }
    try {
      if (reply.proposals.length > 0) {
        const lost = this.#propose(reply);
        if (lost !== undefined) return lost;
      }
    } finally {
      // Its proposals are Raft's now (or it lost them): point reads need not wait for it.
      link.tookWriter(reply);
    }
    const wrote = reply.proposals.length > 0;
    if ((hold === 'none' && !wrote) || isNotLeader(reply.outcome)) return reply.outcome;
    try {
      // Nothing written (proven): a read, answered once this node is confirmed leader after it.
      if (!wrote && call.op !== 'more-rows') await confirmations.confirm();
      await applied.reached(leadership.lastProposedIndex);
    } catch (error) {
      if (error instanceof LeadershipLost) return leadershipLost(error.message);
      throw error;
    }
    // It ran in an older leadership whose uncommitted writes were undone since.
    if (reply.epoch !== leadership.epoch) return leadershipLost('leadership changed');
    return reply.outcome;
  }

  /**
   * The answer to a point read that ran on this thread in leadership `epoch` and found `rows`.
   * Call it at once after the read ran: it counts the writers the engine had begun by then.
   */
  async answerPointRead(epoch: number, rows: Buffer): Promise<EngineOutcome> {
    const { link, confirmations, applied, leadership } = this.#parts;
    // A transaction the engine committed may be in what the read saw while its reply (with its
    // proposal) is still on the way; the answer must wait for that proposal too. A write the
    // engine began after this count was read cannot have been visible to the read.
    const writersTaken = link.writersTaken(link.writersStarted);
    try {
      if (writersTaken !== undefined) await writersTaken;
      await confirmations.confirm();
      await applied.reached(leadership.lastProposedIndex);
    } catch (error) {
      if (error instanceof LeadershipLost) return leadershipLost(error.message);
      throw error;
    }
    if (leadership.epoch !== epoch) return leadershipLost('leadership changed');
    return { ok: true, value: { rows, done: true } };
  }

  /** Proposes a reply's transactions in commit order; an outcome when they cannot be. */
  #propose(reply: EngineReply): EngineOutcome | undefined {
    const { leadership, link } = this.#parts;
    if (leadership.epoch === undefined || reply.epoch !== leadership.epoch) {
      // The engine undid them at its step-down, which it handled after running this request,
      // and none reached the log: the request did not happen.
      return notCommitted('leadership changed before the transaction was proposed');
    }
    // All in one input: nothing may come between the entries of a transaction spanning several.
    const { appended, refusal } = this.#parts.propose(reply.proposals);
    for (const proposal of appended) {
      // The engine needs the index only when that entry applies, which is posted after this.
      link.holdUntilNext({ op: 'proposed', index: proposal.index, term: proposal.term });
      leadership.proposed(proposal.index);
    }
    if (refusal !== undefined) {
      this.#parts.stepDownEngine(`the transaction could not be proposed: ${refusal.message}`);
      // Refused before it reached the log, and undone by the step-down: when nothing of the
      // request was proposed, it did not happen, and the client may run it again (10250).
      if (appended.length === 0) return notCommitted(refusal.message);
      return leadershipLost(refusal.message);
    }
    return undefined;
  }
}
