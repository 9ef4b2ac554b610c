// The node's storage with its durable writes timed, for the metrics: a wrapper, so FileStorage
// knows nothing of monitoring and a node without the HTTP endpoint runs it unwrapped.

import type { NodeEnvironment, NodeStorage } from '../server/node-environment.js';

/** What the wrapper reports; each call is one observation, made when the write is durable. */
export interface StorageObserver {
  /** A persist (log entries and hard state) became durable `seconds` after it was handed over. */
  persisted(seconds: number): void;
  /** A snapshot of `bytes` was installed (made current, log compacted) in `seconds`. */
  snapshotInstalled(bytes: number, seconds: number): void;
}

/** `base` with `openStorage` wrapped so that every storage it opens reports to `observer`. */
export function observedEnvironment(
  base: NodeEnvironment,
  observer: StorageObserver,
): NodeEnvironment {
  return {
    ...base,
    openStorage: (directory, onStall) =>
      observedStorage(base.openStorage(directory, onStall), observer),
  };
}

/**
 * Times `persist` and `installSnapshot` from the call to their `done`, so the figure includes the
 * wait behind earlier operations: what Raft waits for, which is what matters to an operator.
 */
export function observedStorage(storage: NodeStorage, observer: StorageObserver): NodeStorage {
  return {
    get stall() {
      return storage.stall;
    },
    load: () => storage.load(),
    persist: (write, done) => {
      const startedMs = performance.now();
      storage.persist(write, (error) => {
        if (error === undefined) observer.persisted(secondsSince(startedMs));
        done(error);
      });
    },
    installSnapshot: (metadata, options, done) => {
      const startedMs = performance.now();
      storage.installSnapshot(metadata, options, (error) => {
        if (error === undefined)
          observer.snapshotInstalled(metadata.bytes, secondsSince(startedMs));
        done(error);
      });
    },
    writeSnapshotChunk: (metadata, offset, data, done) =>
      storage.writeSnapshotChunk(metadata, offset, data, done),
    readSnapshotChunk: (metadata, offset, length, done) =>
      storage.readSnapshotChunk(metadata, offset, length, done),
    logFiles: storage.logFiles === undefined ? undefined : () => storage.logFiles!(),
    close: () => storage.close(),
  };
}

function secondsSince(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}
