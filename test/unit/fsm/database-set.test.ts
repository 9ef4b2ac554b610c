import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkDifference,
  encodeContentCheck,
  type ContentCheck,
} from '../../../src/fsm/content-check.js';
import { DatabaseSet } from '../../../src/fsm/database-set.js';
import { decodePageSetEntry } from '../../../src/fsm/page-set.js';
import { bootstrapState } from '../../../src/raft/raft-bootstrap.js';
import { RaftCore } from '../../../src/raft/raft-core.js';
import { RaftDriver } from '../../../src/raft/raft-driver.js';
import type { StateMachine } from '../../../src/raft/state-machine.js';
import { EntryType, Role, type Entry, type Message } from '../../../src/raft/types.js';
import { InstantStorage } from '../raft/instant-storage.js';

let root = '';
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

interface Node {
  readonly id: number;
  readonly driver: RaftDriver;
  readonly databases: DatabaseSet;
  readonly file: string;
  /** Every entry this node applied, in order. */
  readonly applied: Entry[];
}

/**
 * Three nodes of Raft over instant storage, each replicating into its own DatabaseSet;
 * `entryBytesMax` as DatabaseSet takes it (1: one page per entry).
 */
function cluster(options: { readonly entryBytesMax?: number } = {}) {
  root = mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-dbset-'));
  const servers = [1, 2, 3].map((id) => ({ id, address: `node-${id}`, role: Role.voter }));
  let queue: Message[] = [];
  const cut = new Set<number>();
  const nodes = servers.map(({ id }): Node => {
    const directory = path.join(root, `node-${id}`);
    const databases = new DatabaseSet(directory, options);
    const applied: Entry[] = [];
    let seed = id * 7919;
    const driver: RaftDriver = new RaftDriver({
      core: new RaftCore({
        id,
        initialState: bootstrapState({ servers }),
        config: { electionTimeoutTicks: 10 },
        random: () => (seed = (seed * 48271) % 2147483647) / 2147483647,
      }),
      storage: new InstantStorage(bootstrapState({ servers })),
      transport: { send: (message) => queue.push(message) },
      stateMachine: appliesOnly(databases, applied),
      onEvent: (event) => {
        if (event.type === 'role-changed' && event.role !== 'leader' && databases.leading) {
          databases.stepDown();
        }
      },
    });
    return { id, driver, databases, file: path.join(directory, 'app'), applied };
  });
  const node = (id: number) => nodes[id - 1] as Node;
  const deliverAll = () => {
    for (let i = 0; queue.length > 0; i++) {
      if (i > 100_000) throw new Error('livelock');
      const message = queue.shift() as Message;
      if (cut.has(message.from) || cut.has(message.to)) continue;
      node(message.to).driver.receive(message);
    }
  };
  /** Ticks the reachable nodes until one of them leads; it may then serve SQL. */
  const elect = (): number => {
    const leader = () =>
      nodes.find((n) => !cut.has(n.id) && n.driver.core.status().role === 'leader');
    for (let i = 0; i < 200 && leader() === undefined; i++) {
      for (const n of nodes) if (!cut.has(n.id)) n.driver.tick();
      deliverAll();
    }
    const elected = leader();
    if (elected === undefined) throw new Error('no leader');
    // Heartbeats carry the commit of the new leader's barrier to everyone.
    for (const other of nodes) other.driver.tick();
    deliverAll();
    const status = elected.driver.core.status();
    expect(status.appliedIndex).toBe(status.commitIndex);
    elected.databases.lead();
    return elected.id;
  };
  /** Each leader's client session on 'app', as the SQL engine keeps one per client. */
  const sessions = new Map<number, Database.Database>();
  const session = (id: number): Database.Database => {
    let connection = sessions.get(id);
    if (connection === undefined || !connection.open) {
      connection = node(id).databases.openSessionConnection('app');
      sessions.set(id, connection);
    }
    return connection;
  };
  /**
   * Runs SQL on the leader, settles it and proposes its entries as the node does; returns the
   * entries they were proposed as (none: it changed nothing).
   */
  const run = (id: number, sql: string, ...parameters: unknown[]) => {
    const leader = node(id);
    session(id)
      .prepare(sql)
      .run(...parameters);
    const settled = leader.databases.settle('app');
    if (settled.kind === 'unchanged') return []; // a delete that matched nothing, say
    if (settled.kind !== 'committed') throw new Error(`not a commit: ${JSON.stringify(settled)}`);
    return settled.entries.map((data) => {
      const proposal = leader.driver.propose(data);
      if (!proposal.ok) throw new Error(proposal.message);
      leader.databases.proposed(proposal.index, proposal.term);
      return { index: proposal.index, term: proposal.term, data };
    });
  };
  /** `run`, then messages delivered until Raft committed it; returns its last entry. */
  const write = (id: number, sql: string, ...parameters: unknown[]) => {
    const proposed = run(id, sql, ...parameters);
    deliverAll();
    for (const other of nodes) other.driver.tick(); // carry the commit index to followers
    deliverAll();
    return proposed.at(-1);
  };
  return { nodes, node, deliverAll, elect, run, write, session, cut, drop: () => (queue = []) };
}

