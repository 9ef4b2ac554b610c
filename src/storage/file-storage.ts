import fs from 'node:fs';
import path from 'node:path';
import type { Done, RaftInitialState, RaftStorage } from '../raft/raft-storage.js';
import type { Entry, HardState, SnapshotMetadata } from '../raft/types.js';
import { syncDirectory, syncDirectorySync } from './durable-file.js';
import {
  resolveFileStorageOptions,
  type FileStorageOptions,
  type ResolvedFileStorageOptions,
} from './file-storage-options.js';
import { HardStateFile, recoverHardState } from './hard-state-file.js';
import { recoverLog } from './log-recovery.js';
import { OperationQueue, type Step } from './operation-queue.js';
import type { StorageStall } from './space-errors.js';
import { checkPersist, checkSnapshotMetadata, isSafeCount } from './persist-checks.js';
import { applyRepairs } from './recovery-repair.js';
import { SegmentLog } from './segment-log.js';
import { recoverSnapshot } from './snapshot-recovery.js';
import { SnapshotStore } from './snapshot-store.js';
import { parseStorageFileName } from './storage-file.js';

/** What `FileStorage.logFiles` reports. */
export interface LogFiles {
  readonly segments: number;
  readonly bytes: number;
  readonly entries: number;
}

interface Loaded {
  readonly log: SegmentLog;
  readonly hardState: HardStateFile;
  readonly snapshots: SnapshotStore;
}

/**
 * Raft's durable state in one directory: an append-only log in segment files of checksummed
 * records, term and vote in two alternating files, and the current snapshot. See `StorageFile`
 * for the file names, `encodeBatch` (batch-record.ts) for the log format, `SnapshotStore` for the
 * install order and `readSegment` for how a torn last write is told apart from corruption.
 *
 * Operations run one at a time in call order on asynchronous file system calls; each `done` runs
 * once its effect is fsynced, directory included. Arguments are checked when the operation is
 * called (TypeError or RangeError, nothing queued); disk failures reach `done`, after which every
 * later operation fails too (see `OperationQueue`). Call `load` once, before anything else.
 *
 * Caveats: there is no group commit here, each persist pays its own fsync; the core already
 * batches the entries proposed during one fsync into its next Ready (see `Ready`), and one
 * persist per fsync keeps "only the last record can be torn" true, which recovery relies on. The
 * entries `load` returns view the segment files' bytes read at startup. Snapshot chunks are
 * copied when queued, so callers may reuse their buffers.
 *
 * @example
 * const storage = FileStorage.open({ directory: './data/raft' });
 * const { hardState, snapshot, entries } = storage.load();
 * storage.persist({ hardState: { term: 1, vote: 1 }, entries: [] }, (error) => { ... });
 */
export class FileStorage implements RaftStorage {
  readonly #options: ResolvedFileStorageOptions;
  readonly #queue: OperationQueue;
  #loaded: Loaded | undefined;
  #closed = false;

