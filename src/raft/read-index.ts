import { assert } from './assert.js';
import type { RaftConfig } from './config.js';
import { clockRateDifferenceMax, loyaltyTicks } from './election.js';
import { majorityOf } from './quorum.js';
import type { RaftState } from './raft-state.js';
import { sendHeartbeatRound } from './leader.js';

/**
 * Linearizable reads (thesis §6.4). ReadIndex: the leader records its commit index, confirms it
 * is still leader with a heartbeat round a majority answers, and lets the host serve the read
 * once it applied that index. A new leader first commits an entry of its term, because only then
 * is its commit index the cluster's. Lease reads (§6.4.1) skip the round for leaseTicks after a
 * round a majority answered; they assume bounded differences in clock rate.
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
    state.leaseUntilTick = Math.max(state.leaseUntilTick, sentTick + leaseTicks(state.config));
  }
  while (state.pendingReads.length > 0) {
    const read = state.pendingReads[0];
    if (read === undefined || read.sequence > confirmed) break;
    state.pendingReads.shift();
    state.readStates.push({ requestId: read.requestId, index: read.index });
  }
}

/**
 * How many of the leader's ticks a lease lasts after the tick count at which its round was sent.
 * It ends at the leader's tick sentTick + leaseTicks, so it lasts at most leaseTicks periods of
 * the leader's clock after the heartbeats left. Each follower that answered received them later,
 * and refuses candidates for loyaltyTicks periods of its own clock after (election.ts); a clock up
 * to clockRateDifferenceMax faster runs those in loyaltyTicks / (1 + clockRateDifferenceMax) of
 * the leader's periods. With the default 6-tick timeout: 5 / 1.2, floored, 4 ticks.
 */
export function leaseTicks(config: RaftConfig): number {
  const loyalty = loyaltyTicks(config);
  const lease = Math.floor(loyalty / (1 + clockRateDifferenceMax));
  assert(lease * (1 + clockRateDifferenceMax) <= loyalty, 'a lease ends within the loyalty');
  return lease;
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
