import type { Done, RaftInitialState } from '../../../src/raft/raft-storage.js';
import type { Entry, HardState } from '../../../src/raft/types.js';
import { InstantStorage } from './instant-storage.js';

export interface PendingPersist {
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
}

/**
 * InstantStorage whose log and hard-state writes (`persist`) become durable only when the test
 * says so (`sync`), so a script can show what happens while an fsync runs: group commit, and
 * acknowledgements that wait for durability. A crash forgets every write not yet synced, as a
 * real disk forgets what was not fsynced. Snapshot operations stay instant.
 */
export class ManualStorage extends InstantStorage {
  readonly #pending: Array<{ write: PendingPersist; done: Done }> = [];
  /** Persists started since the harness last looked; it prints and clears them. */
  started: PendingPersist[] = [];

  constructor(initial?: RaftInitialState) {
    super(initial);
  }

  override persist(write: { hardState?: HardState; entries: readonly Entry[] }, done: Done): void {
    const pending = { hardState: write.hardState, entries: [...write.entries] };
    this.#pending.push({ write: pending, done });
    this.started.push(pending);
  }

  /**
   * Makes the writes pending now durable, in order, completing each. Writes that the completions
   * start stay pending: the driver keeps one persist in flight, so this is one persist.
   */
  sync(): number {
    const writes = this.#pending.splice(0, this.#pending.length);
    for (const { write, done } of writes) {
      const hardState = write.hardState === undefined ? {} : { hardState: write.hardState };
      super.persist({ entries: write.entries, ...hardState }, done);
    }
    return writes.length;
  }

  /** A crash: writes that were not synced never reach the disk. */
  forgetUnsynced(): number {
    const lost = this.#pending.length;
    this.#pending.length = 0;
    this.started = [];
    return lost;
  }
}
