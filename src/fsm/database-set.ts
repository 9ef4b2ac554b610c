import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../raft/assert.js';
import { EntryType, type Entry, type SnapshotMetadata } from '../raft/types.js';
import { LeadershipLostError } from './leadership-lost-error.js';
import { decodePageSet, encodePageSet, type PageSet } from './page-set.js';
import { isWaitableStorageError } from '../storage/index.js';
import { PageFiles } from './page-writer.js';
import { SnapshotReader, restoringSuffix, writeSnapshotBlob } from './snapshot-format.js';
import { isSqliteFullOrReadOnly, isSqliteSpaceError, retryWhileNoSpace } from './wait-for-space.js';
import { WalCapture } from './wal-capture.js';

/** SQLite's default page size; every database of a cluster uses it. */
export const pageSizeBytes = 4096;
/** Names the snapshots `snapshotToFile` writes; `~` cannot occur in a database name. */
const snapshotFilePrefix = '~snapshot-';
/** Checkpoint a leader's WAL once it holds this many frames and nothing is uncommitted. */
const checkpointFramesMin = 1000;

/** A transaction proposed to Raft and not yet applied: its undo and its waiting client. */
interface PendingWrite {
  /** 0 until the host reports the entry it proposed (`proposed`). */
  index: number;
  term: number;
  readonly undo: PageSet;
  resolve?: () => void;
  reject?: (error: Error) => void;
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
  /** Extra connections, one per client session; closed with the others on stepDown. */
  readonly #sessionConnections = new Set<Database.Database>();
  #pending: PendingWrite[] = [];
  #appliedIndex = 0;
  /** Database files a follower writes committed pages into, open across applies. */
  readonly #pageFiles = new PageFiles();

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
    const problem = databaseNameProblem(name);
    if (problem !== undefined) throw new RangeError(problem);
    return path.join(this.#directory, name);
  }

