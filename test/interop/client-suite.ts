// The protocol client's interop specification, written against a ClusterProvider so that the
// same tests run unchanged against canonical's C dqlite today and dqlite-ts nodes later.
// Tests in one file run in order; the destructive ones (transfer, kill) come last.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClosedError,
  ConnectionError,
  ConstraintError,
  DqliteError,
  NoLeaderError,
  NotLeaderError,
  TimeoutError,
  connect,
} from '../../drivers/client/index.js';
import { cliCommand } from '../../bin/local-cluster.js';
import type { ClientOptions, DqliteClient } from '../../drivers/client/index.js';
import { openConnection } from '../../drivers/client/connection.js';
import { PROTOCOL_VERSION_LEGACY } from '../../src/wire/index.js';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';
import { goShell, parseGoShellCluster } from './go-shell.js';
import { requirePeer } from './peer-available.js';
import { pollUntil } from './poll-until.js';

const DATABASE = 'interop';
const execFileAsync = promisify(execFile);

export function defineClientSuite(provider: ClusterProvider): void {
  describe.skipIf(!requirePeer(provider))(`protocol client against ${provider.name}`, () => {
    let cluster: ClusterHandle;
    let client: DqliteClient;
    const open = (extra: Partial<ClientOptions> = {}) =>
      connect({
        cluster: [...cluster.addresses],
        database: DATABASE,
        leaderTimeoutMs: 15_000,
        ...extra,
      });

    beforeAll(async () => {
      // One standby kept: the node a test assigns that role keeps it while the test looks.
      cluster = await provider.start({ nodes: 3, standbys: 1 });
      client = await open();
    }, 90_000);

    afterAll(async () => {
      await client?.close();
      await cluster?.stop();
    }, 60_000);

    it('connects to the leader from any node of the list', async () => {
      const leader = await client.leader();
      expect(leader?.address).toBe(client.address);
      for (const address of cluster.addresses) {
        const viaOne = await connect({ cluster: [address], database: DATABASE });
        expect(viaOne.address).toBe(client.address);
        await viaOne.close();
      }
    });

    it('speaks the legacy handshake, and is refused with an unknown version', async () => {
      const limits = { connectTimeoutMs: 5000, messageBytesMax: 1 << 20, queueLengthMax: 4 };
      const legacy = await openConnection(client.address, {
        ...limits,
        protocolVersion: PROTOCOL_VERSION_LEGACY,
      });
      const answer = await legacy.request({ type: 'LEADER', unused: 0n }, 5000);
      expect(answer).toEqual({ type: 'SERVER_LEGACY', address: client.address });
      legacy.close();
      const unknown = await openConnection(client.address, { ...limits, protocolVersion: 2n });
      const refused = await unknown
        .request({ type: 'LEADER', unused: 0n }, 5000)
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ConnectionError);
      expect(refused).not.toBeInstanceOf(TimeoutError);
    });

    it('round-trips every value type as parameters and rows', async () => {
      await client.exec(
        'CREATE TABLE types (i INTEGER, f REAL, t TEXT, b BLOB, n, d DATETIME, bo BOOLEAN, u)',
      );
      const now = new Date('2024-05-06T07:08:09.123Z');
      const big = 2n ** 63n - 1n;
      const small = -(2n ** 63n);
      await client.exec('INSERT INTO types VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
        42,
        3.25,
        'héllo wörld ✓',
        Buffer.from([0, 1, 2, 255]),
        null,
        now,
        true,
        big,
      ]);
      await client.exec('INSERT INTO types VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
        small,
        -0.5,
        '',
        new Uint8Array(0),
        null,
        1_700_000_000,
        false,
        2 ** 53,
      ]);
      await client.exec('INSERT INTO types (i) VALUES (NULL)');
      const { columns, rows } = await client.query('SELECT * FROM types ORDER BY rowid');
      expect(columns).toEqual(['i', 'f', 't', 'b', 'n', 'd', 'bo', 'u']);
      expect(rows[0]).toEqual([
        42,
        3.25,
        'héllo wörld ✓',
        Buffer.from([0, 1, 2, 255]),
        null,
        now,
        true,
        big,
      ]);
      // An integer in a DATETIME column comes back as UNIXTIME, i.e. a Date.
      expect(rows[1]).toEqual([
        small,
        -0.5,
        '',
        Buffer.alloc(0),
        null,
        new Date(1_700_000_000_000),
        false,
        2n ** 53n,
      ]);
      // dqlite sends NULL in a DATETIME column as "" and in a BOOLEAN column as false.
      expect(rows[2]).toEqual([null, null, null, null, null, null, false, null]);
      const typed = await client.query(
        'SELECT typeof(?), typeof(?), typeof(?), typeof(?), typeof(?)',
        [true, now, 1.5, 7n, Buffer.from('x')],
      );
      expect(typed.rows[0]).toEqual(['integer', 'text', 'real', 'integer', 'blob']);
    });

    it('returns every integer as bigint on request', async () => {
      const strict = await open({ integers: 'bigint' });
      const { rows } = await strict.query('SELECT 1, ?', [5]);
      expect(rows[0]).toEqual([1n, 5n]);
      expect((await strict.exec('INSERT INTO types (i) VALUES (1)')).lastInsertId).toBeTypeOf(
        'bigint',
      );
      await strict.close();
    });

    it('rejects parameters it cannot represent before sending anything', async () => {
      await expect(client.query('SELECT ?', [undefined as unknown as null])).rejects.toThrow(
        TypeError,
      );
      await expect(client.query('SELECT ?', [2n ** 64n])).rejects.toThrow(RangeError);
      await expect(client.query('SELECT ?', ['a\0b'])).rejects.toThrow(RangeError);
      expect((await client.query('SELECT 1')).rows).toEqual([[1]]);
    });

    it('raises typed errors carrying code, message, node and request', async () => {
      const syntax = await client.exec('SELEC 1').catch((error: unknown) => error);
      expect(syntax).toBeInstanceOf(DqliteError);
      expect(syntax).toMatchObject({
        code: 'SQLITE_ERROR',
        extendedCode: 'SQLITE_ERROR',
        errno: 1,
        rawCode: 1,
        address: client.address,
        request: 'EXEC_SQL',
      });
      expect((syntax as DqliteError).sqliteMessage).toContain('syntax error');

      await client.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER UNIQUE)');
      await client.exec('INSERT INTO kv VALUES (?, ?)', ['a', 1]);
      const primary = await client
        .exec('INSERT INTO kv VALUES (?, ?)', ['a', 2])
        .catch((e: unknown) => e);
      expect(primary).toBeInstanceOf(ConstraintError);
      expect(primary).toMatchObject({
        code: 'SQLITE_CONSTRAINT',
        extendedCode: 'SQLITE_CONSTRAINT_PRIMARYKEY',
        errno: 19,
        rawCode: 1555,
      });
      // Worded as node-sqlite3 and libsql word it; SQLite's own text alone as well.
      expect((primary as DqliteError).message).toBe(
        'SQLITE_CONSTRAINT: UNIQUE constraint failed: kv.k',
      );
      const unique = await client
        .exec('INSERT INTO kv VALUES (?, ?)', ['b', 1])
        .catch((e: unknown) => e);
      expect(unique).toMatchObject({
        code: 'SQLITE_CONSTRAINT',
        extendedCode: 'SQLITE_CONSTRAINT_UNIQUE',
        rawCode: 2067,
        message: 'SQLITE_CONSTRAINT: UNIQUE constraint failed: kv.v',
        sqliteMessage: 'UNIQUE constraint failed: kv.v',
      });

      const missing = await client.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
      expect((missing as DqliteError).sqliteMessage).toContain('no such table');
    });

    it('runs through EXEC a statement with result columns that returns no rows, as SQLite does', async () => {
      // SQLite gives these result columns (it checks existing rows with a nested query); they
      // return no rows, and Dqlite steps them once and succeeds.
      await client.exec('CREATE TABLE grown (a INTEGER)');
      await client.exec('ALTER TABLE grown ADD COLUMN b TEXT NOT NULL');
      await client.exec('INSERT INTO grown VALUES (1, ?)', ['x']);
      await client.exec('ALTER TABLE grown ADD COLUMN c INTEGER CHECK (c IS NULL OR c > 0)');
      const refused = await client
        .exec('ALTER TABLE grown ADD COLUMN d TEXT NOT NULL')
        .catch((e: unknown) => e);
      expect((refused as DqliteError).sqliteMessage).toContain('Cannot add a NOT NULL column');
      await client.exec('CREATE TABLE strict_grown (a INTEGER) STRICT');
      await client.exec('INSERT INTO strict_grown VALUES (1)');
      await client.exec('ALTER TABLE strict_grown ADD COLUMN b TEXT');
      expect((await client.query('SELECT * FROM grown')).rows).toEqual([[1, 'x', null]]);
      expect((await client.query('SELECT * FROM strict_grown')).rows).toEqual([[1, null]]);
      // A read through EXEC: no row is fine, a row is SQLITE_ROW.
      // (C dqlite reports sqlite3_changes() of the previous write as its rows affected; dqlite-ts
      // reports 0, as better-sqlite3 does for a statement that changed nothing.)
      await expect(client.exec('SELECT 1 WHERE 0')).resolves.toHaveProperty('rowsAffected');
      const row = await client.exec('SELECT 1').catch((e: unknown) => e);
      expect(row).toMatchObject({ code: 'SQLITE_ROW', errno: 100 });
    });

    it('reads "…" as a name on dqlite-ts, where C dqlite falls back to a string literal', async () => {
      // better-sqlite3 builds SQLite without double-quoted string literals (SQLITE_DQS=0) and
      // cannot turn them on per connection; Debian's SQLite under C dqlite keeps them.
      const outcome = await client.query('SELECT "not_a_column" AS v').then(
        (result) => result,
        (error: unknown) => error,
      );
      if (provider.name === 'dqlite-ts') {
        expect(outcome).toMatchObject({ code: 'SQLITE_ERROR' });
        expect((outcome as Error).message).toContain('write strings in single quotes');
      } else {
        expect(outcome).toMatchObject({ rows: [['not_a_column']] });
      }
      expect((await client.query("SELECT 'a string' AS v")).rows).toEqual([['a string']]);
    });

    it('binds 300 parameters on dqlite-ts; C dqlite 1.11 takes at most 255', async () => {
      const values = Array.from({ length: 300 }, (_, i) => i);
      const sql = `SELECT ${values.map(() => '?').join(' + ')} AS total`;
      const outcome = await client.query(sql, values).then(
        (result) => result,
        (error: unknown) => error,
      );
      if (provider.name === 'dqlite-ts') {
        expect(outcome).toMatchObject({ rows: [[(299 * 300) / 2]] });
      } else {
        expect(outcome).toMatchObject({ code: 'DQLITE_PARSE', rawCode: 1005 });
      }
    });

    it('has the SQL functions of its SQLite: concat() and ordered aggregates on dqlite-ts', async () => {
      const [[version]] = (await client.query('SELECT sqlite_version()')).rows as [[string]];
      const [major, minor] = version.split('.').map(Number) as [number, number];
      if (provider.name === 'dqlite-ts') {
        expect(major * 1000 + minor).toBeGreaterThanOrEqual(3044);
        const { rows } = await client.query(
          "SELECT concat('a', 1), string_agg(x, ',' ORDER BY x DESC) FROM (SELECT 1 AS x UNION SELECT 2)",
        );
        expect(rows).toEqual([['a1', '2,1']]);
      } else {
        expect(major * 1000 + minor).toBeGreaterThanOrEqual(3031);
      }
    });

    it('reports the real error when SQLite fails while stepping a query', async () => {
      // dqlite 1.11 prefixes this FAILURE with a partial ROWS batch (docs/wire-protocol.md §7).
      const early = await client
        .query('SELECT abs(-9223372036854775808) AS v')
        .catch((e: unknown) => e);
      expect(early).toMatchObject({ code: 'SQLITE_ERROR', sqliteMessage: 'integer overflow' });
      const late = await client
        .query(
          'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400) ' +
            'SELECT CASE WHEN x < 300 THEN x ELSE abs(-9223372036854775808) END AS v FROM c',
        )
        .catch((e: unknown) => e);
      expect(late).toMatchObject({ code: 'SQLITE_ERROR', sqliteMessage: 'integer overflow' });
      expect((await client.query('SELECT 2')).rows).toEqual([[2]]);
    });

    it('streams a 10,000-row result in batches and can stop early', async () => {
      const sql =
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) SELECT x, ? AS tag FROM c';
      let count = 0;
      let sum = 0;
      for await (const [x, tag] of client.iterate(sql, ['t'])) {
        count++;
        sum += x as number;
        expect(tag).toBe('t');
      }
      expect(count).toBe(10_000);
      expect(sum).toBe((10_000 * 10_001) / 2);
      expect((await client.query(sql, ['u'])).rows).toHaveLength(10_000);

      let seen = 0;
      for await (const _row of client.iterate(sql, ['v'])) {
        if (++seen === 300) break; // interrupts the query; the connection must stay usable
      }
      expect(seen).toBe(300);
      expect((await client.query('SELECT 3')).rows).toEqual([[3]]);
    });

    it('runs transactions and multi-statement SQL', async () => {
      await client.exec('CREATE TABLE tx (v INTEGER)');
      await client.exec('BEGIN');
      await client.exec('INSERT INTO tx VALUES (1)');
      await client.exec('INSERT INTO tx VALUES (2)');
      await client.exec('COMMIT');
      await client.exec('BEGIN; DELETE FROM tx; INSERT INTO tx VALUES (99)');
      expect((await client.query('SELECT v FROM tx ORDER BY v')).rows).toEqual([[99]]);
      await client.exec('ROLLBACK');
      expect((await client.query('SELECT v FROM tx ORDER BY v')).rows).toEqual([[1], [2]]);
      const last = await client.exec('INSERT INTO tx VALUES (3); INSERT INTO tx VALUES (4)');
      expect(last.rowsAffected).toBe(1);
      expect((await client.query('SELECT count(*) FROM tx')).rows).toEqual([[4]]);
    });

    it('reuses prepared statements and refuses a finalized one', async () => {
      await client.exec('CREATE TABLE prepared (k INTEGER PRIMARY KEY, v TEXT)');
      const insert = await client.prepare('INSERT INTO prepared (k, v) VALUES (?, ?)');
      expect(insert.parameterCount).toBe(2);
      for (let k = 1; k <= 100; k++) {
        const result = await insert.exec([k, `v${k}`]);
        expect(result).toEqual({ lastInsertId: k, rowsAffected: 1 });
      }
      const select = await client.prepare('SELECT v FROM prepared WHERE k = ?');
      expect((await select.query([7])).rows).toEqual([['v7']]);
      expect((await select.query([100])).rows).toEqual([['v100']]);
      let streamed = 0;
      for await (const _row of select.iterate([1])) streamed++;
      expect(streamed).toBe(1);
      await insert.finalize();
      await select.finalize();
      await expect(insert.exec([101, 'x'])).rejects.toThrow(ClosedError);
      await expect(select.query([1])).rejects.toThrow(ClosedError);
    });

    it('answers queued requests in call order', async () => {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, index) => client.query('SELECT ?', [index])),
      );
      expect(answers.map((answer) => answer.rows[0]?.[0])).toEqual(
        Array.from({ length: 50 }, (_, i) => i),
      );
    });

    it('lists the cluster, describes, weighs and dumps', async () => {
      const nodes = await client.cluster();
      expect(nodes.map((node) => node.address).sort()).toEqual([...cluster.addresses].sort());
      expect(nodes.every((node) => node.role === 'voter')).toBe(true);
      expect(nodes.find((node) => node.address === client.address)?.id).toBe(client.leaderId);

      await client.weight(7);
      expect(await client.describe()).toEqual({ failureDomain: 0, weight: 7 });
      await client.weight(0);

      const files = await client.dump();
      expect(files.map((file) => file.name)).toEqual([DATABASE, `${DATABASE}-wal`]);
      const main = files[0]!.data;
      expect(main.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
      expect((await client.dump('no-such-db')).map((file) => file.data.length)).toEqual([0, 0]);
    });

    it('adds, assigns and removes a node, as canonical Go shell sees it', async () => {
      const spareId = 0x1234_5678n;
      const spareAddress = '127.0.0.1:1'; // nothing listens there: the node is only in the config
      const shellCluster = async () =>
        parseGoShellCluster(await goShell(cluster.addresses, DATABASE, '.cluster'));
      await client.add({ id: spareId, address: spareAddress });
      expect((await client.cluster()).find((node) => node.id === spareId)?.role).toBe('spare');
      expect((await shellCluster()).find((node) => node.id === spareId)).toMatchObject({
        address: spareAddress,
        role: 'spare',
      });
      await client.assign(spareId, 'standby');
      expect((await shellCluster()).find((node) => node.id === spareId)?.role).toBe('standby');
      await client.assign(spareId, 'spare');
      await client.remove(spareId);
      expect((await shellCluster()).some((node) => node.id === spareId)).toBe(false);
      const unknown = await client.remove(0x9999n).catch((error: unknown) => error);
      expect(unknown).toBeInstanceOf(DqliteError);
    });

    it('serves the dqlite-ts command line', async () => {
      const cli = (...args: string[]) =>
        execFileAsync(
          process.execPath,
          [...cliCommand(), ...args, '--cluster', cluster.addresses.join(',')],
          {
            timeout: 30_000,
          },
        );
      const query = await cli(
        'query',
        '--database',
        DATABASE,
        'SELECT k, ? FROM prepared WHERE k <= 2 ORDER BY k',
        '["x"]',
      );
      expect(query.stdout).toBe('["k","?"]\n[1,"x"]\n[2,"x"]\n');
      const nodes = await cli('cluster');
      expect(nodes.stdout.trim().split('\n')).toHaveLength(3);
      const usage = await cli('query').catch((error: { code: number; stderr: string }) => error);
      expect(usage).toMatchObject({ code: 2 });
      expect((usage as { stderr: string }).stderr).toContain('missing SQL');
    });

    it('fails with NoLeaderError naming every node when none answers', async () => {
      const nowhere = ['127.0.0.1:1', '127.0.0.1:2'];
      const error = await connect({
        cluster: nowhere,
        database: DATABASE,
        leaderTimeoutMs: 300,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NoLeaderError);
      expect((error as NoLeaderError).attempts.map((attempt) => attempt.address).sort()).toEqual(
        nowhere,
      );
      expect((error as NoLeaderError).message).toContain('127.0.0.1:2');
    });

    it('transfers leadership; the old connection then gets NotLeaderError', async () => {
      const target = (await client.cluster()).find((node) => node.address !== client.address)!;
      await client.transfer(target.id);
      const stale = await client.exec('INSERT INTO tx VALUES (5)').catch((error: unknown) => error);
      expect(stale).toBeInstanceOf(NotLeaderError);
      expect(stale).toMatchObject({ rawCode: 10250, extendedCode: 'SQLITE_IOERR_NOT_LEADER' });
      expect((await client.leader())?.address).toBe(target.address);
      await client.close();
      client = await open();
      expect(client.address).toBe(target.address);
      expect((await client.query('SELECT count(*) FROM tx')).rows).toEqual([[4]]);
    });

    it('survives kill -9 of the leader: waiting requests fail at once, connect finds the new leader', async () => {
      // A long request timeout proves the failures come from the dead socket, not from timers.
      const busy = await open({ requestTimeoutMs: 120_000 });
      const killed = busy.address;
      const queued = Array.from({ length: 1000 }, () =>
        busy.query('SELECT count(*) FROM prepared').then(
          () => 'answered',
          (error: unknown) => error,
        ),
      );
      await cluster.kill(killed);
      const outcomes = await Promise.all(queued);
      const failures = outcomes.filter((outcome) => outcome !== 'answered');
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(ConnectionError);
        expect(failure).not.toBeInstanceOf(TimeoutError);
        expect((failure as ConnectionError).address).toBe(killed);
      }
      expect(busy.isOpen).toBe(false);
      await busy.close();
      await client.close();

      const started = Date.now();
      client = await open();
      expect(client.address).not.toBe(killed);
      expect((await client.query('SELECT count(*) FROM prepared')).rows).toEqual([[100]]);
      console.log(
        `[${provider.name}] new leader reachable ${Date.now() - started} ms after kill -9`,
      );

      await cluster.restart(killed);
      await pollUntil(
        async () => {
          const nodes = await client.cluster();
          return nodes.length === 3 && nodes.every((node) => node.role === 'voter')
            ? true
            : undefined;
        },
        {
          timeoutMs: 30_000,
          intervalMs: 250,
          description: 'the restarted node to be a voter again',
        },
      );
    }, 120_000);
  });
}
