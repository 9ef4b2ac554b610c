import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../raft/assert.js';
import { EntryType, type Entry, type SnapshotMetadata } from '../raft/types.js';
import { syncDirectorySync, writeFileDurablySync } from '../storage/durable-file.js';
import { LeadershipLostError } from './leadership-lost-error.js';
import { decodePageSet, encodePageSet, type PageSet } from './page-set.js';
import { writePageSet } from './page-writer.js';
import { WalCapture } from './wal-capture.js';

/** SQLite's default page size; every database of a cluster uses it. */
export const pageSizeBytes = 4096;
/** Marks a database file being restored; `~` cannot occur in a database name. */
const restoringSuffix = '~restore';
/** Checkpoint a leader's WAL once it holds this many frames and nothing is uncommitted. */
const checkpointFramesMin = 1000;

/** A transaction proposed to Raft and not yet applied: its undo and its waiting client. */
interface PendingWrite {
  readonly index: number;
  readonly term: number;
  readonly undo: PageSet;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface OpenDatabase {
  readonly connection: Database.Database;
  readonly capture: WalCapture;
  framesSinceCheckpoint: number;
}

export type Propose = (
  data: Uint8Array,
) =>
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly message: string };

/**
 * Every database of one node, as Raft's state machine (DESIGN.md, "Replication").
 *
 * As a follower it holds no SQLite connection: each committed page set is written straight into
 * its database file. As leader it opens connections in WAL mode with automatic checkpoints off;
 * after each local commit `commitWrite` captures the pages from the WAL, proposes them, and
 * returns a promise that settles only when Raft committed them (no client sees an unreplicated
 * write). On losing leadership, `stepDown` closes the connections, undoes every transaction that
 * did not commit by its pre-images (newest first), and fails their clients with
 * LeadershipLostError.
 */
export class DatabaseSet {
  readonly #directory: string;
  #leading = false;
  readonly #open = new Map<string, OpenDatabase>();
  #pending: PendingWrite[] = [];

  constructor(directory: string) {
    this.#directory = directory;
    fs.mkdirSync(directory, { recursive: true });
    // A WAL left by a leader that crashed may hold transactions Raft never committed, and
    // SQLite would replay them into the database at the next open. Raft rebuilds the committed
    // state on its own (it restores the snapshot, then applies every committed entry after it), so
    // the leftovers are dropped, never trusted.
    for (const name of fs.readdirSync(directory)) {
      if (isLeftover(name)) fs.rmSync(path.join(directory, name));
    }
  }

