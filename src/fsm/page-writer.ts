import fs from 'node:fs';
import type { PageSet } from './page-set.js';

/**
 * Writes a page set into a database file that no SQLite connection has open: each page at
 * `(pageNumber - 1) * pageSize`, then the file cut to the set's size, then fsync. Page images
 * are idempotent, so replaying a set after a crash converges (DESIGN.md step 4). Used by
 * followers to apply committed transactions, and by a deposed leader to undo uncommitted ones.
 */
export function writePageSet(databasePath: string, set: PageSet): void {
  const fd = fs.openSync(databasePath, fs.existsSync(databasePath) ? 'r+' : 'w+');
  try {
    for (const page of set.pages) {
      if (page.pageNumber > set.databasePages) continue;
      fs.writeSync(fd, page.data, 0, page.data.byteLength, (page.pageNumber - 1) * set.pageSize);
    }
    fs.ftruncateSync(fd, set.databasePages * set.pageSize);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
