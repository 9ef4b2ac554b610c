// Whether this node is fit to lead, and what it does when it is not: its own disk failing it (the
// Raft log stalled, the SQL engine waiting for space, SQLite failing requests for the disk, less
// free space than the reserve) or its databases having diverged from the cluster's. Kept apart
// from ReplicatedEngine because these are policies about giving leadership away and refusing to
// take it, decided from facts the engine only reports; the engine's job is running Raft and the
// SQL engine.

import type { NodeId, RaftCore } from '../raft/index.js';
import type { Clock } from './clock.js';
import { DiskHandover, isDiskFailureCode } from './disk-handover.js';
import { divergenceAdvice, recordDivergence } from './divergence-marker.js';
import type { NodeStorage } from './node-environment.js';
import type { NodeLogger } from './node-logger.js';
import type { EngineOutcome } from './sql/engine-messages.js';

/** What the fitness checks need of the node; each piece has its own owner (ReplicatedEngine). */
export interface LeadFitnessParts {
  readonly id: NodeId;
  readonly dataDir: string;
  readonly clock: Clock;
  /** The Raft core's campaign hold is where divergence is kept (never campaign again). */
  readonly core: Pick<RaftCore, 'campaignHold' | 'holdCampaigns'>;
  readonly storage: Pick<NodeStorage, 'stall'>;
  readonly isLeader: () => boolean;
  /** Voters in the configuration other than this node. */
  readonly otherVoters: () => number;
  readonly closed: () => boolean;
  /** Hands leadership to the best other voter (ReplicatedEngine.transferLeadership). */
  readonly transferLeadership: () => Promise<void>;
  /** Why this node's disk has less free space than it keeps in reserve, or undefined. */
  readonly diskShortfall: () => string | undefined;
  readonly logger: NodeLogger;
}

/**
 * A node whose disk fails it hands leadership over (DiskHandover) and refuses to take it over; a
 * node whose databases diverged records that durably, hands leadership over, and never
 * campaigns again (the marker survives restarts: open-raft.ts reads it).
 */
export class LeadFitness {
  readonly #parts: LeadFitnessParts;
  /** Set while the SQL engine waits for disk space (why). */
  #engineWaiting: string | undefined;
  readonly #diskHandover: DiskHandover;

  constructor(parts: LeadFitnessParts) {
    this.#parts = parts;
    this.#diskHandover = new DiskHandover({
      handOver: () => parts.transferLeadership(),
      report: (message) => parts.logger.warn({ disk: 'sqlite' }, message),
      now: () => parts.clock.now(),
    });
  }

  /**
   * Whether this node refuses to take leadership over (a TimeoutNow): with its own disk failing
   * it, it could not serve, so it lets the transfer time out and the leader looks elsewhere
   * later. A diverged node must never lead.
   */
  refusesTakeOver(): boolean {
    return this.#diskTrouble() !== undefined || this.diverged !== undefined;
  }

  /** Why this node's databases diverged from the cluster's (it then never leads), or undefined. */
  get diverged(): string | undefined {
    return this.#parts.core.campaignHold;
  }

  /** The SQL engine answered a leader's request: a failure of this node's disk counts. */
  answered(outcome: EngineOutcome): void {
    if (!outcome.ok && isDiskFailureCode(outcome.code) && this.#parts.otherVoters() > 0) {
      this.#diskHandover.failed(`${outcome.message}, code ${outcome.code}`);
    }
  }

  /** The SQL engine waits for disk space to apply what Raft committed: it cannot serve. */
  engineWaits(waiting: string | undefined): void {
    if (waiting !== undefined && this.#engineWaiting === undefined) {
      this.#parts.logger.warn(
        { disk: 'sqlite', problem: waiting },
        'disk problem: the SQL engine waits for space or write access',
      );
    } else if (waiting === undefined && this.#engineWaiting !== undefined) {
      this.#parts.logger.info({ disk: 'sqlite' }, 'disk problem cleared');
    }
    this.#engineWaiting = waiting;
    if (waiting !== undefined && this.#parts.isLeader() && this.#parts.otherVoters() > 0) {
      this.#diskHandover.cannotServe(waiting);
    }
  }

  /**
   * A content check found this node's databases different from the majority's: it records that
   * durably, never campaigns again, and hands leadership over if it leads. Idempotent.
   */
  async markDiverged(reason: string): Promise<void> {
    const parts = this.#parts;
    if (this.diverged !== undefined || parts.closed()) return;
    recordDivergence(parts.dataDir, reason);
    parts.core.holdCampaigns(reason);
    parts.logger.error({ reason }, `divergence found: ${divergenceAdvice(reason)}`);
    if (parts.isLeader() && parts.otherVoters() > 0) {
      await parts.transferLeadership().catch((error: Error) => {
        parts.logger.warn({ problem: error.message }, 'could not hand leadership over');
      });
    }
  }

  /**
   * Why this node's disk is failing it now (Raft log, SQL engine, or less free space than the
   * reserve, so it would refuse every write), or undefined.
   */
  #diskTrouble(): string | undefined {
    const parts = this.#parts;
    return parts.storage.stall?.error.message ?? this.#engineWaiting ?? parts.diskShortfall();
  }
}
