import { assert } from './assert.js';
import type { MembershipChange } from './configuration.js';
import type { MembershipResult, ProposeResult, RaftCore } from './raft-core.js';
import type { RaftStorage } from './raft-storage.js';
import type { RaftTransport } from './raft-transport.js';
import type {
  PersistToken,
  RaftEvent,
  Ready,
  ReadState,
  SnapshotRead,
  SnapshotWrite,
} from './ready.js';
import type { Entry, Message, NodeId, SnapshotMetadata } from './types.js';

/** What Raft replicates into: applies committed entries in order, snapshots and restores. */
export interface StateMachine {
  apply(entry: Entry): void;
  /**
   * The state after every applied entry, as bytes the same machine can `restore`; or undefined
   * when it cannot take one now (the driver asks again after later applies).
   */
  snapshot(): Uint8Array | undefined;
  restore(metadata: SnapshotMetadata, data: Uint8Array): void;
  /**
   * For a state machine on another thread, or larger than memory; used instead of `snapshot`
   * when present. Resolves with a source for the state and the index it reflects, which must be
   * the index applied when it was called (applies reach the machine in order before the
   * request), or undefined when it cannot take one now. The driver copies the source into
   * storage chunk by chunk, then releases it.
   */
  snapshotAsync?(): Promise<SnapshotSource | undefined>;
  /**
   * Used instead of `restore` when present: restores from the current snapshot, reading it in
   * chunks through `read`; later applies wait until it resolves.
   */
  restoreAsync?(
    metadata: SnapshotMetadata,
    read: (offset: number, length: number) => Promise<Uint8Array>,
  ): Promise<void>;
}

/** A snapshot a state machine took, readable in chunks. */
export interface SnapshotSource {
  readonly index: number;
  readonly bytes: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  /** The driver has stored it (or given up): its resources may go. */
  release(): void;
}

/** Bytes the driver moves at a time between a state machine's snapshot and storage. */
export const snapshotChunkBytes = 1024 * 1024;

export interface RaftDriverOptions {
  readonly core: RaftCore;
  readonly storage: RaftStorage;
  readonly transport: RaftTransport;
  readonly stateMachine: StateMachine;
  /** Take a snapshot once this many entries were applied since the last one. Default 8192. */
  readonly snapshotThresholdEntries?: number;
  /**
   * Also take one once this many bytes of entries were applied since the last, so large entries
   * cannot keep the in-memory log growing. Default 256 MiB.
   */
  readonly snapshotThresholdBytes?: number;
  readonly onReadState?: (read: ReadState) => void;
  readonly onEvent?: (event: RaftEvent) => void;
  /**
   * Runs a callback soon, after the current burst of input (a host passes `setImmediate`). When
   * given, `propose` only appends and leaves the sending to one pass for the whole burst, so
   * proposals that arrive together share one AppendEntries per peer and one persist. Default:
   * each proposal is processed at once (the simulator, which has no event loop).
   */
  readonly defer?: (run: () => void) => void;
  /** Storage failed: the node cannot stay safe and must stop. Default: throw. */
  readonly onFatal?: (error: Error) => void;
}

/**
 * The one loop that follows the `Ready` contract (STYLE.md, "One loop owns the ordering"): it
 * persists, sends, applies and advances, with one persist in flight at a time so that entries
 * proposed during an fsync are written together by the next one (group commit). Inputs arrive
 * through `tick`, `receive` and the request methods; storage completions re-enter through
 * callbacks. Nothing here reads a clock, so the simulator drives it as it drives production.
 */
export class RaftDriver {
  readonly core: RaftCore;
  readonly #options: RaftDriverOptions;
  readonly #snapshotThreshold: number;
  readonly #snapshotThresholdBytes: number;
  /** Bytes of entries applied since the last snapshot was taken or restored. */
  #bytesSinceSnapshot = 0;
  #persistInFlight = false;
  #processing = false;
  #again = false;
  /** State-machine work in order; a restore waits for its data before later applies run. */
  readonly #applyQueue: Array<() => boolean> = [];
  /** A local snapshot is being staged and installed. */
  #snapshotInProgress = false;
  /** Incoming snapshot chunks that arrived while a local snapshot was being staged. */
  #deferredWrites: SnapshotWrite[] = [];
  /** The last index the state machine applied (or restored to). */
  #appliedIndex = 0;
  /** Read states waiting for the state machine to reach their index. */
  #pendingReads: ReadState[] = [];
  #stopped = false;
  /** A pass for deferred proposals is scheduled. */
  #processDeferred = false;

