import type { RaftInitialState } from '../../src/raft/raft-storage.js';
import type { Entry, HardState, SnapshotMetadata } from '../../src/raft/types.js';

/** A snapshot on the simulated disk: its metadata and its opaque bytes. */
export interface StoredSnapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** A snapshot being received chunk by chunk; `receivedBytes` is how much of `data` is written. */
interface StagedSnapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
  receivedBytes: number;
}

/**
 * A host broke the `RaftStorage` contract (a gap in the log, a chunk past the snapshot's end, an
 * install of a snapshot never staged). The simulator reports it as a failure of the driver or core.
 */
export class StorageContractError extends Error {
  override readonly name = 'StorageContractError';
}

/**
 * What one simulated disk holds: hard state, current snapshot, a staged snapshot and a contiguous
 * log. `MemoryStorage` keeps two of these, the durable one and the one with every write started so
 * far applied, and applies each operation to both, at call time and at fsync time.
 *
 * Invariant: `entries` are contiguous; when a snapshot exists the first entry's index is at most
 * snapshot.index + 1 (trailing entries may precede it).
 */
export class DiskState {
  hardState: HardState = { term: 0, vote: 0 };
  snapshot: StoredSnapshot | undefined = undefined;
  #staged: StagedSnapshot | undefined = undefined;
  #entries: Entry[] = [];

  clone(): DiskState {
    const copy = new DiskState();
    copy.hardState = this.hardState;
    copy.snapshot = this.snapshot;
    copy.#staged = this.#staged && { ...this.#staged, data: this.#staged.data.slice() };
    copy.#entries = [...this.#entries];
    return copy;
  }

  get entries(): readonly Entry[] {
    return this.#entries;
  }

  get snapshotIndex(): number {
    return this.snapshot?.metadata.index ?? 0;
  }

  /** Index of the last entry or of the snapshot, whichever is larger, or 0. */
  get lastIndex(): number {
    const last = this.#entries[this.#entries.length - 1];
    return Math.max(last?.index ?? 0, this.snapshotIndex);
  }

  entryAt(index: number): Entry | undefined {
    const first = this.#entries[0];
    if (first === undefined) return undefined;
    return this.#entries[index - first.index];
  }

  /** Term at `index` from the log or the snapshot; 0 at index 0; undefined when unknown. */
  termAt(index: number): number | undefined {
    if (index === 0) return 0;
    const entry = this.entryAt(index);
    if (entry !== undefined) return entry.term;
    if (index === this.snapshot?.metadata.index) return this.snapshot.metadata.term;
    return undefined;
  }

  initialState(): RaftInitialState {
    return {
      hardState: this.hardState,
      snapshot: this.snapshot?.metadata,
      entries: [...this.#entries],
    };
  }

  /** Replaces entries from `entries[0].index` on, appends the rest, then sets the hard state. */
  applyPersist(write: {
    readonly hardState?: HardState;
    readonly entries: readonly Entry[];
  }): void {
    const first = write.entries[0];
    if (first !== undefined) {
      checkContiguous(write.entries);
      if (first.index > this.lastIndex + 1) {
        throw new StorageContractError(
          `persist leaves a gap: entry ${first.index} after ${this.lastIndex}`,
        );
      }
      const kept = this.#entries.filter((entry) => entry.index < first.index);
      this.#entries = [...kept, ...write.entries];
    }
    if (write.hardState !== undefined) this.hardState = write.hardState;
  }

  /** Stages one chunk; offset 0 starts a new staged snapshot. */
  applyChunk(metadata: SnapshotMetadata, offset: number, data: Uint8Array): void {
    if (offset === 0) {
      this.#staged = { metadata, data: new Uint8Array(metadata.bytes), receivedBytes: 0 };
    }
    const staged = this.#staged;
    if (staged === undefined || !sameSnapshot(staged.metadata, metadata)) {
      throw new StorageContractError(
        `chunk at ${offset} of snapshot ${metadata.index} never started`,
      );
    }
    if (offset > staged.receivedBytes || offset + data.length > metadata.bytes) {
      throw new StorageContractError(
        `chunk [${offset}, ${offset + data.length}) of snapshot ${metadata.index} ` +
          `(${metadata.bytes} bytes, ${staged.receivedBytes} received) leaves a gap or overflows`,
      );
    }
    staged.data.set(data, offset);
    staged.receivedBytes = Math.max(staged.receivedBytes, offset + data.length);
  }

  /** Makes the staged snapshot current, then trims the log as `RaftStorage.installSnapshot` says. */
  applyInstall(
    metadata: SnapshotMetadata,
    options: { readonly keepLogAfter: boolean; readonly trailingEntries: number },
  ): void {
    const staged = this.#staged;
    if (staged === undefined || !sameSnapshot(staged.metadata, metadata)) {
      throw new StorageContractError(`install of snapshot ${metadata.index} that was never staged`);
    }
    if (staged.receivedBytes !== metadata.bytes) {
      throw new StorageContractError(
        `install of snapshot ${metadata.index} with ${staged.receivedBytes} of ${metadata.bytes} bytes`,
      );
    }
    if (metadata.index < this.snapshotIndex) {
      throw new StorageContractError(
        `install of snapshot ${metadata.index} over the newer snapshot ${this.snapshotIndex}`,
      );
    }
    this.snapshot = { metadata, data: staged.data };
    this.#staged = undefined;
    if (!options.keepLogAfter) {
      this.#entries = [];
      return;
    }
    // Entries that do not reach the snapshot's index could never be followed by the next entry,
    // so keeping them would leave a gap; a real disk would keep them, but no reader could use them.
    if (this.entryAt(metadata.index) === undefined) {
      this.#entries = [];
      return;
    }
    const firstKept = metadata.index - options.trailingEntries + 1;
    this.#entries = this.#entries.filter((entry) => entry.index >= firstKept);
  }

  /** Up to `length` bytes of the current snapshot at `offset`; throws if it is not current. */
  readChunk(metadata: SnapshotMetadata, offset: number, length: number): Uint8Array {
    const snapshot = this.snapshot;
    if (snapshot === undefined || !sameSnapshot(snapshot.metadata, metadata)) {
      throw new StorageContractError(`read of snapshot ${metadata.index}, which is not current`);
    }
    return snapshot.data.slice(offset, offset + length);
  }

  /** A crash in the middle of this persist: a prefix of its entries reached the disk, no more. */
  applyTornPersist(entries: readonly Entry[], keptCount: number): void {
    const first = entries[0];
    if (first === undefined || first.index > this.lastIndex + 1) return;
    this.#entries = [
      ...this.#entries.filter((entry) => entry.index < first.index),
      ...entries.slice(0, keptCount),
    ];
  }
}

function sameSnapshot(a: SnapshotMetadata, b: SnapshotMetadata): boolean {
  return a.index === b.index && a.term === b.term && a.bytes === b.bytes;
}

function checkContiguous(entries: readonly Entry[]): void {
  for (let position = 1; position < entries.length; position++) {
    const previous = entries[position - 1] as Entry;
    const entry = entries[position] as Entry;
    if (entry.index !== previous.index + 1) {
      throw new StorageContractError(
        `persist of non-contiguous entries ${previous.index}, ${entry.index}`,
      );
    }
  }
}