/**
 * Raft's view of a DatabaseSet in these scenarios: applies only. They stay under the snapshot
 * threshold, so a snapshot or restore request would be a fixture bug; the tests below take and
 * restore snapshots as the SQL engine does (`restoreInChunks`).
 */
function appliesOnly(databases: DatabaseSet, applied: Entry[]): StateMachine {
  return {
    apply: (entry) => {
      applied.push(entry);
      databases.apply(entry);
    },
    snapshot: (done) => done(new Error('this fixture takes no snapshot through Raft')),
    restore: (_metadata, _read, done) => done(new Error('this fixture restores no snapshot')),
  };
}

/**
 * What the SQL engine does with a snapshot that arrives in chunks (restore-begin, restore-chunk
 * per chunk, restore-end), with small chunks so that headers and files straddle them.
 */
function restoreInChunks(databases: DatabaseSet, data: Uint8Array, index: number): void {
  const chunkBytes = 1000;
  const reader = databases.beginRestore();
  for (let offset = 0; offset < data.byteLength; offset += chunkBytes) {
    reader.push(data.subarray(offset, offset + chunkBytes));
  }
  databases.finishRestore(reader, index);
}

function tableRows(db: Database.Database, table: string): unknown[] {
  const exists = db.prepare('SELECT 1 FROM sqlite_schema WHERE name = ?').get(table);
  return exists === undefined ? [] : db.prepare(`SELECT * FROM ${table} ORDER BY id`).all();
}

function rowsHash(db: Database.Database): string {
  return createHash('sha256')
    .update(JSON.stringify(tableRows(db, 't')))
    .update(JSON.stringify(tableRows(db, 'u')))
    .digest('hex');
}

function fileContent(file: string): { rows: string; integrity: string } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return {
      rows: rowsHash(db),
      integrity: db.pragma('integrity_check', { simple: true }) as string,
    };
  } finally {
    db.close();
  }
}

