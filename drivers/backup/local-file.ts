// The file side of a copy: a plain SQLite file written beside its destination and renamed into
// place only once it is complete and passes PRAGMA integrity_check, so the destination is never a
// half-written file.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** SQLite's file header: the first 16 bytes of every database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** A temporary file in `file`'s folder, so the final rename stays on one file system. */
export function temporaryFileFor(file: string): string {
  const absolute = path.resolve(file);
  const name = `.${path.basename(absolute)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  return path.join(path.dirname(absolute), name);
}

/** Opens the file a backup writes: no journal and no fsync while filling it (it is not live yet). */
export function openBackupFile(temporary: string): Database.Database {
  const db = new Database(temporary);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  return db;
}

/** The problems PRAGMA integrity_check reports, or an empty list for "ok". */
export function integrityProblems(db: Database.Database): string[] {
  const rows = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
  return rows.length === 1 && rows[0] === 'ok' ? [] : rows;
}

/**
 * Makes the finished backup file durable and moves it onto `file`: journal mode back to SQLite's
 * default, closed, fsynced, renamed, and the folder fsynced so the rename survives a crash.
 */
export function publishBackupFile(db: Database.Database, temporary: string, file: string): void {
  db.pragma('journal_mode = DELETE');
  db.close();
  fsyncPath(temporary);
  fs.renameSync(temporary, path.resolve(file));
  fsyncPath(path.dirname(path.resolve(file)));
}

function fsyncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether `file` begins with SQLite's header; false for a shorter file. */
export function hasSqliteHeader(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const read = fs.readSync(fd, header, 0, header.length, 0);
    return read === header.length && header.equals(SQLITE_HEADER);
  } finally {
    fs.closeSync(fd);
  }
}