  private constructor(options: ResolvedFileStorageOptions) {
    this.#options = options;
    this.#queue = new OperationQueue(
      options.operationsQueuedMax,
      options.afterEachStep,
      options.onStall,
    );
  }

  /** What the storage is waiting out (no space, no write access), or undefined. */
  get stall(): StorageStall | undefined {
    return this.#queue.stall;
  }

  /**
   * The log's segment files (count and bytes, preallocated zeros included) and the entries they
   * hold, as planned by the operations queued so far; all zero before `load`. For monitoring.
   */
  logFiles(): LogFiles {
    const log = this.#loaded?.log;
    if (log === undefined) return { segments: 0, bytes: 0, entries: 0 };
    return { ...log.files(), entries: log.lastIndex - log.firstIndex + 1 };
  }

  /**
   * Creates the directory when missing (fsyncing the parents that gained an entry) and returns a
   * storage that reads nothing until `load`. Synchronous: meant for startup.
   */
  static open(options: FileStorageOptions): FileStorage {
    const resolved = resolveFileStorageOptions(options);
    const directory = path.resolve(resolved.directory);
    const created = fs.mkdirSync(directory, { recursive: true });
    if (created !== undefined) {
      for (
        let parent = directory;
        parent !== path.dirname(created);
        parent = path.dirname(parent)
      ) {
        syncDirectorySync(path.dirname(parent));
      }
    }
    syncDirectorySync(directory);
    return new FileStorage(Object.freeze({ ...resolved, directory }));
  }

  /**
   * Recovers the durable state: drops a torn last write, finishes or forgets an interrupted
   * snapshot install, deletes leftovers. Throws a `StorageCorruptError` naming file and offset
   * when the files hold damage a crash cannot explain; nothing is changed on disk then.
   */
  load(): RaftInitialState {
    if (this.#loaded !== undefined || this.#closed)
      throw new Error('FileStorage: load() runs once, after open()');
    const directory = this.#options.directory;
    const files = fs.readdirSync(directory).map(parseStorageFileName);
    const hardState = recoverHardState(directory, files);
    const snapshot = recoverSnapshot(directory, files);
    const current = snapshot.current;
    const log = recoverLog(directory, files, {
      sequenceFirst: current?.logSequenceFirst ?? 0,
      indexFirst: current?.logIndexFirst ?? 1,
      snapshotIndex: current?.metadata.index ?? 0,
      snapshotTerm: current?.metadata.term ?? 0,
    });
    applyRepairs(directory, [...snapshot.repairs, ...log.repairs, ...hardState.repairs]);
    this.#loaded = {
      log: new SegmentLog(directory, this.#options, log.state),
      hardState: new HardStateFile(directory, hardState),
      snapshots: new SnapshotStore(directory, current, snapshot.generationNext),
    };
    return {
      hardState: hardState.current.hardState,
      snapshot: current?.metadata,
      entries: log.entries,
    };
  }

  persist(
    write: { readonly hardState?: HardState; readonly entries: readonly Entry[] },
    done: Done,
  ): void {
    const { log, hardState, snapshots } = this.#ready('persist', done);
    checkPersist(write, {
      entryBytesMax: this.#options.entryBytesMax,
      snapshotIndex: snapshots.current?.metadata.index ?? 0,
      snapshotTerm: snapshots.current?.metadata.term ?? 0,
      logFirstIndex: log.firstIndex,
      logLastIndex: log.lastIndex,
      termAt: (index) => log.termAt(index),
      hardStateTerm: hardState.hardState.term,
    });
    const steps: Step[] = [];
    if (write.entries.length > 0) steps.push(...log.append(write.entries));
    if (write.hardState !== undefined) steps.push(...hardState.write(write.hardState));
    this.#queue.enqueue(steps, done);
  }

  /** Stages a chunk; chunks are not fsynced, since a restart discards a staged snapshot anyway. */
  writeSnapshotChunk(
    metadata: SnapshotMetadata,
    offset: number,
    data: Uint8Array,
    done: Done,
  ): void {
    const { snapshots } = this.#ready('writeSnapshotChunk', done);
    checkSnapshotMetadata(metadata, 'writeSnapshotChunk');
    if (!isSafeCount(offset)) throw new RangeError('writeSnapshotChunk: offset must be >= 0');
    if (!(data instanceof Uint8Array)) {
      throw new TypeError('writeSnapshotChunk: data must be a Uint8Array');
    }
    this.#checkChunkBytes('writeSnapshotChunk: data', data.byteLength);
    this.#queue.enqueue(snapshots.stage(metadata, offset, data), done);
  }

  /**
   * Makes the staged snapshot current, then compacts the log. With `keepLogAfter`, keeps the
   * entries after the snapshot and the `trailingEntries` before it, deleting the segments that
   * hold only older entries. Without it, or when the log does not reach the snapshot's index,
   * discards the whole log: the next entry must then be `metadata.index + 1`.
   */
  installSnapshot(
    metadata: SnapshotMetadata,
    options: { readonly keepLogAfter: boolean; readonly trailingEntries: number },
    done: Done,
  ): void {
    const { log, snapshots } = this.#ready('installSnapshot', done);
    checkSnapshotMetadata(metadata, 'installSnapshot');
    if (
      typeof options !== 'object' ||
      options === null ||
      typeof options.keepLogAfter !== 'boolean'
    ) {
      throw new TypeError('installSnapshot: options.keepLogAfter must be a boolean');
    }
    if (!isSafeCount(options.trailingEntries)) {
      throw new RangeError('installSnapshot: options.trailingEntries must be >= 0');
    }
    snapshots.checkInstall(metadata);
    const snapshotIndex = metadata.index;
    const keptFirst = Math.max(log.firstIndex, snapshotIndex - options.trailingEntries + 1);
    const keep =
      options.keepLogAfter &&
      !log.isEmpty &&
      log.lastIndex >= snapshotIndex &&
      keptFirst <= log.lastIndex;
    const stored = snapshotIndex >= log.firstIndex && snapshotIndex <= log.lastIndex;
    if (options.keepLogAfter && stored && log.termAt(snapshotIndex) !== metadata.term) {
      throw new RangeError(
        `installSnapshot: keepLogAfter, but entry ${snapshotIndex} has term ${log.termAt(snapshotIndex)}, not ${metadata.term}`,
      );
    }
    const compaction = keep ? log.compactBefore(keptFirst) : log.discardAll(snapshotIndex + 1);
    const directory = this.#options.directory;
    this.#queue.enqueue(
      [
        ...snapshots.install(metadata, compaction),
        ...compaction.steps,
        () => syncDirectory(directory),
      ],
      done,
    );
  }

  readSnapshotChunk(
    metadata: SnapshotMetadata,
    offset: number,
    length: number,
    done: (error: Error | undefined, data: Uint8Array) => void,
  ): void {
    const { snapshots } = this.#ready('readSnapshotChunk', done);
    if (!isSafeCount(offset)) throw new RangeError('readSnapshotChunk: offset must be >= 0');
    if (!isSafeCount(length)) throw new RangeError('readSnapshotChunk: length must be >= 0');
    this.#checkChunkBytes('readSnapshotChunk: length', length);
    const plan = snapshots.read(metadata, offset, length);
    if (plan instanceof Error) {
      // Not a disk failure: reported in order through `done`, and later operations still run.
      this.#queue.enqueue([], () => done(plan, new Uint8Array(0)));
      return;
    }
    this.#queue.enqueue(plan.steps, (error) =>
      done(error, error === undefined ? plan.data() : new Uint8Array(0)),
    );
  }

  /**
   * Waits for every queued operation, then closes the open files. Not part of `RaftStorage`:
   * tests and a node's shutdown use it. Later calls of any method throw.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const loaded = this.#loaded;
    if (loaded === undefined) return;
    // A step waiting for space would hold the close up for as long as the disk stays full.
    this.#queue.abandonWaits(new Error('FileStorage closed'));
    // An earlier failure was already reported to that operation's `done`; closing goes on.
    await new Promise<Error | undefined>((resolve) => this.#queue.enqueue([], resolve));
    await loaded.log.close();
    await loaded.snapshots.close();
  }

  #ready(operation: string, done: unknown): Loaded {
    if (typeof done !== 'function') throw new TypeError(`${operation}: done must be a function`);
    if (this.#closed) throw new Error(`FileStorage: ${operation}() after close()`);
    if (this.#loaded === undefined) throw new Error(`FileStorage: ${operation}() before load()`);
    this.#queue.checkCapacity();
    return this.#loaded;
  }

  #checkChunkBytes(what: string, bytes: number): void {
    if (bytes > this.#options.snapshotChunkBytesMax) {
      throw new RangeError(
        `${what} of ${bytes} bytes exceeds snapshotChunkBytesMax ${this.#options.snapshotChunkBytesMax}`,
      );
    }
  }
}
