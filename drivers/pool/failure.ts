import { classifyStatement } from '../../src/sql/index.js';
import {
  BusyError,
  ConnectionError,
  LeadershipLostError,
  NotLeaderError,
} from '../client/index.js';

/**
 * What a failed request means for the pool:
 * - `not-leader`: the node refused it before executing (10250): safe to run again on the leader;
 * - `leadership-lost`: it ran, then leadership went (10506): a write's outcome is unknown;
 * - `connection-unsent`: the connection died before the request was written: safe to retry;
 * - `connection-sent`: the connection died with the request in flight: outcome unknown;
 * - `busy`: another connection holds the write lock (SQLITE_BUSY*): wait and retry;
 * - `final`: anything else (SQL errors, constraint violations, misuse): surface as is.
 */
export type FailureKind =
  'not-leader' | 'leadership-lost' | 'connection-unsent' | 'connection-sent' | 'busy' | 'final';

export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof NotLeaderError) return 'not-leader';
  if (error instanceof LeadershipLostError) return 'leadership-lost';
  if (error instanceof ConnectionError)
    return error.requestSent ? 'connection-sent' : 'connection-unsent';
  if (error instanceof BusyError) return 'busy';
  return 'final';
}

/** Failures after which the connection (and every other one to that leader) must be retired. */
export function isLeaderChange(kind: FailureKind): boolean {
  return kind === 'not-leader' || kind === 'leadership-lost' || kind.startsWith('connection');
}

/** Failures after which a write may or may not have happened. */
export function isOutcomeUnknown(kind: FailureKind): boolean {
  return kind === 'leadership-lost' || kind === 'connection-sent';
}

/**
 * True when `sql` certainly only reads, so running it again after an unknown outcome is
 * harmless (see StatementClass.readOnly). When in doubt it answers false, and the pool treats
 * the SQL as a write.
 */
export function isReadOnlySql(sql: string): boolean {
  return classifyStatement(sql).readOnly;
}
