import type { Done, RaftInitialState, RaftStorage } from '../../../src/raft/raft-storage.js';
import type { Entry, HardState, SnapshotMetadata } from '../../../src/raft/types.js';

/**
 * RaftStorage in memory whose every write is durable at once (done runs synchronously). For
 * scenario tests that control message delivery by hand; the simulator's storage models fsync
 * delays and crashes instead.
 */
export class InstantStorage implements RaftStorage {
  hardState: HardState = { term: 0, vote: 0 };
  entries: Entry[] = [];
  snapshot: { metadata: SnapshotMetadata; data: Uint8Array } | undefined;
  #staged: { index: number; chunks: Uint8Array[] } | undefined;

  constructor(initial?: RaftInitialState) {
    if (initial !== undefined) {
      this.hardState = initial.hardState;
      this.entries = [...initial.entries];
    }
  }

  load(): RaftInitialState {
    return {
      hardState: this.hardState,
      snapshot: this.snapshot?.metadata,
      entries: [...this.entries],
    };
  }

  persist(write: { hardState?: HardState; entries: readonly Entry[] }, done: Done): void {
    const first = write.entries[0];
    if (first !== undefined) {
      this.entries = this.entries.filter((entry) => entry.index < first.index);
      const last = this.entries.at(-1);
      if (last !== undefined && last.index + 1 !== first.index) {
        throw new Error(`gap: stored up to ${last.index}, writing from ${first.index}`);
      }
      this.entries.push(...write.entries);
    }
    if (write.hardState !== undefined) this.hardState = write.hardState;
    done();
  }

  writeSnapshotChunk(
    metadata: SnapshotMetadata,
    offset: number,
    data: Uint8Array,
    done: Done,
  ): void {
    if (offset === 0) this.#staged = { index: metadata.index, chunks: [] };
    this.#staged?.chunks.push(data);
    done();
  }

  installSnapshot(
    metadata: SnapshotMetadata,
    options: { keepLogAfter: boolean; trailingEntries: number },
    done: Done,
  ): void {
    const staged = this.#staged;
    if (staged === undefined || staged.index !== metadata.index) throw new Error('nothing staged');
    this.snapshot = { metadata, data: Buffer.concat(staged.chunks) };
    this.#staged = undefined;
    if (!options.keepLogAfter) this.entries = [];
    else {
      const keepFrom = metadata.index - options.trailingEntries + 1;
      this.entries = this.entries.filter((entry) => entry.index >= keepFrom);
    }
    done();
  }

  readSnapshotChunk(
    metadata: SnapshotMetadata,
    offset: number,
    length: number,
    done: (error: Error | undefined, data: Uint8Array) => void,
  ): void {
    const snapshot = this.snapshot;
    if (snapshot === undefined || snapshot.metadata.index !== metadata.index) {
      done(new Error(`snapshot ${metadata.index} is not current`), new Uint8Array(0));
      return;
    }
    done(undefined, snapshot.data.subarray(offset, offset + length));
  }
}
