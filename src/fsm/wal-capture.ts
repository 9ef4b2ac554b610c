import fs from 'node:fs';
import { assert } from '../raft/assert.js';
import type { PageSet } from './page-set.js';
import {
  frameBytes,
  parseWalFrameHeader,
  parseWalHeader,
  walFrameHeaderBytes,
  walHeaderBytes,
  type WalHeader,
} from './wal-format.js';

/** One committed local transaction: the pages to replicate and the pages that undo it. */
export interface CapturedTransaction {
  readonly redo: PageSet;
  /** The pre-images (DESIGN.md step 5): applied newest first, they restore the state before. */
  readonly undo: PageSet;
  /** WAL frames the transaction wrote; more than its pages when SQLite spilled a page early. */
  readonly walFrames: number;
}

/**
 * Reads, right after each local commit, the frames that commit appended to a database's `-wal`
 * file. One instance per database on the leader; the database must start with an empty or
 * missing WAL (the node checkpoints before it leads), and only this node's connections write.
 *
 * Invariant: `#offset` is the end of the last captured commit frame in the current WAL, and
 * `#latestFrame` maps each page to its newest committed frame at or before it.
 */
export class WalCapture {
  readonly #database: string;
  readonly #walPath: string;
  readonly #databasePath: string;
  #header: WalHeader | undefined;
  #offset = walHeaderBytes;
  readonly #latestFrame = new Map<number, number>();
  /** The database size in pages after the last captured commit. */
  #databasePages: number;
  #pageSize: number;

  constructor(options: { database: string; databasePath: string; pageSize: number }) {
    this.#database = options.database;
    this.#databasePath = options.databasePath;
    this.#walPath = `${options.databasePath}-wal`;
    this.#pageSize = options.pageSize;
    const size = fs.existsSync(this.#databasePath) ? fs.statSync(this.#databasePath).size : 0;
    this.#databasePages = Math.floor(size / options.pageSize);
    assert(walBytes(this.#walPath) <= walHeaderBytes, `WAL of ${options.database} starts empty`);
  }

  /**
   * Captures the transaction committed since the last call, or returns undefined when nothing was
   * committed (a read, or a write that rolled back).
   */
  capture(): CapturedTransaction | undefined {
    const fd = fs.openSync(this.#walPath, 'r');
    try {
      if (!this.#readHeader(fd)) return undefined;
      return this.#readTransaction(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Returns false when the WAL holds no frames yet. Notices a restarted WAL (new salts). */
  #readHeader(fd: number): boolean {
    const bytes = Buffer.alloc(walHeaderBytes);
    if (fs.readSync(fd, bytes, 0, walHeaderBytes, 0) < walHeaderBytes) return false;
    const header = parseWalHeader(bytes);
    const restarted =
      this.#header === undefined ||
      header.salt1 !== this.#header.salt1 ||
      header.salt2 !== this.#header.salt2;
    if (restarted) {
      // SQLite restarts the WAL only after a checkpoint copied every frame into the database
      // file, so the pre-images of earlier pages now live there.
      this.#latestFrame.clear();
      this.#offset = walHeaderBytes;
    }
    this.#header = header;
    assert(
      header.pageSize === this.#pageSize,
      `WAL page size ${header.pageSize} is the database's`,
    );
    return true;
  }

  #readTransaction(fd: number): CapturedTransaction | undefined {
    const header = this.#header;
    assert(header !== undefined, 'header read first');
    const size = frameBytes(header.pageSize);
    const frames: { pageNumber: number; offset: number }[] = [];
    let commit: { end: number; databasePages: number } | undefined;
    const frameHeader = Buffer.alloc(walFrameHeaderBytes);
    for (let offset = this.#offset; ; offset += size) {
      if (fs.readSync(fd, frameHeader, 0, walFrameHeaderBytes, offset) < walFrameHeaderBytes) break;
      const frame = parseWalFrameHeader(frameHeader);
      if (frame.salt1 !== header.salt1 || frame.salt2 !== header.salt2) break; // stale frame
      frames.push({ pageNumber: frame.pageNumber, offset });
      if (frame.databasePages > 0) {
        commit = { end: offset + size, databasePages: frame.databasePages };
      }
    }
    if (commit === undefined) return undefined;
    // A page written twice (a cache spill, then the final image) counts once: its newest frame.
    const newest = new Map<number, number>();
    for (const frame of frames)
      if (frame.offset < commit.end) newest.set(frame.pageNumber, frame.offset);
    const committed = [...newest].sort((a, b) => a[0] - b[0]);
    const undo = this.#preImages(
      fd,
      committed.map(([page]) => page),
    );
    const redo: PageSet = {
      database: this.#database,
      pageSize: header.pageSize,
      databasePages: commit.databasePages,
      pages: committed.map(([pageNumber, offset]) => ({
        pageNumber,
        data: readPage(fd, offset, header.pageSize),
      })),
    };
    for (const [pageNumber, offset] of committed) this.#latestFrame.set(pageNumber, offset);
    this.#offset = commit.end;
    this.#databasePages = commit.databasePages;
    const walFrames = frames.filter((frame) => frame.offset < commit.end).length;
    return { redo, undo, walFrames };
  }

  /** Each page as it was before the transaction: its newest earlier frame, else the file. */
  #preImages(walFd: number, pageNumbers: readonly number[]): PageSet {
    const pages: { pageNumber: number; data: Uint8Array }[] = [];
    const databaseFd = fs.existsSync(this.#databasePath)
      ? fs.openSync(this.#databasePath, 'r')
      : undefined;
    try {
      for (const pageNumber of pageNumbers) {
        if (pageNumber > this.#databasePages) continue; // did not exist: truncation removes it
        const walOffset = this.#latestFrame.get(pageNumber);
        if (walOffset !== undefined) {
          pages.push({ pageNumber, data: readPage(walFd, walOffset, this.#pageSize) });
        } else {
          assert(databaseFd !== undefined, `page ${pageNumber} exists in a database file`);
          const data = Buffer.alloc(this.#pageSize);
          fs.readSync(databaseFd, data, 0, this.#pageSize, (pageNumber - 1) * this.#pageSize);
          pages.push({ pageNumber, data });
        }
      }
    } finally {
      if (databaseFd !== undefined) fs.closeSync(databaseFd);
    }
    return {
      database: this.#database,
      pageSize: this.#pageSize,
      databasePages: this.#databasePages,
      pages,
    };
  }
}

function readPage(fd: number, frameOffset: number, pageSize: number): Buffer {
  const data = Buffer.alloc(pageSize);
  const read = fs.readSync(fd, data, 0, pageSize, frameOffset + walFrameHeaderBytes);
  assert(read === pageSize, `a whole page at WAL offset ${frameOffset}`);
  return data;
}

function walBytes(path: string): number {
  return fs.existsSync(path) ? fs.statSync(path).size : 0;
}
