import { assert } from './assert.js';
import { setLeader } from './election.js';
import type { RaftState } from './raft-state.js';
import type { SnapshotWrite } from './ready.js';
import {
  EntryType,
  type AppendEntries,
  type AppendEntriesResult,
  type InstallSnapshot,
  type InstallSnapshotResult,
} from './types.js';

/**
 * The receiving side of replication: AppendEntries (§5.3) and InstallSnapshot (§7). The caller
 * has already made this node a follower of `message.term`.
 */

export function handleAppendEntries(state: RaftState, message: AppendEntries): void {
  setLeader(state, message.from);
  state.electionElapsed = 0;
  // While a snapshot is being installed the log must not move; the leader will retry.
  if (state.reception?.writing === true) return;
  const log = state.log;
  let prevIndex = message.prevLogIndex;
  let prevTerm = message.prevLogTerm;
  let entries = message.entries;
  if (prevIndex < log.commitIndex) {
    // Everything up to our commit index already matches the leader's log (Log Matching, §5.3);
    // start the comparison there, where we still know the term.
    entries = entries.slice(log.commitIndex - prevIndex);
    prevIndex = log.commitIndex;
    const committedTerm = log.term(prevIndex);
    assert(committedTerm !== undefined, `term of committed index ${prevIndex} is known`);
    prevTerm = committedTerm;
  }
  if (!log.matchTerm(prevIndex, prevTerm)) {
    reject(state, message);
    return;
  }
  // Entries mean the leader found where our logs match and moved on from any snapshot it was
  // sending. (Its heartbeats, anchored at our old match, always match: they abandon nothing.)
  if (state.reception !== undefined && entries.length > 0) state.reception = undefined;
  const truncatedAt = log.appendFromLeader(entries);
  if (truncatedAt !== undefined) onTruncated(state, truncatedAt);
  for (const entry of entries) {
    if (entry.type === EntryType.configuration && entry.index > state.configurationIndex()) {
      state.appendConfigurationEntry(entry.index, entry.data);
    }
  }
  const lastNewIndex = message.prevLogIndex + message.entries.length;
  log.commitTo(Math.min(message.leaderCommit, lastNewIndex));
  const result: AppendEntriesResult = {
    type: 'AppendEntriesResult',
    from: state.id,
    to: message.from,
    term: state.term,
    success: true,
    index: Math.max(lastNewIndex, log.commitIndex),
    hintIndex: 0,
    hintTerm: 0,
    heartbeatSequence: message.heartbeatSequence,
  };
  // The success promises the entries are durable here (§5.3 "after persisting"): send it after
  // the persist of everything we hold, unless it only confirms what is already durable.
  if (result.index <= log.durableIndex) state.send(result);
  else state.sendAfterPersist(result);
}

/**
 * A conflicting suffix was removed (§5.3 step 3): configurations it set no longer apply, and any
 * acknowledgement not yet handed to the host that claimed those entries would now be a lie.
 */
function onTruncated(state: RaftState, index: number): void {
  state.truncateConfigurations(index);
  state.messagesAfterPersist = state.messagesAfterPersist.filter(
    (message) =>
      !(message.type === 'AppendEntriesResult' && message.success && message.index >= index),
  );
}

/**
 * A rejection with a hint for fast back-off: the largest index <= the leader's prevLogIndex whose
 * term is <= the leader's prevLogTerm, so one round trip skips a whole conflicting term.
 */
function reject(state: RaftState, message: AppendEntries): void {
  const log = state.log;
  let hintIndex = Math.min(message.prevLogIndex, log.lastIndex());
  while (hintIndex > log.commitIndex) {
    const term = log.term(hintIndex);
    if (term === undefined || term <= message.prevLogTerm) break;
    hintIndex--;
  }
  state.send(
    appendEntriesRejection(state, message.from, {
      index: message.prevLogIndex,
      hintIndex,
      hintTerm: log.term(hintIndex) ?? 0,
      heartbeatSequence: message.heartbeatSequence,
    }),
  );
}

/** An AppendEntriesResult refusing `fields.index`; from a stale term it only carries our term. */
export function appendEntriesRejection(
  state: RaftState,
  to: number,
  fields: Pick<AppendEntriesResult, 'index' | 'hintIndex' | 'hintTerm' | 'heartbeatSequence'>,
): AppendEntriesResult {
  return {
    type: 'AppendEntriesResult',
    from: state.id,
    to,
    term: state.term,
    success: false,
    ...fields,
  };
}

