import fs from 'node:fs';
import {
  snapshotChunkBytes,
  type Entry,
  type SnapshotSource,
  type StateMachine,
} from '../raft/index.js';
import { valueOf, type EngineLink } from './sql/engine-link.js';
import type { EngineReply } from './sql/engine-messages.js';

/**
 * Raft's view of the SQL engine in its worker. Applies are posted in order; snapshots go through
 * a file the engine writes and this thread copies into storage, and restores arrive in chunks,
 * so neither holds a database in memory.
 */
export function engineStateMachine(
  link: EngineLink,
  hooks: { applied(entry: Entry): void; restored(index: number): void },
  files: SnapshotFiles = diskFiles,
): StateMachine {
  return {
    apply: (entry: Entry) => {
      link.post({ op: 'apply', ...entry });
      hooks.applied(entry);
    },
    snapshot: () => undefined,
    restore: () => {
      throw new Error('restoreAsync is the only restore path of the SQL engine');
    },
    snapshotAsync: async () => {
      const taken = valueOf<{ file: string | undefined; bytes: number; index: number }>(
        await link.call({ op: 'snapshot' }),
      );
      return taken.file === undefined
        ? undefined
        : fileSource(files, taken.file, taken.bytes, taken.index);
    },
    restoreAsync: async (metadata, read) => {
      const expect = (reply: EngineReply) => void valueOf(reply);
      expect(await link.call({ op: 'restore-begin' }));
      for (let offset = 0; offset < metadata.bytes; offset += snapshotChunkBytes) {
        const length = Math.min(snapshotChunkBytes, metadata.bytes - offset);
        expect(await link.call({ op: 'restore-chunk', data: await read(offset, length) }));
      }
      expect(await link.call({ op: 'restore-end', index: metadata.index }));
      hooks.restored(metadata.index);
    },
  };
}

/**
 * How this thread reads the snapshot files the engine writes: the file system, asynchronously,
 * in production; the whole-node simulator reads them within its own schedule.
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
      if (bytesRead !== length)
        throw new Error(`snapshot file ${file} ended at ${offset + bytesRead}`);
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
    read: (offset, length) => files.read(file, offset, length),
    release: () => files.remove(file),
  };
}