describe('DatabaseSet: SQLite replicated by pages through Raft', () => {
  it('keeps replicating after every session connection closed (the WAL outlives them)', () => {
    const { node, elect, write, session } = cluster();
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    for (let i = 0; i < 5; i++) {
      // A one-shot client: its own connection, one statement, gone.
      session(leaderId).close();
      write(leaderId, 'INSERT INTO t (v) VALUES (?)', `row ${i}`);
    }
    const expected = rowsHash(session(leaderId));
    for (const id of [1, 2, 3])
      if (id !== leaderId)
        expect(fileContent(node(id).file)).toEqual({ rows: expected, integrity: 'ok' });
  });

  it('settles a read as unchanged, and a change it cannot account for as unproven', () => {
    const { node, elect, write, session } = cluster();
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const databases = node(leaderId).databases;
    session(leaderId).prepare('SELECT count(*) FROM t').get();
    expect(databases.settle('app', { readOnly: true })).toEqual({ kind: 'unchanged' });
    expect(databases.settle('app')).toEqual({ kind: 'unchanged' });
    session(leaderId).exec("BEGIN; INSERT INTO t (v) VALUES ('rolled back'); ROLLBACK");
    expect(databases.settle('app')).toEqual({ kind: 'unchanged' });
    // A connection the node does not know (another process, say) commits: the WAL holds its
    // frames, and the anchor sees the change, but no statement of ours made it. Settled after
    // an unrelated read, it is not taken for a read.
    const stranger = new Database(node(leaderId).file);
    stranger.exec("INSERT INTO t (v) VALUES ('stranger')");
    stranger.close();
    session(leaderId).close(); // and sessions closing does not hide it
    // Settled after a request that only read: data_version moved, so the WAL is read too.
    const settled = databases.settle('app', { readOnly: true });
    // Both witnesses see something; this one is committed because the WAL holds it. What matters
    // is that it is never `unchanged`.
    expect(settled.kind).not.toBe('unchanged');
  });

  it('reports a WAL deleted underneath it as unproven, never as unchanged', () => {
    const { node, elect, write } = cluster();
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const wal = `${node(leaderId).file}-wal`;
    rmSync(wal);
    writeFileSync(wal, '');
    expect(node(leaderId).databases.settle('app')).toMatchObject({
      kind: 'unproven',
      why: /WAL of app was (deleted|replaced)/,
    });
  });

  it('reports a database file replaced underneath it as unproven', () => {
    const { node, elect, write } = cluster();
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const file = node(leaderId).file;
    copyFileSync(file, `${file}.copy`);
    renameSync(`${file}.copy`, file);
    expect(node(leaderId).databases.settle('app')).toMatchObject({
      kind: 'unproven',
      why: /database file app was replaced/,
    });
  });

  it('a content check sees the same databases on every node at its index, even with later writes pending on the leader', () => {
    const { nodes, node, elect, write, session, deliverAll } = cluster();
    const leaderId = elect();
    const leader = node(leaderId);
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    for (let i = 0; i < 5; i++) write(leaderId, 'INSERT INTO t (v) VALUES (randomblob(5000))');
    // The check is proposed, then a write runs on the leader before the check commits: at the
    // check's index the leader's files already hold that later write.
    const check = leader.driver.propose(encodeContentCheck());
    if (!check.ok) throw new Error(check.message);
    session(leaderId).prepare('UPDATE t SET v = randomblob(7000) WHERE id <= 3').run();
    const later = leader.databases.settle('app');
    if (later.kind !== 'committed') throw new Error(later.kind);
    expect(later.entries).toHaveLength(1);
    const proposal = leader.driver.propose(later.entries[0] as Uint8Array);
    if (!proposal.ok) throw new Error(proposal.message);
    leader.databases.proposed(proposal.index, proposal.term);
    deliverAll();
    for (const other of nodes) other.driver.tick();
    deliverAll();
    const checks = nodes.map((n) => n.databases.contentCheck(check.index));
    const first = checks[0];
    expect(first?.databases.map((digest) => digest.name)).toEqual(['app']);
    for (const other of checks) {
      expect(other).toBeDefined();
      expect(checkDifference(first as ContentCheck, other as ContentCheck)).toBeUndefined();
    }
  });

  it('a content check tells a follower whose file was changed behind Raft', () => {
    const { nodes, node, elect, write } = cluster();
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    write(leaderId, 'INSERT INTO t (v) VALUES (randomblob(100))');
    const follower = nodes.find((n) => n.id !== leaderId) as Node;
    const descriptor = openSync(follower.file, 'r+');
    writeSync(descriptor, Buffer.from('damage'), 0, 6, 4096 + 100); // inside page 2
    closeSync(descriptor);
    const check = node(leaderId).driver.propose(encodeContentCheck());
    if (!check.ok) throw new Error(check.message);
    write(leaderId, 'INSERT INTO t (v) VALUES (1)'); // carries the check's commit along
    const leaderCheck = node(leaderId).databases.contentCheck(check.index) as ContentCheck;
    const followerCheck = follower.databases.contentCheck(check.index) as ContentCheck;
    expect(checkDifference(leaderCheck, followerCheck)).toBe('app differs in content');
  });

  it('rebuilds from the first entry: database files left from an earlier life are removed', () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-dbset-'));
    const directory = path.join(root, 'node');
    const databases = new DatabaseSet(directory);
    writeFileSync(path.join(directory, 'stale'), 'a change Raft never committed');
    databases.apply({ index: 1, term: 1, type: EntryType.barrier, data: new Uint8Array() });
    expect(readdirSync(directory)).toEqual([]);
  });

  it("followers end with the leader's exact pages, whatever random() and datetime() returned", () => {
    const { node, elect, write, session } = cluster();
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, r INTEGER, at TEXT, v BLOB)');
    for (let i = 0; i < 60; i++) {
      write(
        leaderId,
        "INSERT INTO t (r, at, v) VALUES (random(), strftime('%Y-%m-%d %H:%M:%f', 'now'), randomblob(?))",
        i % 7 === 0 ? 9000 : 40,
      );
      if (i % 10 === 9) write(leaderId, 'DELETE FROM t WHERE id % 3 = 0 AND r > 0');
    }
    const expected = rowsHash(session(leaderId));
    for (const id of [2, 3])
      expect(fileContent(node(id).file)).toEqual({ rows: expected, integrity: 'ok' });
  });

  it('a deposed leader undoes what never committed, and converges', () => {
    const { node, elect, write, cut, drop, deliverAll, nodes } = cluster();
    const old = elect();
    write(old, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    write(old, 'CREATE TABLE u (id INTEGER PRIMARY KEY, v TEXT)');
    write(old, "INSERT INTO t (v) VALUES ('committed')");
    // The leader is cut off: its next two writes run locally and never reach a quorum.
    cut.add(old);
    const lost = [
      write(old, "INSERT INTO t (v) VALUES ('lost 1')"),
      write(old, "UPDATE t SET v = 'lost 2' WHERE v = 'committed'"),
    ];
    drop();
    const successor = elect();
    // The new leader writes to another table: its pages never overwrite t's, so only the undo
    // can remove the lost writes from the old leader's file.
    write(successor, "INSERT INTO u (v) VALUES ('new leader')");
    cut.delete(old);
    // The old leader hears of the new term: it steps down, undoes its two local writes, and
    // catches up as a follower.
    for (let i = 0; i < 5; i++) {
      for (const n of nodes) n.driver.tick();
      deliverAll();
    }
    expect(node(old).driver.core.status().role).toBe('follower');
    // Neither lost write is in any node's file (the rows below), nor in the successor's log.
    for (const entry of lost) expect(entry?.index).toBeGreaterThan(0);
    const expected = fileContent(node(successor).file);
    expect(expected.integrity).toBe('ok');
    for (const id of [1, 2, 3]) expect(fileContent(node(id).file)).toEqual(expected);
    const db = new Database(node(old).file, { readonly: true });
    expect(db.prepare('SELECT v FROM t ORDER BY id').pluck().all()).toEqual(['committed']);
    expect(db.prepare('SELECT v FROM u ORDER BY id').pluck().all()).toEqual(['new leader']);
    db.close();
  });

  it('a snapshot carries every database; a follower restores it exactly', () => {
    const { node, elect, write, session } = cluster();
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    for (let i = 0; i < 20; i++) write(leaderId, 'INSERT INTO t (v) VALUES (randomblob(3000))');
    const leader = node(leaderId).databases;
    const taken = leader.snapshotToFile();
    expect(taken).toBeDefined();
    const { file, bytes } = taken as { file: string; bytes: number };
    // One file per applied index, beside the databases (the engine's caller removes it).
    expect(path.basename(file)).toBe(`~snapshot-${leader.appliedIndex}`);
    const data = readFileSync(file);
    expect(data.byteLength).toBe(bytes);
    const fresh = new DatabaseSet(path.join(root, 'restored'));
    restoreInChunks(fresh, data, 7);
    expect(fresh.appliedIndex).toBe(7);
    expect(fileContent(path.join(root, 'restored', 'app'))).toEqual({
      rows: rowsHash(session(leaderId)),
      integrity: 'ok',
    });
  });

  it("a leader's snapshot leaves out a database that no committed transaction created", () => {
    // Found by the whole-node simulator: a client opened a new database on the leader (its
    // anchor writes the file's first page), the leader took a snapshot, crashed and restored
    // it: the database then existed on that node only, and the content check told it apart.
    const { node, elect, write } = cluster();
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (v)');
    const leader = node(leaderId).databases;
    leader.openSessionConnection('fresh').close();
    expect(readdirSync(path.join(root, `node-${leaderId}`))).toContain('fresh');
    const taken = leader.snapshotToFile() as { file: string };
    const fresh = new DatabaseSet(path.join(root, 'restored'));
    restoreInChunks(fresh, readFileSync(taken.file), 9);
    expect(
      readdirSync(path.join(root, 'restored')).filter((name) => !name.startsWith('~')),
    ).toEqual(['app']);
  });

  it('takes no snapshot while a leader has writes in flight', () => {
    const { node, elect, cut, write } = cluster();
    const leaderId = elect();
    const leader = node(leaderId);
    cut.add(leaderId);
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    expect(leader.databases.pendingWrites).toBe(1);
    expect(leader.databases.snapshotToFile()).toBeUndefined();
    expect(readdirSync(path.dirname(leader.file)).filter((name) => name.startsWith('~'))).toEqual(
      [],
    );
  });

  it('a restore replaces every database, removes those the snapshot lacks, and refuses a torn blob', () => {
    const { node, elect, write } = cluster();
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    write(leaderId, 'INSERT INTO t (v) VALUES (randomblob(5000))');
    const taken = node(leaderId).databases.snapshotToFile() as { file: string };
    const data = readFileSync(taken.file);
    const directory = path.join(root, 'follower');
    const follower = new DatabaseSet(directory);
    // Left over by an earlier life: a database the snapshot does not hold, and a restore that
    // crashed half way.
    writeFileSync(path.join(directory, 'old'), 'stale');
    writeFileSync(path.join(directory, 'app~restore'), 'torn');
    expect(() => restoreInChunks(follower, data.subarray(0, data.length - 1), 1)).toThrow(
      RangeError,
    );
    // The databases are untouched; half-written staged files, old and new, are gone.
    expect(readdirSync(directory).sort()).toEqual(['old']);
    expect(follower.appliedIndex).toBe(0);
    restoreInChunks(follower, data, 1);
    expect(readdirSync(directory)).toEqual(['app']);
    expect(fileContent(path.join(directory, 'app')).integrity).toBe('ok');
  });

  it('drops a WAL left by a crashed leader: Raft, not SQLite, decides what is committed', () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-dbset-'));
    const directory = path.join(root, 'node');
    const crashed = new DatabaseSet(directory);
    crashed.lead();
    const db = crashed.openSessionConnection('app');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)'); // committed locally, never proposed
    expect(readdirSync(directory)).toContain('app-wal');
    // The process dies here: no close, no checkpoint. A new life starts from the directory.
    const reborn = new DatabaseSet(directory);
    expect(readdirSync(directory).filter((name) => name.endsWith('-wal'))).toEqual([]);
    expect(reborn.leading).toBe(false);
    db.close();
  });

  it('refuses a database name that is not a plain file name', () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'dqlite-ts-dbset-'));
    const databases = new DatabaseSet(path.join(root, 'node'));
    databases.lead();
    for (const name of ['', '..', '../escape', 'a/b', 'x'.repeat(256), 'app~restore']) {
      expect(() => databases.openSessionConnection(name)).toThrow(RangeError);
    }
  });
});

