// How every fault workload records a failed operation: as certainly without effect ("fail"), or
// with an unknown outcome ("unknown", open-ended for the checkers). Pooled and churn clients are
// judged by this one rule.

import { DqliteError } from '../../drivers/client/index.js';
import { isDiskFailureCode } from '../../src/server/disk-handover.js';
import { NotSentError } from './churn-client.js';

/**
 * SQLite on the leader could not write its WAL (SQLITE_FULL, SQLITE_READONLY, or an SQLITE_IOERR
 * that is not one of Dqlite's replication codes): the statement failed in the engine before any
 * transaction was proposed, so a one-statement write certainly did not happen. (Raft's own log
 * never answers with these: it waits for space instead.)
 */
function refusedByDisk(error: unknown): boolean {
  if (!(error instanceof DqliteError)) return false;
  return error.errno === 8 || isDiskFailureCode(error.rawCode);
}

/**
 * Whether a failed operation certainly had no effect: nothing was sent (a churn client's connect
 * failed), or it was a read, or the node's disk refused the write. Any other failed write may
 * have committed all the same.
 */
export function failedForCertain(kind: 'read' | 'write', error: unknown): boolean {
  return error instanceof NotSentError || kind === 'read' || refusedByDisk(error);
}
