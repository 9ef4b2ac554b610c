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
        : fileSource(taken.file, taken.bytes, taken.index);
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

/** A snapshot file the engine wrote, read by this thread in chunks and removed once stored. */
function fileSource(file: string, bytes: number, index: number): SnapshotSource {
  const handle = fs.promises.open(file, 'r');
  handle.catch(() => {}); // read() reports it
  return {
    index,
    bytes,
    read: async (offset, length) => {
      const chunk = Buffer.alloc(length);
      const { bytesRead } = await (await handle).read(chunk, 0, length, offset);
      if (bytesRead !== length)
        throw new Error(`snapshot file ${file} ended at ${offset + bytesRead}`);
      return chunk;
    },
    release: () => {
      void handle.then((opened) => opened.close()).catch(() => {});
      fs.rm(file, { force: true }, () => {});
    },
  };
}
