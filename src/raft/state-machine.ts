import type { Entry, SnapshotMetadata } from './types.js';

/**
 * Most bytes one snapshot read asks for, in either direction: the driver copies a machine's
 * snapshot into storage in reads of this size, and a restoring machine may ask for no more at a
 * time. So a snapshot, whatever its size, passes through memory one chunk at a time.
 */
export const snapshotReadBytesMax = 1024 * 1024;

/** Completes a read: exactly the bytes asked for, or an error. */
export type ReadChunkDone = (error: Error | undefined, data?: Uint8Array) => void;

/** Reads `length` bytes (1..`snapshotReadBytesMax`) at `offset` of one snapshot's data. */
export type ReadChunk = (offset: number, length: number, done: ReadChunkDone) => void;

/** A snapshot a state machine took, readable in chunks until it is released. */
export interface SnapshotSource {
  /** The applied index the snapshot reflects. */
  readonly index: number;
  /** At least 1: every state, even an empty one, has a format to recognise it by. */
  readonly bytes: number;
  /** Its data never changes until `release`. */
  readonly read: ReadChunk;
  /** The driver has stored the snapshot, or gave up on it: its resources may go. */
  release(): void;
}

/**
 * What Raft replicates into (§5.3, "Log compaction" §7). Work that cannot finish at once
 * completes through a callback, as `RaftStorage` does, never through a promise: the simulator
 * runs a whole schedule without yielding to the event loop, so a promise would never settle in
 * it. A callback may run at once (inside the call) or later.
 *
 * The driver guarantees:
 * - `apply` receives every committed entry once, in index order, each one index after the last
 *   entry applied or the snapshot restored; the first apply of a process without a restore is
 *   entry 1.
 * - `snapshot` is called only with nothing else of the machine's in flight (no snapshot, no
 *   restore). Applies may continue while it runs; the source is released before another
 *   snapshot or a restore is asked for.
 * - While a restore runs, nothing else is called: later applies wait until its `done`.
 * - A source's `read` has one call in flight at a time.
 * - After the driver stopped (a crash, a fatal error), callbacks are ignored, and a source that
 *   arrives then is released.
 *
 * The machine guarantees:
 * - `apply` takes the entry at once: any later call (and any query its host serves) sees it.
 * - Each `done` runs exactly once. An error in any of them is fatal: the driver stops the node
 *   (`RaftDriverOptions.onFatal`), since Raft cannot go on without its state machine.
 * - `snapshot` answers a source whose `index` is the applied index at the call, or undefined when
 *   it cannot take one now (the driver asks again later).
 * - `restore` reads the snapshot's `metadata.bytes` through `read`, one chunk of at most
 *   `snapshotReadBytesMax` at a time, and calls `done` once its state is the snapshot's, as of
 *   `metadata.index`.
 */
export interface StateMachine {
  apply(entry: Entry): void;
  snapshot(done: (error: Error | undefined, source?: SnapshotSource) => void): void;
  restore(metadata: SnapshotMetadata, read: ReadChunk, done: (error?: Error) => void): void;
}
