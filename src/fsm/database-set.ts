import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../raft/assert.js';
import { EntryType, type Entry } from '../raft/types.js';
import { decodePageSet, encodePageSet, type PageSet } from './page-set.js';
import { isWaitableStorageError } from '../storage/index.js';
import { PageFiles } from './page-files.js';
import { SnapshotReader, restoringSuffix, writeSnapshotBlob } from './snapshot-format.js';
import { isSqliteFullOrReadOnly, isSqliteSpaceError, retryWhileNoSpace } from './wait-for-space.js';
import { WalCapture } from './wal-capture.js';
import {
  digestDatabase,
  isContentCheck,
  type ContentCheck,
  type DatabaseDigest,
} from './content-check.js';

/** SQLite's default page size; every database of a cluster uses it. */
export const pageSizeBytes = 4096;
/** Names the snapshots `snapshotToFile` writes; `~` cannot occur in a database name. */
const snapshotFilePrefix = '~snapshot-';
/** Content checks a node remembers; older ones are dropped. */
const contentChecksKept = 16;
/** Checkpoint a leader's WAL once it holds this many frames and nothing is uncommitted. */
const checkpointFramesMin = 1000;

/** A transaction captured on this leader and not yet applied: what undoes it. */
interface PendingWrite {
  /** 0 until the host reports the entry it proposed (`proposed`). */
  index: number;
  term: number;
  readonly undo: PageSet;
}

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

/**
 * What a leader's statement did to a database, as `settle` proves it. "No OK without a commit"
 * starts here: only `unchanged` may be answered as a read, only `committed` is proposed, and
 * `unproven` must never be answered OK (the node stops: its files cannot be trusted).
 */
export type Settled =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'committed'; readonly data: Uint8Array }
  | { readonly kind: 'unproven'; readonly why: string };

/**
 * Every database of one node, as Raft's state machine (docs/architecture.md, "Replication").
 *
 * As a follower it holds no SQLite connection: each committed page set is written straight into
 * its database file. As leader it opens connections in WAL mode with automatic checkpoints off;
 * after each statement that ended outside a transaction `settle` proves what it did (a commit's
 * pages, read from the WAL, or nothing), and the host proposes the pages and holds the answer
 * until Raft committed them (no client sees an unreplicated write). On losing leadership,
 * `stepDown` closes the connections and undoes every transaction that did not commit by its
 * pre-images (newest first); the host fails their answers.
 */
export class DatabaseSet {
  readonly #directory: string;
  #leading = false;
  readonly #open = new Map<string, OpenDatabase>();
  /** Extra connections, one per client session; closed with the others on stepDown. */
  readonly #sessionConnections = new Set<Database.Database>();
  #pending: PendingWrite[] = [];
  #appliedIndex = 0;
  /** The newest content checks this node applied, oldest first (at most `contentChecksKept`). */
  readonly #checks: ContentCheck[] = [];
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

