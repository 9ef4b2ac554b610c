// The driver's snapshot work: taking a snapshot of the state machine when enough was applied and
// copying it into storage, staging the chunks of one a leader sends, reading chunks to send, and
// restoring the state machine from the current one. Kept apart from RaftDriver, whose loop only
// hands these out in the Ready order: the rules here are about storage staging one snapshot at
// a time and about the state machine never reading one that is being replaced.

import { assert } from './assert.js';
import type { RaftCore } from './raft-core.js';
import type { RaftStorage } from './raft-storage.js';
import type { SnapshotRead, SnapshotWrite } from './ready.js';
import {
  snapshotReadBytesMax,
  type ReadChunk,
  type SnapshotSource,
  type StateMachine,
} from './state-machine.js';
import type { SnapshotMetadata } from './types.js';

/** What the snapshot work needs of its driver (RaftDriver). */
export interface SnapshotHost {
  readonly core: RaftCore;
  readonly storage: RaftStorage;
  readonly stateMachine: StateMachine;
  /** The driver stopped: completions that arrive later are dropped. */
  stopped(): boolean;
  /** Feeds a completion to the core, then runs the driver's loop. */
  input(action: () => void): void;
  /** Runs the driver's loop again (a restore finished: later applies may go). */
  process(): void;
  /** Storage or the state machine failed: the node must stop. */
  fatal(error: Error): void;
}

/**
 * Snapshots as one driver handles them. Storage stages one snapshot at a time, so incoming chunks
 * wait while the state machine takes or restores one.
 */
export class DriverSnapshots {
  readonly #host: SnapshotHost;
  readonly #thresholdEntries: number;
  readonly #thresholdBytes: number;
  /** Bytes of entries applied since the last snapshot was taken or restored. */
  #bytesSinceSnapshot = 0;
  /**
   * Why incoming snapshot chunks must wait, if they must. 'taking': the machine is taking a
   * snapshot, which storage will stage (it stages one at a time). 'restoring': the machine reads
   * storage's current snapshot, which installing another would replace under it.
   */
  #use: 'none' | 'taking' | 'restoring' = 'none';
  /** Incoming snapshot chunks that arrived while `#use` was not 'none'. */
  #deferredWrites: SnapshotWrite[] = [];

