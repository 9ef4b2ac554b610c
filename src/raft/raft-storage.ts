import type { Entry, HardState, SnapshotMetadata } from './types.js';

/** What a node finds on disk at startup. */
export interface RaftInitialState {
  readonly hardState: HardState;
  /** The current snapshot, if any: its data is readable through `readSnapshotChunk`. */
  readonly snapshot: SnapshotMetadata | undefined;
  /**
   * The durable log, contiguous. Invariant: when a snapshot exists, the first entry's index is
   * <= snapshot.index + 1 (trailing entries before the snapshot may remain).
   */
  readonly entries: readonly Entry[];
}

export type Done = (error?: Error) => void;

/**
 * The durable side of Raft, as the host drives it (see `Ready` for the order). Operations
 * complete in the order they are called; `done` runs once the effect is durable (fsynced, with
 * the directory entry fsynced where a file was created or renamed). Implementations: the file
 * storage in `src/storage`, and the simulator's in-memory storage that forgets what was not
 * durable when a node crashes.
 */
export interface RaftStorage {
  /** Reads the durable state. Throws a `StorageCorruptError` naming file and offset on damage. */
  load(): RaftInitialState;
  /**
   * Writes `entries` (replacing stored entries from `entries[0].index` on) and then `hardState`.
   * Either may be absent. After a crash, recovery yields a prefix of what was written.
   */
  persist(
    write: { readonly hardState?: HardState; readonly entries: readonly Entry[] },
    done: Done,
  ): void;
  /**
   * Stages one chunk of an incoming or locally taken snapshot. Offset 0 starts over. Staged data
   * need not be durable when `done` runs: a restart discards it, and `installSnapshot` syncs it.
   */
  writeSnapshotChunk(
    metadata: SnapshotMetadata,
    offset: number,
    data: Uint8Array,
    done: Done,
  ): void;
  /**
   * Makes the staged snapshot current (atomically) and drops older ones. Then, unless
   * `keepLogAfter`, discards every log entry; with it, discards entries <= the snapshot's index
   * except the last `trailingEntries`.
   */
  installSnapshot(
    metadata: SnapshotMetadata,
    options: { readonly keepLogAfter: boolean; readonly trailingEntries: number },
    done: Done,
  ): void;
  /** Reads `length` bytes (fewer at the end) of the current snapshot's data at `offset`. */
  readSnapshotChunk(
    metadata: SnapshotMetadata,
    offset: number,
    length: number,
    done: (error: Error | undefined, data: Uint8Array) => void,
  ): void;
}
