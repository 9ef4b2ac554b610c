import { assert } from './assert.js';
import type { MembershipChange } from './configuration.js';
import type { MembershipResult, ProposeResult, RaftCore } from './raft-core.js';
import type { RaftStorage } from './raft-storage.js';
import type { RaftTransport } from './raft-transport.js';
import {
  snapshotReadBytesMax,
  type ReadChunk,
  type SnapshotSource,
  type StateMachine,
} from './state-machine.js';
import type {
  PersistToken,
  RaftEvent,
  Ready,
  ReadState,
  SnapshotRead,
  SnapshotWrite,
} from './ready.js';
import type { Message, NodeId, SnapshotMetadata } from './types.js';

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
 * The one loop that follows the `Ready` contract (docs/contributing.md, "One loop owns the
 * ordering"): it persists, sends, applies and advances, with one persist in flight at a time so
 * that entries proposed during an fsync are written together by the next one (group commit). Inputs
 * arrive through `tick`, `receive` and the request methods; storage completions re-enter through
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
  /** State-machine work in order; a restore holds back later applies until it is done. */
  readonly #applyQueue: Array<() => boolean> = [];
  /**
   * Why incoming snapshot chunks must wait, if they must. 'taking': the machine is taking a
   * snapshot, which storage will stage (it stages one at a time). 'restoring': the machine reads
   * storage's current snapshot, which installing another would replace under it.
   */
  #snapshotUse: 'none' | 'taking' | 'restoring' = 'none';
  /** Incoming snapshot chunks that arrived while `#snapshotUse` was not 'none'. */
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
      if (this.#snapshotUse !== 'none') this.#deferredWrites.push(write);
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

  /** Restores from the current snapshot; later applies wait until the machine is done. */
  #enqueueRestore(metadata: SnapshotMetadata): void {
    let state: 'idle' | 'running' | 'done' = 'idle';
    this.#applyQueue.push(() => {
      if (state === 'done') {
        this.#appliedIndex = metadata.index;
        this.#bytesSinceSnapshot = 0;
        return true;
      }
      if (state === 'idle') {
        assert(this.#snapshotUse === 'none', 'a restore starts with no snapshot in use');
        this.#snapshotUse = 'restoring';
        state = 'running';
        const done = once('restore', (error?: Error) => {
          if (this.#stopped) return;
          if (error !== undefined) return this.#fatal(error);
          state = 'done';
          this.#endSnapshotUse();
          this.#process();
        });
        this.#options.stateMachine.restore(metadata, this.#restoreRead(metadata), done);
      }
      return false;
    });
  }

  /** The machine's view of the snapshot it restores: whole chunks of the stored data. */
  #restoreRead(metadata: SnapshotMetadata): ReadChunk {
    return (offset, length, done) => {
      checkRead(offset, length, metadata.bytes);
      const finish = once('a restore read', done);
      this.#options.storage.readSnapshotChunk(metadata, offset, length, (error, data) => {
        if (error !== undefined) return finish(error);
        if (data.byteLength !== length) {
          return finish(new Error(`snapshot ${metadata.index} ended at ${offset + data.length}`));
        }
        finish(undefined, data);
      });
    };
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
    if (this.#snapshotUse !== 'none' || this.#applyQueue.length > 0 || this.#stopped) return;
    const status = this.core.status();
    // Storage stages one snapshot at a time, and an incoming one may be half staged.
    if (status.receivingSnapshot) return;
    const entriesDue = status.appliedIndex - status.snapshotIndex >= this.#snapshotThreshold;
    if (!entriesDue && this.#bytesSinceSnapshot < this.#snapshotThresholdBytes) return;
    // Metadata now, while the core still knows the configuration at the applied index (it
    // forgets superseded ones as it applies more); the machine answers for that same index.
    const metadata = this.core.snapshotMetadata(0);
    const bytesCovered = this.#bytesSinceSnapshot;
    this.#snapshotUse = 'taking';
    const done = once('snapshot', (error: Error | undefined, taken?: SnapshotSource) => {
      if (this.#stopped) return taken?.release();
      if (error !== undefined) return this.#fatal(error);
      if (taken === undefined) return this.#endSnapshotUse();
      assert(taken.index === metadata.index, 'the snapshot reflects the requested index');
      assert(taken.bytes > 0, 'a snapshot holds at least one byte');
      this.#bytesSinceSnapshot -= bytesCovered;
      this.#storeSnapshot({ ...metadata, bytes: taken.bytes }, taken);
    });
    this.#options.stateMachine.snapshot(done);
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
        this.#input(() => this.core.snapshotTaken(metadata));
        this.#endSnapshotUse();
      },
    );
  }

  /** Copies a snapshot source into storage, one chunk in flight, then installs it. */
  #storeSnapshot(metadata: SnapshotMetadata, source: SnapshotSource): void {
    const { storage } = this.#options;
    const failed = (error: Error) => {
      source.release();
      this.#fatal(error);
    };
    // Memory stays at one chunk whatever the snapshot's size.
    const copyFrom = (offset: number): void => {
      const length = Math.min(snapshotReadBytesMax, source.bytes - offset);
      const read = once('a snapshot source read', (readError?: Error, chunk?: Uint8Array) => {
        if (this.#stopped) return source.release();
        if (readError !== undefined) return failed(readError);
        assert(chunk !== undefined, 'a read without error has data');
        assert(chunk.byteLength === length, 'a snapshot source reads whole chunks');
        storage.writeSnapshotChunk(metadata, offset, chunk, (error) => {
          if (this.#stopped) return source.release();
          if (error !== undefined) return failed(error);
          if (offset + length >= source.bytes) this.#installTaken(metadata, () => source.release());
          else copyFrom(offset + length);
        });
      });
      source.read(offset, length, read);
    };
    copyFrom(0);
  }

  /** The machine is done with snapshots for now: incoming chunks that waited are written. */
  #endSnapshotUse(): void {
    this.#snapshotUse = 'none';
    for (const deferred of this.#deferredWrites.splice(0)) this.#writeSnapshot(deferred);
  }

  #fatal(error: Error): void {
    this.#stopped = true;
    if (this.#options.onFatal) this.#options.onFatal(error);
    else throw error;
  }
}

/** `callback`, checked to run only once: a second call is a bug in the code that made it. */
function once<A extends unknown[]>(what: string, callback: (...args: A) => void) {
  let called = false;
  return (...args: A): void => {
    assert(!called, `${what} completes once`);
    called = true;
    callback(...args);
  };
}

/** A restoring machine's read must stay inside the snapshot and under the chunk limit. */
function checkRead(offset: number, length: number, bytes: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  }
  if (!Number.isSafeInteger(length) || length < 1 || length > snapshotReadBytesMax) {
    throw new RangeError(`length must be 1..${snapshotReadBytesMax}, got ${length}`);
  }
  if (offset + length > bytes) {
    throw new RangeError(`a read of ${length} at ${offset} passes the snapshot's ${bytes} bytes`);
  }
}