  /** Called once this node leads and has applied everything committed before its term. */
  lead(): void {
    assert(this.#open.size === 0 && this.#pending.length === 0, 'a new leader starts clean');
    this.#pageFiles.closeAll();
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
      const connection = openLeaderConnection(file);
      connection.pragma(`page_size = ${pageSizeBytes}`);
      connection.pragma('journal_mode = WAL');
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
   * Another connection to `name` for one client session (the leader's sessions each have their
   * own, as in dqlite). The database's first connection stays open to keep its WAL.
   */
  openSessionConnection(name: string): Database.Database {
    this.connection(name);
    const connection = openLeaderConnection(this.#file(name));
    this.#sessionConnections.add(connection);
    return connection;
  }

  /** A session ended: its connection closes (rolling back what it left open). */
  closeSessionConnection(connection: Database.Database): void {
    if (!this.#sessionConnections.delete(connection)) return;
    connection.close();
  }

  /**
   * After a statement on `name` ended outside a transaction: captures what it committed and
   * returns the entry to propose, or undefined when nothing was written. The caller proposes it
   * and reports the entry with `proposed`; until then and until it is applied, its undo is kept.
   */
  capture(name: string): Uint8Array | undefined {
    const open = this.#open.get(name);
    assert(open !== undefined, 'capture after a local commit');
    const captured = open.capture.capture();
    if (captured === undefined) return undefined;
    open.framesSinceCheckpoint += captured.walFrames;
    this.#pending.push({ index: 0, term: 0, undo: captured.undo });
    return encodePageSet(captured.redo);
  }

  /** The oldest captured transaction not yet reported was proposed as entry (index, term). */
  proposed(index: number, term: number): void {
    const write = this.#pending.find((pending) => pending.index === 0);
    assert(write !== undefined, 'a proposal matches a captured transaction');
    write.index = index;
    write.term = term;
  }

  /**
   * capture, propose and proposed in one step, for a host on the same thread: resolves once Raft
   * committed the transaction, at once when nothing was written.
   */
  commitWrite(name: string, propose: Propose): Promise<void> {
    const data = this.capture(name);
    if (data === undefined) return Promise.resolve();
    const proposal = propose(data);
    if (!proposal.ok) {
      // Not proposed, so the local commit must not survive: undo it with everything pending.
      this.stepDown();
      return Promise.reject(new LeadershipLostError(proposal.message));
    }
    this.proposed(proposal.index, proposal.term);
    const write = this.#pending.at(-1);
    assert(write !== undefined, 'the write just proposed is pending');
    return new Promise((resolve, reject) => {
      write.resolve = resolve;
      write.reject = reject;
    });
  }

  /** The index of the last entry applied or restored. */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** Transactions captured on this leader and not yet applied. */
  get pendingWrites(): number {
    return this.#pending.length;
  }

  /** Raft's apply: our own committed writes release their clients; others are written out. */
  apply(entry: Entry): void {
    this.#appliedIndex = entry.index;
    if (entry.type !== EntryType.command) return;
    const mine = this.#pending[0];
    if (mine !== undefined && mine.index === entry.index && mine.term === entry.term) {
      this.#pending.shift();
      mine.resolve?.();
      this.#maybeCheckpoint();
      return;
    }
    assert(
      this.#pending.length === 0 || entry.index < (this.#pending[0]?.index ?? 0),
      'entries apply in order',
    );
    const set = decodePageSet(entry.data);
    assert(!this.#open.has(set.database), `a follower's copy of ${set.database} is closed`);
    this.#pageFiles.write(this.#file(set.database), set);
  }

  /**
   * Leadership is gone: close every connection (which checkpoints all frames into the files),
   * then undo the transactions Raft did not commit, newest first, and fail their clients.
   */
  stepDown(): void {
    this.#leading = false;
    for (const connection of this.#sessionConnections) connection.close();
    this.#sessionConnections.clear();
    for (const [name, open] of this.#open) {
      // Every frame into the file before the undo below and before the WAL goes: closing would
      // try the same checkpoint but, on a full disk, fail silently and leave frames behind that
      // a later leadership would read over the pages applied meanwhile. So it waits for space.
      retryWhileNoSpace(
        `checkpointing ${name} as leadership ends`,
        () => checkpointed(open.connection),
        (error) => isWaitableStorageError(error) || isSqliteFullOrReadOnly(error),
      );
      open.connection.close();
      open.capture.close();
    }
    this.#open.clear();
    const pending = this.#pending.reverse();
    this.#pending = [];
    for (const write of pending) this.#pageFiles.write(this.#file(write.undo.database), write.undo);
    const error = new LeadershipLostError('leadership lost before the write committed');
    for (const write of pending) write.reject?.(error);
  }

  /** Checkpoints between committed transactions only, when the WAL has grown. */
  #maybeCheckpoint(): void {
    if (this.#pending.length > 0) return;
    for (const open of this.#open.values()) {
      if (open.framesSinceCheckpoint < checkpointFramesMin) continue;
      try {
        open.connection.pragma('wal_checkpoint(TRUNCATE)');
      } catch (error) {
        // A full disk or read-only file system: the WAL keeps the frames; try after the next.
        if (isSqliteSpaceError(error)) continue;
        throw error;
      }
      open.framesSinceCheckpoint = 0;
    }
  }

  /**
   * Every database file as one blob (snapshot-format.ts), reflecting exactly the applied entries;
   * undefined while a leader has writes in flight (their frames are in the WAL) or a reader keeps
   * the checkpoint from finishing, so the host retries later. For small states and tests;
   * `snapshotToFile` does not hold the databases in memory.
   */
  snapshot(): Uint8Array | undefined {
    if (!this.#readyForSnapshot()) return undefined;
    const parts: Uint8Array[] = [];
    writeSnapshotBlob(this.#directory, this.#databaseNames(), (bytes) => parts.push(bytes));
    return Buffer.concat(parts);
  }

  /**
   * Writes the snapshot blob to `~snapshot-<applied index>` beside the databases, copying each in
   * chunks, and returns its path and size; undefined when `snapshot` would be. The caller removes
   * the file (a name per index, so removing an old one never hits a newer one).
   */
  snapshotToFile(): { file: string; bytes: number } | undefined {
    const file = path.join(this.#directory, `${snapshotFilePrefix}${this.#appliedIndex}`);
    try {
      if (!this.#readyForSnapshot()) return undefined;
      const descriptor = fs.openSync(file, 'w');
      let bytes = 0;
      try {
        writeSnapshotBlob(this.#directory, this.#databaseNames(), (chunk) => {
          fs.writeSync(descriptor, chunk);
          bytes += chunk.byteLength;
        });
      } finally {
        fs.closeSync(descriptor);
      }
      return { file, bytes };
    } catch (error) {
      // No room for the copy (or the checkpoint before it): no snapshot now, Raft asks again
      // later, and the log it would have compacted stays until then.
      if (!isWaitableStorageError(error) && !isSqliteSpaceError(error)) throw error;
      try {
        fs.rmSync(file, { force: true });
      } catch {
        // Read-only: nothing was written either. The next snapshot's name differs anyway.
      }
      return undefined;
    }
  }

  /** Checkpoints every open database; false when the files would miss committed transactions. */
  #readyForSnapshot(): boolean {
    if (this.#pending.length > 0) return false;
    for (const open of this.#open.values()) {
      // A reader still using old frames stops the checkpoint short.
      if (!checkpointed(open.connection)) return false;
      open.framesSinceCheckpoint = 0;
    }
    return true;
  }

  /**
   * Replaces every database by the snapshot's copies. Only a follower restores. Each file is
   * written beside its database, fsynced and renamed over it only once the whole snapshot
   * arrived, so a crash leaves every database either old or new, never torn; Raft restores the
   * snapshot again at the next start.
   */
  restore(metadata: SnapshotMetadata, data: Uint8Array): void {
    const reader = this.beginRestore();
    reader.push(data);
    this.finishRestore(reader, metadata.index);
  }

  /** Starts a restore that receives the snapshot in chunks (`SnapshotReader.push`). */
  beginRestore(): SnapshotReader {
    assert(!this.#leading && this.#open.size === 0, 'only a follower restores a snapshot');
    // The restore renames new files over the databases: writes must not go to the old ones.
    this.#pageFiles.closeAll();
    return new SnapshotReader(this.#directory, databaseNameProblem);
  }

  finishRestore(reader: SnapshotReader, index: number): void {
    reader.finish(this.#databaseNames());
    this.#appliedIndex = index;
  }

  #databaseNames(): string[] {
    return fs
      .readdirSync(this.#directory)
      .filter((name) => !isLeftover(name) && !name.endsWith('-journal'))
      .sort();
  }
}

/**
 * Checkpoints the WAL into the database file; true when every committed frame is now in the
 * file. The WAL itself may stay (another connection still has it open: `busy`); the file is
 * complete either way.
 */
function checkpointed(connection: Database.Database): boolean {
  const [result] = connection.pragma('wal_checkpoint(TRUNCATE)') as {
    busy: number;
    log: number;
    checkpointed: number;
  }[];
  return result !== undefined && result.log >= 0 && result.checkpointed === result.log;
}

/** Why `name` cannot name a database (it must be a plain file name), or undefined. */
export function databaseNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9_.-]{1,255}$/.test(name) || name === '.' || name === '..') {
    return `database name "${name}" must be 1-255 of A-Z a-z 0-9 _ . -`;
  }
  return undefined;
}

/**
 * A leader's connection: WAL mode, no automatic checkpoint (only committed boundaries are
 * checkpointed), no busy wait, which would block the thread the lock holder needs, and no fsync:
 * what is durable is the Raft log and the snapshots. A restart drops the WAL and rebuilds every
 * database from the last snapshot and the log after it, so neither a commit nor a checkpoint
 * needs the file on disk (a checkpoint's fsync cost several milliseconds of the worker's time).
 */
function openLeaderConnection(file: string): Database.Database {
  const connection = new Database(file, { timeout: 0 });
  connection.pragma('wal_autocheckpoint = 0');
  connection.pragma('synchronous = OFF');
  return connection;
}

/**
 * Files beside the databases that must not outlive a process: a WAL and its index (which may hold
 * frames Raft never committed), a restore that stopped half way, and a snapshot being copied.
 */
function isLeftover(name: string): boolean {
  return (
    /(-wal|-shm)$/.test(name) ||
    name.endsWith(restoringSuffix) ||
    name.startsWith(snapshotFilePrefix)
  );
}
