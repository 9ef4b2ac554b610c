import fs from 'node:fs';
import type { PageSet } from './page-set.js';
import { retryWhileNoSpace } from './wait-for-space.js';

interface OpenFile {
  readonly descriptor: number;
  bytes: number;
}

/**
 * Writes page sets into database files that no SQLite connection has open: each page at
 * `(pageNumber - 1) * pageSize`, then the file cut to the set's size. Page images are idempotent,
 * so replaying a set after a crash converges (docs/architecture.md, "Replication", step 4). Used by
 * followers to apply committed transactions, and by a deposed leader to undo uncommitted ones.
 *
 * Files stay open between sets (a follower applies one per entry), and nothing is fsynced: at
 * every start Raft restores the last snapshot, which storage fsynced, and applies every committed
 * entry after it again (raft-state's initial `restoreSnapshot`), so what a database file held
 * before a crash is never relied on. The caller closes the files before anything replaces them.
 */
export class PageFiles {
  readonly #open = new Map<string, OpenFile>();

  /** Waits out a full disk or read-only file system (wait-for-space.ts): it must happen. */
  write(databasePath: string, set: PageSet): void {
    retryWhileNoSpace(`writing pages into ${databasePath}`, () => this.#write(databasePath, set));
  }

  #write(databasePath: string, set: PageSet): void {
    const file = this.#file(databasePath);
    for (const page of set.pages) {
      if (page.pageNumber > set.databasePages) continue;
      const offset = (page.pageNumber - 1) * set.pageSize;
      fs.writeSync(file.descriptor, page.data, 0, page.data.byteLength, offset);
      file.bytes = Math.max(file.bytes, offset + page.data.byteLength);
    }
    const bytes = set.databasePages * set.pageSize;
    if (file.bytes !== bytes) {
      fs.ftruncateSync(file.descriptor, bytes);
      file.bytes = bytes;
    }
  }

  /** Closes every file (before a snapshot is renamed over them, or SQLite takes them over). */
  closeAll(): void {
    for (const file of this.#open.values()) fs.closeSync(file.descriptor);
    this.#open.clear();
  }

  #file(databasePath: string): OpenFile {
    let file = this.#open.get(databasePath);
    if (file === undefined) {
      const descriptor = fs.openSync(databasePath, fs.existsSync(databasePath) ? 'r+' : 'w+');
      file = { descriptor, bytes: fs.fstatSync(descriptor).size };
      this.#open.set(databasePath, file);
    }
    return file;
  }
}