export function handleInstallSnapshot(state: RaftState, message: InstallSnapshot): void {
  setLeader(state, message.from);
  state.electionElapsed = 0;
  const metadata = message.metadata;
  if (metadata.index <= state.log.commitIndex) {
    // We already hold everything the snapshot covers.
    snapshotAnswer(state, message.from, message, { nextOffset: metadata.bytes, installed: true });
    return;
  }
  let reception = state.reception;
  if (reception?.writing === true) return;
  const sameSnapshot =
    reception !== undefined &&
    reception.metadata.index === metadata.index &&
    reception.metadata.term === metadata.term &&
    reception.metadata.bytes === metadata.bytes;
  if (!sameSnapshot || reception === undefined) {
    if (message.offset !== 0) {
      snapshotAnswer(state, message.from, message, { nextOffset: 0, installed: false });
      return;
    }
    reception = {
      metadata,
      leaderId: message.from,
      nextOffset: 0,
      heartbeatSequence: 0,
      writing: false,
    };
    state.reception = reception;
  }
  if (message.offset !== reception.nextOffset) {
    snapshotAnswer(state, message.from, message, {
      nextOffset: reception.nextOffset,
      installed: false,
    });
    return;
  }
  reception.writing = true;
  reception.heartbeatSequence = message.heartbeatSequence;
  // A new leader may resume the same snapshot: answer whoever sent the chunk.
  reception.leaderId = message.from;
  state.snapshotWrites.push({
    metadata,
    offset: message.offset,
    data: message.data,
    done: message.done,
    keepLogAfter: message.done && state.log.matchTerm(metadata.index, metadata.term),
  });
}

/** The host staged (and, for the last chunk, installed) one chunk. */
export function snapshotChunkWritten(state: RaftState, write: SnapshotWrite): void {
  const reception = state.reception;
  assert(reception !== undefined && reception.writing, 'a snapshot write was outstanding');
  assert(
    reception.metadata.index === write.metadata.index,
    'the written chunk is the one we asked for',
  );
  reception.writing = false;
  reception.nextOffset = write.offset + write.data.byteLength;
  const answer = { heartbeatSequence: reception.heartbeatSequence, metadata: write.metadata };
  if (!write.done) {
    snapshotAnswer(state, reception.leaderId, answer, {
      nextOffset: reception.nextOffset,
      installed: false,
    });
    return;
  }
  installSnapshotInMemory(state, write);
  state.reception = undefined;
  snapshotAnswer(state, reception.leaderId, answer, {
    nextOffset: write.metadata.bytes,
    installed: true,
  });
}

function installSnapshotInMemory(state: RaftState, write: SnapshotWrite): void {
  const metadata = write.metadata;
  const log = state.log;
  assert(metadata.index > log.commitIndex, 'an installed snapshot is ahead of our commit index');
  assert(
    write.keepLogAfter === log.matchTerm(metadata.index, metadata.term),
    'the log did not change while the snapshot was written',
  );
  if (write.keepLogAfter) {
    log.commitIndex = metadata.index;
    log.appliedIndex = metadata.index;
    log.durableIndex = Math.max(log.durableIndex, metadata.index);
  } else {
    log.resetTo(metadata.index, metadata.term);
    state.messagesAfterPersist = state.messagesAfterPersist.filter(
      (message) => message.type !== 'AppendEntriesResult',
    );
  }
  state.snapshot = metadata;
  state.configurations = [
    { index: metadata.configurationIndex, configuration: metadata.configuration },
  ];
  for (const entry of log.entries) {
    if (entry.type === EntryType.configuration && entry.index > metadata.index) {
      state.appendConfigurationEntry(entry.index, entry.data);
    }
  }
  state.restoreSnapshot = metadata;
}

function snapshotAnswer(
  state: RaftState,
  to: number,
  request: Pick<InstallSnapshot, 'metadata' | 'heartbeatSequence'>,
  outcome: { nextOffset: number; installed: boolean },
): void {
  const result: InstallSnapshotResult = {
    type: 'InstallSnapshotResult',
    from: state.id,
    to,
    term: state.term,
    snapshotIndex: request.metadata.index,
    nextOffset: outcome.nextOffset,
    installed: outcome.installed,
    rejected: false,
    heartbeatSequence: request.heartbeatSequence,
  };
  // "installed" promises durable state, so it waits for any persist in flight.
  if (outcome.installed) state.sendAfterPersist(result);
  else state.send(result);
}
