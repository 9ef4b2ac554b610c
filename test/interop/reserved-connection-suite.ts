// Reserved connections, the ground the ORM adapters stand on: transactions driven by BEGIN /
// SAVEPOINT / COMMIT / ROLLBACK statements, carried over to a new leader by replay, with an
// unknown COMMIT outcome settled exactly once. Forced against a real cluster.

import { describe, expect, it } from 'vitest';
import { ClosedError } from '../../drivers/client/index.js';
import { TransactionReplayError } from '../../drivers/pool/index.js';
import type { Request } from '../../src/wire/index.js';
import type { ClusterProvider } from './cluster-provider.js';
import { requirePeer } from './peer-available.js';
import { usePoolFixture } from './pool-fixture.js';

const DATABASE = 'reserved';
const isCommit = (request: Request) => request.type === 'EXEC_SQL' && request.sql === 'COMMIT';

export function defineReservedConnectionSuite(provider: ClusterProvider): void {
  describe.skipIf(!requirePeer(provider))(`reserved connections against ${provider.name}`, () => {
    const fixture = usePoolFixture(provider, DATABASE, async (admin) => {
      await admin.exec('CREATE TABLE entries (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    });
    const { openPool, reconnectAdmin, transferLeadership } = fixture;
    const countOf = async (name: string) =>
      (await fixture.admin.query('SELECT count(*) FROM entries WHERE name = ?', [name]))
        .rows[0]![0];

    it('tracks BEGIN, savepoints, COMMIT and ROLLBACK; release rolls back', async () => {
      const pool = openPool();
      const connection = await pool.reserve();
      expect(connection.inTransaction).toBe(false);
      await connection.exec('BEGIN');
      expect(connection.inTransaction).toBe(true);
      await connection.exec("INSERT INTO entries (name) VALUES ('outer')");
      await connection.exec('SAVEPOINT inner_one');
      await connection.exec("INSERT INTO entries (name) VALUES ('inner')");
      await connection.exec('ROLLBACK TO SAVEPOINT inner_one');
      await connection.exec('RELEASE inner_one');
      expect(connection.inTransaction).toBe(true);
      await connection.exec('COMMIT');
      expect(connection.inTransaction).toBe(false);
      expect([await countOf('outer'), await countOf('inner')]).toEqual([1, 0]);

      await connection.exec('BEGIN IMMEDIATE');
      await connection.exec("INSERT INTO entries (name) VALUES ('released')");
      await connection.release();
      expect(await countOf('released')).toBe(0);
      await expect(connection.query('SELECT 1')).rejects.toThrow(ClosedError);
    });

    it('carries a transaction over a leadership transfer by replaying it', async () => {
      const pool = openPool();
      const connection = await pool.reserve();
      await connection.exec('BEGIN');
      await connection.exec("INSERT INTO entries (name) VALUES ('moved')");
      const seen = await connection.query("SELECT count(*) AS n FROM entries WHERE name = 'moved'");
      await transferLeadership();
      await connection.exec("INSERT INTO entries (name) VALUES ('moved')");
      expect(
        (await connection.query("SELECT count(*) AS n FROM entries WHERE name = 'moved'")).rows,
      ).toEqual([{ n: 2 }]);
      await connection.exec('COMMIT');
      await connection.release();
      expect(seen.rows).toEqual([{ n: 1 }]);
      expect(await countOf('moved')).toBe(2);
    });

    it('refuses to replay a transaction whose reads would differ, and recovers after ROLLBACK', async () => {
      const pool = openPool();
      const connection = await pool.reserve();
      await connection.exec('BEGIN');
      await connection.query('SELECT random() AS r');
      await connection.exec("INSERT INTO entries (name) VALUES ('never')");
      await transferLeadership();
      await expect(connection.exec("INSERT INTO entries (name) VALUES ('never')")).rejects.toThrow(
        TransactionReplayError,
      );
      await expect(connection.exec('ROLLBACK')).resolves.toBeDefined();
      expect(connection.inTransaction).toBe(false);
      expect((await connection.query('SELECT 7 AS seven')).rows).toEqual([{ seven: 7 }]);
      await connection.release();
      expect(await countOf('never')).toBe(0);
    });

    it('settles a COMMIT whose answer was lost, or which never arrived, exactly once', async () => {
      const { proxy, pool } = await fixture.proxiedPool();
      for (const action of ['answer-then-cut', 'drop'] as const) {
        const connection = await pool.reserve();
        await connection.exec('BEGIN');
        await connection.exec('INSERT INTO entries (name) VALUES (?)', [action]);
        proxy.arm({ match: isCommit, action });
        await connection.exec('COMMIT');
        expect(connection.inTransaction).toBe(false);
        await connection.release();
        expect(await countOf(action)).toBe(1);
      }
      expect(proxy.fired).toBe(2);
    });

    it('carries a transaction over a kill -9 of the leader', async () => {
      const pool = openPool();
      const connection = await pool.reserve();
      await connection.exec('BEGIN');
      await connection.exec("INSERT INTO entries (name) VALUES ('survivor')");
      const killed = fixture.admin.address;
      await fixture.cluster.kill(killed);
      await connection.exec("INSERT INTO entries (name) VALUES ('survivor')");
      await connection.exec('COMMIT');
      await connection.release();
      await reconnectAdmin();
      expect(await countOf('survivor')).toBe(2);
      await fixture.cluster.restart(killed);
    }, 60_000);

    it('runs a write with RETURNING in a transaction of its own, and it commits', async () => {
      // The C 1.11 leader does not commit such a query outside a transaction, then aborts.
      const pool = openPool();
      const viaPool = await pool.query(
        "INSERT INTO entries (name) VALUES ('returned') RETURNING id, name",
      );
      expect(viaPool.rows).toEqual([{ id: expect.any(Number), name: 'returned' }]);
      const connection = await pool.reserve();
      const viaReserved = await connection.query(
        "UPDATE entries SET name = 'returned twice' WHERE name = 'returned' RETURNING name",
      );
      expect(viaReserved.rows).toEqual([{ name: 'returned twice' }]);
      expect(connection.inTransaction).toBe(false);
      await connection.release();
      const execReturning = await pool.exec(
        "INSERT INTO entries (name) VALUES ('exec returning') RETURNING id",
      );
      expect(execReturning).toMatchObject({ rowsAffected: 1, lastInsertId: expect.any(Number) });
      const reserved = await pool.reserve();
      await reserved.exec('BEGIN');
      expect(
        await reserved.exec("DELETE FROM entries WHERE name = 'exec returning' RETURNING id"),
      ).toMatchObject({ rowsAffected: 1 });
      await reserved.exec('COMMIT');
      await reserved.release();
      await pool.exec("INSERT INTO entries (name) VALUES ('after returning')"); // the leader is fine
      expect([await countOf('returned twice'), await countOf('after returning')]).toEqual([1, 1]);
    });

    it('prunes its bookkeeping rows by age', async () => {
      const first = openPool();
      for (let index = 0; index < 3; index++) {
        const connection = await first.reserve();
        await connection.exec('BEGIN');
        await connection.exec("INSERT INTO entries (name) VALUES ('bookkept')");
        await connection.exec('COMMIT');
        await connection.release();
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      const pruning = openPool({ idempotencyRetentionMs: 10 }); // prunes on its first commit
      const connection = await pruning.reserve();
      await connection.exec('BEGIN');
      await connection.exec("INSERT INTO entries (name) VALUES ('bookkept')");
      await connection.exec('COMMIT');
      await connection.release();
      const ids = (
        await fixture.admin.query(
          "SELECT count(*) FROM dqlite_ts_transactions WHERE id != 'dqlite-ts:barrier'",
        )
      ).rows;
      expect(ids).toEqual([[1]]);
    });

    it('gates a deferred transaction at its first statement, an IMMEDIATE one at BEGIN', async () => {
      const pool = openPool({ max: 2, timeoutMs: 10_000 });
      const outer = await pool.reserve();
      const inner = await pool.reserve();
      try {
        // A deferred transaction that has run nothing holds nothing: another one, begun while it
        // waits (Knex's db.transaction inside db.transaction), runs and commits.
        await outer.exec('BEGIN');
        await inner.exec('BEGIN');
        await inner.exec("INSERT INTO entries (name) VALUES ('gate-inner')");
        await inner.exec('COMMIT');
        await outer.exec("INSERT INTO entries (name) VALUES ('gate-outer')");
        await outer.exec('COMMIT');
        expect([await countOf('gate-inner'), await countOf('gate-outer')]).toEqual([1, 1]);

        // BEGIN IMMEDIATE takes SQLite's write lock, so it waits for the gate first.
        const order: string[] = [];
        await outer.exec('BEGIN IMMEDIATE');
        const second = inner.exec('BEGIN IMMEDIATE').then(() => order.push('inner began'));
        await outer.exec("INSERT INTO entries (name) VALUES ('gate-first')");
        order.push('outer wrote');
        await outer.exec('COMMIT');
        await second;
        await inner.exec('COMMIT');
        expect(order).toEqual(['outer wrote', 'inner began']);
      } finally {
        await outer.release();
        await inner.release();
      }
    });

    it('runs concurrent transactions without SQLITE_BUSY', async () => {
      const pool = openPool({ max: 8 });
      await pool.exec('CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, value INTEGER)');
      await pool.exec('INSERT OR REPLACE INTO counter VALUES (1, 0)');
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          const connection = await pool.reserve();
          try {
            for (let round = 0; round < 5; round++) {
              await connection.exec('BEGIN');
              const { rows } = await connection.query('SELECT value FROM counter WHERE id = 1');
              await connection.exec('UPDATE counter SET value = ? WHERE id = 1', [
                (rows[0]!.value as number) + 1,
              ]);
              await connection.exec('COMMIT');
            }
          } finally {
            await connection.release();
          }
        }),
      );
      expect((await pool.query('SELECT value FROM counter')).rows).toEqual([{ value: 80 }]);
    });
  });
}
