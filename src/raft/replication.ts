import { assert } from './assert.js';
import type { Progress } from './progress.js';
import { quorumIndex } from './quorum.js';
import type { RaftState } from './raft-state.js';
import type { SnapshotRead } from './ready.js';
import type { AppendEntries, AppendEntriesResult, InstallSnapshotResult, NodeId } from './types.js';

/**
 * The sending side of replication on the leader: pipelined AppendEntries within each follower's
 * window (§5.3, thesis §10.2.1), fast back-off on rejection, snapshots for followers whose next
 * entry was compacted (§7), and the commit rule (§5.3, §5.4.2).
 */

/** Sends every peer what its window allows. Called after each input, so proposals pipeline. */
export function replicateToAll(state: RaftState): void {
  for (const [peer, progress] of state.progress) replicateTo(state, peer, progress);
}

function replicateTo(state: RaftState, peer: NodeId, progress: Progress): void {
  const { inflightMessagesMax, inflightBytesMax } = state.config;
  // Bounded: each pass either sends (advancing nextIndex or pausing a probe) or stops.
  for (let sent = 0; sent <= inflightMessagesMax; sent++) {
    if (progress.state === 'snapshot') {
      requestSnapshotChunk(state, peer, progress);
      return;
    }
    if (!progress.canSend(inflightMessagesMax, inflightBytesMax)) return;
    const hasEntries = progress.nextIndex <= state.log.lastIndex();
    if (!hasEntries && progress.state === 'replicate') return;
    if (!sendAppend(state, peer, progress)) return;
    if (progress.state === 'probe') return;
  }
}

/** Sends one AppendEntries from nextIndex; returns false when a snapshot is needed instead. */
function sendAppend(state: RaftState, peer: NodeId, progress: Progress): boolean {
  const log = state.log;
  const prevLogIndex = progress.nextIndex - 1;
  const prevLogTerm = log.term(prevLogIndex);
  if (prevLogTerm === undefined) {
    startSnapshot(state, peer, progress);
    return false;
  }
  const entries = log.slice(progress.nextIndex, log.lastIndex(), state.config.appendBytesMax);
  const bytes = entries.reduce((total, entry) => total + entry.data.byteLength, 0);
  state.send(
    appendEntries(state, peer, {
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: log.commitIndex,
    }),
  );
  progress.sentAppend(prevLogIndex + entries.length, bytes);
  return true;
}

/**
 * A heartbeat: an empty AppendEntries anchored at the follower's known match, so it always
 * matches, advances the follower's commit index and carries the sequence ReadIndex counts.
 */
export function sendHeartbeat(state: RaftState, peer: NodeId, progress: Progress): void {
  const log = state.log;
  let prevLogIndex = Math.min(progress.matchIndex, log.lastIndex());
  let prevLogTerm = log.term(prevLogIndex);
  if (prevLogTerm === undefined) {
    // The match point was compacted: anchor at our base, which a follower that matched past it
    // holds too; if not, it rejects and nothing changes.
    prevLogIndex = log.baseIndex;
    prevLogTerm = log.term(prevLogIndex) ?? 0;
  }
  const leaderCommit = Math.min(log.commitIndex, prevLogIndex);
  state.send(appendEntries(state, peer, { prevLogIndex, prevLogTerm, entries: [], leaderCommit }));
}

function appendEntries(
  state: RaftState,
  to: NodeId,
  fields: Pick<AppendEntries, 'prevLogIndex' | 'prevLogTerm' | 'entries' | 'leaderCommit'>,
): AppendEntries {
  const header = { type: 'AppendEntries', from: state.id, to, term: state.term } as const;
  return { ...header, ...fields, heartbeatSequence: state.heartbeatSequence };
}

export function handleAppendEntriesResult(state: RaftState, result: AppendEntriesResult): void {
  const progress = state.progress.get(result.from);
  if (progress === undefined) return;
  progress.lastAnswerTick = state.ticks;
  progress.acknowledgedSequence = Math.max(progress.acknowledgedSequence, result.heartbeatSequence);
  if (result.success) {
    // Only the answer to the probe itself says where the logs match; a heartbeat's success just
    // confirms the old match and must not start pipelining from there.
    const probeAnswered = progress.state === 'probe' && result.index >= progress.nextIndex - 1;
    const moved = progress.acknowledge(result.index);
    if (probeAnswered) progress.becomeReplicate();
    if (moved) maybeCommit(state);
    return;
  }
  if (progress.state === 'snapshot') {
    resumeQuietSnapshot(state, progress);
    return;
  }
  // Stale rejections: of an index already matched, or of a probe we no longer wait for.
  if (result.index <= progress.matchIndex) return;
  if (progress.state === 'probe' && result.index !== progress.nextIndex - 1) return;
  progress.becomeProbe();
  progress.nextIndex = Math.max(progress.matchIndex + 1, nextIndexFromHint(state, result) + 1);
}