describe('DatabaseSet: a transaction larger than one entry', () => {
  const bigRow = 'INSERT INTO t (v) VALUES (randomblob(30000))';
  const command = (index: number, data: Uint8Array): Entry => ({
    index,
    term: 1,
    type: EntryType.command,
    data,
  });

  it('spans several entries and reaches every follower whole', () => {
    const { node, nodes, elect, run, write, session, deliverAll } = cluster({ entryBytesMax: 1 });
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    const parts = run(leaderId, bigRow);
    // One page per entry: a 30 kB row fills at least seven 4 KiB overflow pages.
    expect(parts.length).toBeGreaterThanOrEqual(7);
    expect(parts.map((part) => part.index)).toEqual(
      parts.map((_, position) => (parts[0]?.index ?? 0) + position),
    );
    deliverAll();
    for (const other of nodes) other.driver.tick();
    deliverAll();
    expect(node(leaderId).databases.pendingWrites).toBe(0);
    const expected = rowsHash(session(leaderId));
    for (const id of [1, 2, 3])
      if (id !== leaderId)
        expect(fileContent(node(id).file)).toEqual({ rows: expected, integrity: 'ok' });
  });

  it('writes nothing of it until its last entry, and drops the parts a lost leader left', () => {
    const { node, elect, write } = cluster({ entryBytesMax: 1 });
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    write(leaderId, bigRow);
    const follower = node(leaderId === 1 ? 2 : 1);
    const entries = follower.applied;
    // The row's entries end the log; the last one's part number says where they begin.
    const last = entries.length - 1;
    const lastPart = decodePageSetEntry((entries[last] as Entry).data);
    expect(lastPart.last).toBe(true);
    expect(lastPart.part).toBeGreaterThanOrEqual(6);
    const first = last - lastPart.part;

    // A fresh node replays the log: every entry before the row, then all but the row's last part.
    const replay = new DatabaseSet(path.join(root, 'replay'), { entryBytesMax: 1 });
    for (const entry of entries.slice(0, first)) replay.apply(entry);
    const before = readFileSync(path.join(root, 'replay', 'app'));
    for (const entry of entries.slice(first, last)) replay.apply(entry);
    expect(readFileSync(path.join(root, 'replay', 'app'))).toEqual(before);
    // Its first parts live in the log only: no snapshot may be taken that lets Raft drop them.
    expect(replay.snapshotToFile()).toBeUndefined();
    // A new leader's barrier comes instead of the last part: the row never committed.
    replay.apply({
      index: (entries[last] as Entry).index,
      term: 2,
      type: EntryType.barrier,
      data: new Uint8Array(),
    });
    expect(readFileSync(path.join(root, 'replay', 'app'))).toEqual(before);
    expect(replay.snapshotToFile()).toBeDefined();
    expect(fileContent(path.join(root, 'replay', 'app')).integrity).toBe('ok');

    // The same parts, then the last: the row is there, exactly as on the follower.
    const whole = new DatabaseSet(path.join(root, 'whole'), { entryBytesMax: 1 });
    for (const entry of entries) whole.apply(entry);
    expect(fileContent(path.join(root, 'whole', 'app'))).toEqual(fileContent(follower.file));
  });

  it('a leader that steps down between its parts applies the rest as a follower', () => {
    const { node, elect, run, write } = cluster({ entryBytesMax: 1 });
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    const leader = node(leaderId);
    const before = fileContent(leader.file);
    const parts = run(leaderId, bigRow);
    expect(parts.length).toBeGreaterThan(2);
    // Raft committed every part (a new leader had them all), but this node applied only two
    // before it stepped down: the step-down undoes the row, the rest of the parts bring it back.
    leader.databases.apply(command(parts[0]?.index ?? 0, parts[0]?.data ?? new Uint8Array()));
    leader.databases.apply(command(parts[1]?.index ?? 0, parts[1]?.data ?? new Uint8Array()));
    leader.databases.stepDown();
    expect(fileContent(leader.file)).toEqual(before);
    for (const part of parts.slice(2)) leader.databases.apply(command(part.index, part.data));
    const db = new Database(leader.file, { readonly: true });
    expect(db.prepare('SELECT count(*), length(v) FROM t').raw().get()).toEqual([1, 30000]);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('refuses a part that does not continue the entry before it', () => {
    const { node, elect, run, write } = cluster({ entryBytesMax: 1 });
    const leaderId = elect();
    write(leaderId, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    const parts = run(leaderId, bigRow);
    const follower = new DatabaseSet(path.join(root, 'gap'), { entryBytesMax: 1 });
    for (let index = 1; index < (parts[0]?.index ?? 0); index++) {
      follower.apply({ index, term: 1, type: EntryType.barrier, data: new Uint8Array() });
    }
    follower.apply(command(parts[0]?.index ?? 0, parts[0]?.data ?? new Uint8Array()));
    // Part 2 where part 1 belongs (the index follows, the part number does not).
    expect(() =>
      follower.apply(command((parts[0]?.index ?? 0) + 1, parts[2]?.data ?? new Uint8Array())),
    ).toThrow(/continues the entry before it/);
    expect(node(leaderId).databases.pendingWrites).toBe(1);
  });
});
