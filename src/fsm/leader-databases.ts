// The databases a leader has open: an anchor connection per database, which keeps its WAL in
// place for the whole leadership, the client sessions' connections, the two witnesses that prove
// what a statement did (the WAL capture and data_version), and the node's own checkpoints. Kept
// apart from DatabaseSet, which is the state machine (apply, undo, snapshots, content checks):
// this is how a leader holds SQLite files open safely and reads what was committed in them.

import Database from 'better-sqlite3';
import fs from 'node:fs';
import { assert } from '../raft/assert.js';
import { isWaitableStorageError } from '../storage/index.js';
import { databaseFile, pageSizeBytes } from './database-directory.js';
import type { PageSet } from './page-set.js';
import { isSqliteFullOrReadOnly, isSqliteSpaceError, retryWhileNoSpace } from './wait-for-space.js';
import { WalCapture } from './wal-capture.js';

/** Checkpoint a leader's WAL once it holds this many frames and nothing is uncommitted. */
const checkpointFramesMin = 1000;

/**
 * One database a leader has open. Its anchor is the first connection opened and the last closed,
 * and it has read the database, so in WAL mode it holds a shared lock on the database file for as
 * long as it is open. SQLite checkpoints and deletes `<db>-wal` when a connection closes and finds
 * it can take an exclusive lock (it believes it is the last); the anchor's lock makes that
 * impossible, so the WAL that `capture` reads is the database's WAL for the anchor's whole life.
 * Only the anchor checkpoints (the node's own checkpoints; clients may not: statement-policy.ts).
 */
interface OpenDatabase {
  readonly anchor: Database.Database;
  /** `PRAGMA data_version` on the anchor: it changes when another connection commits. */
  readonly dataVersion: Database.Statement;
  /**
   * The anchor's data_version as of the last settle. Invariant: outside `settle`, it equals what
   * the anchor would read now, since every commit is settled right after it.
   */
  knownDataVersion: number;
  readonly capture: WalCapture;
  framesSinceCheckpoint: number;
  /**
   * The anchor created the file (SQLite writes its first page when it turns WAL mode on), and no
   * transaction of it has committed yet: the database does not exist for the cluster, so a
   * content check skips it and a step-down removes the file.
   */
  createdHere: boolean;
}

/** What a statement did to a database, as `settle` proves it (DatabaseSet's Settled, unencoded). */
export type Proven =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'committed'; readonly redo: PageSet; readonly undo: PageSet }
  | { readonly kind: 'unproven'; readonly why: string };

/** A database's committed state as its WAL holds it (for a content check on the leader). */
export type CommittedWal = Pick<WalCapture, 'databasePages' | 'committedImage'>;

/**
 * Every database a leader has open, until `stepDown` or `close`. Opened on first use, by the
 * first session connection to name it.
 */
export class LeaderDatabases {
  readonly #directory: string;
  readonly #open = new Map<string, OpenDatabase>();
  /** Extra connections, one per client session; closed with the others on stepDown. */
  readonly #sessionConnections = new Set<Database.Database>();

  constructor(directory: string) {
    this.#directory = directory;
  }

  /** How many databases are open (none outside a leadership). */
  get openCount(): number {
    return this.#open.size;
  }

  has(name: string): boolean {
    return this.#open.has(name);
  }

  /** Whether `name` was created by its anchor and no transaction of it has committed yet. */
  createdHere(name: string): boolean {
    return this.#open.get(name)?.createdHere === true;
  }

  /** What the WAL of `name` holds committed, while it is open. */
  committedWal(name: string): CommittedWal | undefined {
    return this.#open.get(name)?.capture;
  }

