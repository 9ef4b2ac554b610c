import { assert } from './assert.js';
import type { RaftState } from './raft-state.js';
import type { ReadIndexResult } from './types.js';

// The follower's half of reads served by followers; the leader's half is read-index.ts.

/**
 * A follower's read (thesis §6.4, reads served by followers): asks the leader it knows for a
 * read index. The answer (handleReadIndexResult) becomes a `readStates` entry as on a leader, and
 * the host serves the read once it applied that index. Fails at once without a known leader.
 */
export function forwardRead(state: RaftState, requestId: number): string | undefined {
  assert(state.role !== 'leader', 'a leader confirms its own reads');
  if (state.leaderId === 0) return 'no known leader';
  state.forwardedReads.push({ requestId, sentAtTick: state.ticks });
  state.send({
    type: 'ReadIndex',
    from: state.id,
    to: state.leaderId,
    term: state.term,
    requestId,
  });
  return undefined;
}

export function handleReadIndexResult(state: RaftState, message: ReadIndexResult): void {
  const position = state.forwardedReads.findIndex((read) => read.requestId === message.requestId);
  if (position < 0 || message.from !== state.leaderId) return; // failed already, or not ours
  state.forwardedReads.splice(position, 1);
  if (message.success) {
    state.readStates.push({ requestId: message.requestId, index: message.index });
  } else {
    state.emit({ type: 'read-failed', requestId: message.requestId, reason: 'the leader refused' });
  }
}

/**
 * Fails a follower's forwarded reads: all of them when its leader or term changed (an answer
 * from the old one is not trusted), or those unanswered for an election timeout (the request or
 * its answer was lost; the transport may drop messages).
 */
export function failForwardedReads(state: RaftState, reason: string, olderThanTick?: number): void {
  if (state.forwardedReads.length === 0) return;
  const failing =
    olderThanTick === undefined
      ? state.forwardedReads
      : state.forwardedReads.filter((read) => read.sentAtTick <= olderThanTick);
  if (failing.length === 0) return;
  state.forwardedReads = state.forwardedReads.filter((read) => !failing.includes(read));
  for (const read of failing) {
    state.emit({ type: 'read-failed', requestId: read.requestId, reason });
  }
}

/** Each tick of a follower: forwarded reads unanswered for an election timeout fail. */
export function expireForwardedReads(state: RaftState): void {
  failForwardedReads(
    state,
    'no answer from the leader',
    state.ticks - state.config.electionTimeoutTicks,
  );
}
