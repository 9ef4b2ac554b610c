import { assert } from './assert.js';
import { applyMembershipChange, type MembershipChange } from './configuration.js';
import { becomeFollower } from './election.js';
import { Progress } from './progress.js';
import { majorityOf } from './quorum.js';
import type { RaftState } from './raft-state.js';
import {
  maybeCommit,
  replicateToAll,
  sendHeartbeat,
  tickSnapshotTransfers,
} from './replication.js';
import { encodeConfiguration } from './configuration.js';
import { EntryType, Role, type Entry, type NodeId } from './types.js';

/** Why a leader-only request was refused. Stable codes callers may test. */
export type RefusalCode =
  | 'not-leader'
  | 'transfer-in-progress'
  | 'change-in-progress'
  | 'too-many-uncommitted'
  | 'bad-change'
  | 'bad-target';

export type Refusal = { readonly ok: false; readonly code: RefusalCode; readonly message: string };

export function refusal(code: RefusalCode, message: string): Refusal {
  return { ok: false, code, message };
}

/** Leader duties on each tick: heartbeats, check-quorum, transfer and promotion timeouts. */
export function tickLeader(state: RaftState): void {
  state.heartbeatElapsed += 1;
  state.electionElapsed += 1;
  tickSnapshotTransfers(state);
  if (state.config.checkQuorum && !quorumActive(state)) {
    // Thesis §6.2: a leader that went an election timeout without a successful round to a
    // majority steps down, so clients stop waiting on it and a new leader can be found.
    becomeFollower(state, state.term, 0);
    return;
  }
  tickTransfer(state);
  tickPromotion(state);
  if (state.heartbeatElapsed >= state.config.heartbeatTicks) {
    state.heartbeatElapsed = 0;
    broadcastHeartbeat(state);
  }
}

/** Heartbeat rounds in an election timeout (at least two). */
function quietRoundsMax(state: RaftState): number {
  const { electionTimeoutTicks, heartbeatTicks } = state.config;
  return Math.max(2, Math.ceil(electionTimeoutTicks / heartbeatTicks));
}

/** Whether a majority of voters (ourselves included when a voter) answered within an election timeout. */
function quorumActive(state: RaftState): boolean {
  const voters = state.voters();
  const since = state.ticks - state.config.electionTimeoutTicks;
  let active = 0;
  for (const id of voters) {
    const progress = state.progress.get(id);
    if (id === state.id || (progress !== undefined && progress.lastAnswerTick > since)) active++;
  }
  return active >= majorityOf(voters.length);
}

/**
 * The heartbeat timer's round: re-opens probes and, for followers whose appends went unanswered
 * for an election timeout, falls back to probing from the known match (the appends or their
 * answers were lost, §5.3 "retries indefinitely"). Then one heartbeat to each.
 *
 * Not sooner: over the node's transport (one TCP connection per peer, in order) an append is
 * lost only with its connection, while a follower that is merely slow to make megabytes durable
 * answers late. Falling back after two rounds (100 ms) sent every megabyte of a large transaction
 * again, several times over, to followers that were still writing it, and the heartbeats queued
 * behind the copies reached them late enough to start elections.
 */
function broadcastHeartbeat(state: RaftState): void {
  for (const progress of state.progress.values()) {
    if (progress.state === 'probe') progress.probeSent = false;
    else if (progress.state === 'replicate' && progress.inflightCount() > 0) {
      progress.quietRounds += 1;
      if (progress.quietRounds >= quietRoundsMax(state)) {
        progress.becomeProbe();
      }
    }
  }
  sendHeartbeatRound(state);
}

/** Heartbeats to every follower under a fresh sequence, which ReadIndex and leases count. */
export function sendHeartbeatRound(state: RaftState): void {
  state.heartbeatSequence += 1;
  state.sequenceSentAt.set(state.heartbeatSequence, state.now());
  for (const [peer, progress] of state.progress) sendHeartbeat(state, peer, progress);
  trimSequenceTimes(state);
}

