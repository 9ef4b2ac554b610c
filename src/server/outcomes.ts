import { ErrorCode } from '../wire/index.js';
import type { EngineOutcome } from './sql/engine-messages.js';

/** Leadership ended while an answer waited for it (a confirmation round, an apply). */
export class LeadershipLost extends Error {}

/** The answer when leadership was lost before what a request did was committed. */
export function leadershipLost(why: string): EngineOutcome {
  return {
    ok: false,
    code: ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST,
    message: `leadership lost: ${why}`,
  };
}

export const notLeader: EngineOutcome = {
  ok: false,
  code: ErrorCode.SQLITE_IOERR_NOT_LEADER,
  message: 'not leader',
};

/**
 * The answer when a request's first transaction was refused by Raft before it reached the log (a
 * transfer running, too many entries uncommitted): nothing of it happened, so it may be run again.
 */
export function notCommitted(why: string): EngineOutcome {
  return {
    ok: false,
    code: ErrorCode.SQLITE_IOERR_NOT_LEADER,
    message: `not leader: ${why}; the write was not committed, and may be run again`,
  };
}

export function isNotLeader(outcome: EngineOutcome): boolean {
  return !outcome.ok && outcome.code === ErrorCode.SQLITE_IOERR_NOT_LEADER;
}
