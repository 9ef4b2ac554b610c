import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodePageSet, encodePageSet, type PageSet } from '../../../src/fsm/page-set.js';
import { PageFiles } from '../../../src/fsm/page-files.js';
import { WalCapture, type CapturedTransaction } from '../../../src/fsm/wal-capture.js';

let directory = '';
beforeEach(() => {
  directory = mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-fsm-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

/** A seeded generator, so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

/** The leader's database as Dqlite runs it: WAL mode, no automatic checkpoints. */
function openLeader(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  // A tiny page cache forces SQLite to spill pages of large transactions into the WAL before
  // they commit, the case where one page has several frames.
  db.pragma('cache_size = 8');
  return db;
}

function contentHash(file: string): { hash: string; integrity: string } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const hash = createHash('sha256');
    for (const row of db.prepare('SELECT id, hex(v) AS v FROM t ORDER BY id').iterate()) {
      hash.update(JSON.stringify(row));
    }
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    return { hash: hash.digest('hex'), integrity };
  } finally {
    db.close();
  }
}

function leaderHash(db: Database.Database): string {
  const hash = createHash('sha256');
  for (const row of db.prepare('SELECT id, hex(v) AS v FROM t ORDER BY id').iterate()) {
    hash.update(JSON.stringify(row));
  }
  return hash.digest('hex');
}

/** One random write transaction: inserts, updates and deletes, sometimes large. */
function randomTransaction(db: Database.Database, random: () => number, nextId: { value: number }) {
  const rows = random() < 0.1 ? 400 : 1 + Math.floor(random() * 10);
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const roll = random();
      const bytes = random() < 0.1 ? 20_000 : Math.floor(random() * 300);
      const value = Buffer.alloc(bytes, Math.floor(random() * 256));
      if (roll < 0.6 || nextId.value === 1) {
        db.prepare('INSERT INTO t (id, v) VALUES (?, ?)').run(nextId.value++, value);
      } else if (roll < 0.85) {
        const id = 1 + Math.floor(random() * (nextId.value - 1));
        db.prepare('UPDATE t SET v = ? WHERE id = ?').run(value, id);
      } else {
        const id = 1 + Math.floor(random() * (nextId.value - 1));
        db.prepare('DELETE FROM t WHERE id >= ? AND id < ?').run(id, id + 20);
      }
    }
  })();
}

/** The transaction a capture found, or undefined when it found none. */
function committed(capture: WalCapture): CapturedTransaction | undefined {
  const result = capture.capture();
  expect(result.kind).not.toBe('wal-replaced');
  return result.kind === 'committed' ? result.transaction : undefined;
}

function setup(seed: number) {
  const leaderFile = path.join(directory, 'leader.db');
  const db = openLeader(leaderFile);
  // As the DatabaseSet's anchor does: a read in WAL mode creates the WAL and keeps it.
  db.prepare('PRAGMA data_version').get();
  const capture = new WalCapture({ database: 'app', databasePath: leaderFile, pageSize: 4096 });
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
  const created = committed(capture);
  expect(created).toBeDefined();
  return {
    db,
    capture,
    leaderFile,
    random: seeded(seed),
    nextId: { value: 1 },
    created: created as CapturedTransaction,
  };
}