  /** The anchor of `name` (OpenDatabase), opened on first use. */
  #database(name: string): OpenDatabase {
    assert(this.#leading, 'only a leader opens databases');
    let open = this.#open.get(name);
    if (open === undefined) {
      const file = this.#file(name);
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

  /**
   * A connection to `name` for one client session (the leader's sessions each have their own, as
   * in dqlite). The database's anchor is opened first and outlives it.
   */
  openSessionConnection(name: string): Database.Database {
    this.#database(name);
    const connection = openLeaderConnection(this.#file(name));
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
      assert(fs.existsSync(`${this.#file(name)}-wal`), `the WAL of ${name} outlives a session`);
      assert(open.anchor.open, `the anchor of ${name} is open`);
    }
  }

  /**
   * After a leader's statement on `name` ended outside a transaction: what it did, proven by two
   * witnesses that must agree. The WAL capture finds the frames of a new commit (or none); the
   * anchor's data_version says whether any other connection committed. A commit is returned as
   * the entry to propose (the caller proposes it and reports it with `proposed`; its undo is kept
   * until it is applied); no commit seen by either is `unchanged`; anything else is `unproven`.
   *
   * `readOnly`: every statement of the request was one SQLite calls read-only, outside a write
   * transaction. Then an unchanged data_version is proof enough (nothing committed, so the WAL
   * holds nothing new to read), and the WAL is read only when it did change.
   */
  settle(name: string, options: { readonly readOnly: boolean } = { readOnly: false }): Settled {
    const open = this.#open.get(name);
    assert(open !== undefined, `settle on a database the leader opened (${name})`);
    const version = open.dataVersion.get() as number;
    const changed = version !== open.knownDataVersion;
    open.knownDataVersion = version;
    if (options.readOnly && !changed) return { kind: 'unchanged' };
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
    this.#pending.push({ index: 0, term: 0, undo });
    return { kind: 'committed', data: encodePageSet(redo) };
  }

  /** The oldest captured transaction not yet reported was proposed as entry (index, term). */
  proposed(index: number, term: number): void {
    const write = this.#pending.find((pending) => pending.index === 0);
    assert(write !== undefined, 'a proposal matches a captured transaction');
    write.index = index;
    write.term = term;
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
    assert(entry.index === this.#appliedIndex + 1, 'entries apply one after another');
    // No snapshot was restored: Raft replays its log from the first entry, so the state starts
    // empty. Files left from an earlier run may hold changes Raft never committed.
    if (this.#appliedIndex === 0) this.#removeDatabases();
    this.#appliedIndex = entry.index;
    if (entry.type !== EntryType.command) return;
    if (isContentCheck(entry.data)) return this.#recordCheck(entry.index);
    const mine = this.#pending[0];
    if (mine !== undefined && mine.index === entry.index && mine.term === entry.term) {
      this.#pending.shift();
      const open = this.#open.get(mine.undo.database);
      if (open !== undefined) open.createdHere = false;
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
    const neverCommitted: string[] = [];
    for (const [name, open] of this.#open) {
      if (open.createdHere) neverCommitted.push(name);
      // Every frame into the file before the undo below and before the WAL goes: closing would
      // try the same checkpoint but, on a full disk, fail silently and leave frames behind that
      // a later leadership would read over the pages applied meanwhile. So it waits for space.
      retryWhileNoSpace(
        `checkpointing ${name} as leadership ends`,
        () => checkpointed(open.anchor),
        (error) => isWaitableStorageError(error) || isSqliteFullOrReadOnly(error),
      );
      open.capture.close();
      open.anchor.close(); // the last connection: SQLite deletes the WAL now
    }
    this.#open.clear();
    const pending = this.#pending.reverse();
    this.#pending = [];
    for (const write of pending) this.#pageFiles.write(this.#file(write.undo.database), write.undo);
    // A database no committed transaction created does not exist for the cluster.
    this.#pageFiles.closeAll();
    for (const name of neverCommitted) fs.rmSync(this.#file(name), { force: true });
  }

  /**
   * The process is going away: every connection and file closes as it stands, with no undo and
   * no checkpoint of its own (what a terminated worker's cleanup does). The next start drops the
   * leftovers and Raft rebuilds the files (constructor).
   */
  close(): void {
    for (const connection of this.#sessionConnections) connection.close();
    this.#sessionConnections.clear();
    for (const open of this.#open.values()) {
      open.capture.close();
      open.anchor.close();
    }
    this.#open.clear();
    this.#pageFiles.closeAll();
    this.#leading = false;
  }

  /** The content check this node recorded at `index`, if it applied it and still keeps it. */
  contentCheck(index: number): ContentCheck | undefined {
    return this.#checks.find((check) => check.index === index);
  }

  /**
   * A content check applied at `index`: every database as of exactly that index. A follower's
   * files are that state. A leader may already hold later transactions (their entries are
   * pending): each page is taken from the oldest pending write's pre-image if one has it, else
   * from the WAL's newest committed frame, else from the file; the size from the oldest pending
   * write's undo.
   */
  #recordCheck(index: number): void {
    const databases: DatabaseDigest[] = [];
    for (const name of this.#committedDatabaseNames()) {
      const open = this.#open.get(name);
      const before = new Map<number, Uint8Array>();
      let pages = open?.capture.databasePages;
      for (const write of [...this.#pending].reverse()) {
        if (write.undo.database !== name) continue;
        for (const page of write.undo.pages) before.set(page.pageNumber, page.data);
        pages = write.undo.databasePages;
      }
      const file = this.#file(name);
      pages ??= Math.floor(fs.statSync(file).size / pageSizeBytes);
      const newer = (pageNumber: number) =>
        before.get(pageNumber) ?? open?.capture.committedImage(pageNumber);
      databases.push(digestDatabase({ name, file, pageSize: pageSizeBytes, pages, newer }));
    }
    this.#checks.push({ index, databases });
    if (this.#checks.length > contentChecksKept) this.#checks.shift();
  }

  /** Checkpoints between committed transactions only, when the WAL has grown. */
  #maybeCheckpoint(): void {
    if (this.#pending.length > 0) return;
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

  /**
   * Every database file as one blob (snapshot-format.ts), reflecting exactly the applied entries,
   * written to `~snapshot-<applied index>` beside the databases, copying each in chunks; returns
   * its path and size. Undefined while a leader has writes in flight (their frames are in the
   * WAL), a reader keeps the checkpoint from finishing, or the disk has no room for the copy: the
   * host asks again later. The caller removes the file (a name per index, so removing an old one
   * never hits a newer one).
   */
  snapshotToFile(): { file: string; bytes: number } | undefined {
    const file = path.join(this.#directory, `${snapshotFilePrefix}${this.#appliedIndex}`);
    try {
      if (!this.#readyForSnapshot()) return undefined;
      const descriptor = fs.openSync(file, 'w');
      let bytes = 0;
      try {
        writeSnapshotBlob(this.#directory, this.#committedDatabaseNames(), (chunk) => {
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
      if (!anchorCheckpoint(open)) return false;
      open.framesSinceCheckpoint = 0;
    }
    return true;
  }

  /**
   * Starts replacing every database by a snapshot's copies, received in chunks
   * (`SnapshotReader.push`); `finishRestore` installs them. Only a follower restores. Each file is
   * written beside its database, fsynced and renamed over it only once the whole snapshot
   * arrived, so a crash leaves every database either old or new, never torn; Raft restores the
   * snapshot again at the next start.
   */
  beginRestore(): SnapshotReader {
    assert(!this.#leading && this.#open.size === 0, 'only a follower restores a snapshot');
    // The restore renames new files over the databases: writes must not go to the old ones.
    this.#pageFiles.closeAll();
    return new SnapshotReader(this.#directory, databaseNameProblem);
  }

  /** The whole snapshot arrived: its databases replace ours, as of entry `index`. */
  finishRestore(reader: SnapshotReader, index: number): void {
    reader.finish(this.#databaseNames());
    this.#appliedIndex = index;
  }

  /** Deletes every database file (Raft is about to rebuild them from its first entry). */
  #removeDatabases(): void {
    assert(!this.#leading && this.#open.size === 0, 'no connection has a database open');
    this.#pageFiles.closeAll();
    for (const name of this.#databaseNames()) fs.rmSync(path.join(this.#directory, name));
  }

  /**
   * The databases that exist for the cluster: every file but those whose anchor created them on
   * this leader and that no committed transaction wrote yet (OpenDatabase.createdHere). What a
   * snapshot carries and a content check hashes.
   */
  #committedDatabaseNames(): string[] {
    return this.#databaseNames().filter((name) => this.#open.get(name)?.createdHere !== true);
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