function trimSequenceTimes(state: RaftState): void {
  const oldest = state.heartbeatSequence - sequenceTimesKept;
  for (const sequence of state.sequenceSentAt.keys()) {
    if (sequence > oldest) break;
    state.sequenceSentAt.delete(sequence);
  }
}

/** How many heartbeat rounds' send times a leader remembers, for leases. */
const sequenceTimesKept = 256;

/** Appends a proposal as leader; the caller checked the role. */
export function appendProposal(
  state: RaftState,
  type: EntryType,
  data: Uint8Array,
): Entry | Refusal {
  if (state.transfer !== undefined) {
    return refusal(
      'transfer-in-progress',
      `leadership is being transferred to ${state.transfer.target}`,
    );
  }
  const uncommitted = state.log.lastIndex() - state.log.commitIndex;
  if (uncommitted >= state.config.uncommittedEntriesMax) {
    return refusal('too-many-uncommitted', `${uncommitted} entries are waiting to commit`);
  }
  const entry: Entry = { index: state.log.lastIndex() + 1, term: state.term, type, data };
  state.log.append([entry]);
  return entry;
}

/**
 * One membership change at a time (thesis §4.1), and only after this leader committed an entry
 * of its own term (the fix to single-server changes in Ongaro's 2015 errata). A promotion to
 * voter first catches the node up in rounds (thesis §4.2.1).
 */
export function changeMembership(
  state: RaftState,
  change: MembershipChange,
): Entry | Refusal | 'catching-up' {
  if (state.transfer !== undefined) return refusal('transfer-in-progress', 'a transfer is running');
  if (state.promotion !== undefined || state.configurationIndex() > state.log.commitIndex) {
    return refusal('change-in-progress', 'another membership change has not committed yet');
  }
  if (state.log.term(state.log.commitIndex) !== state.term) {
    return refusal(
      'change-in-progress',
      'the new leader has not committed an entry of its term yet',
    );
  }
  const next = applyMembershipChange(state.configuration(), change);
  if (typeof next === 'string') return refusal('bad-change', next);
  if (change.type === 'assign' && change.role === Role.voter && !caughtUp(state, change.id)) {
    state.promotion = {
      id: change.id,
      role: change.role,
      round: 1,
      roundTarget: state.log.lastIndex(),
      roundTicks: 0,
      totalTicks: 0,
    };
    if (!state.progress.has(change.id))
      state.progress.set(change.id, new Progress(state.log.lastIndex() + 1, state.ticks));
    return 'catching-up';
  }
  return appendConfiguration(state, encodeConfiguration(next));
}

function caughtUp(state: RaftState, id: NodeId): boolean {
  return (state.progress.get(id)?.matchIndex ?? 0) >= state.log.lastIndex();
}

function appendConfiguration(state: RaftState, data: Uint8Array): Entry | Refusal {
  const entry = appendProposal(state, EntryType.configuration, data);
  if ('ok' in entry) return entry;
  state.appendConfigurationEntry(entry.index, entry.data);
  reconcileProgress(state);
  return entry;
}

/** Keeps one Progress per replica peer of the latest configuration. */
function reconcileProgress(state: RaftState): void {
  const peers = new Set(state.replicaPeers());
  for (const id of state.progress.keys()) if (!peers.has(id)) state.progress.delete(id);
  for (const id of peers) {
    if (!state.progress.has(id))
      state.progress.set(id, new Progress(state.log.lastIndex() + 1, state.ticks));
  }
}

/** Called when the promotee acknowledges: finish the round, start another, or promote. */
function advancePromotion(state: RaftState): void {
  const promotion = state.promotion;
  if (promotion === undefined) return;
  const match = state.progress.get(promotion.id)?.matchIndex ?? 0;
  if (match < promotion.roundTarget) return;
  if (promotion.roundTicks < state.config.electionTimeoutTicks) {
    state.promotion = undefined;
    const next = applyMembershipChange(state.configuration(), {
      type: 'assign',
      id: promotion.id,
      role: promotion.role,
    });
    if (typeof next === 'string') {
      state.emit({ type: 'promotion-failed', id: promotion.id, reason: next });
      return;
    }
    const entry = appendConfiguration(state, encodeConfiguration(next));
    if ('ok' in entry)
      state.emit({ type: 'promotion-failed', id: promotion.id, reason: entry.message });
    return;
  }
  promotion.round += 1;
  promotion.roundTarget = state.log.lastIndex();
  promotion.roundTicks = 0;
  if (promotion.round > state.config.promotionRoundsMax)
    failPromotion(state, 'it did not catch up in time');
}

