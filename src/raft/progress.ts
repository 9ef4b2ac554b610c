import { assert } from './assert.js';
import type { SnapshotMetadata } from './types.js';

/**
 * How the leader replicates to one follower (cf. etcd tracker/progress.go):
 * - `probe`: we do not know where the follower's log matches ours; send one AppendEntries and
 *   wait for its answer (or the next heartbeat) before sending another.
 * - `replicate`: the follower matched; pipeline AppendEntries optimistically, bounded by the
 *   in-flight window.
 * - `snapshot`: the entries the follower needs were compacted; stream it our snapshot.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** An unacknowledged AppendEntries: the last index it carried and its entry bytes. */
interface InflightAppend {
  readonly lastIndex: number;
  readonly bytes: number;
}

/** A snapshot transfer in progress to one follower. */
export interface SnapshotTransfer {
  readonly metadata: SnapshotMetadata;
  /** Where the next chunk starts. Invariant: 0 <= offset <= metadata.bytes. */
  offset: number;
  /** A chunk read or send is outstanding; no other starts until it is answered or times out. */
  busy: boolean;
  /** Ticks since the follower last acknowledged a chunk. */
  idleTicks: number;
}

export class Progress {
  /** Invariant: matchIndex < nextIndex. */
  matchIndex = 0;
  nextIndex: number;
  state: ProgressState = 'probe';
  /** In probe state: an AppendEntries is outstanding. Cleared by an answer or a heartbeat. */
  probeSent = false;
  /** The leader's tick when this follower last answered; check-quorum counts these (§6.2). */
  lastAnswerTick: number;
  /** Highest heartbeat sequence the follower echoed; ReadIndex counts these. */
  acknowledgedSequence = 0;
  /** Heartbeat rounds with appends in flight and no answer; see `broadcastHeartbeat`. */
  quietRounds = 0;
  snapshot: SnapshotTransfer | undefined;
  readonly #inflights: InflightAppend[] = [];
  #inflightBytes = 0;

  constructor(nextIndex: number, tick: number) {
    this.nextIndex = nextIndex;
    // A new leader gives every follower a full election timeout to answer it.
    this.lastAnswerTick = tick;
  }

  becomeProbe(): void {
    this.state = 'probe';
    this.probeSent = false;
    this.snapshot = undefined;
    this.nextIndex = this.matchIndex + 1;
    this.#clearInflights();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.snapshot = undefined;
    this.nextIndex = this.matchIndex + 1;
    this.#clearInflights();
  }

  becomeSnapshot(metadata: SnapshotMetadata): void {
    this.state = 'snapshot';
    this.snapshot = { metadata, offset: 0, busy: false, idleTicks: 0 };
    this.#clearInflights();
  }

  /** Whether the window allows another AppendEntries. */
  canSend(inflightMessagesMax: number, inflightBytesMax: number): boolean {
    switch (this.state) {
      case 'probe':
        return !this.probeSent;
      case 'replicate':
        return (
          this.#inflights.length < inflightMessagesMax && this.#inflightBytes < inflightBytesMax
        );
      case 'snapshot':
        return false;
    }
  }

  /** Records an AppendEntries carrying entries up to `lastIndex` (optimistic in replicate). */
  sentAppend(lastIndex: number, bytes: number): void {
    if (this.state === 'probe') {
      this.probeSent = true;
      return;
    }
    assert(this.state === 'replicate', 'append sent only in probe or replicate');
    if (lastIndex >= this.nextIndex) {
      this.#inflights.push({ lastIndex, bytes });
      this.#inflightBytes += bytes;
      this.nextIndex = lastIndex + 1;
    }
  }

  /**
   * A success for `index`: returns true when it moved matchIndex forward. Only an answer that
   * frees an in-flight append or moves the match shows the pipeline is flowing; a heartbeat's
   * answer only repeats the old match, so it leaves `quietRounds` and a waiting probe alone.
   */
  acknowledge(index: number): boolean {
    while (this.#inflights.length > 0 && (this.#inflights[0]?.lastIndex ?? Infinity) <= index) {
      this.#inflightBytes -= this.#inflights.shift()?.bytes ?? 0;
      this.quietRounds = 0;
    }
    if (index <= this.matchIndex) return false;
    this.quietRounds = 0;
    this.matchIndex = index;
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    return true;
  }

  inflightCount(): number {
    return this.#inflights.length;
  }

  #clearInflights(): void {
    this.quietRounds = 0;
    this.#inflights.length = 0;
    this.#inflightBytes = 0;
  }
}
