import { assert } from './assert.js';
import type { RaftConfig } from './config.js';
import { Progress } from './progress.js';
import { voteOutcome } from './quorum.js';
import { bootstrapTerm } from './raft-bootstrap.js';
import type { RaftState } from './raft-state.js';
import { failForwardedReads } from './forwarded-reads.js';
import { EntryType, type RequestVote, type RequestVoteResult } from './types.js';

/**
 * Role transitions and elections: §5.2 (leader election), §5.4.1 (election restriction), thesis
 * §9.6 (pre-vote) and §6.2 / §4.2.3 (leader stickiness: a server that heard from a leader within
 * the minimum election timeout ignores vote requests).
 */

export function becomeFollower(state: RaftState, term: number, leaderId: number): void {
  const previousRole = state.role;
  if (term > state.term) {
    state.term = term;
    state.vote = 0;
  }
  state.role = 'follower';
  resetLeaderState(state);
  state.resetElectionTimer();
  setLeader(state, leaderId);
  if (previousRole !== 'follower')
    state.emit({ type: 'role-changed', role: 'follower', term: state.term });
}

export function setLeader(state: RaftState, leaderId: number): void {
  if (state.leaderId === leaderId) return;
  failForwardedReads(state, 'the leader changed');
  state.leaderId = leaderId;
  if (leaderId !== 0) state.emit({ type: 'leader-changed', term: state.term, leaderId });
}

/** Clears what only a leader keeps; fails the requests that depended on it. */
function resetLeaderState(state: RaftState): void {
  state.progress.clear();
  state.votes.clear();
  // Once TimeoutNow went out, stepping down is the transfer doing its job (thesis §3.10).
  if (state.transfer !== undefined && !state.transfer.timeoutNowSent) {
    state.emit({
      type: 'transfer-failed',
      target: state.transfer.target,
      reason: 'leadership lost',
    });
  }
  if (state.promotion !== undefined) {
    state.emit({ type: 'promotion-failed', id: state.promotion.id, reason: 'leadership lost' });
  }
  for (const read of [...state.pendingReads, ...state.readsAwaitingCommit]) {
    if (read.from === state.id) failRead(state, read.requestId);
    // A follower's read: it fails there when it learns of the new term or leader.
  }
  failForwardedReads(state, 'the leader changed');
  state.transfer = undefined;
  state.promotion = undefined;
  state.pendingReads = [];
  state.readsAwaitingCommit = [];
  state.leaseUntilMs = 0;
  state.leaseRevoked = false;
}

function failRead(state: RaftState, requestId: number): void {
  state.emit({ type: 'read-failed', requestId, reason: 'leadership lost' });
}

/**
 * Starts an election when this node may: it is a voter of its latest configuration. With pre-vote
 * it first asks whether it could win without disturbing anyone's term.
 */
export function campaign(state: RaftState, options: { preVote: boolean; transfer: boolean }): void {
  if (!state.isVoter() || state.reception?.writing === true) return;
  // A candidate follows no leader, so a snapshot it was receiving is abandoned; left open it
  // would also keep the host from taking snapshots of its own.
  state.reception = undefined;
  resetLeaderState(state);
  state.resetElectionTimer();
  setLeader(state, 0);
  if (options.preVote) {
    state.role = 'pre-candidate';
  } else {
    state.role = 'candidate';
    state.term += 1;
    state.vote = state.id;
  }
  state.emit({ type: 'role-changed', role: state.role, term: state.term });
  state.votes.set(state.id, true);
  if (tallyVotes(state)) return;
  const term = options.preVote ? state.term + 1 : state.term;
  for (const voter of state.voters()) {
    if (voter === state.id) continue;
    const request: RequestVote = {
      type: 'RequestVote',
      from: state.id,
      to: voter,
      term,
      lastLogIndex: state.log.lastIndex(),
      lastLogTerm: state.log.lastTerm(),
      preVote: options.preVote,
      transfer: options.transfer,
    };
    // A real candidate's own vote must be durable before it asks for others' (§5.1 figure 2).
    if (options.preVote) state.send(request);
    else state.sendAfterPersist(request);
  }
}

/** Counts votes; on a win moves to the next stage. Returns true when the election ended. */
function tallyVotes(state: RaftState): boolean {
  const outcome = voteOutcome(state.voters(), state.votes);
  if (outcome === 'pending') return false;
  if (outcome === 'lost') {
    becomeFollower(state, state.term, 0);
    return true;
  }
  if (state.role === 'pre-candidate') campaign(state, { preVote: false, transfer: false });
  else becomeLeader(state);
  return true;
}

