import type { Done, RaftInitialState, RaftStorage } from '../../src/raft/raft-storage.js';
import type { Entry, HardState, SnapshotMetadata } from '../../src/raft/types.js';
import { DiskState } from './disk-state.js';
import type { Prng } from './prng.js';
import type { ScheduledEvent, Scheduler } from './scheduler.js';

type Operation =
  | { readonly type: 'persist'; readonly hardState?: HardState; readonly entries: readonly Entry[] }
  | {
      readonly type: 'chunk';
      readonly metadata: SnapshotMetadata;
      readonly offset: number;
      readonly data: Uint8Array;
    }
  | {
      readonly type: 'install';
      readonly metadata: SnapshotMetadata;
      readonly options: { readonly keepLogAfter: boolean; readonly trailingEntries: number };
    }
  | {
      readonly type: 'read';
      readonly metadata: SnapshotMetadata;
      readonly offset: number;
      readonly length: number;
    };

interface PendingOperation {
  readonly operation: Operation;
  readonly complete: (data: Uint8Array | undefined) => void;
  readonly event: ScheduledEvent;
}

export interface MemoryStorageOptions {
  readonly scheduler: Scheduler;
  readonly prng: Prng;
  readonly fsyncMinMilliseconds: number;
  readonly fsyncMaxMilliseconds: number;
  /** Chance that a crash during a persist leaves a prefix of its entries on disk. */
  readonly tornPersistProbability: number;
  /**
   * Runs a completion callback in the owning process. A paused node queues it until it resumes;
   * the storage itself (the disk) keeps working.
   */
  readonly gate?: (callback: () => void) => void;
  /** Receives a description of each operation as it starts and completes, for traces. */
  readonly trace?: (text: () => string) => void;
  /** Sees every persist before it starts; the invariant checker compares it with the log. */
  readonly onPersist?: (write: {
    readonly hardState?: HardState;
    readonly entries: readonly Entry[];
  }) => void;
}

/** Most operations waiting for their fsync; the driver keeps one persist in flight, so a few do. */
export const pendingOperationsMax = 10_000;

export interface StorageStats {
  persists: number;
  snapshotsInstalled: number;
  crashesLosingWrites: number;
  tornPersists: number;
}

/**
 * `RaftStorage` in memory, with a disk that forgets. Every operation completes after an fsync delay
 * drawn from the PRNG, in the order it was called, and only then reaches the durable state and
 * calls `done`. `crash()` forgets every operation not yet complete (their `done` never runs), and
 * sometimes keeps a prefix of the entries of the persist that was being written, without
 * acknowledging it: the torn write the contract allows ("recovery yields a prefix").
 *
 * The storage outlives the node objects that use it: a restarted node calls `load()` on the same
 * instance.
 */
export class MemoryStorage implements RaftStorage {
  readonly stats: StorageStats = {
    persists: 0,
    snapshotsInstalled: 0,
    crashesLosingWrites: 0,
    tornPersists: 0,
  };
  /** What survives a crash. */
  #durable = new DiskState();
  /** The durable state with every operation started so far applied, as a reader would see it. */
  #latest = new DiskState();
  #pending: PendingOperation[] = [];
  /** Completion time of the last operation started; the next completes no earlier. */
  #lastCompletionTime = 0;
  readonly #options: MemoryStorageOptions;

  constructor(options: MemoryStorageOptions) {
    if (
      options.fsyncMinMilliseconds < 0 ||
      options.fsyncMaxMilliseconds < options.fsyncMinMilliseconds
    ) {
      throw new RangeError('fsync bounds must satisfy 0 <= min <= max');
    }
    this.#options = options;
  }

  /** The state a restarted node would find. */
  get durable(): DiskState {
    return this.#durable;
  }