  /** The thresholds are RaftDriverOptions' snapshotThresholdEntries and snapshotThresholdBytes. */
  constructor(
    host: SnapshotHost,
    thresholds: { readonly entries: number; readonly bytes: number },
  ) {
    this.#host = host;
    this.#thresholdEntries = thresholds.entries;
    if (!Number.isSafeInteger(this.#thresholdEntries) || this.#thresholdEntries < 1) {
      throw new RangeError('snapshotThresholdEntries must be a positive integer');
    }
    this.#thresholdBytes = thresholds.bytes;
    if (!Number.isSafeInteger(this.#thresholdBytes) || this.#thresholdBytes < 1) {
      throw new RangeError('snapshotThresholdBytes must be a positive integer');
    }
  }

  /** An entry of `bytes` was applied (it counts toward the next snapshot). */
  applied(bytes: number): void {
    this.#bytesSinceSnapshot += bytes;
  }

  /** A chunk of a snapshot the leader sent: staged now, or once no snapshot is in use. */
  write(write: SnapshotWrite): void {
    if (this.#use !== 'none') this.#deferredWrites.push(write);
    else this.#writeChunk(write);
  }

  /** A chunk of the local snapshot, to send to a follower. */
  read(read: SnapshotRead): void {
    const { storage, core } = this.#host;
    storage.readSnapshotChunk(read.metadata, read.offset, read.length, (error, data) => {
      if (this.#host.stopped()) return;
      this.#host.input(() => core.snapshotRead(read, error ?? data));
    });
  }

  /**
   * Restores from the current snapshot. Returns the step for the driver's apply queue: it starts
   * the restore when first called, and returns true once the restore is done.
   */
  restore(metadata: SnapshotMetadata): () => boolean {
    let state: 'idle' | 'running' | 'done' = 'idle';
    return () => {
      if (state === 'done') {
        this.#bytesSinceSnapshot = 0;
        return true;
      }
      if (state === 'idle') {
        assert(this.#use === 'none', 'a restore starts with no snapshot in use');
        this.#use = 'restoring';
        state = 'running';
        const done = once('restore', (error?: Error) => {
          if (this.#host.stopped()) return;
          if (error !== undefined) return this.#host.fatal(error);
          state = 'done';
          this.#endUse();
          this.#host.process();
        });
        this.#host.stateMachine.restore(metadata, this.#restoreRead(metadata), done);
      }
      return false;
    };
  }

  /**
   * Snapshots the state machine when enough was applied; `applyQueueEmpty` says nothing is
   * waiting to apply.
   */
  maybeTake(applyQueueEmpty: boolean): void {
    const { core, stateMachine } = this.#host;
    if (this.#use !== 'none' || !applyQueueEmpty || this.#host.stopped()) return;
    const status = core.status();
    // Storage stages one snapshot at a time, and an incoming one may be half staged.
    if (status.receivingSnapshot) return;
    const entriesDue = status.appliedIndex - status.snapshotIndex >= this.#thresholdEntries;
    if (!entriesDue && this.#bytesSinceSnapshot < this.#thresholdBytes) return;
    // Metadata now, while the core still knows the configuration at the applied index (it
    // forgets superseded ones as it applies more); the machine answers for that same index.
    const metadata = core.snapshotMetadata(0);
    const bytesCovered = this.#bytesSinceSnapshot;
    this.#use = 'taking';
    const done = once('snapshot', (error: Error | undefined, taken?: SnapshotSource) => {
      if (this.#host.stopped()) return taken?.release();
      if (error !== undefined) return this.#host.fatal(error);
      if (taken === undefined) return this.#endUse();
      assert(taken.index === metadata.index, 'the snapshot reflects the requested index');
      assert(taken.bytes > 0, 'a snapshot holds at least one byte');
      this.#bytesSinceSnapshot -= bytesCovered;
      this.#store({ ...metadata, bytes: taken.bytes }, taken);
    });
    stateMachine.snapshot(done);
  }

  #writeChunk(write: SnapshotWrite): void {
    const { storage, core } = this.#host;
    storage.writeSnapshotChunk(write.metadata, write.offset, write.data, (error) => {
      if (this.#host.stopped()) return;
      if (error !== undefined) return this.#host.fatal(error);
      if (!write.done) return this.#host.input(() => core.snapshotWritten(write));
      const trailingEntries = 0;
      storage.installSnapshot(
        write.metadata,
        { keepLogAfter: write.keepLogAfter, trailingEntries },
        (installError) => {
          if (this.#host.stopped()) return;
          if (installError !== undefined) return this.#host.fatal(installError);
          this.#host.input(() => core.snapshotWritten(write));
        },
      );
    });
  }

  /** The machine's view of the snapshot it restores: whole chunks of the stored data. */
  #restoreRead(metadata: SnapshotMetadata): ReadChunk {
    return (offset, length, done) => {
      checkRead(offset, length, metadata.bytes);
      const finish = once('a restore read', done);
      this.#host.storage.readSnapshotChunk(metadata, offset, length, (error, data) => {
        if (error !== undefined) return finish(error);
        if (data.byteLength !== length) {
          return finish(new Error(`snapshot ${metadata.index} ended at ${offset + data.length}`));
        }
        finish(undefined, data);
      });
    };
  }

  /** Copies a snapshot source into storage, one chunk in flight, then installs it. */
  #store(metadata: SnapshotMetadata, source: SnapshotSource): void {
    const { storage } = this.#host;
    const failed = (error: Error) => {
      source.release();
      this.#host.fatal(error);
    };
    // Memory stays at one chunk whatever the snapshot's size.
    const copyFrom = (offset: number): void => {
      const length = Math.min(snapshotReadBytesMax, source.bytes - offset);
      const read = once('a snapshot source read', (readError?: Error, chunk?: Uint8Array) => {
        if (this.#host.stopped()) return source.release();
        if (readError !== undefined) return failed(readError);
        assert(chunk !== undefined, 'a read without error has data');
        assert(chunk.byteLength === length, 'a snapshot source reads whole chunks');
        storage.writeSnapshotChunk(metadata, offset, chunk, (error) => {
          if (this.#host.stopped()) return source.release();
          if (error !== undefined) return failed(error);
          if (offset + length >= source.bytes) this.#installTaken(metadata, () => source.release());
          else copyFrom(offset + length);
        });
      });
      source.read(offset, length, read);
    };
    copyFrom(0);
  }

  /** Makes a snapshot this node took current, then lets the core compact its log. */
  #installTaken(metadata: SnapshotMetadata, release: () => void): void {
    const { storage, core } = this.#host;
    const trailingEntries = core.trailingEntriesAt(metadata.index);
    storage.installSnapshot(metadata, { keepLogAfter: true, trailingEntries }, (installError) => {
      release();
      if (this.#host.stopped()) return;
      if (installError !== undefined) return this.#host.fatal(installError);
      this.#host.input(() => core.snapshotTaken(metadata));
      this.#endUse();
    });
  }

  /** The machine is done with snapshots for now: incoming chunks that waited are written. */
  #endUse(): void {
    this.#use = 'none';
    for (const deferred of this.#deferredWrites.splice(0)) this.#writeChunk(deferred);
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
