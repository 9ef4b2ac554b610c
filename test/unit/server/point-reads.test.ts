import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PointReads } from '../../../src/server/point-reads.js';
import type {
  EngineCall,
  EngineReply,
  EngineRequest,
} from '../../../src/server/sql/engine-messages.js';
import { SqlEngine } from '../../../src/server/sql/sql-engine.js';
import {
  FrameDecoder,
  ValueType,
  decodeResponse,
  type WireValue,
} from '../../../src/wire/index.js';

const directories: string[] = [];
const readers: PointReads[] = [];
afterEach(() => {
  for (const reader of readers.splice(0)) reader.closeAll();
  for (const directory of directories.splice(0)) fs.rmSync(directory, { recursive: true });
});

/** A leading engine with a schema of every kind of key, and PointReads over the same files. */
async function setUp(options: { now?: () => number } = {}) {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'point-reads-'));
  directories.push(directory);
  const engine = new SqlEngine({ directory, busyTimeoutMs: 200 });
  let id = 0;
  const send = (request: EngineCall): Promise<EngineReply> =>
    new Promise((resolve) => engine.handle({ ...request, id: ++id } as EngineRequest, resolve));
  await send({ op: 'lead', epoch: 1 });
  await send({ op: 'open', session: 1, database: 'app' });
  const exec = async (sql: string) => {
    const reply = await send({ op: 'exec-sql', session: 1, sql, parameters: [] });
    if (!reply.outcome.ok) throw new Error(reply.outcome.message);
  };
  await exec(`
    CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB, n INTEGER, at DATETIME);
    CREATE TABLE r (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL);
    CREATE UNIQUE INDEX r_ab ON r (a, b);
    CREATE INDEX r_c ON r (c);
    CREATE TABLE w (x INTEGER, y INTEGER, z TEXT, PRIMARY KEY (x, y)) WITHOUT ROWID;
    INSERT INTO kv VALUES ('one', x'0102', 9007199254740993, '2026-11-26 10:00:00'), ('two', NULL, -1, NULL);
    INSERT INTO r VALUES (1, 10, 'a', 1.5), (2, 10, 'b', 1.5), (3, 20, 'a', 2.5);
    INSERT INTO w VALUES (1, 1, 'p'), (1, 2, 'q');
  `);
  /** The engine's own answer to a QUERY_SQL, as bytes: what a point read must equal. */
  const engineRows = async (sql: string, parameters: WireValue[]) => {
    const reply = await send({ op: 'query-sql', session: 1, sql, parameters });
    if (!reply.outcome.ok) throw new Error(reply.outcome.message);
    return Buffer.from((reply.outcome.value as { rows: Uint8Array }).rows);
  };
  const reads = new PointReads(directory, options);
  readers.push(reads);
  return { reads, exec, engineRows, send };
}

/** The rows of ROWS messages, values only. */
function rowsOf(bytes: Buffer | undefined): unknown[][] {
  const rows: unknown[][] = [];
  new FrameDecoder().push(bytes ?? Buffer.alloc(0), {
    frame: (frame) => {
      const response = decodeResponse(frame);
      if (response.type !== 'ROWS') throw new Error(`a ${response.type} response`);
      for (const row of response.rows) rows.push(row.map((value) => Number(value.value)));
    },
  });
  return rows;
}

const integer = (value: bigint): WireValue => ({ type: ValueType.INTEGER, value });
const text = (value: string): WireValue => ({ type: ValueType.TEXT, value });