  /** The state once every write started so far completes. */
  get latest(): DiskState {
    return this.#latest;
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Writes a node's first state, durably and at once: what `dqlite-ts init` does before start. */
  bootstrap(state: RaftInitialState): void {
    if (this.#durable.lastIndex !== 0 || this.#pending.length > 0) {
      throw new RangeError('bootstrap() needs an empty storage');
    }
    this.#durable.applyPersist({ hardState: state.hardState, entries: state.entries });
    this.#latest = this.#durable.clone();
  }

  load(): RaftInitialState {
    return this.#durable.initialState();
  }

  persist(
    write: { readonly hardState?: HardState; readonly entries: readonly Entry[] },
    done: Done,
  ): void {
    this.stats.persists++;
    this.#options.onPersist?.(write);
    const operation: Operation = {
      type: 'persist',
      entries: write.entries,
      ...optionalHardState(write),
    };
    this.#start(operation, () => done());
  }

  writeSnapshotChunk(
    metadata: SnapshotMetadata,
    offset: number,
    data: Uint8Array,
    done: Done,
  ): void {
    // The caller may reuse its buffer once the call returns; a disk would have copied it too.
    this.#start({ type: 'chunk', metadata, offset, data: data.slice() }, () => done());
  }

  installSnapshot(
    metadata: SnapshotMetadata,
    options: { readonly keepLogAfter: boolean; readonly trailingEntries: number },
    done: Done,
  ): void {
    this.stats.snapshotsInstalled++;
    this.#start({ type: 'install', metadata, options }, () => done());
  }

  readSnapshotChunk(
    metadata: SnapshotMetadata,
    offset: number,
    length: number,
    done: (error: Error | undefined, data: Uint8Array) => void,
  ): void {
    this.#start({ type: 'read', metadata, offset, length }, (data) => {
      if (data === undefined)
        done(new Error(`snapshot ${metadata.index} is no longer current`), new Uint8Array(0));
      else done(undefined, data);
    });
  }

  /**
   * The machine loses power: operations not yet complete are forgotten and never acknowledged;
   * the first of them, if it is a persist being written, may leave a prefix of its entries.
   */
  crash(): void {
    const inProgress = this.#pending[0];
    if (this.#pending.length > 0) this.stats.crashesLosingWrites++;
    for (const pending of this.#pending) this.#options.scheduler.cancel(pending.event);
    this.#pending = [];
    const operation = inProgress?.operation;
    if (operation?.type === 'persist' && operation.entries.length > 0) {
      const prng = this.#options.prng;
      if (prng.chance(this.#options.tornPersistProbability)) {
        this.stats.tornPersists++;
        this.#options.trace?.(() => `disk torn persist of ${describeOperation(operation)}`);
        this.#durable.applyTornPersist(
          operation.entries,
          prng.int(0, operation.entries.length - 1),
        );
      }
    }
    this.#latest = this.#durable.clone();
    this.#options.trace?.(() => `disk crash: durable log ends at ${this.#durable.lastIndex}`);
  }

  #start(operation: Operation, complete: (data: Uint8Array | undefined) => void): void {
    if (this.#pending.length >= pendingOperationsMax) {
      throw new RangeError(`more than ${pendingOperationsMax} storage operations pending`);
    }
    this.#options.trace?.(() => `disk start ${describeOperation(operation)}`);
    // Applying to the latest state at call time throws on a contract violation right where the
    // caller made it.
    apply(this.#latest, operation);
    const options = this.#options;
    const scheduler = options.scheduler;
    const delay = options.prng.int(options.fsyncMinMilliseconds, options.fsyncMaxMilliseconds);
    const time = Math.max(this.#lastCompletionTime, scheduler.now + delay);
    this.#lastCompletionTime = time;
    const event = scheduler.at(time, `fsync ${operation.type}`, () => this.#complete());
    this.#pending.push({ operation, complete, event });
  }

  #complete(): void {
    const pending = this.#pending.shift();
    if (pending === undefined) throw new Error('fsync completed with nothing pending');
    const data = apply(this.#durable, pending.operation);
    this.#options.trace?.(() => `disk done ${describeOperation(pending.operation)}`);
    const gate = this.#options.gate ?? ((callback: () => void) => callback());
    gate(() => pending.complete(data));
  }
}

/** Applies one operation to a disk state; a read returns its data, or undefined if not current. */
function apply(state: DiskState, operation: Operation): Uint8Array | undefined {
  switch (operation.type) {
    case 'persist':
      state.applyPersist(operation);
      return undefined;
    case 'chunk':
      state.applyChunk(operation.metadata, operation.offset, operation.data);
      return undefined;
    case 'install':
      state.applyInstall(operation.metadata, operation.options);
      return undefined;
    case 'read':
      return readIfCurrent(state, operation);
  }
}

function readIfCurrent(
  state: DiskState,
  operation: {
    readonly metadata: SnapshotMetadata;
    readonly offset: number;
    readonly length: number;
  },
): Uint8Array | undefined {
  const current = state.snapshot?.metadata;
  if (current?.index !== operation.metadata.index || current.term !== operation.metadata.term)
    return undefined;
  return state.readChunk(operation.metadata, operation.offset, operation.length);
}

function optionalHardState(write: { readonly hardState?: HardState }): { hardState?: HardState } {
  return write.hardState === undefined ? {} : { hardState: write.hardState };
}

function describeOperation(operation: Operation): string {
  switch (operation.type) {
    case 'persist': {
      const first = operation.entries[0]?.index;
      const last = operation.entries.at(-1)?.index;
      const hardState = operation.hardState;
      return (
        `persist entries ${first === undefined ? 'none' : `${first}..${last}`}` +
        (hardState === undefined ? '' : ` term ${hardState.term} vote ${hardState.vote}`)
      );
    }
    case 'chunk':
      return `chunk of snapshot ${operation.metadata.index}/t${operation.metadata.term} at ${operation.offset} (${operation.data.length} bytes)`;
    case 'install':
      return `install snapshot ${operation.metadata.index}/t${operation.metadata.term} keepLogAfter=${operation.options.keepLogAfter}`;
    case 'read':
      return `read snapshot ${operation.metadata.index} at ${operation.offset}`;
  }
}
