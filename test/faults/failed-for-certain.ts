// How every fault workload records a failed operation: as certainly without effect ("fail"), or
// with an unknown outcome ("unknown", open-ended for the checkers). Pooled and churn clients are
// judged by this one rule.

import { DqliteError } from '../../drivers/client/index.js';
import { NotSentError } from './churn-client.js';

/**
 * SQLite could not write its WAL (SQLITE_FULL, SQLITE_READONLY): the statement failed in the engine
 * before any transaction was proposed, so a one-statement write certainly did not happen.
 */
function refusedByDisk(error: unknown): boolean {
  if (!(error instanceof DqliteError)) return false;
  const primary = error.errno;
  return primary === 13 || primary === 8;
}

/**
 * Whether a failed operation certainly had no effect: nothing was sent (a churn client's connect
 * failed), or it was a read, or the node's disk refused the write. Any other failed write may
 * have committed all the same.
 */
export function failedForCertain(kind: 'read' | 'write', error: unknown): boolean {
  return error instanceof NotSentError || kind === 'read' || refusedByDisk(error);
}
