import { assert } from './assert.js';
import { becomeFollower, inLeaderLease } from './election.js';
import { appendEntriesRejection } from './follower.js';
import type { RaftState } from './raft-state.js';
import type { Message } from './types.js';

/**
 * The term rules shared by every message (§5.1, thesis §9.6 and §4.2.3). Returns false when the
 * message must not be processed further.
 */
export function acceptTerm(state: RaftState, message: Message): boolean {
  if (message.term > state.term) {
    if (message.type === 'RequestVote') {
      // Leader stickiness: a live leader's followers ignore disruptive candidates.
      if (!message.transfer && inLeaderLease(state)) return false;
      if (message.preVote) return true; // a pre-vote never changes our term
    }
    if (message.type === 'RequestVoteResult' && message.preVote && message.voteGranted) return true;
    const leader =
      message.type === 'AppendEntries' || message.type === 'InstallSnapshot' ? message.from : 0;
    becomeFollower(state, message.term, leader);
    return true;
  }
  if (message.term < state.term) {
    answerStale(state, message);
    return false;
  }
  return true;
}

/** A leader's message in our term makes a candidate a follower (§5.2). */
export function followLeaderOf(state: RaftState, message: Message): void {
  // Election Safety (§5.2): two leaders in one term is a bug, never an input to tolerate.
  assert(state.role !== 'leader', () => `node ${message.from} leads term ${message.term} too`);
  if (state.role !== 'follower') becomeFollower(state, message.term, message.from);
}

/** Tells a stale leader or pre-candidate about our term so it steps down (§5.1). */
function answerStale(state: RaftState, message: Message): void {
  if (message.type === 'AppendEntries' || message.type === 'InstallSnapshot') {
    const fields = { index: 0, hintIndex: 0, hintTerm: 0, heartbeatSequence: 0 };
    state.send(appendEntriesRejection(state, message.from, fields));
  } else if (message.type === 'ReadIndex') {
    // Refused with our term: the follower learns it and fails the read rather than wait.
    state.send({
      type: 'ReadIndexResult',
      from: state.id,
      to: message.from,
      term: state.term,
      requestId: message.requestId,
      success: false,
      index: 0,
    });
  } else if (message.type === 'RequestVote' && message.preVote) {
    state.send({
      type: 'RequestVoteResult',
      from: state.id,
      to: message.from,
      term: state.term,
      voteGranted: false,
      preVote: true,
    });
  }
}