describe('capturing committed transactions from the WAL', () => {
  it('a follower that writes each captured page set ends byte-for-byte equal, through spills and WAL restarts', () => {
    const { db, capture, random, nextId, created } = setup(7);
    const followerFile = path.join(directory, 'follower.db');
    // The page set travels through Raft as bytes; the follower keeps its file open across sets.
    const followerFiles = new PageFiles();
    const ship = (set: PageSet) =>
      followerFiles.write(followerFile, decodePageSet(encodePageSet(set)));
    ship(created.redo);
    let shipped = 0;
    let spilled = 0;
    for (let step = 0; step < 120; step++) {
      randomTransaction(db, random, nextId);
      // A transaction whose deletes matched nothing writes no page and captures nothing.
      const captured = committed(capture);
      if (captured !== undefined) {
        shipped++;
        if (captured.walFrames > captured.redo.pages.length) spilled++;
        ship(captured.redo);
      }
      // TRUNCATE empties the WAL; RESTART starts it over in place, leaving stale frames behind.
      if (random() < 0.1)
        db.pragma(random() < 0.5 ? 'wal_checkpoint(TRUNCATE)' : 'wal_checkpoint(RESTART)');
      if (step % 20 === 19) {
        expect(contentHash(followerFile)).toEqual({ hash: leaderHash(db), integrity: 'ok' });
      }
    }
    expect(shipped).toBeGreaterThan(100);
    expect(spilled).toBeGreaterThan(0); // some page had two frames in one transaction
    expect(capture.capture()).toEqual({ kind: 'none' }); // nothing committed since
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    followerFiles.closeAll();
    expect(contentHash(followerFile)).toEqual(contentHash(path.join(directory, 'leader.db')));
  });

  it('a read or a rolled back write captures nothing', () => {
    const { db, capture } = setup(1);
    db.prepare('SELECT count(*) FROM t').get();
    expect(capture.capture()).toEqual({ kind: 'none' });
    expect(() =>
      db.transaction(() => {
        db.prepare("INSERT INTO t (id, v) VALUES (1, x'00')").run();
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    expect(capture.capture()).toEqual({ kind: 'none' });
    db.close();
  });

  it('ignores whole commit frames past the end the wal-index gives (a write SQLite rolled back)', () => {
    const { db, capture, leaderFile } = setup(1);
    db.prepare("INSERT INTO t (id, v) VALUES (1, x'01')").run();
    expect(committed(capture)).toBeDefined();
    // A write that ran out of space after writing its frames: its commit frame is in the file,
    // with the right salts, but SQLite never counted it (the wal-index did not move).
    const wal = `${leaderFile}-wal`;
    const frame = 24 + 4096;
    const bytes = readFileSync(wal);
    appendFileSync(wal, bytes.subarray(bytes.length - frame));
    expect(capture.capture()).toEqual({ kind: 'none' });
    // The next real commit overwrites it and is captured whole.
    db.prepare("INSERT INTO t (id, v) VALUES (2, x'02')").run();
    const next = committed(capture);
    expect(next?.redo.pages.length).toBeGreaterThan(0);
    db.close();
  });

  it('reports a WAL that SQLite deleted and created anew, instead of finding nothing in it', () => {
    const { db, capture, leaderFile } = setup(1);
    // The last connection closing checkpoints and deletes the WAL; the next one makes a new file.
    db.close();
    expect(capture.capture()).toMatchObject({ kind: 'wal-replaced', why: /deleted/ });
    const next = openLeader(leaderFile);
    next.prepare("INSERT INTO t (id, v) VALUES (1, x'00')").run();
    expect(capture.capture()).toMatchObject({ kind: 'wal-replaced', why: /replaced/ });
    next.close();
    capture.close();
  });
});

describe('undoing transactions that never committed (docs/architecture.md, Replication, step 5)', () => {
  it('after closing the connection, pre-images written newest first restore the committed state', () => {
    for (const seed of [3, 11, 29]) {
      const { db, capture, random, nextId, leaderFile } = setup(seed);
      for (let step = 0; step < 30; step++) {
        randomTransaction(db, random, nextId);
        committed(capture);
        if (random() < 0.2) db.pragma('wal_checkpoint(TRUNCATE)');
      }
      const committedHash = leaderHash(db);
      const uncommitted: CapturedTransaction[] = [];
      for (let step = 0; step < 8; step++) {
        randomTransaction(db, random, nextId);
        const captured = committed(capture);
        if (captured !== undefined) uncommitted.push(captured);
      }
      expect(leaderHash(db)).not.toBe(committedHash);
      // Closing the last connection checkpoints every frame, uncommitted ones included, into
      // the database file: truncating the WAL could not undo them any more.
      db.close();
      // As a deposed leader does (DatabaseSet.stepDown): newest first, then the files close.
      const files = new PageFiles();
      for (const transaction of uncommitted.reverse()) files.write(leaderFile, transaction.undo);
      files.closeAll();
      expect(contentHash(leaderFile)).toEqual({ hash: committedHash, integrity: 'ok' });
      rmSync(leaderFile);
    }
  });
});
