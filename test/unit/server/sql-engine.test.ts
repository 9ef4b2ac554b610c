import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType } from '../../../src/raft/types.js';
import { SqlEngine } from '../../../src/server/sql/sql-engine.js';
import type {
  EngineCall,
  EngineReply,
  EngineRequest,
} from '../../../src/server/sql/engine-messages.js';
import { FrameDecoder, ValueType, decodeResponse, type Response } from '../../../src/wire/index.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0))
    fs.rmSync(directory, { recursive: true, force: true });
});

/** An engine on this thread, with a helper that sends one request and waits for its reply. */
function startEngine(
  busyTimeoutMs = 200,
  writers?: Int32Array,
  leading?: Int32Array,
  diskReserveBytes?: number,
) {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-'));
  directories.push(directory);
  const engine = new SqlEngine({ directory, busyTimeoutMs, writers, leading, diskReserveBytes });
  let id = 0;
  const send = (request: EngineCall): Promise<EngineReply> =>
    new Promise((resolve) => engine.handle({ ...request, id: ++id } as EngineRequest, resolve));
  return { engine, send, directory };
}

function rowsOf(reply: EngineReply): Response[] {
  if (!reply.outcome.ok) throw new Error(reply.outcome.message);
  const value = reply.outcome.value as { rows: Uint8Array };
  const responses: Response[] = [];
  new FrameDecoder().push(Buffer.from(value.rows), {
    frame: (frame) => responses.push(decodeResponse(frame)),
  });
  return responses;
}

