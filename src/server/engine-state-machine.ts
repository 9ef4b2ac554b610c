import fs from 'node:fs';
import {
  snapshotReadBytesMax,
  type Entry,
  type ReadChunk,
  type SnapshotMetadata,
  type SnapshotSource,
  type StateMachine,
} from '../raft/index.js';
import { valueOf, type EngineLink } from './sql/engine-link.js';
import type { EngineReply } from './sql/engine-messages.js';

/** What the engine hears of the state machine's work; `now` (ms) times snapshots for the log. */
export interface StateMachineHooks {
  now(): number;
  applied(entry: Entry): void;
  /** The engine took a snapshot (written to a file the driver now copies into storage). */
  taken(snapshot: { readonly index: number; readonly bytes: number }, ms: number): void;
  /** The databases now hold `metadata`'s snapshot (the leader's, or this node's own at start). */
  restored(metadata: SnapshotMetadata, ms: number): void;
}

/**
 * Raft's view of the SQL engine in its worker. Applies are posted in order; snapshots go through
 * a file the engine writes and this thread copies into storage, and restores arrive in chunks,
 * so neither holds a database in memory. The engine answers through promises; each is turned
 * into the contract's callback once, here.
 */
export function engineStateMachine(
  link: EngineLink,
  hooks: StateMachineHooks,
  files: SnapshotFiles = diskFiles,
): StateMachine {
  return {
    apply: (entry: Entry) => {
      link.post({ op: 'apply', ...entry });
      hooks.applied(entry);
    },
    // The link keeps the order of requests, so the engine takes the snapshot after every apply
    // posted before this call and before any posted after it: its index is the applied index.
    snapshot: (done) => {
      const startedMs = hooks.now();
      const taken = takeSnapshot(link, files).then((source) => {
        if (source !== undefined) hooks.taken(source, hooks.now() - startedMs);
        return source;
      });
      complete(taken, done);
    },
    restore: (metadata, read, done) => {
      const startedMs = hooks.now();
      const restored = restoreInChunks(link, metadata, read).then(() =>
        hooks.restored(metadata, hooks.now() - startedMs),
      );
      complete(restored, done);
    },
  };
}

async function takeSnapshot(
  link: EngineLink,
  files: SnapshotFiles,
): Promise<SnapshotSource | undefined> {
  const taken = valueOf<{ file: string | undefined; bytes: number; index: number }>(
    await link.call({ op: 'snapshot' }),
  );
  return taken.file === undefined
    ? undefined
    : fileSource(files, taken.file, taken.bytes, taken.index);
}

async function restoreInChunks(
  link: EngineLink,
  metadata: { readonly index: number; readonly bytes: number },
  read: ReadChunk,
): Promise<void> {
  const expect = (reply: EngineReply) => void valueOf(reply);
  const readAsync = (offset: number, length: number) =>
    new Promise<Uint8Array>((resolve, reject) =>
      read(offset, length, (error, data) =>
        error !== undefined || data === undefined
          ? reject(error ?? new Error('a snapshot read returned no data'))
          : resolve(data),
      ),
    );
  expect(await link.call({ op: 'restore-begin' }));
  for (let offset = 0; offset < metadata.bytes; offset += snapshotReadBytesMax) {
    const length = Math.min(snapshotReadBytesMax, metadata.bytes - offset);
    expect(await link.call({ op: 'restore-chunk', data: await readAsync(offset, length) }));
  }
  expect(await link.call({ op: 'restore-end', index: metadata.index }));
}

/**
 * How this thread reads the snapshot files the engine writes: the file system, asynchronously,
 * in production; the whole-node simulator reads them within its own schedule, since a real
 * asynchronous read would finish at a moment no seed decides.
 */
export interface SnapshotFiles {
  read(file: string, offset: number, length: number): Promise<Uint8Array>;
  remove(file: string): void;
}

export const diskFiles: SnapshotFiles = {
  async read(file, offset, length) {
    const handle = await fs.promises.open(file, 'r');
    try {
      const chunk = Buffer.alloc(length);
      const { bytesRead } = await handle.read(chunk, 0, length, offset);
      if (bytesRead !== length) {
        throw new Error(`snapshot file ${file} ended at ${offset + bytesRead}`);
      }
      return chunk;
    } finally {
      await handle.close();
    }
  },
  remove: (file) => fs.rm(file, { force: true }, () => {}),
};

/** A snapshot file the engine wrote, read by this thread in chunks and removed once stored. */
function fileSource(
  files: SnapshotFiles,
  file: string,
  bytes: number,
  index: number,
): SnapshotSource {
  return {
    index,
    bytes,
    read: (offset, length, done) => complete(files.read(file, offset, length), done),
    release: () => files.remove(file),
  };
}

/**
 * Hands a promise's outcome to a contract callback. Both handlers sit in one `then`, so a throw
 * from `done` (a driver assertion) cannot reach the rejection handler and call `done` a second
 * time; it surfaces as an unhandled rejection, which stops the process.
 */
function complete<T>(
  promise: Promise<T>,
  done: (error: Error | undefined, value?: NoInfer<T>) => void,
): void {
  promise.then(
    (value) => done(undefined, value),
    (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
  );
}