  /**
   * A connection to `name` for one client session (the leader's sessions each have their own, as
   * in dqlite). The database's anchor is opened first and outlives it.
   */
  openSessionConnection(name: string): Database.Database {
    this.#database(name);
    const connection = openLeaderConnection(databaseFile(this.#directory, name));
    this.#sessionConnections.add(connection);
    return connection;
  }

  /**
   * A session ended: its connection closes (rolling back what it left open). The anchor's lock
   * keeps this close from checkpointing or deleting the WAL (OpenDatabase); checked here too.
   */
  closeSessionConnection(connection: Database.Database): void {
    if (!this.#sessionConnections.delete(connection)) return;
    connection.close();
    for (const [name, open] of this.#open) {
      const file = databaseFile(this.#directory, name);
      assert(fs.existsSync(`${file}-wal`), `the WAL of ${name} outlives a session`);
      assert(open.anchor.open, `the anchor of ${name} is open`);
    }
  }

  /**
   * After a leader's statement on `name` ended outside a transaction: what it did, proven by two
   * witnesses that must agree. The WAL capture finds the frames of a new commit (or none); the
   * anchor's data_version says whether any other connection committed. A commit is returned with
   * its redo and undo; no commit seen by either is `unchanged`; anything else is `unproven`.
   *
   * `readOnly`: every statement of the request was one SQLite calls read-only, outside a write
   * transaction. Then an unchanged data_version is proof enough (nothing committed, so the WAL
   * holds nothing new to read), and the WAL is read only when it did change.
   */
  settle(name: string, readOnly: boolean): Proven {
    const open = this.#open.get(name);
    assert(open !== undefined, `settle on a database the leader opened (${name})`);
    const version = open.dataVersion.get() as number;
    const changed = version !== open.knownDataVersion;
    open.knownDataVersion = version;
    if (readOnly && !changed) return { kind: 'unchanged' };
    const captured = open.capture.capture();
    if (captured.kind === 'wal-replaced') return { kind: 'unproven', why: captured.why };
    if (captured.kind === 'none') {
      if (!changed) return { kind: 'unchanged' };
      return {
        kind: 'unproven',
        why: `${name} changed, but its WAL holds no new committed transaction`,
      };
    }
    if (!changed) {
      return {
        kind: 'unproven',
        why: `a transaction was found in the WAL of ${name}, but no connection committed one`,
      };
    }
    const { redo, undo, walFrames } = captured.transaction;
    assert(redo.database === name, 'the capture is of this database');
    assert(redo.pages.length > 0, 'a committed transaction wrote pages');
    open.framesSinceCheckpoint += walFrames;
    return { kind: 'committed', redo, undo };
  }

  /** A transaction this leader captured on `name` was applied: the database now exists. */
  committed(name: string): void {
    const open = this.#open.get(name);
    if (open !== undefined) open.createdHere = false;
  }

  /** Checkpoints every WAL that has grown. Only between committed transactions (the caller's). */
  checkpointGrown(): void {
    for (const open of this.#open.values()) {
      if (open.framesSinceCheckpoint < checkpointFramesMin) continue;
      try {
        anchorCheckpoint(open);
      } catch (error) {
        // A full disk or read-only file system: the WAL keeps the frames; try after the next.
        if (isSqliteSpaceError(error)) continue;
        throw error;
      }
      open.framesSinceCheckpoint = 0;
    }
  }

  /** Checkpoints every open database; false when a file would miss committed transactions. */
  checkpointAll(): boolean {
    for (const open of this.#open.values()) {
      // A reader still using old frames stops the checkpoint short.
      if (!anchorCheckpoint(open)) return false;
      open.framesSinceCheckpoint = 0;
    }
    return true;
  }

  /**
   * Leadership is gone: every connection closes, after every frame went into the files. Returns
   * the databases no committed transaction created (they do not exist for the cluster).
   */
  stepDown(): string[] {
    for (const connection of this.#sessionConnections) connection.close();
    this.#sessionConnections.clear();
    const neverCommitted: string[] = [];
    for (const [name, open] of this.#open) {
      if (open.createdHere) neverCommitted.push(name);
      // Every frame into the file before the undo and before the WAL goes: closing would try
      // the same checkpoint but, on a full disk, fail silently and leave frames behind that a
      // later leadership would read over the pages applied meanwhile. So it waits for space.
      retryWhileNoSpace(
        `checkpointing ${name} as leadership ends`,
        () => checkpointed(open.anchor),
        (error) => isWaitableStorageError(error) || isSqliteFullOrReadOnly(error),
      );
      open.capture.close();
      open.anchor.close(); // the last connection: SQLite deletes the WAL now
    }
    this.#open.clear();
    return neverCommitted;
  }

  /** Every connection closes as it stands, with no checkpoint of its own (DatabaseSet.close). */
  close(): void {
    for (const connection of this.#sessionConnections) connection.close();
    this.#sessionConnections.clear();
    for (const open of this.#open.values()) {
      open.capture.close();
      open.anchor.close();
    }
    this.#open.clear();
  }

  /** The anchor of `name` (OpenDatabase), opened on first use. */
  #database(name: string): OpenDatabase {
    let open = this.#open.get(name);
    if (open === undefined) {
      const file = databaseFile(this.#directory, name);
      const createdHere = !fs.existsSync(file);
      const anchor = openLeaderConnection(file);
      anchor.pragma(`page_size = ${pageSizeBytes}`);
      const mode = anchor.pragma('journal_mode = WAL', { simple: true });
      assert(mode === 'wal', `${name} is in WAL mode`);
      // Reading in WAL mode takes the shared lock the anchor keeps, and creates the WAL.
      const dataVersion = anchor.prepare('PRAGMA data_version').pluck();
      const knownDataVersion = dataVersion.get() as number;
      const capture = new WalCapture({
        database: name,
        databasePath: file,
        pageSize: pageSizeBytes,
      });
      open = {
        anchor,
        dataVersion,
        knownDataVersion,
        capture,
        framesSinceCheckpoint: 0,
        createdHere,
      };
      this.#open.set(name, open);
    }
    return open;
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

/**
 * The node's own checkpoint, through the anchor; true when every committed frame is in the file.
 * Only the anchor checkpoints, and between settled statements, so its data_version baseline
 * stays exact: a checkpoint that restarts the WAL reads to other connections as a change.
 */
function anchorCheckpoint(open: OpenDatabase): boolean {
  assert(
    open.dataVersion.get() === open.knownDataVersion,
    'every commit was settled before a checkpoint',
  );
  const done = checkpointed(open.anchor);
  open.knownDataVersion = open.dataVersion.get() as number;
  if (done) open.capture.checkpointed();
  return done;
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