/**
 * The largest difference in rate between two nodes' clocks (tick timers and monotonic clocks) for
 * which leader leases are safe: 0.2, so a follower's clock may run up to 20% faster than the
 * leader's. Leases are shortened by this factor (leaseMilliseconds in read-index.ts); a faster clock could end the followers' loyalty while the leader still trusts
 * its lease, and a read served then could miss a write acknowledged by a new leader.
 */
export const clockRateDifferenceMax = 0.2;

/**
 * Tick periods of its own clock for which a node surely refuses candidates after it accepted a
 * leader's heartbeat, or after it started (inLeaderLease): electionTimeoutTicks − 1. It refuses
 * until its electionTimeoutTicks-th tick since then, and ticks come at a fixed period that owes
 * nothing to when the heartbeat arrived, so the first of them may come at once. With one tick of
 * timeout a node promises nothing.
 */
export function loyaltyTicks(config: RaftConfig): number {
  assert(config.electionTimeoutTicks >= 1, 'an election timeout lasts at least one tick');
  return config.electionTimeoutTicks - 1;
}

/**
 * Whether this node ignores vote requests (pre-vote or not) because it recently heard from a live
 * leader: that keeps a partitioned or restarted node from deposing a healthy leader (thesis
 * §4.2.3, §9.6), and leader leases count on it (§6.4.1). A follower is loyal until its
 * electionTimeoutTicks-th tick after a leader's last message (loyaltyTicks). A node that restarted
 * past the bootstrap term (mayOweLoyaltyAtStart) is loyal until its electionTimeoutTicks-th tick
 * since it started: it may have answered a lease round just before it stopped and forgotten it,
 * and it keeps that promise without knowing to whom. Only check-quorum makes the promise matter,
 * so without it nobody is loyal. Votes of a leadership transfer are not refused (acceptTerm;
 * thesis §3.10).
 */
export function inLeaderLease(state: RaftState): boolean {
  if (!state.config.checkQuorum) return false;
  if (state.role === 'leader') return true;
  const timeoutTicks = state.config.electionTimeoutTicks;
  if (state.mayOweLoyaltyAtStart && state.ticks < timeoutTicks) return true;
  return state.leaderId !== 0 && state.electionElapsed < timeoutTicks;
}

/** Answers a RequestVote whose term is >= ours (the caller handled stale and higher terms). */
export function handleRequestVote(state: RaftState, request: RequestVote): void {
  const upToDate = state.log.isUpToDate(request.lastLogIndex, request.lastLogTerm);
  let granted: boolean;
  if (request.preVote) {
    // Pre-vote: grant when a real election at that term could be granted; no state changes.
    granted = request.term > state.term && upToDate;
  } else {
    assert(request.term === state.term, 'vote handled in the request term');
    granted = (state.vote === 0 || state.vote === request.from) && upToDate;
    if (granted) {
      state.vote = request.from;
      state.resetElectionTimer();
    }
  }
  const result: RequestVoteResult = {
    type: 'RequestVoteResult',
    from: state.id,
    to: request.from,
    term: request.preVote && granted ? request.term : state.term,
    voteGranted: granted,
    preVote: request.preVote,
  };
  // A granted real vote is a promise that must survive a crash (§5.1).
  if (request.preVote) state.send(result);
  else state.sendAfterPersist(result);
}

export function handleRequestVoteResult(state: RaftState, result: RequestVoteResult): void {
  const expectedRole = result.preVote ? 'pre-candidate' : 'candidate';
  if (state.role !== expectedRole) return;
  const expectedTerm = result.preVote ? state.term + 1 : state.term;
  if (result.term !== expectedTerm && result.voteGranted) return;
  state.votes.set(result.from, result.voteGranted);
  tallyVotes(state);
}

/**
 * §5.2: a winner becomes leader, creates replication progress for every peer, and appends a
 * barrier of its own term so it can commit (thesis §6.4: a leader knows the commit index only
 * after committing an entry of its term).
 */
function becomeLeader(state: RaftState): void {
  assert(state.role === 'candidate', `only a candidate becomes leader, not a ${state.role}`);
  // A restart's loyalty (inLeaderLease) is owed only by nodes past the bootstrap term.
  assert(state.term > bootstrapTerm, `no node leads the bootstrap term ${bootstrapTerm}`);
  state.role = 'leader';
  state.votes.clear();
  state.electionElapsed = 0;
  state.heartbeatElapsed = 0;
  setLeader(state, state.id);
  state.emit({ type: 'role-changed', role: 'leader', term: state.term });
  for (const peer of state.replicaPeers()) {
    state.progress.set(peer, new Progress(state.log.lastIndex() + 1, state.ticks));
  }
  const entry = {
    index: state.log.lastIndex() + 1,
    term: state.term,
    type: EntryType.barrier,
    data: new Uint8Array(0),
  };
  state.log.append([entry]);
}
