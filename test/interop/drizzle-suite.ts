// The Drizzle adapter's interop specification against a real cluster: every column type, queries,
// RETURNING, joins, relational queries, transactions and batches, the migrator (a table rebuild
// under foreign keys, two migrators at once), and a kill -9 of the leader under a workload of
// transactions. Written against a ClusterProvider so it runs unchanged on dqlite-ts nodes.

import { count, eq, sql, TransactionRollbackError } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { drizzle } from '../../adapters/drizzle/index.js';
import type { DqliteDatabase } from '../../adapters/drizzle/index.js';
import { createPool } from '../../drivers/pool/index.js';
import type { LeaderPool, PoolOptions } from '../../drivers/pool/index.js';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';
import { defineDrizzleMigrateTests } from './drizzle-migrate-tests.js';
import { counters, CREATE_TABLES, events, posts, schema, users } from './drizzle-fixtures.js';
import { requirePeer } from './peer-available.js';

type Db = DqliteDatabase<typeof schema>;

/** Rows the failover workload writes: LOOPS concurrent loops of PER_LOOP transactions each. */
const LOOPS = 8;
const PER_LOOP = 40;
/** The leader is killed once this many transactions have been acknowledged. */
const KILL_AFTER = 60;

export function defineDrizzleSuite(provider: ClusterProvider): void {
  describe.skipIf(!requirePeer(provider))(`drizzle against ${provider.name}`, () => {
    let cluster: ClusterHandle;
    let db: Db;
    const pools: LeaderPool[] = [];
    const openPool = (database: string, options: Partial<PoolOptions> = {}) => {
      const pool = createPool({
        cluster: [...cluster.addresses],
        database,
        pragmas: { foreign_keys: true },
        ...options,
      });
      pools.push(pool);
      return pool;
    };

    beforeAll(async () => {
      cluster = await provider.start({ nodes: 3 });
      db = drizzle(openPool('drizzle'), { schema });
      for (const statement of CREATE_TABLES) await db.run(sql.raw(statement));
    }, 90_000);

    beforeEach(async () => {
      await db?.batch([db.delete(posts), db.delete(users), db.delete(counters), db.delete(events)]);
    });

    afterAll(async () => {
      await Promise.all(pools.splice(0).map((pool) => pool.close()));
      await cluster?.stop();
    }, 60_000);

    describe('queries', () => {
      it('round-trips every column type, 64-bit integers and dates included', async () => {
        const createdAt = new Date('2024-01-02T03:04:05.000Z');
        const seenAt = new Date('2024-01-02T03:04:05.678Z');
        const values = {
          name: 'types',
          age: 42,
          big: -(2n ** 63n),
          bigAsNumber: 2 ** 53 + 2,
          bigAsBlob: 2n ** 63n - 1n,
          bigAsNumeric: 2n ** 62n + 1n,
          score: 1.5,
          active: true,
          createdAt,
          seenAt,
          birthday: new Date('1990-05-06T00:00:00.000Z'),
          lastLogin: seenAt,
          profile: { tags: ['a', 'b'] },
          avatar: Buffer.from([0, 1, 2, 255]),
          settings: { theme: 'dark' },
          status: 'active' as const,
        };
        const [{ id }] = (await db.insert(users).values(values).returning({ id: users.id })) as [
          { id: number },
        ];
        const row = await db.select().from(users).where(eq(users.id, id)).get();
        const { insertedAt, ...rest } = row!;
        // A number column holding more than 2^53 comes back as a bigint: nothing is rounded.
        expect(rest).toEqual({ ...values, id, bigAsNumber: BigInt(2 ** 53 + 2) });
        expect(insertedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

        const [empty] = await db.insert(users).values({ name: 'nulls' }).returning();
        expect(empty).toMatchObject({ big: null, active: null, createdAt: null, avatar: null });
        await db.update(users).set({ active: false, big: 7n }).where(eq(users.name, 'nulls'));
        expect(
          await db
            .select({ active: users.active, big: users.big })
            .from(users)
            .where(eq(users.name, 'nulls')),
        ).toEqual([{ active: false, big: 7n }]);
      });

      it('returns rows from INSERT, UPDATE and DELETE … RETURNING and keeps the writes', async () => {
        const inserted = await db
          .insert(counters)
          .values([
            { id: 101, value: 1 },
            { id: 102, value: 2 },
          ])
          .returning();
        expect(inserted).toEqual([
          { id: 101, value: 1 },
          { id: 102, value: 2 },
        ]);
        const updated = await db
          .update(counters)
          .set({ value: sql`${counters.value} * 10` })
          .where(eq(counters.id, 101))
          .returning({ value: counters.value })
          .get();
        expect(updated).toEqual({ value: 10 });
        // A RETURNING write in autocommit would be lost on C dqlite 1.11; here it is committed.
        expect(await db.select().from(counters).where(eq(counters.id, 101))).toEqual([
          { id: 101, value: 10 },
        ]);
        const deleted = await db.delete(counters).where(eq(counters.id, 102)).returning();
        expect(deleted).toEqual([{ id: 102, value: 2 }]);
        expect(await db.$count(counters, eq(counters.id, 102))).toBe(0);
        const ran = await db.insert(counters).values({ id: 103, value: 3 }).returning().run();
        expect(ran).toMatchObject({ rowsAffected: 1 });
      });

      it('joins tables and runs relational queries with `with`', async () => {
        const [ada, bob] = await db
          .insert(users)
          .values([{ name: 'ada' }, { name: 'bob' }])
          .returning({ id: users.id, name: users.name });
        await db.insert(posts).values([
          { id: 1, userId: ada!.id, title: 'first' },
          { id: 2, userId: ada!.id, title: 'second' },
        ]);
        const joined = await db
          .select({ user: users.name, post: posts.title })
          .from(users)
          .leftJoin(posts, eq(posts.userId, users.id))
          .where(sql`${users.name} in ('ada', 'bob')`)
          .orderBy(users.name, posts.id);
        expect(joined).toEqual([
          { user: 'ada', post: 'first' },
          { user: 'ada', post: 'second' },
          { user: 'bob', post: null },
        ]);
        const nested = await db
          .select()
          .from(users)
          .leftJoin(posts, eq(posts.userId, users.id))
          .where(eq(users.id, bob!.id));
        expect(nested).toEqual([{ users: expect.objectContaining({ name: 'bob' }), posts: null }]);

        const authors = await db.query.users.findMany({
          columns: { name: true },
          where: (table, { inArray }) => inArray(table.name, ['ada', 'bob']),
          orderBy: (table, { asc }) => asc(table.name),
          with: { posts: { columns: { title: true }, orderBy: (table, { asc }) => asc(table.id) } },
        });
        expect(authors).toEqual([
          { name: 'ada', posts: [{ title: 'first' }, { title: 'second' }] },
          { name: 'bob', posts: [] },
        ]);
        const post = await db.query.posts.findFirst({
          where: eq(posts.id, 2),
          with: { author: { columns: { name: true } } },
        });
        expect(post).toEqual({ id: 2, userId: ada!.id, title: 'second', author: { name: 'ada' } });
        await db.delete(users).where(sql`${users.name} in ('ada', 'bob')`);
        expect(await db.$count(posts)).toBe(0); // ON DELETE CASCADE: foreign keys are on
      });

      it('runs raw SQL with run, all, get and values', async () => {
        const ran = await db.run(sql`INSERT INTO counters (id, value) VALUES (${201}, ${5})`);
        expect(ran).toEqual({ lastInsertId: 201, rowsAffected: 1 });
        expect(await db.all(sql`SELECT id, value FROM counters`)).toEqual([{ id: 201, value: 5 }]);
        expect(await db.get(sql`SELECT value FROM counters WHERE id = ${201}`)).toEqual({
          value: 5,
        });
        expect(await db.values(sql`SELECT id, value FROM counters`)).toEqual([[201, 5]]);
      });

      it('selects 10,000 rows', async () => {
        await db.run(
          sql`INSERT INTO events (id, loop, note) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000) SELECT 100000 + x, -1, 'bulk ' || x FROM c`,
        );
        const rows = await db.select().from(events).where(eq(events.loop, -1)).orderBy(events.id);
        expect(rows).toHaveLength(10_000);
        expect(rows[9_999]).toEqual({ id: 110_000, loop: -1, note: 'bulk 10000' });
      });

      it('reports SQL errors as DrizzleQueryError with the typed Dqlite error as cause', async () => {
        await db.insert(users).values({ name: 'unique' });
        const error = await db
          .insert(users)
          .values({ name: 'unique' })
          .catch((e: unknown) => e);
        // DrizzleQueryError: drizzle-orm 0.44.0 does not export it from its root, 0.45 does.
        expect(error).toMatchObject({ message: expect.stringMatching(/^Failed query: insert/) });
        expect((error as Error).cause).toMatchObject({
          name: 'ConstraintError',
          extendedCode: 'SQLITE_CONSTRAINT_UNIQUE',
        });
        expect(() => drizzle(db.$client, { shema: {} } as never)).toThrow(TypeError);
        expect(() => drizzle({} as LeaderPool)).toThrow(TypeError);
        await expect(
          db.transaction(async () => 1, { behaviour: 'immediate' } as never),
        ).rejects.toThrow(TypeError);
      });
    });

    describe('transactions and batches', () => {
      it('commits, rolls back with tx.rollback() and on errors, and nests with savepoints', async () => {
        await db.transaction(async (tx) => {
          await tx.insert(counters).values({ id: 1, value: 1 });
        });
        await expect(
          db.transaction(async (tx) => {
            await tx.insert(counters).values({ id: 2, value: 2 });
            tx.rollback();
          }),
        ).rejects.toBeInstanceOf(TransactionRollbackError);
        const mine = new RangeError('mine');
        await expect(
          db.transaction(async (tx) => {
            await tx.insert(counters).values({ id: 3, value: 3 });
            throw mine;
          }),
        ).rejects.toBe(mine);
        const outcome = await db.transaction(
          async (tx) => {
            await tx.insert(counters).values({ id: 4, value: 4 });
            await tx
              .transaction(async (inner) => {
                await inner.insert(counters).values({ id: 5, value: 5 });
                throw new Error('inner only');
              })
              .catch(() => undefined);
            await tx.transaction(async (inner) => {
              await inner.insert(counters).values({ id: 6, value: 6 });
              await inner.transaction(async (innermost) => {
                await innermost.update(counters).set({ value: 60 }).where(eq(counters.id, 6));
              });
            });
            return tx.select().from(counters).orderBy(counters.id);
          },
          { behavior: 'immediate' },
        );
        const committed = [
          { id: 1, value: 1 },
          { id: 4, value: 4 },
          { id: 6, value: 60 },
        ];
        expect(outcome).toEqual(committed);
        expect(await db.select().from(counters).orderBy(counters.id)).toEqual(committed);
      });

      it('20 concurrent transactions increment a counter exactly 20 times, immediate or deferred', async () => {
        await db.insert(counters).values({ id: 1, value: 0 });
        const increment = (behavior: 'immediate' | 'deferred') =>
          db.transaction(
            async (tx) => {
              const [row] = await tx.select().from(counters).where(eq(counters.id, 1));
              await tx
                .update(counters)
                .set({ value: row!.value + 1 })
                .where(eq(counters.id, 1));
            },
            { behavior },
          );
        // IMMEDIATE (the adapter's default) takes turns in the pool's write gate; DEFERRED ones
        // collide on the leader's write lock and rerun after SQLITE_BUSY as IMMEDIATE ones.
        await Promise.all(Array.from({ length: 20 }, () => increment('immediate')));
        expect(await db.select({ value: counters.value }).from(counters)).toEqual([{ value: 20 }]);
        await Promise.all(Array.from({ length: 20 }, () => increment('deferred')));
        expect(await db.select({ value: counters.value }).from(counters)).toEqual([{ value: 40 }]);
      }, 60_000);

      it('batch runs every statement in one transaction, all or nothing', async () => {
        const [inserted, selected, raw, counted] = await db.batch([
          db.insert(counters).values({ id: 1, value: 1 }).returning(),
          db.select().from(counters),
          db.run(sql`UPDATE counters SET value = 2 WHERE id = 1`),
          db.get<{ n: number }>(sql`SELECT count(*) AS n FROM counters`),
        ]);
        expect(inserted).toEqual([{ id: 1, value: 1 }]);
        expect(selected).toEqual([{ id: 1, value: 1 }]);
        expect(raw).toMatchObject({ rowsAffected: 1 });
        expect(counted).toEqual({ n: 1 });
        const failed = db.batch([
          db.insert(counters).values({ id: 2, value: 2 }),
          db.insert(counters).values({ id: 1, value: 1 }),
        ]);
        await expect(failed).rejects.toThrow(/^Failed query: insert/);
        expect(await db.select().from(counters)).toEqual([{ id: 1, value: 2 }]);
      });
    });

    defineDrizzleMigrateTests(openPool);

    describe('failover', () => {
      it('kill -9 of the leader under 8 loops of transactions: no error, no row lost or doubled', async () => {
        const pool = openPool('drizzle', { max: 8 });
        const failoverDb = drizzle(pool, { schema });
        const acknowledged: number[] = [];
        let killed: { leader: string; done: Promise<void> } | undefined;
        const loop = async (loopIndex: number) => {
          for (let sequence = 0; sequence < PER_LOOP; sequence++) {
            const id = loopIndex * 1000 + sequence;
            await failoverDb.transaction(async (tx) => {
              await tx.insert(events).values({ id, loop: loopIndex });
              const [mine] = await tx
                .select({ n: count() })
                .from(events)
                .where(eq(events.loop, loopIndex));
              await tx
                .update(events)
                .set({ note: `#${mine!.n}` })
                .where(eq(events.id, id));
            });
            acknowledged.push(id);
            if (acknowledged.length === KILL_AFTER && !killed) {
              const leader = pool.stats().leader!;
              killed = { leader, done: cluster.kill(leader) };
            }
          }
        };
        await Promise.all(Array.from({ length: LOOPS }, (_, index) => loop(index)));
        expect(killed).toBeDefined();
        await killed!.done;
        expect(pool.stats().leader).not.toBe(killed!.leader);

        const stored = await failoverDb.select().from(events).orderBy(events.id);
        expect(stored.map((row) => row.id)).toEqual([...acknowledged].sort((a, b) => a - b));
        expect(stored).toHaveLength(LOOPS * PER_LOOP);
        for (let loopIndex = 0; loopIndex < LOOPS; loopIndex++) {
          const notes = stored.filter((row) => row.loop === loopIndex).map((row) => row.note);
          expect(notes).toEqual(Array.from({ length: PER_LOOP }, (_, index) => `#${index + 1}`));
        }
        await cluster.restart(killed!.leader);
      }, 180_000);
    });
  });
}