describe('PointReads', () => {
  it('serves point lookups with exactly the bytes the engine answers', async () => {
    const { reads, engineRows } = await setUp();
    const lookups: [string, WireValue[]][] = [
      ['SELECT * FROM kv WHERE k = ?', [text('one')]],
      ['SELECT v, n, at FROM kv WHERE k = ?', [text('two')]],
      ['SELECT * FROM kv WHERE k = ?', [text('missing')]],
      ['SELECT * FROM r WHERE id = ?', [integer(2n)]],
      ['SELECT id, c FROM r WHERE a = ? AND b = ?', [integer(10n), text('b')]],
      ['SELECT z FROM w WHERE x = ? AND y = ?', [integer(1n), integer(2n)]],
      ['SELECT r.b, kv.n FROM r JOIN kv ON kv.k = r.b WHERE r.id = ?', [integer(1n)]],
      ['SELECT k FROM kv WHERE k IN (?, ?)', [text('one'), text('two')]],
      ['SELECT count(*) FROM kv WHERE k = :key', [text('one')]],
      ['  select n from kv where k = ?;', [text('one')]],
    ];
    for (const [sql, parameters] of lookups) {
      const served = reads.run('app', sql, parameters);
      expect(served, sql).toBeDefined();
      expect(served, sql).toEqual(await engineRows(sql, parameters));
    }
  });

  it('leaves everything that is not a point lookup to the engine', async () => {
    const { reads } = await setUp();
    const others = [
      'SELECT * FROM kv', // a scan
      'SELECT * FROM kv WHERE k > ?', // a range
      'SELECT * FROM r WHERE c = ?', // a non-unique index
      'SELECT * FROM r WHERE a = ?', // part of a unique index's columns
      'SELECT * FROM w WHERE x = ?', // part of a primary key
      'SELECT (SELECT count(*) FROM r) FROM kv WHERE k = ?', // a subquery that scans
      'SELECT * FROM kv WHERE k IN (SELECT b FROM r)', // a list subquery
      'WITH t AS (SELECT 1) SELECT * FROM t', // not a plain SELECT
      'SELECT * FROM kv WHERE k = ?; SELECT 1', // two statements
      'PRAGMA busy_timeout', // the engine intercepts it
      "INSERT INTO kv (k) VALUES ('x') RETURNING k", // a write
      'SELECT * FROM nowhere WHERE id = ?', // an error: the engine words it
      '', // empty
    ];
    for (const sql of others) expect(reads.run('app', sql, [text('one')]), sql).toBeUndefined();
    // Too many parameters, and a database that does not exist.
    expect(
      reads.run('app', 'SELECT * FROM r WHERE id = ?', [integer(1n), integer(2n)]),
    ).toBeUndefined();
    expect(reads.run('other', 'SELECT * FROM r WHERE id = ?', [integer(1n)])).toBeUndefined();
  });

  it('sees what the engine committed, and gives up a lookup slow three runs in a row', async () => {
    const clock = { ms: 0, step: 0 };
    const { reads, exec } = await setUp({ now: () => (clock.ms += clock.step) });
    const sql = 'SELECT a FROM r WHERE id = ?';
    expect(reads.run('app', sql, [integer(4n)])).toBeDefined();
    await exec("INSERT INTO r VALUES (4, 40, 'd', 4.5)");
    expect(rowsOf(reads.run('app', sql, [integer(4n)]))).toEqual([[40]]);
    clock.step = 6; // every run now looks 6 ms long: over the 5 ms budget
    expect(reads.run('app', sql, [integer(4n)])).toBeDefined(); // strike 1
    clock.step = 0;
    expect(reads.run('app', sql, [integer(4n)])).toBeDefined(); // a fast run forgives it
    clock.step = 6;
    for (let strike = 1; strike <= 3; strike++)
      expect(reads.run('app', sql, [integer(4n)])).toBeDefined();
    expect(reads.run('app', sql, [integer(4n)])).toBeUndefined(); // now the engine's
    clock.step = 0;
    expect(reads.run('app', sql, [integer(4n)])).toBeUndefined(); // for good
  });

  it('closes its connections so the engine can take the files back', async () => {
    const { reads, send } = await setUp();
    expect(reads.run('app', 'SELECT * FROM r WHERE id = ?', [integer(1n)])).toBeDefined();
    reads.closeAll();
    // The engine's step-down checkpoints and removes the WAL only as the last connection.
    await send({ op: 'step-down' });
    expect(fs.existsSync(path.join(directories[0]!, 'app-wal'))).toBe(false);
  });
});