/** The largest index <= hintIndex where our term is <= hintTerm (the follower's term there). */
function nextIndexFromHint(state: RaftState, result: AppendEntriesResult): number {
  const log = state.log;
  let index = Math.min(result.hintIndex, result.index - 1, log.lastIndex());
  while (index > log.baseIndex) {
    const term = log.term(index);
    if (term === undefined || term <= result.hintTerm) break;
    index--;
  }
  return Math.max(index, 0);
}

/**
 * §5.3/§5.4.2: commit the highest index stored by a majority of voters, if it is of the current
 * term. The leader counts its own durable index, not its last index, as its vote.
 */
export function maybeCommit(state: RaftState): boolean {
  const log = state.log;
  const index = quorumIndex(state.voters(), (id) =>
    id === state.id ? log.durableIndex : (state.progress.get(id)?.matchIndex ?? 0),
  );
  if (index <= log.commitIndex || log.term(index) !== state.term) return false;
  log.commitTo(index);
  return true;
}

function startSnapshot(state: RaftState, peer: NodeId, progress: Progress): void {
  const snapshot = state.snapshot;
  assert(
    snapshot !== undefined,
    `entries before ${state.log.firstIndex()} were compacted into a snapshot`,
  );
  progress.becomeSnapshot(snapshot);
  requestSnapshotChunk(state, peer, progress);
}

/** Asks the host for the next chunk of the snapshot; `snapshotRead` sends it. */
function requestSnapshotChunk(state: RaftState, peer: NodeId, progress: Progress): void {
  const transfer = progress.snapshot;
  if (transfer === undefined || transfer.busy) return;
  transfer.busy = true;
  const length = Math.min(
    state.config.snapshotChunkBytes,
    transfer.metadata.bytes - transfer.offset,
  );
  state.snapshotReads.push({
    to: peer,
    metadata: transfer.metadata,
    offset: transfer.offset,
    length,
  });
}

/** The host read a chunk; send it if the transfer still wants it. */
export function sendSnapshotChunk(state: RaftState, read: SnapshotRead, data: Uint8Array): void {
  const transfer = state.progress.get(read.to)?.snapshot;
  if (state.role !== 'leader' || transfer === undefined) return;
  if (transfer.metadata.index !== read.metadata.index || transfer.offset !== read.offset) return;
  state.send({
    type: 'InstallSnapshot',
    from: state.id,
    to: read.to,
    term: state.term,
    metadata: transfer.metadata,
    offset: read.offset,
    data,
    done: read.offset + data.byteLength >= transfer.metadata.bytes,
    heartbeatSequence: state.heartbeatSequence,
  });
}

/** The host could not read the chunk (the snapshot was replaced): start over with the current one. */
export function restartSnapshot(state: RaftState, read: SnapshotRead): void {
  const progress = state.progress.get(read.to);
  if (state.role !== 'leader' || progress?.snapshot === undefined) return;
  startSnapshot(state, read.to, progress);
}

export function handleInstallSnapshotResult(state: RaftState, result: InstallSnapshotResult): void {
  const progress = state.progress.get(result.from);
  if (progress === undefined) return;
  progress.lastAnswerTick = state.ticks;
  progress.acknowledgedSequence = Math.max(progress.acknowledgedSequence, result.heartbeatSequence);
  const transfer = progress.snapshot;
  if (transfer === undefined || transfer.metadata.index !== result.snapshotIndex) return;
  if (result.installed) {
    progress.acknowledge(result.snapshotIndex);
    progress.becomeProbe();
    maybeCommit(state);
    return;
  }
  transfer.offset = Math.min(result.nextOffset, transfer.metadata.bytes);
  transfer.busy = false;
  transfer.idleTicks = 0;
}

/**
 * A follower in snapshot state answered a heartbeat, so it is reachable: if its chunk has gone
 * unanswered for two heartbeat rounds, the chunk or its answer was lost. Resend from the last
 * acknowledged offset now rather than after the full snapshot timeout (a partition that heals).
 */
function resumeQuietSnapshot(state: RaftState, progress: Progress): void {
  const transfer = progress.snapshot;
  if (transfer === undefined || !transfer.busy) return;
  if (transfer.idleTicks < 2 * state.config.heartbeatTicks) return;
  transfer.busy = false;
  transfer.idleTicks = 0;
}

/** Ticks snapshot transfers; one silent for too long resends from the last acknowledged offset. */
export function tickSnapshotTransfers(state: RaftState): void {
  for (const progress of state.progress.values()) {
    const transfer = progress.snapshot;
    if (transfer === undefined) continue;
    transfer.idleTicks += 1;
    if (transfer.idleTicks >= state.config.snapshotTimeoutTicks) {
      transfer.busy = false;
      transfer.idleTicks = 0;
    }
  }
}
