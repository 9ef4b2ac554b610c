import type Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../raft/assert.js';
import { EntryType, type Entry } from '../raft/types.js';
import { isWaitableStorageError } from '../storage/index.js';
import {
  digestDatabase,
  isContentCheck,
  type ContentCheck,
  type DatabaseDigest,
} from './content-check.js';
import {
  databaseFile,
  databaseNameProblem,
  databaseNames,
  pageSizeBytes,
  removeLeftovers,
  snapshotFile,
} from './database-directory.js';
import { LeaderDatabases } from './leader-databases.js';
import { PageFiles } from './page-files.js';
import { decodePageSetEntry, encodePageSetEntries, type PageSet } from './page-set.js';
import { SnapshotReader, writeSnapshotBlob } from './snapshot-format.js';
import { UnfinishedTransaction } from './unfinished-transaction.js';
import { isSqliteSpaceError } from './wait-for-space.js';

/** Content checks a node remembers; older ones are dropped. */
const contentChecksKept = 16;

/**
 * Most bytes of pages one entry carries by default: a larger transaction spans several entries,
 * so no single message of Raft's holds the main thread or a connection for long.
 */
export const TRANSACTION_ENTRY_BYTES_DEFAULT = 1024 * 1024;

/** A transaction captured on this leader and not yet applied: what undoes it. */
interface PendingWrite {
  /** The entries it was encoded into (its parts). */
  readonly entries: number;
  /** How many of them the host reported proposed so far (`proposed`). */
  reported: number;
  /** 0 until the host reports the entry of its last part (`proposed`). */
  index: number;
  term: number;
  readonly undo: PageSet;
}

/**
 * What a leader's statement did to a database, as `settle` proves it. "No OK without a commit"
 * starts here: only `unchanged` may be answered as a read, only `committed` is proposed, and
 * `unproven` must never be answered OK (the node stops: its files cannot be trusted).
 */