  /** The file of database `name`; a name from a client that is not a plain file name is refused. */
  #file(name: string): string {
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(name) || name === '.' || name === '..') {
      throw new RangeError(`database name "${name}" must be 1-255 of A-Z a-z 0-9 _ . -`);
    }
    return path.join(this.#directory, name);
  }

  /** Called once this node leads and has applied everything committed before its term. */
  lead(): void {
    assert(this.#open.size === 0 && this.#pending.length === 0, 'a new leader starts clean');
    this.#leading = true;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** The leader's connection to `name`, created on first use. */
  connection(name: string): Database.Database {
    assert(this.#leading, 'only a leader opens databases');
    let open = this.#open.get(name);
    if (open === undefined) {
      const file = this.#file(name);
      const connection = new Database(file);
      connection.pragma(`page_size = ${pageSizeBytes}`);
      connection.pragma('journal_mode = WAL');
      connection.pragma('wal_autocheckpoint = 0');
      const capture = new WalCapture({
        database: name,
        databasePath: file,
        pageSize: pageSizeBytes,
      });
      open = { connection, capture, framesSinceCheckpoint: 0 };
      this.#open.set(name, open);
    }
    return open.connection;
  }

  /**
   * After a statement or transaction on `name` ended outside a transaction: captures what it
   * committed, proposes it, and resolves once Raft committed it. Resolves at once when nothing
   * was written.
   */
  commitWrite(name: string, propose: Propose): Promise<void> {
    const open = this.#open.get(name);
    assert(open !== undefined && !open.connection.inTransaction, 'capture after a local commit');
    const captured = open.capture.capture();
    if (captured === undefined) return Promise.resolve();
    open.framesSinceCheckpoint += captured.walFrames;
    const proposal = propose(encodePageSet(captured.redo));
    if (!proposal.ok) {
      // Not proposed, so the local commit must not survive: undo it with everything pending.
      this.stepDown([captured.undo]);
      return Promise.reject(new LeadershipLostError(proposal.message));
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({
        index: proposal.index,
        term: proposal.term,
        undo: captured.undo,
        resolve,
        reject,
      });
    });
  }

  /** Raft's apply: our own committed writes release their clients; others are written out. */
  apply(entry: Entry): void {
    if (entry.type !== EntryType.command) return;
    const mine = this.#pending[0];
    if (mine !== undefined && mine.index === entry.index && mine.term === entry.term) {
      this.#pending.shift();
      mine.resolve();
      this.#maybeCheckpoint();
      return;
    }
    assert(
      this.#pending.length === 0 || entry.index < (this.#pending[0]?.index ?? 0),
      'entries apply in order',
    );
    const set = decodePageSet(entry.data);
    assert(!this.#open.has(set.database), `a follower's copy of ${set.database} is closed`);
    writePageSet(this.#file(set.database), set);
  }

  /**
   * Leadership is gone: close every connection (which checkpoints all frames into the files),
   * then undo the transactions Raft did not commit, newest first, and fail their clients.
   */
  stepDown(newestUndos: readonly PageSet[] = []): void {
    this.#leading = false;
    for (const open of this.#open.values()) open.connection.close();
    this.#open.clear();
    const pending = this.#pending.reverse();
    this.#pending = [];
    const undos = [...newestUndos, ...pending.map((write) => write.undo)];
    for (const undo of undos) writePageSet(this.#file(undo.database), undo);
    const error = new LeadershipLostError('leadership lost before the write committed');
    for (const write of pending) write.reject(error);
  }

  /** Checkpoints between committed transactions only, when the WAL has grown. */
  #maybeCheckpoint(): void {
    if (this.#pending.length > 0) return;
    for (const open of this.#open.values()) {
      if (open.framesSinceCheckpoint < checkpointFramesMin) continue;
      open.connection.pragma('wal_checkpoint(TRUNCATE)');
      open.framesSinceCheckpoint = 0;
    }
  }

  /**
   * Every database file as one blob (u32 count; per database: u8 name length, name, u64 size,
   * bytes), reflecting exactly the applied entries; undefined while a leader has writes in flight
   * (their frames are in the WAL), so the host retries later.
   */
  snapshot(): Uint8Array | undefined {
    if (this.#pending.length > 0) return undefined;
    for (const open of this.#open.values()) open.connection.pragma('wal_checkpoint(TRUNCATE)');
    const parts: Buffer[] = [];
    const names = this.#databaseNames();
    const count = Buffer.alloc(4);
    count.writeUInt32LE(names.length);
    parts.push(count);
    for (const name of names) {
      const data = fs.readFileSync(this.#file(name));
      const header = Buffer.alloc(1 + Buffer.byteLength(name) + 8);
      header.writeUInt8(Buffer.byteLength(name), 0);
      header.write(name, 1);
      header.writeBigUInt64LE(BigInt(data.length), 1 + Buffer.byteLength(name));
      parts.push(header, data);
    }
    return Buffer.concat(parts);
  }

  /**
   * Replaces every database by the snapshot's copies. Only a follower restores. Each file is
   * written beside its database, fsynced and renamed over it, so a crash leaves every database
   * either old or new, never torn; Raft restores the snapshot again at the next start.
   */
  restore(_metadata: SnapshotMetadata, data: Uint8Array): void {
    assert(!this.#leading && this.#open.size === 0, 'only a follower restores a snapshot');
    const databases = parseSnapshot(data);
    for (const name of fs.readdirSync(this.#directory)) {
      if (name.endsWith(restoringSuffix)) fs.rmSync(path.join(this.#directory, name));
    }
    for (const { name, bytes } of databases) {
      const file = this.#file(name);
      const staged = `${file}${restoringSuffix}`;
      writeFileDurablySync(staged, bytes);
      fs.renameSync(staged, file);
    }
    const kept = new Set(databases.map((database) => database.name));
    for (const name of this.#databaseNames()) if (!kept.has(name)) fs.rmSync(this.#file(name));
    syncDirectorySync(this.#directory);
  }

  #databaseNames(): string[] {
    return fs
      .readdirSync(this.#directory)
      .filter((name) => !isLeftover(name) && !name.endsWith('-journal'))
      .sort();
  }
}

/** Splits a snapshot blob into its databases, checking every length before anything is written. */
function parseSnapshot(data: Uint8Array): { name: string; bytes: Buffer }[] {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fail = (why: string): never => {
    throw new RangeError(`bad database snapshot: ${why}`);
  };
  if (buffer.length < 4) fail('truncated');
  const databases: { name: string; bytes: Buffer }[] = [];
  let offset = 4;
  for (let i = 0; i < buffer.readUInt32LE(0); i++) {
    if (offset + 1 > buffer.length) fail('truncated name');
    const length = buffer.readUInt8(offset);
    if (offset + 1 + length + 8 > buffer.length) fail('truncated header');
    const name = buffer.toString('utf8', offset + 1, offset + 1 + length);
    const size = Number(buffer.readBigUInt64LE(offset + 1 + length));
    offset += 1 + length + 8;
    if (offset + size > buffer.length) fail(`database ${name} is truncated`);
    databases.push({ name, bytes: buffer.subarray(offset, offset + size) });
    offset += size;
  }
  if (offset !== buffer.length) fail('trailing bytes');
  return databases;
}

/**
 * Files beside the databases that must not outlive a process: a WAL and its index (which may hold
 * frames Raft never committed) and a restore that stopped half way.
 */
function isLeftover(name: string): boolean {
  return /(-wal|-shm)$/.test(name) || name.endsWith(restoringSuffix);
}
