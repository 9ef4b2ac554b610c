// The pool's transaction rows of the retry table, forced against a real cluster: leader changes
// and SQLITE_BUSY before COMMIT rerun `fn`; user errors roll back unchanged; an unknown outcome
// at COMMIT (a socket cut by the fault proxy after or instead of forwarding COMMIT) is
// OutcomeUnknownError, or exactly-once with `idempotent: true`.

import { describe, expect, it } from 'vitest';
import { BusyError, ClosedError, connect, NotLeaderError } from '../../drivers/client/index.js';
import {
  IDEMPOTENCY_TABLE,
  OutcomeUnknownError,
  TransactionRetriesExhaustedError,
} from '../../drivers/pool/index.js';
import type { RetryEvent, Transaction } from '../../drivers/pool/index.js';
import type { Request } from '../../src/wire/index.js';
import type { ClusterProvider } from './cluster-provider.js';
import { requirePeer } from './peer-available.js';
import { usePoolFixture } from './pool-fixture.js';

const DATABASE = 'pool-tx';
const isCommit = (request: Request) => request.type === 'EXEC_SQL' && request.sql === 'COMMIT';

export function definePoolTransactionSuite(provider: ClusterProvider): void {
  describe.skipIf(!requirePeer(provider))(`pool transactions against ${provider.name}`, () => {
    const fixture = usePoolFixture(provider, DATABASE, async (admin) => {
      await admin.exec('CREATE TABLE ledger (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    });
    const { openPool, proxiedPool } = fixture;
    const rowsNamed = async (name: string) =>
      (await fixture.admin.query('SELECT count(*) FROM ledger WHERE name = ?', [name])).rows[0]![0];
    /** A transaction body that counts its runs and inserts one ledger row. */
    const insertOnce = (name: string, runs: { count: number }) => async (tx: Transaction) => {
      runs.count++;
      await tx.exec('INSERT INTO ledger (name) VALUES (?)', [name]);
      return `inserted ${name}`;
    };

    it('commits, and rolls back a user error and rethrows it unchanged', async () => {
      const pool = openPool();
      const runs = { count: 0 };
      await expect(pool.transaction(insertOnce('committed', runs))).resolves.toBe(
        'inserted committed',
      );
      const mine = new RangeError('my own error');
      let handle: Transaction | undefined;
      const failed = pool.transaction(async (tx) => {
        handle = tx;
        await tx.exec("INSERT INTO ledger (name) VALUES ('rolled back')");
        throw mine;
      });
      await expect(failed).rejects.toBe(mine);
      expect(await rowsNamed('committed')).toBe(1);
      expect(await rowsNamed('rolled back')).toBe(0);
      await expect(handle!.query('SELECT 1')).rejects.toThrow(ClosedError);
      await expect(pool.transaction('not a function' as never)).rejects.toThrow(TypeError);
    });

    it('a leader change before COMMIT rolls back and reruns fn on the new leader', async () => {
      const pool = openPool();
      const retries: RetryEvent[] = [];
      pool.on('retry', (event: RetryEvent) => retries.push(event));
      let runs = 0;
      const result = await pool.transaction(async (tx) => {
        runs++;
        await tx.exec("INSERT INTO ledger (name) VALUES ('moved')");
        if (runs === 1) {
          const target = (await fixture.admin.cluster()).find(
            (node) => node.address !== fixture.admin.address,
          )!;
          await fixture.admin.transfer(target.id);
        }
        await tx.exec("INSERT INTO ledger (name) VALUES ('moved')");
        return runs;
      });
      expect(result).toBe(2);
      expect(retries.some((retry) => retry.error instanceof NotLeaderError)).toBe(true);
      await fixture.reconnectAdmin();
      expect(await rowsNamed('moved')).toBe(2); // both inserts of the second run, none of the first
    });

    it('SQLITE_BUSY at BEGIN IMMEDIATE is waited out; retriesMax bounds it', async () => {
      const holder = await connect({ cluster: [...fixture.cluster.addresses], database: DATABASE });
      try {
        await holder.exec('BEGIN IMMEDIATE');
        // A server that queues writers (dqlite-ts) answers SQLITE_BUSY only after the
        // connection's busy timeout; a short one makes it answer within the holder's 300 ms.
        const pool = openPool(provider.queuesWriters ? { pragmas: { busy_timeout: 100 } } : {});
        const retries: RetryEvent[] = [];
        pool.on('retry', (event: RetryEvent) => retries.push(event));
        const runs = { count: 0 };
        const waiting = pool.transaction(insertOnce('after busy', runs), { behavior: 'immediate' });
        await new Promise((resolve) => setTimeout(resolve, 300));
        await holder.exec('COMMIT');
        await expect(waiting).resolves.toBe('inserted after busy');
        expect(retries.some((retry) => retry.error instanceof BusyError)).toBe(true);

        await holder.exec('BEGIN IMMEDIATE');
        const exhausted = await pool
          .transaction(insertOnce('never', { count: 0 }), { behavior: 'immediate', retriesMax: 1 })
          .catch((error: unknown) => error);
        expect(exhausted).toBeInstanceOf(TransactionRetriesExhaustedError);
        expect((exhausted as Error).cause).toBeInstanceOf(BusyError);
        await holder.exec('ROLLBACK');
      } finally {
        await holder.close();
      }
    });

    it('a deferred transaction that met SQLITE_BUSY on its write runs again as IMMEDIATE', async () => {
      // Read, then another writer commits, then write: SQLite refuses the stale snapshot
      // (SQLITE_BUSY_SNAPSHOT). A rerun as DEFERRED could lose the same race again and again.
      const { proxy, pool } = await proxiedPool();
      let runs = 0;
      await pool.transaction(
        async (tx) => {
          runs++;
          await tx.query('SELECT count(*) FROM ledger');
          if (runs === 1) await fixture.admin.exec("INSERT INTO ledger (name) VALUES ('racer')");
          await tx.exec("INSERT INTO ledger (name) VALUES ('after the race')");
        },
        { behavior: 'deferred' },
      );
      expect(runs).toBe(2);
      const begins = proxy.requests.flatMap((request) =>
        request.type === 'EXEC_SQL' && request.sql.startsWith('BEGIN') ? [request.sql] : [],
      );
      expect(begins).toEqual(['BEGIN DEFERRED', 'BEGIN IMMEDIATE']);
      expect(await rowsNamed('after the race')).toBe(1);
    });

    it('an unknown outcome at COMMIT is OutcomeUnknownError without idempotent', async () => {
      const { proxy, pool } = await proxiedPool();
      proxy.arm({ match: isCommit, action: 'answer-then-cut' });
      const error = await pool
        .transaction(insertOnce('unknown', { count: 0 }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect((error as OutcomeUnknownError).operation).toBe('COMMIT');
      expect(await rowsNamed('unknown')).toBe(1); // it did commit; the caller was told it might have
    });

    it('idempotent: a COMMIT that ran but whose answer was lost is not run again', async () => {
      const { proxy, pool } = await proxiedPool();
      proxy.arm({ match: isCommit, action: 'answer-then-cut' });
      const runs = { count: 0 };
      await expect(
        pool.transaction(insertOnce('exactly once', runs), { idempotent: true }),
      ).resolves.toBe('inserted exactly once');
      expect(proxy.fired).toBe(1);
      expect(runs.count).toBe(1);
      expect(await rowsNamed('exactly once')).toBe(1);
    });

    it('idempotent: a COMMIT that never arrived is run again, once', async () => {
      const { proxy, pool } = await proxiedPool();
      proxy.arm({ match: isCommit, action: 'drop' });
      const runs = { count: 0 };
      await expect(pool.transaction(insertOnce('rerun', runs), { idempotent: true })).resolves.toBe(
        'inserted rerun',
      );
      expect(proxy.fired).toBe(1);
      expect(runs.count).toBe(2);
      expect(await rowsNamed('rerun')).toBe(1);
    });

    it('keeps its bookkeeping table pruned by age', async () => {
      const first = openPool();
      for (let index = 0; index < 3; index++)
        await first.transaction(insertOnce('kept', { count: 0 }), { idempotent: true });
      const idsBefore = (await fixture.admin.query(`SELECT count(*) FROM ${IDEMPOTENCY_TABLE}`))
        .rows[0]![0] as number;
      expect(idsBefore).toBeGreaterThanOrEqual(3);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const pruning = openPool({ idempotencyRetentionMs: 10 }); // prunes on its first idempotent commit
      await pruning.transaction(insertOnce('pruner', { count: 0 }), { idempotent: true });
      expect((await fixture.admin.query(`SELECT count(*) FROM ${IDEMPOTENCY_TABLE}`)).rows).toEqual(
        [[1]],
      );
    });
  });
}