export type Settled =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'committed'; readonly entries: readonly Uint8Array[] }
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
  /** The databases this node has open while it leads. */
  readonly #leader: LeaderDatabases;
  #pending: PendingWrite[] = [];
  #appliedIndex = 0;
  /** The newest content checks this node applied, oldest first (at most `contentChecksKept`). */
  readonly #checks: ContentCheck[] = [];
  /** Database files a follower writes committed pages into, open across applies. */
  readonly #pageFiles = new PageFiles();
  /** The parts of a transaction spanning several entries, applied until its last one. */
  readonly #unfinished = new UnfinishedTransaction();
  readonly #entryBytesMax: number;

  /** `entryBytesMax`: most bytes of one entry of a transaction (TRANSACTION_ENTRY_BYTES_DEFAULT). */
  constructor(directory: string, options: { readonly entryBytesMax?: number } = {}) {
    this.#directory = directory;
    this.#entryBytesMax = options.entryBytesMax ?? TRANSACTION_ENTRY_BYTES_DEFAULT;
    this.#leader = new LeaderDatabases(directory);
    fs.mkdirSync(directory, { recursive: true });
    removeLeftovers(directory);
  }

  /** The file of database `name`; a name from a client that is not a plain file name is refused. */
  #file(name: string): string {
    return databaseFile(this.#directory, name);
  }

  /** Called once this node leads and has applied everything committed before its term. */
  lead(): void {
    assert(this.#leader.openCount === 0 && this.#pending.length === 0, 'a new leader starts clean');
    // Its term's barrier was applied since, and it ends any transaction an older leader left.
    assert(!this.#unfinished.open, 'a new leader holds no unfinished transaction');
    this.#pageFiles.closeAll();
    this.#leading = true;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /**
   * A connection to `name` for one client session (the leader's sessions each have their own, as
   * in dqlite). The database's anchor is opened first and outlives it (LeaderDatabases).
   */
  openSessionConnection(name: string): Database.Database {
    assert(this.#leading, 'only a leader opens databases');
    return this.#leader.openSessionConnection(name);
  }

  /** A session ended: its connection closes, rolling back what it left open. */
  closeSessionConnection(connection: Database.Database): void {
    this.#leader.closeSessionConnection(connection);
  }

  /**
   * After a leader's statement on `name` ended outside a transaction: what it did, proven by two
   * witnesses that must agree (LeaderDatabases.settle). A commit is returned as the entries to
   * propose, in order and all at once (the caller proposes them and reports each with
   * `proposed`; its undo is kept until its last entry is applied).
   */
  settle(name: string, options: { readonly readOnly: boolean } = { readOnly: false }): Settled {
    const proven = this.#leader.settle(name, options.readOnly);
    if (proven.kind !== 'committed') return proven;
    const entries = encodePageSetEntries(proven.redo, this.#entryBytesMax);
    this.#pending.push({
      entries: entries.length,
      reported: 0,
      index: 0,
      term: 0,
      undo: proven.undo,
    });
    return { kind: 'committed', entries };
  }

  /** The next entry of the oldest captured transaction not fully reported was proposed as (index, term). */
  proposed(index: number, term: number): void {
    const write = this.#pending.find((pending) => pending.reported < pending.entries);
    assert(write !== undefined, 'a proposal matches a captured transaction');
    assert(write.reported === 0 || write.term === term, "a transaction's entries share a term");
    write.reported += 1;
    write.term = term;
    if (write.reported === write.entries) write.index = index;
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
    if (entry.type !== EntryType.command || isContentCheck(entry.data)) {
      // Nothing continues a transaction that spans entries but its own next part.
      this.#unfinished.interrupt();
      if (entry.type === EntryType.command) this.#recordCheck(entry.index);
      return;
    }
    // Every part is held until the last, on a leader too: if it steps down in between, it
    // applies the rest as a follower and then needs the whole transaction.
    const set = this.#unfinished.add(entry.index, decodePageSetEntry(entry.data));
    if (set === undefined) return;
    const mine = this.#pending[0];
    if (mine !== undefined && mine.index === entry.index && mine.term === entry.term) {
      this.#pending.shift();
      this.#leader.committed(mine.undo.database);
      this.#maybeCheckpoint();
      return;
    }
    assert(
      this.#pending.length === 0 || entry.index < (this.#pending[0]?.index ?? 0),
      'entries apply in order',
    );
    assert(!this.#leader.has(set.database), `a follower's copy of ${set.database} is closed`);
    this.#pageFiles.write(this.#file(set.database), set);
  }

  /**
   * Leadership is gone: close every connection (which checkpoints all frames into the files),
   * then undo the transactions Raft did not commit, newest first, and fail their clients.
   */
  stepDown(): void {
    this.#leading = false;
    const neverCommitted = this.#leader.stepDown();
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
    this.#leader.close();
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
      const wal = this.#leader.committedWal(name);
      const before = new Map<number, Uint8Array>();
      let pages = wal?.databasePages;
      for (const write of [...this.#pending].reverse()) {
        if (write.undo.database !== name) continue;
        for (const page of write.undo.pages) before.set(page.pageNumber, page.data);
        pages = write.undo.databasePages;
      }
      const file = this.#file(name);
      pages ??= Math.floor(fs.statSync(file).size / pageSizeBytes);
      const newer = (pageNumber: number) =>
        before.get(pageNumber) ?? wal?.committedImage(pageNumber);
      databases.push(digestDatabase({ name, file, pageSize: pageSizeBytes, pages, newer }));
    }
    this.#checks.push({ index, databases });
    if (this.#checks.length > contentChecksKept) this.#checks.shift();
  }

  /** Checkpoints between committed transactions only, when the WAL has grown. */
  #maybeCheckpoint(): void {
    if (this.#pending.length > 0) return;
    this.#leader.checkpointGrown();
  }

  /**
   * Every database file as one blob (snapshot-format.ts), reflecting exactly the applied entries,
   * written to `~snapshot-<applied index>` beside the databases, copying each in chunks; returns
   * its path and size. Undefined while a transaction spanning entries is unfinished (its first
   * parts are in the log only), while a leader has writes in flight (their frames are in the
   * WAL), a reader keeps the checkpoint from finishing, or the disk has no room for the copy: the
   * host asks again later. The caller removes the file (a name per index, so removing an old one
   * never hits a newer one).
   */
  snapshotToFile(): { file: string; bytes: number } | undefined {
    const file = snapshotFile(this.#directory, this.#appliedIndex);
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
    // A transaction's first parts exist only in the log: a snapshot now would let Raft drop them.
    if (this.#pending.length > 0 || this.#unfinished.open) return false;
    return this.#leader.checkpointAll();
  }

  /**
   * Starts replacing every database by a snapshot's copies, received in chunks
   * (`SnapshotReader.push`); `finishRestore` installs them. Only a follower restores. Each file is
   * written beside its database, fsynced and renamed over it only once the whole snapshot
   * arrived, so a crash leaves every database either old or new, never torn; Raft restores the
   * snapshot again at the next start.
   */
  beginRestore(): SnapshotReader {
    assert(!this.#leading && this.#leader.openCount === 0, 'only a follower restores a snapshot');
    // The restore renames new files over the databases: writes must not go to the old ones.
    this.#pageFiles.closeAll();
    return new SnapshotReader(this.#directory, databaseNameProblem);
  }

  /** The whole snapshot arrived: its databases replace ours, as of entry `index`. */
  finishRestore(reader: SnapshotReader, index: number): void {
    reader.finish(databaseNames(this.#directory));
    this.#appliedIndex = index;
    // A leader's snapshot is never taken inside a transaction: one open here ended before it.
    this.#unfinished.interrupt();
  }

  /** Deletes every database file (Raft is about to rebuild them from its first entry). */
  #removeDatabases(): void {
    assert(!this.#leading && this.#leader.openCount === 0, 'no connection has a database open');
    this.#pageFiles.closeAll();
    for (const name of databaseNames(this.#directory)) fs.rmSync(path.join(this.#directory, name));
  }

  /**
   * The databases that exist for the cluster: every file but those whose anchor created them on
   * this leader and that no committed transaction wrote yet (LeaderDatabases.createdHere). What a
   * snapshot carries and a content check hashes.
   */
  #committedDatabaseNames(): string[] {
    return databaseNames(this.#directory).filter((name) => !this.#leader.createdHere(name));
  }
}
