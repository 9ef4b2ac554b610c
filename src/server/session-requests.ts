// How a client session's requests reach the SQL engine, and when each may run: requests any node
// answers go at once, leader-only ones once this node serves SQL, and point reads run on this
// thread when they can. Kept apart from ReplicatedEngine, which joins Raft to the SQL engine and
// owns the pieces used here: this is the request side of the node, and every answer it gives is
// decided by WritePath ("no OK without a commit" lives there, not here).

import type { WireValue } from '../wire/index.js';
import type { Clock } from './clock.js';
import type { LeadFitness } from './lead-fitness.js';
import type { Leadership } from './leadership.js';
import { notLeader } from './outcomes.js';
import type { PointReads } from './point-reads.js';
import type { EngineLink } from './sql/engine-link.js';
import type { EngineCall, EngineOutcome, EngineReply } from './sql/engine-messages.js';
import type { WritePath } from './write-path.js';

/** Longest a request waits for a node that just won an election to be ready to serve. */
const leadReadyWaitMs = 2000;

/** What requests need of the node; each piece has its own owner (ReplicatedEngine). */
export interface SessionRequestParts {
  readonly clock: Clock;
  readonly link: Pick<EngineLink, 'call' | 'engineLeadingEpoch'>;
  readonly leadership: Leadership;
  readonly writePath: Pick<WritePath, 'answer' | 'answerPointRead'>;
  readonly pointReads: Pick<PointReads, 'run'>;
  readonly fitness: Pick<LeadFitness, 'answered'>;
  /** Raft leader now, and not closed (ReplicatedEngine.isLeader). */
  readonly isLeader: () => boolean;
}

/**
 * The requests of every client session of this node. A request for the leader that arrives while
 * this node won an election but has not applied its term's barrier yet waits for it (up to
 * `leadReadyWaitMs`), so a client that found the new leader is not told "not leader" by it.
 */
export class SessionRequests {
  readonly #parts: SessionRequestParts;
  /** Requests waiting for this node to serve SQL as leader; each wakes once (`wake`). */
  #leadReadyWaiters: (() => void)[] = [];

  constructor(parts: SessionRequestParts) {
    this.#parts = parts;
  }

  /**
   * Requests any node answers from its own state (OPEN, FINALIZE, INTERRUPT, close, DUMP). A
   * follower's files hold only what it applied, which is committed; a leader's may hold a
   * transaction whose proposal is not committed yet, so a leader's DUMP is held like a read's
   * answer (WritePath.answer), and fails if the leadership it ran in ends first.
   */
  async local(call: EngineCall): Promise<EngineReply> {
    const servingAsLeader = this.#parts.leadership.epoch !== undefined;
    const reply = await this.#parts.link.call(call);
    if (call.op === 'close') this.#parts.leadership.setInTransaction(call.session, false);
    if (call.op === 'dump' && servingAsLeader && reply.outcome.ok) {
      return { ...reply, outcome: await this.#parts.writePath.answer(call, reply, 'commit') };
    }
    return reply;
  }

  /**
   * A leader-only request. `hold` (statements) keeps the answer back until everything it could
   * reflect is committed; PREPARE needs the leader but reflects no data.
   */
  async execute(call: EngineCall, hold: 'commit' | 'none' = 'commit'): Promise<EngineOutcome> {
    if (!(await this.leadReady())) return notLeader;
    const reply = await this.#parts.link.call(call);
    this.#parts.fitness.answered(reply.outcome);
    if ('session' in call)
      this.#parts.leadership.setInTransaction(call.session, reply.inTransaction);
    return this.#parts.writePath.answer(call, reply, hold);
  }

  /**
   * A point read served on this thread (PointReads), held like any read's answer
   * (WritePath.answerPointRead); undefined when it must run in the engine instead.
   */
  async pointRead(
    session: number,
    database: string,
    sql: string,
    parameters: readonly WireValue[],
  ): Promise<EngineOutcome | undefined> {
    const { leadership, link } = this.#parts;
    const epoch = leadership.epoch;
    if (epoch === undefined || leadership.inTransaction(session)) return undefined;
    // The entries committed before this leadership are applied when posted here, but written into
    // the files by the engine: until it has handled this epoch's 'lead', which comes after them,
    // only a read in the engine (behind them in its queue) sees them.
    if (link.engineLeadingEpoch !== epoch) return undefined;
    const rows = this.#parts.pointReads.run(database, sql, parameters);
    if (rows === undefined) return undefined;
    return this.#parts.writePath.answerPointRead(epoch, rows);
  }

  /** Resolves true once this node serves SQL as leader; false if it is not (or stops being). */
  async leadReady(): Promise<boolean> {
    const { leadership, clock } = this.#parts;
    if (leadership.epoch !== undefined) return true;
    if (!this.#parts.isLeader()) return false;
    await new Promise<void>((resolve) => {
      const cancel = clock.after(leadReadyWaitMs, resolve);
      this.#leadReadyWaiters.push(() => {
        cancel();
        resolve();
      });
    });
    return leadership.epoch !== undefined;
  }

  /** This node began serving SQL as leader, or is closing: waiting requests go on now. */
  wake(): void {
    for (const wake of this.#leadReadyWaiters.splice(0)) wake();
  }
}
