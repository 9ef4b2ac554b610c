// The pool's interop specification: its API, and every row of the retry table in docs/pool.md,
// forced against a real cluster (leadership transfer, kill -9, sockets cut by a fault proxy at
// exact protocol moments). Written against a ClusterProvider so it runs unchanged on dqlite-ts
// nodes.

import { describe, expect, it } from 'vitest';
import {
  BusyError,
  ClosedError,
  ConnectionError,
  connect,
  NotLeaderError,
} from '../../drivers/client/index.js';
import { OutcomeUnknownError, PoolTimeoutError } from '../../drivers/pool/index.js';
import type { PoolOptions } from '../../drivers/pool/index.js';
import type { ClusterProvider } from './cluster-provider.js';
import { requirePeer } from './peer-available.js';
import { retriesOf, usePoolFixture } from './pool-fixture.js';
import { pollUntil } from './poll-until.js';

const DATABASE = 'pool';
const sleepThen = (ms: number) =>
  new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms));

export function definePoolSuite(provider: ClusterProvider): void {
  describe.skipIf(!requirePeer(provider))(`pool against ${provider.name}`, () => {
    const fixture = usePoolFixture(provider, DATABASE, async (admin) => {
      await admin.exec(
        'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, at DATETIME, big INTEGER, flag BOOLEAN, data BLOB)',
      );
    });
    const { openPool, proxiedPool, reconnectAdmin } = fixture;
    const count = async (table: string) =>
      (await fixture.admin.query(`SELECT count(*) FROM ${table}`)).rows[0]![0];

    describe('API', () => {
      it('queries with object or array rows, executes, streams and reports stats', async () => {
        const pool = openPool({ max: 4 });
        const at = new Date('2024-01-02T03:04:05.678Z');
        const inserted = await pool.exec(
          'INSERT INTO items (name, at, big, flag, data) VALUES (?, ?, ?, ?, ?)',
          ['a', at, 2n ** 62n, true, Buffer.from([1, 2])],
        );
        expect(inserted.rowsAffected).toBe(1);
        const { columns, rows } = await pool.query(
          'SELECT name, at, big, flag, data FROM items WHERE id = ?',
          [inserted.lastInsertId],
        );
        expect(columns).toEqual(['name', 'at', 'big', 'flag', 'data']);
        expect(rows).toEqual([
          { name: 'a', at, big: 2n ** 62n, flag: true, data: Buffer.from([1, 2]) },
        ]);
        const arrays = await pool.query('SELECT name FROM items', [], { rowMode: 'array' });
        expect(arrays.rows).toEqual([['a']]);
        await expect(pool.query('SELECT ?', [undefined as unknown as null])).rejects.toThrow(
          TypeError,
        );

        const streamed: unknown[] = [];
        for await (const row of pool.stream(
          'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) SELECT x FROM c',
        )) {
          streamed.push(row);
        }
        expect(streamed).toHaveLength(2000);
        expect(streamed[1999]).toEqual({ x: 2000 });

        await Promise.all(Array.from({ length: 20 }, (_, i) => pool.query('SELECT ?', [i])));
        const stats = pool.stats();
        expect(stats).toMatchObject({
          max: 4,
          borrowed: 0,
          waiting: 0,
          leader: fixture.admin.address,
        });
        expect(stats.size).toBeLessThanOrEqual(4);
        await pool.exec('DELETE FROM items');
      });

      it('applies PRAGMAs to every connection', async () => {
        const pool = openPool({ pragmas: { foreign_keys: true, cache_size: -4000 } });
        expect((await pool.query('PRAGMA foreign_keys')).rows).toEqual([{ foreign_keys: 1 }]);
        expect((await pool.query('PRAGMA cache_size')).rows).toEqual([{ cache_size: -4000 }]);
        expect(() => openPool({ pragmas: { 'foreign_keys; DROP TABLE items': true } })).toThrow(
          TypeError,
        );
      });

      it('runs a batch atomically', async () => {
        const pool = openPool();
        const results = await pool.batch([
          { sql: 'INSERT INTO items (name) VALUES (?)', params: ['b1'] },
          { sql: 'INSERT INTO items (name) VALUES (?)', params: ['b2'] },
        ]);
        expect(results.map((result) => result.rowsAffected)).toEqual([1, 1]);
        const failing = pool.batch([
          { sql: 'INSERT INTO items (name) VALUES (?)', params: ['b3'] },
          { sql: 'INSERT INTO items (name) VALUES (?)', params: ['b1'] }, // UNIQUE violation
        ]);
        await expect(failing).rejects.toMatchObject({ rawCode: 2067 });
        expect(
          (await pool.query("SELECT name FROM items WHERE name LIKE 'b%' ORDER BY name")).rows,
        ).toEqual([{ name: 'b1' }, { name: 'b2' }]);
        await pool.exec('DELETE FROM items');
      });

      it('reads with every consistency (followers serve them on dqlite-ts; the leader on C dqlite)', async () => {
        const pool = openPool({ reads: { consistency: 'read-index' } });
        for (let i = 1; i <= 20; i++) {
          const { lastInsertId } = await pool.exec('INSERT INTO items (name) VALUES (?)', [
            `r${i}`,
          ]);
          // Linearizable wherever it is served: the write just acknowledged is there.
          expect(
            (await pool.query('SELECT name FROM items WHERE id = ?', [lastInsertId])).rows,
          ).toEqual([{ name: `r${i}` }]);
          const bounded = await pool.query('SELECT count(*) AS n FROM items', [], {
            consistency: 'bounded',
            maxStalenessMs: 1000,
          });
          expect(Number(bounded.rows[0]!.n)).toBeLessThanOrEqual(i);
          const leader = await pool.query('SELECT count(*) AS n FROM items', [], {
            consistency: 'leader',
          });
          expect(leader.rows).toEqual([{ n: i }]);
        }
        expect(() => openPool({ reads: { consistency: 'eventual' as 'bounded' } })).toThrow(
          TypeError,
        );
        await expect(
          pool.query('SELECT 1', [], { consistency: 'bounded', maxStalenessMs: -1 }),
        ).rejects.toThrow(RangeError);
        await pool.exec('DELETE FROM items');
      });

      it('rejects calls after close, and bad options at once', async () => {
        const pool = openPool();
        await pool.query('SELECT 1');
        await pool.close();
        await expect(pool.query('SELECT 1')).rejects.toThrow(ClosedError);
        expect(() => openPool({ maxSize: 3 } as Partial<PoolOptions>)).toThrow(
          /unknown option "maxSize"/,
        );
        expect(() => openPool({ max: 0 })).toThrow(RangeError);
        const limited = openPool({ timeoutMs: 1000 });
        await expect(limited.query('SELECT 1', [], { timeoutMs: 5000 })).rejects.toThrow(
          RangeError,
        );
      });
    });

    describe('retry table, statements outside a transaction', () => {
      it('NOT_LEADER: retried on the new leader transparently', async () => {
        const pool = openPool();
        const retries = retriesOf(pool);
        const changes: unknown[] = [];
        pool.on('leaderChange', (change) => changes.push(change));
        await pool.query('SELECT 1'); // an idle connection to the current leader
        const generationBefore = pool.stats().generation;
        const target = (await fixture.admin.cluster()).find(
          (node) => node.address !== fixture.admin.address,
        )!;
        await fixture.admin.transfer(target.id);
        await reconnectAdmin();
        const result = await pool.exec('INSERT INTO items (name) VALUES (?)', ['after-transfer']);
        expect(result.rowsAffected).toBe(1);
        expect(retries.some((retry) => retry.error instanceof NotLeaderError)).toBe(true);
        expect(changes.at(-1)).toMatchObject({ leader: target.address });
        expect(pool.stats().leader).toBe(target.address);
        expect(pool.stats().generation).toBeGreaterThan(generationBefore);
        expect(await count("items WHERE name = 'after-transfer'")).toBe(1);
      });

      it('a socket that died before the request was sent: retried', async () => {
        const { proxy, pool } = await proxiedPool();
        await pool.query('SELECT 1');
        proxy.cutAll(); // the idle connection dies; the next call must not fail for it
        // Let the pool's socket see the close (one loopback FIN); a request written before that
        // would count as sent, which is the next test's situation, not this one's.
        await sleepThen(200);
        await expect(
          pool.exec('INSERT INTO items (name) VALUES (?)', ['after-cut']),
        ).resolves.toMatchObject({
          rowsAffected: 1,
        });
      });

      it('a write in flight when the socket died: OutcomeUnknownError, whether or not it ran', async () => {
        const { proxy, pool } = await proxiedPool();
        await pool.query('SELECT 1');
        const isInsert = (name: string) => (request: { type: string; sql?: string }) =>
          request.type === 'EXEC_SQL' && (request.sql ?? '').includes(name);
        proxy.arm({ match: isInsert('dropped'), action: 'drop' });
        const dropped = await pool
          .exec("INSERT INTO items (name) VALUES ('dropped')")
          .catch((e: unknown) => e);
        expect(dropped).toBeInstanceOf(OutcomeUnknownError);
        expect((dropped as OutcomeUnknownError).cause).toBeInstanceOf(ConnectionError);
        expect(await count("items WHERE name = 'dropped'")).toBe(0);

        proxy.arm({ match: isInsert('answered'), action: 'answer-then-cut' });
        const answered = await pool
          .exec("INSERT INTO items (name) VALUES ('answered')")
          .catch((e: unknown) => e);
        expect(answered).toBeInstanceOf(OutcomeUnknownError);
        expect(await count("items WHERE name = 'answered'")).toBe(1); // it did commit
        expect(proxy.fired).toBe(2);
      });

      it('the same failure on a read, or on a write marked idempotent: retried', async () => {
        const { proxy, pool } = await proxiedPool();
        proxy.arm({ match: (request) => request.type === 'QUERY_SQL', action: 'answer-then-cut' });
        expect((await pool.query('SELECT 41 + 1 AS answer')).rows).toEqual([{ answer: 42 }]);
        proxy.arm({ match: (request) => request.type === 'EXEC_SQL', action: 'drop' });
        await pool.exec("INSERT OR IGNORE INTO items (name) VALUES ('idempotent')", [], {
          idempotent: true,
        });
        expect(await count("items WHERE name = 'idempotent'")).toBe(1);
        expect(proxy.fired).toBe(2);
      });

      it('SQLITE_BUSY: waited out within busyTimeoutMs, then surfaced', async () => {
        const holder = await connect({
          cluster: [...fixture.cluster.addresses],
          database: DATABASE,
        });
        try {
          await holder.exec('BEGIN IMMEDIATE');
          // A server that queues writers (dqlite-ts) answers SQLITE_BUSY only after the
          // connection's busy timeout; a short one makes it answer within the holder's 300 ms.
          const serverWait = provider.queuesWriters ? { pragmas: { busy_timeout: 100 } } : {};
          const pool = openPool({ busyTimeoutMs: 3000, ...serverWait });
          const retries = retriesOf(pool);
          const waiting = pool.exec("INSERT INTO items (name) VALUES ('waited')");
          await new Promise((resolve) => setTimeout(resolve, 300));
          await holder.exec('COMMIT');
          await expect(waiting).resolves.toMatchObject({ rowsAffected: 1 });
          expect(retries.some((retry) => retry.error instanceof BusyError)).toBe(true);

          await holder.exec('BEGIN IMMEDIATE');
          const impatient = openPool({ busyTimeoutMs: 200, ...serverWait });
          await expect(impatient.exec("INSERT INTO items (name) VALUES ('never')")).rejects.toThrow(
            BusyError,
          );
          await holder.exec('ROLLBACK');
        } finally {
          await holder.close();
        }
      });

      it('every call ends by its deadline when there is no quorum, and recovers after', async () => {
        const pool = openPool({ timeoutMs: 20_000, leaderTimeoutMs: 1000 });
        await pool.query('SELECT 1');
        const leader = fixture.admin.address;
        const others = fixture.cluster.addresses.filter((address) => address !== leader);
        await Promise.all(others.map((address) => fixture.cluster.kill(address)));
        // The old leader keeps serving until it notices it lost its quorum and steps down.
        await pollUntil(
          async () =>
            (await connect({ cluster: [leader], database: DATABASE, leaderTimeoutMs: 300 }).then(
              async (client) => void (await client.close()),
              () => 'stepped down' as const,
            )) ?? undefined,
          {
            timeoutMs: 30_000,
            intervalMs: 200,
            description: 'the leader to step down without a quorum',
          },
        );
        const started = Date.now();
        const outcome = await pool
          .query('SELECT count(*) FROM items', [], { timeoutMs: 3000 })
          .catch((e: unknown) => e);
        const elapsedMs = Date.now() - started;
        expect(outcome).toBeInstanceOf(Error);
        expect(outcome instanceof PoolTimeoutError || outcome instanceof OutcomeUnknownError).toBe(
          true,
        );
        expect(elapsedMs).toBeLessThan(3000 + 1500);
        await Promise.all(others.map((address) => fixture.cluster.restart(address)));
        await expect(
          pool.query('SELECT 1 AS one', [], { timeoutMs: 20_000 }),
        ).resolves.toMatchObject({
          rows: [{ one: 1 }],
        });
      }, 60_000);

      it('keeps working after every node restarts', async () => {
        const pool = openPool({ pragmas: { foreign_keys: true } });
        await pool.query('SELECT 1');
        for (const address of fixture.cluster.addresses) await fixture.cluster.kill(address);
        for (const address of fixture.cluster.addresses) await fixture.cluster.restart(address);
        const rows = await pollUntil(
          async () => (await pool.query('PRAGMA foreign_keys', [], { timeoutMs: 10_000 })).rows,
          {
            timeoutMs: 45_000,
            intervalMs: 500,
            description: 'the pool to answer after a full restart',
          },
        );
        expect(rows).toEqual([{ foreign_keys: 1 }]); // PRAGMAs applied again on the new connections
        await reconnectAdmin();
      }, 90_000);
    });
  });
}
