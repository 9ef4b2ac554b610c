import { majorityOf } from './quorum.js';
import type { RaftState } from './raft-state.js';
import { sendHeartbeatRound } from './leader.js';

/**
 * Linearizable reads (thesis §6.4). ReadIndex: the leader records its commit index, confirms it
 * is still leader with a heartbeat round a majority answers, and lets the host serve the read
 * once it applied that index. A new leader first commits an entry of its term, because only then
 * is its commit index the cluster's. Lease reads (§6.4.1) skip the round while a majority
 * answered within the last election timeout; they assume bounded clock drift.
 */
export function requestRead(state: RaftState, requestId: number): void {
  if (state.log.term(state.log.commitIndex) !== state.term) {
    state.readsAwaitingCommit.push(requestId);
    return;
  }
  const index = state.log.commitIndex;
  if (state.voters().length === 1 && state.isVoter()) {
    state.readStates.push({ requestId, index });
    return;
  }
  const transferring = state.transfer?.timeoutNowSent === true;
  if (state.config.leaseReads && !transferring && state.ticks < state.leaseUntilTick) {
    state.readStates.push({ requestId, index });
    return;
  }
  sendHeartbeatRound(state);
  state.pendingReads.push({ requestId, index, sequence: state.heartbeatSequence });
}

/** Releases reads whose heartbeat round a majority acknowledged; refreshes the lease. */
export function confirmReads(state: RaftState): void {
  if (state.role !== 'leader') return;
  if (
    state.readsAwaitingCommit.length > 0 &&
    state.log.term(state.log.commitIndex) === state.term
  ) {
    const waiting = state.readsAwaitingCommit;
    state.readsAwaitingCommit = [];
    for (const requestId of waiting) requestRead(state, requestId);
  }
  const confirmed = quorumSequence(state);
  const sentTick = state.sequenceSentTicks.get(confirmed);
  if (sentTick !== undefined && state.transfer?.timeoutNowSent !== true) {
    // Followers that answered heartbeat `confirmed` ignore candidates for a full election timeout
    // after it (leader stickiness), measured on their clocks; keep a margin for drift.
    const leaseTicks = Math.floor(state.config.electionTimeoutTicks * 0.8);
    state.leaseUntilTick = Math.max(state.leaseUntilTick, sentTick + leaseTicks);
  }
  while (state.pendingReads.length > 0) {
    const read = state.pendingReads[0];
    if (read === undefined || read.sequence > confirmed) break;
    state.pendingReads.shift();
    state.readStates.push({ requestId: read.requestId, index: read.index });
  }
}

/** The highest heartbeat sequence a majority of voters (this leader included) acknowledged. */
function quorumSequence(state: RaftState): number {
  const voters = state.voters();
  const sequences = voters
    .map((id) =>
      id === state.id
        ? state.heartbeatSequence
        : (state.progress.get(id)?.acknowledgedSequence ?? 0),
    )
    .sort((a, b) => b - a);
  return sequences[majorityOf(voters.length) - 1] ?? 0;
}
