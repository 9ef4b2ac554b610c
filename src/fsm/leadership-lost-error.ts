/**
 * A write this node executed as leader whose fate is unknown because the node stopped leading
 * before the write committed: Dqlite's SQLITE_IOERR_LEADERSHIP_LOST. The write may still commit
 * under the new leader; the client cannot tell, so it must not assume either outcome.
 */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';
  readonly code = 10506;
}