  constructor(options: RaftDriverOptions) {
    this.core = options.core;
    this.#options = options;
    this.#snapshotThreshold = options.snapshotThresholdEntries ?? 8192;
    if (!Number.isSafeInteger(this.#snapshotThreshold) || this.#snapshotThreshold < 1) {
      throw new RangeError('snapshotThresholdEntries must be a positive integer');
    }
    this.#snapshotThresholdBytes = options.snapshotThresholdBytes ?? 256 * 1024 * 1024;
    if (!Number.isSafeInteger(this.#snapshotThresholdBytes) || this.#snapshotThresholdBytes < 1) {
      throw new RangeError('snapshotThresholdBytes must be a positive integer');
    }
    this.#process();
  }

  tick(): void {
    this.#input(() => this.core.tick());
  }

  receive(message: Message): void {
    this.#input(() => this.core.step(message));
  }

  propose(data: Uint8Array): ProposeResult {
    const defer = this.#options.defer;
    if (defer === undefined) return this.#input(() => this.core.propose(data));
    assert(!this.#stopped, 'a stopped driver takes no input');
    const result = this.core.propose(data);
    if (!this.#processDeferred) {
      this.#processDeferred = true;
      defer(() => {
        this.#processDeferred = false;
        if (!this.#stopped) this.#process();
      });
    }
    return result;
  }

  proposeBarrier(): ProposeResult {
    return this.#input(() => this.core.proposeBarrier());
  }

  changeMembership(change: MembershipChange): MembershipResult {
    return this.#input(() => this.core.changeMembership(change));
  }

  transferLeadership(target?: NodeId) {
    return this.#input(() => this.core.transferLeadership(target));
  }

  readIndex(requestId: number) {
    return this.#input(() => this.core.readIndex(requestId));
  }

  /** Stops processing; callbacks that complete later are ignored (a crash in the simulator). */
  stop(): void {
    this.#stopped = true;
  }

  #input<T>(action: () => T): T {
    assert(!this.#stopped, 'a stopped driver takes no input');
    const result = action();
    this.#process();
    return result;
  }

  /** Drains Ready batches. Re-entrant calls (synchronous callbacks) only flag another pass. */
  #process(): void {
    if (this.#processing) {
      this.#again = true;
      return;
    }
    this.#processing = true;
    try {
      let passes = 0;
      do {
        this.#again = false;
        while (!this.#stopped && this.core.hasReady({ persist: !this.#persistInFlight })) {
          assert(++passes < 1_000_000, 'Ready processing terminates');
          this.#handle(this.core.ready({ persist: !this.#persistInFlight }));
        }
        this.#runApplyQueue();
        this.#maybeSnapshot();
      } while (this.#again && !this.#stopped);
    } finally {
      this.#processing = false;
    }
  }

  #handle(ready: Ready): void {
    const { storage, transport } = this.#options;
    const token = ready.persistToken;
    if (token !== undefined) {
      this.#persistInFlight = true;
      const write = {
        entries: ready.entries,
        ...(ready.hardState ? { hardState: ready.hardState } : {}),
      };
      storage.persist(write, (error) => this.#persisted(token, ready.messagesAfterPersist, error));
    }
    for (const message of ready.messages) transport.send(message);
    for (const write of ready.snapshotWrites) {
      // Storage stages one snapshot at a time: an incoming chunk waits for a local snapshot.
      if (this.#snapshotInProgress) this.#deferredWrites.push(write);
      else this.#writeSnapshot(write);
    }
    for (const read of ready.snapshotReads) this.#readSnapshot(read);
    const restore = ready.restoreSnapshot;
    if (restore !== undefined) this.#enqueueRestore(restore);
    for (const entry of ready.committedEntries) {
      this.#applyQueue.push(() => {
        this.#options.stateMachine.apply(entry);
        this.#appliedIndex = entry.index;
        this.#bytesSinceSnapshot += entry.data.byteLength;
        return true;
      });
    }
    // A read may run only once the state machine reached its index (thesis §6.4 step 4), which
    // can be later than the entries of this Ready when this node's own disk lags.
    this.#pendingReads.push(...ready.readStates);
    for (const event of ready.events) this.#options.onEvent?.(event);
  }

  #persisted(token: PersistToken, after: readonly Message[], error: Error | undefined): void {
    if (this.#stopped) return;
    if (error !== undefined) return this.#fatal(error);
    this.#persistInFlight = false;
    this.core.persisted(token);
    for (const message of after) this.#options.transport.send(message);
    this.#process();
  }

  #writeSnapshot(write: SnapshotWrite): void {
    const { storage } = this.#options;
    storage.writeSnapshotChunk(write.metadata, write.offset, write.data, (error) => {
      if (this.#stopped) return;
      if (error !== undefined) return this.#fatal(error);
      if (!write.done) return this.#input(() => this.core.snapshotWritten(write));
      const trailingEntries = 0;
      storage.installSnapshot(
        write.metadata,
        { keepLogAfter: write.keepLogAfter, trailingEntries },
        (installError) => {
          if (this.#stopped) return;
          if (installError !== undefined) return this.#fatal(installError);
          this.#input(() => this.core.snapshotWritten(write));
        },
      );
    });
  }

  #readSnapshot(read: SnapshotRead): void {
    this.#options.storage.readSnapshotChunk(
      read.metadata,
      read.offset,
      read.length,
      (error, data) => {
        if (this.#stopped) return;
        this.#input(() => this.core.snapshotRead(read, error ?? data));
      },
    );
  }

  /** Restores from the current snapshot, blocking later applies until its data is read. */
  #enqueueRestore(metadata: SnapshotMetadata): void {
    if (this.#options.stateMachine.restoreAsync !== undefined) {
      this.#enqueueRestoreAsync(metadata, this.#options.stateMachine.restoreAsync);
      return;
    }
    let data: Uint8Array | undefined;
    let requested = false;
    this.#applyQueue.push(() => {
      if (data !== undefined) {
        this.#options.stateMachine.restore(metadata, data);
        this.#appliedIndex = metadata.index;
        this.#bytesSinceSnapshot = 0;
        return true;
      }
      if (!requested) {
        requested = true;
        this.#options.storage.readSnapshotChunk(metadata, 0, metadata.bytes, (error, bytes) => {
          if (this.#stopped) return;
          if (error !== undefined) return this.#fatal(error);
          data = bytes;
          this.#process();
        });
      }
      return false;
    });
  }

  /** The chunked restore: later applies wait until the state machine says it is done. */
  #enqueueRestoreAsync(
    metadata: SnapshotMetadata,
    restoreAsync: NonNullable<StateMachine['restoreAsync']>,
  ): void {
    let state: 'idle' | 'running' | 'done' = 'idle';
    const read = (offset: number, length: number) =>
      new Promise<Uint8Array>((resolve, reject) =>
        this.#options.storage.readSnapshotChunk(metadata, offset, length, (error, bytes) =>
          error !== undefined ? reject(error) : resolve(bytes),
        ),
      );
    this.#applyQueue.push(() => {
      if (state === 'done') {
        this.#appliedIndex = metadata.index;
        this.#bytesSinceSnapshot = 0;
        return true;
      }
      if (state === 'idle') {
        state = 'running';
        restoreAsync.call(this.#options.stateMachine, metadata, read).then(
          () => {
            if (this.#stopped) return;
            state = 'done';
            this.#process();
          },
          (error: unknown) =>
            this.#fatal(error instanceof Error ? error : new Error(String(error))),
        );
      }
      return false;
    });
  }

  #runApplyQueue(): void {
    while (this.#applyQueue.length > 0) {
      const task = this.#applyQueue[0];
      if (task === undefined || !task()) break;
      this.#applyQueue.shift();
    }
    this.#releaseReads();
  }

  #releaseReads(): void {
    if (this.#pendingReads.length === 0) return;
    const ready = this.#pendingReads.filter((read) => read.index <= this.#appliedIndex);
    if (ready.length === 0) return;
    this.#pendingReads = this.#pendingReads.filter((read) => read.index > this.#appliedIndex);
    for (const read of ready) this.#options.onReadState?.(read);
  }

  /** Snapshots the state machine when enough was applied and nothing is waiting to apply. */
  #maybeSnapshot(): void {
    if (this.#snapshotInProgress || this.#applyQueue.length > 0 || this.#stopped) return;
    const status = this.core.status();
    // Storage stages one snapshot at a time, and an incoming one may be half staged.
    if (status.receivingSnapshot) return;
    const entriesDue = status.appliedIndex - status.snapshotIndex >= this.#snapshotThreshold;
    if (!entriesDue && this.#bytesSinceSnapshot < this.#snapshotThresholdBytes) return;
    const { stateMachine } = this.#options;
    if (stateMachine.snapshotAsync !== undefined) {
      // Metadata now, while the core still knows the configuration at the applied index (it
      // forgets superseded ones as it applies more); the machine answers for that same index.
      const metadata = this.core.snapshotMetadata(0);
      const bytesCovered = this.#bytesSinceSnapshot;
      this.#snapshotInProgress = true;
      stateMachine.snapshotAsync().then(
        (taken) => {
          if (this.#stopped) return;
          if (taken === undefined) {
            this.#snapshotInProgress = false;
            return;
          }
          assert(taken.index === metadata.index, 'the snapshot reflects the requested index');
          this.#bytesSinceSnapshot -= bytesCovered;
          this.#storeSnapshot({ ...metadata, bytes: taken.bytes }, taken);
        },
        (error: unknown) => this.#fatal(error instanceof Error ? error : new Error(String(error))),
      );
      return;
    }
    const data = stateMachine.snapshot();
    if (data === undefined) return;
    this.#snapshotInProgress = true;
    this.#bytesSinceSnapshot = 0;
    const metadata = this.core.snapshotMetadata(data.byteLength);
    this.#options.storage.writeSnapshotChunk(metadata, 0, data, (error) => {
      if (this.#stopped) return;
      if (error !== undefined) return this.#fatal(error);
      this.#installTaken(metadata, () => {});
    });
  }

  /** Makes a snapshot this node took current, then lets the core compact its log. */
  #installTaken(metadata: SnapshotMetadata, release: () => void): void {
    const trailingEntries = this.core.trailingEntriesAt(metadata.index);
    this.#options.storage.installSnapshot(
      metadata,
      { keepLogAfter: true, trailingEntries },
      (installError) => {
        release();
        if (this.#stopped) return;
        if (installError !== undefined) return this.#fatal(installError);
        this.#snapshotInProgress = false;
        this.#input(() => this.core.snapshotTaken(metadata));
        for (const deferred of this.#deferredWrites.splice(0)) this.#writeSnapshot(deferred);
      },
    );
  }

  /** Writes and installs a snapshot this node took, then lets the core compact its log. */
  /** Copies a snapshot source into storage, one chunk in flight, then installs it. */
  #storeSnapshot(metadata: SnapshotMetadata, source: SnapshotSource): void {
    const { storage } = this.#options;
    const failed = (error: Error) => {
      source.release();
      this.#fatal(error);
    };
    // Memory stays at one chunk whatever the snapshot's size.
    const copyFrom = (offset: number): void => {
      const length = Math.min(snapshotChunkBytes, source.bytes - offset);
      source.read(offset, length).then(
        (chunk) => {
          if (this.#stopped) return source.release();
          storage.writeSnapshotChunk(metadata, offset, chunk, (error) => {
            if (this.#stopped) return source.release();
            if (error !== undefined) return failed(error);
            if (offset + length >= source.bytes)
              this.#installTaken(metadata, () => source.release());
            else copyFrom(offset + length);
          });
        },
        (error: unknown) => failed(error instanceof Error ? error : new Error(String(error))),
      );
    };
    copyFrom(0);
  }

  #fatal(error: Error): void {
    this.#stopped = true;
    if (this.#options.onFatal) this.#options.onFatal(error);
    else throw error;
  }
}
