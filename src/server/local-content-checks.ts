// This node's side of a content check: starting one through Raft, and reading what this node
// found at one once it applied it. Kept apart from ReplicatedEngine because it is a request of
// its own with a wait of its own (one that outlives role changes, unlike an answer's); the checks
// across the cluster are content-check-monitor.ts, the hashing is src/fsm/content-check.ts.

import { encodeContentCheck, type ContentCheck } from '../fsm/content-check.js';
import type { NodeId, ProposeResult } from '../raft/index.js';
import { ErrorCode } from '../wire/index.js';
import type { AppliedIndex } from './applied-index.js';
import type { Clock } from './clock.js';
import type { EngineLink } from './sql/engine-link.js';

/** Longest a node waits for a content check's entry to be applied before it answers. */
const contentCheckWaitMs = 10_000;

/** A content check's result, or why there is none. */
export type ContentCheckOutcome =
  | { readonly ok: true; readonly check: ContentCheck }
  | { readonly ok: false; readonly code: number; readonly message: string };

const failed = (code: number, message: string) => ({ ok: false, code, message }) as const;

/** What content checks need of the node; each piece has its own owner (ReplicatedEngine). */
export interface LocalContentCheckParts {
  readonly id: NodeId;
  readonly clock: Clock;
  readonly applied: Pick<AppliedIndex, 'index' | 'reached'>;
  readonly link: Pick<EngineLink, 'call'>;
  /** Resolves true once this node serves SQL as leader; false if it does not. */
  readonly leadReady: () => Promise<boolean>;
  readonly propose: (data: Uint8Array) => ProposeResult;
  readonly closed: () => boolean;
}

/**
 * Content checks as one node takes part in them: every node that applies a content check's entry
 * hashes its databases at it (the SQL engine keeps the newest few), and this asks for the result.
 */
export class LocalContentChecks {
  readonly #parts: LocalContentCheckParts;

  constructor(parts: LocalContentCheckParts) {
    this.#parts = parts;
  }

  /**
   * Starts a content check (leader only): proposes it through Raft, and resolves with what this
   * node found once it applied it.
   */
  async start(): Promise<ContentCheckOutcome> {
    if (!(await this.#parts.leadReady())) {
      return failed(ErrorCode.SQLITE_IOERR_NOT_LEADER, 'not leader');
    }
    const proposal = this.#parts.propose(encodeContentCheck());
    if (!proposal.ok) {
      return failed(ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST, `leadership lost: ${proposal.message}`);
    }
    return this.at(proposal.index);
  }

  /**
   * What this node found at the content check of entry `index`, waiting up to `waitMs` for it to
   * be applied here. Fails when the entry is not a content check, or this node skipped it (it
   * restored a snapshot taken after it) or forgot it (it keeps the newest few).
   */
  async at(index: number, waitMs = contentCheckWaitMs): Promise<ContentCheckOutcome> {
    if (!(await this.#appliedWithin(index, waitMs))) {
      return failed(
        ErrorCode.SQLITE_BUSY,
        `entry ${index} was not applied here within ${waitMs} ms`,
      );
    }
    const reply = await this.#parts.link.call({ op: 'content-check', index });
    const check = reply.outcome.ok
      ? (reply.outcome.value as { check?: ContentCheck }).check
      : undefined;
    if (check === undefined) {
      const { id, applied } = this.#parts;
      return failed(
        ErrorCode.SQLITE_NOTFOUND,
        `no content check at index ${index} on node ${id} (applied ${applied.index})`,
      );
    }
    return { ok: true, check };
  }

  /**
   * Whether entry `index` is applied here within `waitMs`. Unlike an answer's wait, this one
   * outlives role changes (which fail every answer waiting on the applied index): a follower that
   * starts a pre-vote still applies what was committed.
   */
  async #appliedWithin(index: number, waitMs: number): Promise<boolean> {
    const { clock, applied } = this.#parts;
    const deadline = clock.now() + waitMs;
    while (applied.index < index && !this.#parts.closed()) {
      const remainingMs = deadline - clock.now();
      if (remainingMs <= 0) return false;
      let cancel: (() => void) | undefined;
      const timedOut = new Promise<void>((resolve) => (cancel = clock.after(remainingMs, resolve)));
      await Promise.race([applied.reached(index).catch(() => undefined), timedOut]);
      cancel?.();
    }
    return applied.index >= index;
  }
}