describe('SqlEngine', () => {
  it('refuses the statements of a transaction that leadership ended until ROLLBACK, so none runs outside it', async () => {
    // Found by the whole-node simulator: BEGIN and a SELECT ran, leadership went and came back,
    // and the INSERT that followed ran on a fresh connection in autocommit: it committed on its
    // own and the client's COMMIT then failed with "no transaction is active".
    const { send } = startEngine();
    const exec = (sql: string) => send({ op: 'exec-sql', session: 1, sql, parameters: [] });
    await send({ op: 'apply', index: 1, term: 1, type: EntryType.barrier, data: new Uint8Array() });
    await send({ op: 'lead', epoch: 1 });
    await send({ op: 'open', session: 1, database: 'app' });
    // The table is committed (proposed and applied), so the step-downs below keep it.
    const created = await exec('CREATE TABLE t (x)');
    await send({ op: 'proposed', index: 2, term: 1 });
    await send({
      op: 'apply',
      index: 2,
      term: 1,
      type: EntryType.command,
      data: created.proposals[0] as Uint8Array,
    });
    await exec('BEGIN');
    await send({ op: 'query-sql', session: 1, sql: 'SELECT count(*) FROM t', parameters: [] });
    await send({ op: 'step-down' });
    await send({ op: 'lead', epoch: 2 });
    const insert = await exec('INSERT INTO t VALUES (1)');
    expect(insert.outcome).toMatchObject({ ok: false, code: 10250 });
    expect(insert.outcome.ok ? '' : insert.outcome.message).toMatch(/rolled back/);
    expect(insert.proposals).toHaveLength(0);
    expect(insert.inTransaction).toBe(true);
    const query = await send({ op: 'query-sql', session: 1, sql: 'SELECT 1', parameters: [] });
    expect(query.outcome).toMatchObject({ ok: false, code: 10250 });
    expect((await exec('COMMIT')).outcome).toMatchObject({ ok: false, code: 10250 });
    const rolledBack = await exec('ROLLBACK');
    expect(rolledBack.outcome.ok).toBe(true);
    expect(rolledBack.inTransaction).toBe(false);
    const again = await exec('INSERT INTO t VALUES (2)');
    expect(again.outcome).toMatchObject({ ok: true });
    expect(again.proposals).toHaveLength(1);
    // A session outside a transaction at the step-down simply goes on.
    await send({ op: 'open', session: 2, database: 'app' });
    await send({ op: 'step-down' });
    await send({ op: 'lead', epoch: 3 });
    const other = await send({
      op: 'exec-sql',
      session: 2,
      sql: 'INSERT INTO t VALUES (3)',
      parameters: [],
    });
    expect(other.outcome.ok).toBe(true);
  });

  it('refuses statements while following, runs them once leading, and captures each commit', async () => {
    const { send } = startEngine();
    expect((await send({ op: 'open', session: 1, database: 'app' })).outcome.ok).toBe(true);
    const refused = await send({
      op: 'exec-sql',
      session: 1,
      sql: 'CREATE TABLE t (x)',
      parameters: [],
    });
    expect(refused.outcome).toMatchObject({ ok: false, code: 10250 });
    await send({ op: 'lead', epoch: 1 });
    await send({
      op: 'exec-sql',
      session: 1,
      sql: 'CREATE TABLE t (x INTEGER, d DATETIME)',
      parameters: [],
    });
    const created = await send({
      op: 'exec-sql',
      session: 1,
      sql: 'INSERT INTO t VALUES (?, 5); INSERT INTO t VALUES (2, 6)',
      parameters: [{ type: ValueType.INTEGER, value: 7n }],
    });
    expect(created.outcome).toMatchObject({
      ok: true,
      value: { lastInsertId: 2n, rowsAffected: 1 },
    });
    // Both commits of the request, proposed as one entry (the newest image of each page).
    expect(created.proposals).toHaveLength(1);
    const rows = rowsOf(
      await send({
        op: 'query-sql',
        session: 1,
        sql: 'SELECT x, d FROM t ORDER BY x',
        parameters: [],
      }),
    );
    expect(rows).toEqual([
      {
        type: 'ROWS',
        columns: ['x', 'd'],
        rows: [
          [
            { type: ValueType.INTEGER, value: 2n },
            { type: ValueType.UNIXTIME, value: 6n },
          ],
          [
            { type: ValueType.INTEGER, value: 7n },
            { type: ValueType.UNIXTIME, value: 5n },
          ],
        ],
        more: false,
      },
    ]);
  });

  it('fails a write with SQLITE_FULL before it runs when the disk has less free than the reserve, and serves reads', async () => {
    // A reserve no disk has: every write is refused; one byte: none is.
    for (const [reserve, refused] of [
      [Number.MAX_SAFE_INTEGER, true],
      [1, false],
    ] as const) {
      const { send } = startEngine(200, undefined, undefined, reserve);
      await send({ op: 'lead', epoch: 1 });
      await send({ op: 'open', session: 1, database: 'app' });
      const exec = (sql: string) => send({ op: 'exec-sql', session: 1, sql, parameters: [] });
      const created = await exec('CREATE TABLE t (x)');
      const read = await send({ op: 'query-sql', session: 1, sql: 'SELECT 1', parameters: [] });
      expect(rowsOf(read)[0]).toMatchObject({ rows: [[{ value: 1n }]] });
      if (!refused) {
        expect(created.outcome.ok).toBe(true);
        expect(created.proposals).toHaveLength(1);
        continue;
      }
      expect(created.outcome).toMatchObject({ ok: false, code: 13 });
      expect(created.outcome.ok ? '' : created.outcome.message).toMatch(
        /^database or disk is full: .* less than the .* MiB this node keeps .*diskReserveBytes/,
      );
      expect(created.proposals).toHaveLength(0);
      // Refused before it ran: a transaction goes on reading, and nothing of it was written.
      expect((await exec('BEGIN')).outcome.ok).toBe(true);
      expect((await exec('CREATE TABLE u (y)')).outcome).toMatchObject({ code: 13 });
      const tables = await send({
        op: 'query-sql',
        session: 1,
        sql: 'SELECT count(*) FROM sqlite_master',
        parameters: [],
      });
      expect(rowsOf(tables)[0]).toMatchObject({ rows: [[{ value: 0n }]] });
      const committed = await exec('COMMIT');
      expect(committed.outcome.ok).toBe(true);
      expect(committed.proposals).toHaveLength(0);
    }
  });

  it('makes a second writer wait for the first transaction, then fails it after the busy timeout', async () => {
    const { send } = startEngine(150);
    await send({ op: 'lead', epoch: 1 });
    for (const session of [1, 2, 3]) await send({ op: 'open', session, database: 'app' });
    await send({ op: 'exec-sql', session: 1, sql: 'CREATE TABLE t (x)', parameters: [] });
    await send({
      op: 'exec-sql',
      session: 1,
      sql: 'BEGIN; INSERT INTO t VALUES (1)',
      parameters: [],
    });
    const order: string[] = [];
    const second = send({
      op: 'exec-sql',
      session: 2,
      sql: 'INSERT INTO t VALUES (2)',
      parameters: [],
    }).then((reply) => {
      order.push('second');
      return reply;
    });
    const read = await send({
      op: 'query-sql',
      session: 3,
      sql: 'SELECT count(*) FROM t',
      parameters: [],
    });
    expect(rowsOf(read)[0]).toMatchObject({ rows: [[{ value: 0n }]] });
    order.push('commit');
    const commit = await send({ op: 'exec-sql', session: 1, sql: 'COMMIT', parameters: [] });
    expect(commit.proposals).toHaveLength(1);
    const secondReply = await second;
    expect(secondReply.outcome.ok).toBe(true);
    expect(secondReply.proposals).toHaveLength(1);
    expect(order).toEqual(['commit', 'second']);

    await send({
      op: 'exec-sql',
      session: 1,
      sql: 'BEGIN; INSERT INTO t VALUES (3)',
      parameters: [],
    });
    const started = Date.now();
    const busy = await send({
      op: 'exec-sql',
      session: 2,
      sql: 'INSERT INTO t VALUES (4)',
      parameters: [],
    });
    expect(busy.outcome).toMatchObject({ ok: false, code: 5 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('takes a snapshot once commits drain, and never holds writers back for a reader', async () => {
    const { send } = startEngine();
    let index = 0;
    /** Plays Raft: every proposal of a reply is proposed and applied, as a commit would. */
    const commit = async (reply: EngineReply) => {
      for (const data of reply.proposals) {
        index += 1;
        await send({ op: 'proposed', index, term: 1 });
        await send({ op: 'apply', index, term: 1, type: 1, data });
      }
      return reply;
    };
    // As Raft does before a node leads: everything committed before its term is applied.
    index += 1;
    await send({ op: 'apply', index, term: 1, type: EntryType.barrier, data: new Uint8Array() });
    await send({ op: 'lead', epoch: 1 });
    for (const session of [1, 2, 3]) await send({ op: 'open', session, database: 'app' });
    await commit(
      await send({
        op: 'exec-sql',
        session: 1,
        sql: 'CREATE TABLE t (x); WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 20000) INSERT INTO t SELECT n FROM c',
        parameters: [],
      }),
    );
    // A write that has not committed yet: no snapshot, and writers wait for the commit.
    const pending = await send({
      op: 'exec-sql',
      session: 1,
      sql: 'INSERT INTO t VALUES (0)',
      parameters: [],
    });
    expect(await send({ op: 'snapshot' })).toMatchObject({
      outcome: { value: { file: undefined } },
    });
    let later = false;
    const waiting = send({
      op: 'exec-sql',
      session: 2,
      sql: 'INSERT INTO t VALUES (-1)',
      parameters: [],
    }).then((reply) => ((later = true), reply));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(later).toBe(false);
    await commit(pending);
    await commit(await waiting);
    const taken = await send({ op: 'snapshot' });
    expect(taken.outcome).toMatchObject({ ok: true, value: { index } });
    const { file, bytes } = (taken.outcome as { value: { file: string; bytes: number } }).value;
    expect(fs.statSync(file).size).toBe(bytes);
    expect(bytes).toBeGreaterThan(20_000 * 2);

    // A query streaming its rows keeps the checkpoint from finishing: no snapshot, but a writer
    // still goes straight through.
    const streaming = await send({
      op: 'query-sql',
      session: 3,
      sql: 'SELECT x FROM t',
      parameters: [],
    });
    expect(streaming.outcome).toMatchObject({ ok: true, value: { done: false } });
    await commit(
      await send({ op: 'exec-sql', session: 1, sql: 'INSERT INTO t VALUES (1)', parameters: [] }),
    );
    expect(await send({ op: 'snapshot' })).toMatchObject({
      outcome: { value: { file: undefined } },
    });
    const reply = await send({
      op: 'exec-sql',
      session: 2,
      sql: 'INSERT INTO t VALUES (2)',
      parameters: [],
    });
    expect(reply.outcome.ok).toBe(true);
  });

  it('answers dqlite failures for misuse instead of crashing', async () => {
    const { send } = startEngine();
    await send({ op: 'lead', epoch: 1 });
    await send({ op: 'open', session: 1, database: 'app' });
    expect((await send({ op: 'open', session: 1, database: 'app' })).outcome).toMatchObject({
      code: 5,
    });
    expect((await send({ op: 'prepare', session: 1, sql: ' -- nothing' })).outcome).toMatchObject({
      code: 0,
      message: 'empty statement',
    });
    const prepared = await send({ op: 'prepare', session: 1, sql: 'SELECT ?, ?2' });
    expect(prepared.outcome).toMatchObject({
      ok: true,
      value: { statement: 0, parameterCount: 2 },
    });
    await send({ op: 'prepare', session: 1, sql: 'SELECT 1' });
    await send({ op: 'finalize', session: 1, statement: 0 });
    await send({ op: 'finalize', session: 1, statement: 1 });
    expect(
      (await send({ op: 'exec', session: 1, statement: 0, parameters: [] })).outcome,
    ).toMatchObject({
      code: 12,
    });
    expect(
      (await send({ op: 'exec-sql', session: 1, sql: 'SELECT 1', parameters: [] })).outcome,
    ).toMatchObject({ code: 100 });
    expect(
      (await send({ op: 'query-sql', session: 1, sql: 'CREATE TABLE u (x)', parameters: [] }))
        .outcome,
    ).toMatchObject({ code: 1, message: 'not an error' });
    await send({
      op: 'exec-sql',
      session: 1,
      sql: 'CREATE TABLE k (id PRIMARY KEY)',
      parameters: [],
    });
    expect(
      (
        await send({
          op: 'exec-sql',
          session: 1,
          sql: 'INSERT INTO k VALUES (?)',
          parameters: [
            { type: ValueType.INTEGER, value: 1n },
            { type: ValueType.INTEGER, value: 2n },
          ],
        })
      ).outcome,
    ).toMatchObject({ code: 25 });
    await send({ op: 'exec-sql', session: 1, sql: 'INSERT INTO k VALUES (1)', parameters: [] });
    expect(
      (await send({ op: 'exec-sql', session: 1, sql: 'INSERT INTO k VALUES (1)', parameters: [] }))
        .outcome,
    ).toMatchObject({ code: 1555 });
  });

  it('numbers the requests that may make data visible, in the order they begin', async () => {
    const writers = new Int32Array(new SharedArrayBuffer(4));
    const { send } = startEngine(200, writers);
    await send({ op: 'lead', epoch: 1 });
    await send({ op: 'open', session: 1, database: 'app' });
    const run = async (sql: string) => {
      const reply = await send({ op: 'exec-sql', session: 1, sql, parameters: [] });
      return reply.writer;
    };
    expect(await run('CREATE TABLE t (x)')).toBe(1);
    expect(await run('SELECT * FROM t')).toBe(0);
    expect(await run('BEGIN')).toBe(0);
    expect(await run('INSERT INTO t VALUES (1)')).toBe(2);
    // Inside a write transaction everything counts: COMMIT is read-only to SQLite.
    expect(await run('SELECT * FROM t')).toBe(3);
    expect(await run('COMMIT')).toBe(4);
    expect(await run('SELECT * FROM t')).toBe(0);
    expect(writers[0]).toBe(4);
  });

  it('never answers OK for a request whose effect it cannot prove, and runs nothing after it', async () => {
    const { send, directory } = startEngine();
    await send({ op: 'apply', index: 1, term: 1, type: EntryType.barrier, data: new Uint8Array() });
    await send({ op: 'lead', epoch: 1 });
    await send({ op: 'open', session: 1, database: 'app' });
    const exec = (sql: string) => send({ op: 'exec-sql', session: 1, sql, parameters: [] });
    expect((await exec('CREATE TABLE t (x)')).proposals).toHaveLength(1);
    // The WAL the engine reads is swapped for another file under it (what the last connection
    // closing used to do): the next write lands in a file nothing captures.
    fs.rmSync(path.join(directory, 'app-wal'));
    fs.writeFileSync(path.join(directory, 'app-wal'), '');
    const write = await exec('INSERT INTO t VALUES (1)');
    expect(write.outcome).toMatchObject({ ok: false, code: 10506 });
    expect(write.unproven).toMatch(/WAL of app was replaced/);
    expect(write.proposals).toEqual([]);
    const read = await send({ op: 'query-sql', session: 1, sql: 'SELECT 1', parameters: [] });
    expect(read.outcome).toMatchObject({ ok: false, code: 10506 });
  });

  it('tells the main thread which leadership it has taken up, once the applies before it are done', async () => {
    const leading = new Int32Array(new SharedArrayBuffer(4));
    const { send } = startEngine(200, undefined, leading);
    expect(leading[0]).toBe(0);
    await send({ op: 'lead', epoch: 1 });
    expect(leading[0]).toBe(1);
    await send({ op: 'step-down' });
    expect(leading[0]).toBe(1); // the main thread stops point reads itself at a step-down
    await send({ op: 'lead', epoch: 2 });
    expect(leading[0]).toBe(2);
  });
});
