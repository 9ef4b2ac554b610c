import fs from 'node:fs';
import os from 'node:os';
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

/** WAL frames read at a time (about 1 MiB with 4 KiB pages). */
const framesPerRead = 256;

/** One committed local transaction: the pages to replicate and the pages that undo it. */
export interface CapturedTransaction {
  readonly redo: PageSet;
  /**
   * The pre-images (docs/architecture.md, "Replication", step 5): applied newest first, they
   * restore the state before.
   */
  readonly undo: PageSet;
  /** WAL frames the transaction wrote; more than its pages when SQLite spilled a page early. */
  readonly walFrames: number;
}

/** What `WalCapture.capture` found since the last call. */
export type CaptureResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'committed'; readonly transaction: CapturedTransaction }
  /** The WAL this capture reads is no longer the database's WAL: it cannot vouch for anything. */
  | { readonly kind: 'wal-replaced'; readonly why: string };

/**
 * Reads, right after each local commit, the frames that commit appended to a database's `-wal`
 * file. One instance per database on the leader; only this node's connections write.
 *
 * Precondition (checked): the database's anchor connection (DatabaseSet) has it open in WAL mode
 * and has read it, so `<db>-wal` exists, starts empty, and stays the same file until the anchor
 * closes. SQLite deletes the WAL when the last connection to a database closes, and the next
 * connection creates a new one; a capture that kept reading the old, deleted file would find
 * nothing ever again, and every later write would look like a read. So the WAL's identity is
 * checked on every capture, and a replaced WAL is reported, never read past.
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
  /** The WAL, open from construction to `close`; undefined once closed. */
  #walDescriptor: number | undefined;
  /** Invariant: the WAL file at `#walPath` is this inode on this device while the capture is open. */
  readonly #walIdentity: FileIdentity;
  /** Invariant: the database file is this inode while the capture is open (nobody replaced it). */
  readonly #databaseIdentity: FileIdentity;
  #databaseDescriptor: number | undefined;
  /** The wal-index (`<db>-shm`), opened at the first capture that reads frames. */
  #shmDescriptor: number | undefined;
  readonly #headerBytes = Buffer.alloc(walHeaderBytes);
  readonly #indexHeaderBytes = Buffer.alloc(2 * walIndexHeaderBytes);

  constructor(options: { database: string; databasePath: string; pageSize: number }) {
    this.#database = options.database;
    this.#databasePath = options.databasePath;
    this.#walPath = `${options.databasePath}-wal`;
    this.#pageSize = options.pageSize;
    assert(fs.existsSync(this.#databasePath), `the anchor created ${options.database}`);
    const database = fs.statSync(this.#databasePath);
    this.#databaseIdentity = { dev: database.dev, ino: database.ino };
    this.#databasePages = Math.floor(database.size / options.pageSize);
    assert(fs.existsSync(this.#walPath), `the anchor created the WAL of ${options.database}`);
    this.#walDescriptor = fs.openSync(this.#walPath, 'r');
    const identity = fs.fstatSync(this.#walDescriptor);
    this.#walIdentity = { dev: identity.dev, ino: identity.ino };
    assert(identity.size <= walHeaderBytes, `WAL of ${options.database} starts empty`);
  }

  /**
   * What was committed since the last call: one transaction's pages, nothing (a read, or a write
   * that rolled back), or a report that the WAL was replaced underneath (then nothing it holds
   * can be trusted to be complete, and the caller must not answer as if nothing was written).
   */
  capture(): CaptureResult {
    const fd = this.#walDescriptor;
    assert(fd !== undefined, 'capture before close');
    const replaced = this.#replacement();
    if (replaced !== undefined) return { kind: 'wal-replaced', why: replaced };
    if (!this.#readHeader(fd)) return { kind: 'none' };
    const transaction = this.#readTransaction(fd);
    return transaction === undefined ? { kind: 'none' } : { kind: 'committed', transaction };
  }

  /** The database size in pages after the last captured commit. */
  get databasePages(): number {
    return this.#databasePages;
  }

  /**
   * Page `pageNumber` as the last captured commit left it, when that image is in the WAL;
   * undefined when the database file holds the newest committed image.
   */
  committedImage(pageNumber: number): Buffer | undefined {
    const offset = this.#latestFrame.get(pageNumber);
    const fd = this.#walDescriptor;
    if (offset === undefined) return undefined;
    assert(fd !== undefined, 'a committed image is read before close');
    return readPage(fd, offset, this.#pageSize);
  }

  /**
   * The node checkpointed every committed frame into the database file: the file now holds the
   * newest image of every page (the WAL may already be truncated, so its offsets are stale).
   */
  checkpointed(): void {
    this.#latestFrame.clear();
  }

  /** Closes the files this capture keeps open; it must not be used afterwards. */
  close(): void {
    if (this.#walDescriptor !== undefined) fs.closeSync(this.#walDescriptor);
    if (this.#databaseDescriptor !== undefined) fs.closeSync(this.#databaseDescriptor);
    if (this.#shmDescriptor !== undefined) fs.closeSync(this.#shmDescriptor);
    this.#walDescriptor = undefined;
    this.#databaseDescriptor = undefined;
    this.#shmDescriptor = undefined;
  }

  /**
   * The end of the WAL's committed frames, from the wal-index header in `<db>-shm`
   * (walformat.html: mxFrame, and the salts of the WAL it describes). SQLite keeps two copies;
   * they differ only while a writer updates them, which cannot happen between this node's
   * statements, so a difference is read again and, if it stays, the smaller end is taken.
   */
  #walIndexEnd(header: WalHeader, frameSize: number): number {
    this.#shmDescriptor ??= fs.openSync(`${this.#databasePath}-shm`, 'r');
    const bytes = this.#indexHeaderBytes;
    let ends: [number, number] = [0, 0];
    for (let attempt = 0; attempt < 3; attempt++) {
      const read = fs.readSync(this.#shmDescriptor, bytes, 0, bytes.length, 0);
      assert(read === bytes.length, 'the wal-index header is whole');
      ends = [0, walIndexHeaderBytes].map((at) => committedEndOf(bytes, at, header, frameSize)) as [
        number,
        number,
      ];
      if (ends[0] === ends[1]) break;
    }
    return Math.min(...ends);
  }

  /**
   * Why the files at the WAL's or the database's path are not those this capture started with,
   * or undefined. Either replaced means writes went where nothing reads them.
   */
  #replacement(): string | undefined {
    return (
      replacementOf(this.#walPath, this.#walIdentity, `the WAL of ${this.#database}`) ??
      replacementOf(
        this.#databasePath,
        this.#databaseIdentity,
        `the database file ${this.#database}`,
      )
    );
  }

  /** Returns false when the WAL holds no frames yet. Notices a restarted WAL (new salts). */
  #readHeader(fd: number): boolean {
    const bytes = this.#headerBytes;
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
    // Only frames SQLite counts as committed: a write that failed after writing its frames (no
    // space for the wal-index, say) leaves whole commit frames past the end that SQLite rolled
    // back, and the next transaction overwrites them.
    const committedEnd = this.#walIndexEnd(header, size);
    const fileBytes = Math.min(fs.fstatSync(fd).size, committedEnd);
    const frames: { pageNumber: number; offset: number; data: Buffer }[] = [];
    let commit: { end: number; databasePages: number } | undefined;
    // The new frames follow the last captured commit; read them in a few large reads. A WAL that
    // SQLite restarted without truncating holds stale frames after them: the salts end the scan.
    let offset = this.#offset;
    scan: while (offset + size <= fileBytes) {
      const frameCount = Math.min(framesPerRead, Math.floor((fileBytes - offset) / size));
      const region = Buffer.allocUnsafe(frameCount * size);
      const read = fs.readSync(fd, region, 0, region.length, offset);
      for (let at = 0; at + size <= read; at += size, offset += size) {
        const frame = parseWalFrameHeader(region.subarray(at, at + walFrameHeaderBytes));
        if (frame.salt1 !== header.salt1 || frame.salt2 !== header.salt2) break scan;
        const data = region.subarray(at + walFrameHeaderBytes, at + size);
        frames.push({ pageNumber: frame.pageNumber, offset, data });
        if (frame.databasePages > 0)
          commit = { end: offset + size, databasePages: frame.databasePages };
      }
      if (read < region.length) break;
    }
    if (commit === undefined) return undefined;
    assert(commit.end === committedEnd, 'the last commit frame ends where the wal-index says');
    // A page written twice (a cache spill, then the final image) counts once: its newest frame.
    const newest = new Map<number, (typeof frames)[number]>();
    for (const frame of frames)
      if (frame.offset < committedEnd) newest.set(frame.pageNumber, frame);
    const committed = [...newest.values()].sort((a, b) => a.pageNumber - b.pageNumber);
    const undo = this.#preImages(
      fd,
      committed.map((frame) => frame.pageNumber),
    );
    const redo: PageSet = {
      database: this.#database,
      pageSize: header.pageSize,
      databasePages: commit.databasePages,
      pages: committed.map(({ pageNumber, data }) => ({ pageNumber, data })),
    };
    for (const frame of committed) this.#latestFrame.set(frame.pageNumber, frame.offset);
    this.#offset = committedEnd;
    this.#databasePages = commit.databasePages;
    const walFrames = frames.filter((frame) => frame.offset < committedEnd).length;
    return { redo, undo, walFrames };
  }

  /** Each page as it was before the transaction: its newest earlier frame, else the file. */
  #preImages(walFd: number, pageNumbers: readonly number[]): PageSet {
    const pages: { pageNumber: number; data: Uint8Array }[] = [];
    for (const pageNumber of pageNumbers) {
      if (pageNumber > this.#databasePages) continue; // did not exist: truncation removes it
      const walOffset = this.#latestFrame.get(pageNumber);
      if (walOffset !== undefined) {
        pages.push({ pageNumber, data: readPage(walFd, walOffset, this.#pageSize) });
      } else {
        const databaseFd = (this.#databaseDescriptor ??= fs.openSync(this.#databasePath, 'r'));
        const data = Buffer.allocUnsafe(this.#pageSize);
        const read = fs.readSync(
          databaseFd,
          data,
          0,
          this.#pageSize,
          (pageNumber - 1) * this.#pageSize,
        );
        assert(read === this.#pageSize, `page ${pageNumber} exists in the database file`);
        pages.push({ pageNumber, data });
      }
    }
    return {
      database: this.#database,
      pageSize: this.#pageSize,
      databasePages: this.#databasePages,
      pages,
    };
  }
}

/** Bytes of one copy of the wal-index header (WalIndexHdr). */
const walIndexHeaderBytes = 48;
/** Its mxFrame (native byte order) and salts (as in the WAL header: big-endian). */
const mxFrameOffset = 16;
const saltsOffset = 32;

/**
 * The byte offset just past the last committed frame, by the wal-index header copy at `at`; the
 * WAL header's end when that copy describes another WAL (restarted, not written yet).
 */
function committedEndOf(bytes: Buffer, at: number, header: WalHeader, frameSize: number): number {
  const little = os.endianness() === 'LE';
  const mxFrame = little
    ? bytes.readUInt32LE(at + mxFrameOffset)
    : bytes.readUInt32BE(at + mxFrameOffset);
  const salt1 = bytes.readUInt32BE(at + saltsOffset);
  const salt2 = bytes.readUInt32BE(at + saltsOffset + 4);
  if (salt1 !== header.salt1 || salt2 !== header.salt2) return walHeaderBytes;
  return walHeaderBytes + mxFrame * frameSize;
}

interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

function replacementOf(file: string, identity: FileIdentity, what: string): string | undefined {
  const now = fs.statSync(file, { throwIfNoEntry: false });
  if (now === undefined) return `${what} was deleted`;
  if (now.ino !== identity.ino || now.dev !== identity.dev)
    return `${what} was replaced by a new file`;
  return undefined;
}

function readPage(fd: number, frameOffset: number, pageSize: number): Buffer {
  const data = Buffer.allocUnsafe(pageSize);
  const read = fs.readSync(fd, data, 0, pageSize, frameOffset + walFrameHeaderBytes);
  assert(read === pageSize, `a whole page at WAL offset ${frameOffset}`);
  return data;
}