function tickPromotion(state: RaftState): void {
  const promotion = state.promotion;
  if (promotion === undefined) return;
  promotion.roundTicks += 1;
  promotion.totalTicks += 1;
  const budget = state.config.promotionRoundsMax * state.config.electionTimeoutTicks * 2;
  if (promotion.totalTicks > budget) failPromotion(state, 'it did not catch up in time');
}

function failPromotion(state: RaftState, reason: string): void {
  const promotion = state.promotion;
  assert(promotion !== undefined, 'a promotion to fail');
  state.promotion = undefined;
  reconcileProgress(state);
  state.emit({ type: 'promotion-failed', id: promotion.id, reason });
}

/** Thesis §3.10: pick the target, bring it up to date, then tell it to campaign at once. */
export function startTransfer(state: RaftState, target: NodeId | undefined): Refusal | undefined {
  if (state.transfer !== undefined)
    return refusal('transfer-in-progress', 'a transfer is already running');
  const chosen = target ?? mostUpToDateVoter(state);
  if (chosen === undefined || chosen === state.id || !state.voters().includes(chosen)) {
    return refusal(
      'bad-target',
      `no voter other than this leader to transfer to (${String(target)})`,
    );
  }
  state.transfer = { target: chosen, ticks: 0, timeoutNowSent: false };
  maybeSendTimeoutNow(state);
  return undefined;
}

function mostUpToDateVoter(state: RaftState): NodeId | undefined {
  let best: NodeId | undefined;
  let bestMatch = -1;
  for (const id of state.voters()) {
    const match = state.progress.get(id)?.matchIndex ?? -1;
    if (id !== state.id && match > bestMatch) {
      best = id;
      bestMatch = match;
    }
  }
  return best;
}

function maybeSendTimeoutNow(state: RaftState): void {
  const transfer = state.transfer;
  if (transfer === undefined || transfer.timeoutNowSent) return;
  if (!caughtUp(state, transfer.target)) return;
  transfer.timeoutNowSent = true;
  // The target's election ignores leader stickiness, so our lease ends here, and none starts
  // again in this term: the TimeoutNow may still be on its way when the transfer gives up.
  state.leaseUntilMs = 0;
  state.leaseRevoked = true;
  state.send({ type: 'TimeoutNow', from: state.id, to: transfer.target, term: state.term });
}

function tickTransfer(state: RaftState): void {
  const transfer = state.transfer;
  if (transfer === undefined) return;
  transfer.ticks += 1;
  if (transfer.ticks >= state.config.electionTimeoutTicks) {
    state.transfer = undefined;
    state.emit({ type: 'transfer-failed', target: transfer.target, reason: 'timed out' });
  }
}

/**
 * After the commit index moved: a leader that committed its own removal or demotion hands over
 * and steps down (thesis §4.2.2); configurations superseded by a committed one are forgotten.
 */
function afterCommit(state: RaftState): void {
  state.pruneConfigurations();
  if (state.role !== 'leader') return;
  if (state.configurationIndex() <= state.log.commitIndex && !state.isVoter()) {
    const successor = mostUpToDateVoter(state);
    if (successor !== undefined && caughtUp(state, successor)) {
      state.send({ type: 'TimeoutNow', from: state.id, to: successor, term: state.term });
    }
    becomeFollower(state, state.term, 0);
  }
}

/** Re-runs replication and the commit rule after any leader input. */
export function leaderFlush(state: RaftState): void {
  if (state.role !== 'leader') return;
  maybeCommit(state);
  afterCommit(state);
  if (state.role !== 'leader') return;
  advancePromotion(state);
  maybeSendTimeoutNow(state);
  replicateToAll(state);
}
