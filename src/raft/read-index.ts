import { assert } from './assert.js';
import type { RaftConfig } from './config.js';
import { clockRateDifferenceMax, loyaltyTicks } from './election.js';
import { majorityOf } from './quorum.js';
import type { RaftState, ReadOrigin } from './raft-state.js';
import type { ReadIndex } from './types.js';
import { sendHeartbeatRound } from './leader.js';

/**
 * Linearizable reads (thesis §6.4). ReadIndex: the leader records its commit index, confirms it
 * is still leader with a heartbeat round a majority answers, and lets the host serve the read
 * once it applied that index. A new leader first commits an entry of its term, because only then
 * is its commit index the cluster's. Lease reads (§6.4.1) skip the round for leaseMilliseconds,
 * on the host's monotonic clock (`state.now`), after a round a majority answered; they assume
 * bounded differences in clock rate.
 */
export function requestRead(state: RaftState, read: ReadOrigin): void {
  if (state.log.term(state.log.commitIndex) !== state.term) {
    state.readsAwaitingCommit.push(read);
    return;
  }
  const index = state.log.commitIndex;
  if (confirmedWithoutRound(state)) {
    releaseRead(state, read, index);
    return;
  }
  sendHeartbeatRound(state);
  state.pendingReads.push({ ...read, index, sequence: state.heartbeatSequence });
}

/**
 * The index a read on this leader may be served at right now, with no heartbeat round: what
 * `requestRead` would release at once for the leader's own read. Undefined when it would wait (not
 * leader, its term's first entry not committed, no lease). A query: it changes nothing.
 */
export function readIndexNow(state: RaftState): number | undefined {
  if (state.role !== 'leader') return undefined;
  if (state.log.term(state.log.commitIndex) !== state.term) return undefined;
  return confirmedWithoutRound(state) ? state.log.commitIndex : undefined;
}

/** A lone voter is its own majority; otherwise only a lease spares the round. */
function confirmedWithoutRound(state: RaftState): boolean {
  return (state.voters().length === 1 && state.isVoter()) || leased(state);
}

/** A confirmed read: the host's own waits for `index` to apply; a follower's gets the answer. */
function releaseRead(state: RaftState, read: ReadOrigin, index: number): void {
  if (read.from === state.id) {
    state.readStates.push({ requestId: read.requestId, index });
    return;
  }
  answerRead(state, read, { success: true, index });
}

function answerRead(
  state: RaftState,
  read: ReadOrigin,
  answer: { readonly success: boolean; readonly index: number },
): void {
  state.send({
    type: 'ReadIndexResult',
    from: state.id,
    to: read.from,
    term: state.term,
    requestId: read.requestId,
    ...answer,
  });
}

/**
 * A leader's answer to a follower's ReadIndex: confirmed like its own reads; refused at once
 * when this node does not lead (the follower then fails the read rather than wait).
 */
export function handleReadIndex(state: RaftState, message: ReadIndex): void {
  const read = { requestId: message.requestId, from: message.from };
  if (state.role !== 'leader') {
    answerRead(state, read, { success: false, index: 0 });
    return;
  }
  requestRead(state, read);
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
    for (const read of waiting) requestRead(state, read);
  }
  const confirmed = quorumSequence(state);
  const sentAt = state.sequenceSentAt.get(confirmed);
  if (sentAt !== undefined && state.config.leaseReads && !state.leaseRevoked) {
    state.leaseUntilMs = Math.max(state.leaseUntilMs, sentAt + leaseMilliseconds(state.config));
  }
  while (state.pendingReads.length > 0) {
    const read = state.pendingReads[0];
    if (read === undefined || read.sequence > confirmed) break;
    state.pendingReads.shift();
    releaseRead(state, read, read.index);
  }
}

/**
 * Whether this leader may serve a read now without a round. Not while a configuration change is
 * uncommitted: the lease's round was answered by a majority of the configuration in force when it
 * was sent, and the majority that elects the next leader is being redefined. (After a TimeoutNow
 * no lease starts at all: confirmReads.)
 */
function leased(state: RaftState): boolean {
  if (!state.config.leaseReads) return false;
  if (state.configurationIndex() > state.log.commitIndex) return false;
  return state.now() < state.leaseUntilMs;
}

/**
 * How long a lease lasts on the leader's monotonic clock after its round was sent (thesis
 * §6.4.1); 0 for none. Each follower of the majority that answered the round received its
 * heartbeat no earlier than the round was sent, and from then refuses candidates for at least
 * loyaltyTicks = electionTimeoutTicks − 1 tick periods of its own clock (the first tick may come
 * at once): 5 × 50 = 250 ms by default. A follower that restarted meanwhile refuses for as long
 * after its start. Its clock may run up to clockRateDifferenceMax (20%) faster than the leader's,
 * so those 250 ms may pass in 250 / 1.2 = 208.3 ms on the leader's clock: the lease is that,
 * floored to 208 ms. No other leader can be elected within it, since it needs a vote from that
 * majority. Without check-quorum followers refuse no candidate, and with a one-tick timeout they
 * promise nothing: no lease.
 */
export function leaseMilliseconds(config: RaftConfig): number {
  if (!config.leaseReads || !config.checkQuorum) return 0;
  const loyaltyMs = loyaltyTicks(config) * config.tickMilliseconds;
  const lease = Math.floor(loyaltyMs / (1 + clockRateDifferenceMax));
  assert(lease * (1 + clockRateDifferenceMax) <= loyaltyMs, 'a lease ends within the loyalty');
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
