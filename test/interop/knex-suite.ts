// Knex on Dqlite against a real cluster: from CRUD over every column type to migrations that must
// not lose child rows, and Knex transactions that carry on through a kill -9 of the leader.

import knexModule from 'knex';
import type { Knex } from 'knex';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConstraintError } from '../../drivers/client/index.js';
import { createPool, PoolTimeoutError, TransactionReplayError } from '../../drivers/pool/index.js';
import type { LeaderPool, PoolOptions } from '../../drivers/pool/index.js';
import { knex, QUEUED_STATEMENTS_MAX, UnsafeTableRebuildError } from '../../adapters/knex/index.js';
import { KnexConnection } from '../../adapters/knex/knex-connection.js';
import type { DqliteKnexConfig, DqliteKnexClient } from '../../adapters/knex/index.js';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';
import { requirePeer } from './peer-available.js';

type Migration = { up(k: Knex): Promise<void>; down(k: Knex): Promise<void>; config?: object };

/** Knex's migrator over migrations held in memory, in key order. */
const inMemory = (migrations: Record<string, Migration>) => ({
  migrationSource: {
    getMigrations: async () => Object.keys(migrations),
    getMigrationName: (name: string) => name,
    getMigration: async (name: string) => migrations[name]!,
  },
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const NOWHERE = { cluster: ['127.0.0.1:1'], database: 'none' };
const KnexTimeoutErrorClass = (knexModule as unknown as { KnexTimeoutError: typeof Error })
  .KnexTimeoutError;

/** A parent with two rows and a child table of three rows that cascade on delete. */
async function createFamily(k: Knex): Promise<void> {
  await k.schema.createTable('parent', (t) => {
    t.integer('id').primary();
    t.string('name');
    t.string('note');
  });
  await k.schema.createTable('child', (t) => {
    t.integer('id').primary();
    t.integer('parent_id').references('id').inTable('parent').onDelete('CASCADE');
  });
  await k('parent').insert([1, 2].map((id) => ({ id, name: `p${id}`, note: 'x' })));
  await k('child').insert([1, 2, 3].map((id) => ({ id, parent_id: 1 + (id % 2) })));
}
async function dropFamily(k: Knex): Promise<void> {
  await k.schema.dropTable('child').dropTable('parent');
}
const childCount = async (k: Knex) => (await k('child').count({ n: '*' }))[0]!.n;

export function defineKnexSuite(provider: ClusterProvider): void {
  describe('dqlite-ts/knex without a cluster', () => {
    it('rejects misuse at once, bounds queues, compiles SQL without a connection', async () => {
      const bad: [object, ErrorConstructor][] = [
        [{ client: 'sqlite3', connection: NOWHERE }, TypeError],
        [{ client: 'dqlite', connection: NOWHERE, pool: { afterCreate: () => {} } }, TypeError],
        [{ client: 'dqlite', connection: NOWHERE, pool: { max: -1 } }, RangeError],
        [{ client: 'dqlite', connection: { ...NOWHERE, maxx: 2 } }, TypeError],
        [{ client: 'dqlite', connection: NOWHERE, transactionBehavior: 'later' }, TypeError],
        [{ client: 'dqlite', connection: NOWHERE, acquireConnectionTimeout: -1 }, RangeError],
        [{ client: 'dqlite', connectionPool: {} }, TypeError],
      ];
      for (const [config, type] of bad)
        expect(() => knex(config as DqliteKnexConfig)).toThrow(type);
      const stuck = new KnexConnection({ query: () => new Promise(() => {}) } as never);
      for (let index = 0; index < QUEUED_STATEMENTS_MAX; index++) void stuck.query('SELECT 1');
      await expect(stuck.query('SELECT 1')).rejects.toThrow(RangeError);
      const offline = knex({ client: 'dqlite' });
      const sometime = { behavior: 'sometime' as 'immediate' };
      expect(() => offline.transaction(async () => undefined, sometime)).toThrow(TypeError);
      expect(offline('t').insert({ a: 1 }).toString()).toBe('insert into `t` (`a`) values (1)');
    });
  });

  describe.skipIf(!requirePeer(provider))(`knex against ${provider.name}`, () => {
    let cluster: ClusterHandle;
    const instances: Knex[] = [];
    const pools: LeaderPool[] = [];
    const poolOptions = (database: string): PoolOptions => ({
      cluster: [...cluster.addresses],
      database,
      pragmas: { foreign_keys: true },
      leaderTimeoutMs: 15_000,
    });
    const open = (database: string, config: Partial<DqliteKnexConfig> = {}) => {
      const db = knex({ client: 'dqlite', connection: poolOptions(database), ...config });
      instances.push(db);
      return db;
    };
    /** Knex over a pool the test holds (Knex's `connectionPool`). */
    const openShared = (database: string, options: Partial<PoolOptions> = {}) => {
      const pool = createPool({ ...poolOptions(database), ...options });
      pools.push(pool);
      return { pool, db: open(database, { connection: undefined, connectionPool: pool }) };
    };

    beforeAll(async () => {
      cluster = await provider.start({ nodes: 3 });
    }, 90_000);

    afterEach(async () => {
      await Promise.all(instances.splice(0).map((db) => db.destroy()));
      await Promise.all(pools.splice(0).map((pool) => pool.close()));
    }, 60_000);

    afterAll(async () => {
      await cluster?.stop();
    }, 60_000);

    it('writes and reads every column type, 64-bit integers, dates, booleans and blobs', async () => {
      const db = open('knex_types');
      await db.schema.createTable('everything', (t) => {
        t.increments('id');
        t.integer('small');
        t.bigInteger('big');
        t.float('ratio');
        t.decimal('price', 8, 2);
        t.string('name', 40);
        t.text('body');
        t.boolean('flag');
        t.date('day');
        t.datetime('at');
        t.timestamp('stamp');
        t.binary('data');
        t.json('meta');
        t.uuid('uid');
        t.enu('kind', ['a', 'b']);
      });
      const at = new Date('2024-05-06T07:08:09.123Z');
      const row = {
        ...{ small: -7, big: 2n ** 62n + 1n, ratio: 0.25, price: 12.5, name: 'Ada' },
        ...{ body: 'é'.repeat(10_000), flag: true, day: new Date('2024-05-06T00:00:00Z'), at },
        ...{ stamp: at, data: Buffer.from([0, 1, 255]), meta: { a: [1, 2] }, kind: 'b' },
        uid: '3b241101-e2bb-4255-8caf-4136c566a962',
      };
      expect(await db('everything').insert(row)).toEqual([1]);
      const back = await db('everything').where({ id: 1 }).first();
      expect(back).toEqual({ id: 1, ...row, meta: '{"a":[1,2]}' });
      const edges = [-(2n ** 63n), 2n ** 63n - 1n, Number.MAX_SAFE_INTEGER];
      await db('everything').insert(edges.map((big) => ({ big, flag: false })));
      expect(await db('everything').where('id', '>', 1).orderBy('id').pluck('big')).toEqual(edges);
      expect(await db('everything').where({ id: 1 }).update({ flag: false, name: null })).toBe(1);
      const updated = await db('everything').where({ id: 1 }).first('flag', 'name');
      expect(updated).toEqual({ flag: false, name: null });
      const unknownKind = db('everything').insert({ kind: 'zzz' });
      await expect(unknownKind).rejects.toBeInstanceOf(ConstraintError);
      expect(await db('everything').where('id', '>', 0).del()).toBe(4);
    });

    it('returns rows from insert, update and raw writes with RETURNING, and commits them', async () => {
      const db = open('knex_returning');
      await db.raw('create table items (id integer primary key autoincrement, name text)');
      const inserted = await db('items').insert([{ name: 'a' }, { name: 'b' }], ['id', 'name']);
      expect(inserted).toEqual([
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
      ]);
      const renamed = await db('items').where({ id: 1 }).update({ name: 'A' }, ['id', 'name']);
      expect(renamed).toEqual([{ id: 1, name: 'A' }]);
      expect(await db.raw('delete from items where id = ? returning id', [2])).toEqual([{ id: 2 }]);
      await db.transaction(async (trx) => {
        expect(await trx('items').insert({ name: 'c' }).returning('id')).toEqual([{ id: 3 }]);
      });
      // Committed for everyone, and the leader takes the next write (C dqlite 1.11 crashed here
      // when RETURNING ran as an autocommit QUERY).
      await db('items').insert({ name: 'd' });
      const other = open('knex_returning');
      expect(await other('items').orderBy('id').pluck('name')).toEqual(['A', 'c', 'd']);
    });

    it('behaves as Knex on SQLite: fn.uuid(), SQLite-shaped errors, columns added with checks', async () => {
      const db = open('knex_like_sqlite');
      await db.schema.createTable('people', (t) => {
        t.uuid('id').primary().defaultTo(db.fn.uuid());
        t.string('email').unique();
      });
      await db('people').insert([{ email: 'a@x' }, { email: 'b@x' }]);
      const ids = await db('people').pluck('id');
      expect(ids).toHaveLength(2);
      for (const id of ids)
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // The checks applications write for node-sqlite3 and better-sqlite3.
      const duplicate = await db('people')
        .insert({ email: 'a@x' })
        .catch((e: unknown) => e);
      expect(duplicate).toMatchObject({
        code: 'SQLITE_CONSTRAINT',
        errno: 19,
        extendedCode: 'SQLITE_CONSTRAINT_UNIQUE',
      });
      expect((duplicate as Error).message).toBe(
        "insert into `people` (`email`) values ('a@x') - SQLITE_CONSTRAINT: UNIQUE constraint failed: people.email",
      );
      // SQLite gives these ALTER TABLEs result columns; they return no rows and must just run.
      await db.schema.alterTable('people', (t) => {
        t.integer('age').checkPositive();
      });
      await db.raw('delete from people');
      await db.schema.alterTable('people', (t) => {
        t.string('name').notNullable();
      });
      expect(await db('people').columnInfo('name')).toMatchObject({ nullable: false });
      // Knex's `pool: { max }` sizes the pool; a connection not had in time is Knex's timeout.
      // A configuration copied from an instance (as Knex's own tests do) gets a pool of its own.
      const copied = { ...(db.client.config as DqliteKnexConfig), pool: { min: 0, max: 1 } };
      const small = knex({ ...copied, acquireConnectionTimeout: 300 });
      instances.push(small);
      const starved = await small
        .transaction(() => small.transaction(async () => {}))
        .catch((e: unknown) => e);
      expect(starved).toBeInstanceOf(KnexTimeoutErrorClass);
      expect((starved as Error).message).toBe(
        'Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a .transacting(trx) call?',
      );
      expect(await db('people').count({ n: '*' })).toEqual([{ n: 0 }]); // db's own pool is fine
      expect((starved as Error).cause).toBeInstanceOf(PoolTimeoutError);
      // Knex's pool as Knex shows its own.
      const pool = db.client.pool as { destroyed: boolean; numUsed(): number };
      expect(pool.destroyed).toBe(false);
      expect(pool.numUsed()).toBe(0);
      await db.destroy();
      expect(pool.destroyed).toBe(true);
    });

    it('takes `connection` as a provider function, asked again only when its options expire', async () => {
      let asked = 0;
      let expireOnce = false; // the next check reports the options expired, later ones do not
      const expirationChecker = () => {
        const expired = expireOnce;
        expireOnce = false;
        return expired;
      };
      const db = knex({
        client: 'dqlite',
        connection: async () => {
          asked++;
          return { ...poolOptions('knex_provider'), expirationChecker };
        },
      });
      instances.push(db);
      expect(asked).toBe(0); // asked at the first acquire, not before
      await db.schema.createTable('provided', (t) => t.integer('n'));
      // Two transactions, one begun inside the other's callback through `db` (Knex's own test
      // of providers does this): the inner one, empty, does not wait for the outer one.
      await db.transaction(async () => {
        await db.transaction(async () => {});
      });
      await db('provided').insert({ n: 1 });
      expect(asked).toBe(1);
      const first = (db.client as DqliteKnexClient).leaderPool;
      expireOnce = true;
      expect(await db('provided').count({ c: '*' })).toEqual([{ c: 1 }]);
      expect(asked).toBe(2);
      expect((db.client as DqliteKnexClient).leaderPool).not.toBe(first);
      const stale = knex({
        client: 'dqlite',
        connection: () => ({ ...poolOptions('knex_provider'), expirationChecker: () => true }),
      });
      instances.push(stale);
      await expect(stale.raw('select 1')).rejects.toThrow(/already expired/);
    });

    it('joins, groups and aggregates', async () => {
      const db = open('knex_joins');
      await createFamily(db);
      const inner = await db('child')
        .join('parent', 'parent.id', 'child.parent_id')
        .orderBy('child.id')
        .select('child.id', 'parent.name');
      expect(inner).toEqual([
        { id: 1, name: 'p2' },
        { id: 2, name: 'p1' },
        { id: 3, name: 'p2' },
      ]);
      await db('parent').insert({ id: 3, name: 'childless' });
      const counts = await db('parent')
        .leftJoin('child', 'child.parent_id', 'parent.id')
        .groupBy('parent.id')
        .orderBy('parent.id')
        .select('parent.id')
        .count({ children: 'child.id' });
      expect(counts.map((row) => row.children)).toEqual([1, 2, 0]);
      const orphan = db('child').insert({ id: 4, parent_id: 99 });
      await expect(orphan).rejects.toBeInstanceOf(ConstraintError);
    });

    it('commits, rolls back and nests transactions as savepoints; BEGIN IMMEDIATE on request', async () => {
      const db = open('knex_transactions', { transactionBehavior: 'exclusive' });
      const seen: string[] = [];
      db.on('query', (query: { sql: string }) => seen.push(query.sql));
      await db.schema.createTable('notes', (t) => t.string('text'));
      await db.transaction(async (trx) => {
        await trx('notes').insert({ text: 'committed' });
      });
      const failure = new Error('fn failed');
      await expect(
        db.transaction(async (trx) => {
          await trx('notes').insert({ text: 'rolled back' });
          throw failure;
        }),
      ).rejects.toBe(failure);
      await db.transaction(
        async (trx) => {
          await trx('notes').insert({ text: 'outer' });
          await trx.transaction(async (inner) => inner('notes').insert({ text: 'inner' }));
          await trx
            .transaction(async (inner) => {
              await inner('notes').insert({ text: 'inner rolled back' });
              throw failure;
            })
            .catch(() => undefined);
        },
        { behavior: 'immediate' },
      );
      const provided = await db.transaction();
      await provided('notes').insert({ text: 'provided' });
      await provided.rollback();
      const notes = await db('notes').orderBy('text').pluck('text');
      expect(notes).toEqual(['committed', 'inner', 'outer']);
      const control = seen.filter((sql) => /^(BEGIN|SAVEPOINT|RELEASE|ROLLBACK)/.test(sql));
      expect(control.map((sql) => sql.replace(/trx\d+/, 'trx'))).toEqual([
        ...['BEGIN EXCLUSIVE;', 'BEGIN EXCLUSIVE;', 'ROLLBACK', 'BEGIN IMMEDIATE;'],
        ...['SAVEPOINT trx;', 'RELEASE SAVEPOINT trx;', 'SAVEPOINT trx;'],
        ...['ROLLBACK TO SAVEPOINT trx', 'BEGIN EXCLUSIVE;', 'ROLLBACK'],
      ]);
    });

    it('20 concurrent transactions each increment a counter: the final value is exact', async () => {
      const db = open('knex_counter');
      await db.raw('create table counter (id integer primary key, value integer)');
      await db('counter').insert({ id: 1, value: 0 });
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction(async (trx) => {
            const { value } = await trx('counter').where({ id: 1 }).first('value');
            const next = { value: value + 1 };
            await sleep(1);
            await trx('counter').where({ id: 1 }).update(next);
          }),
        ),
      );
      expect(await db('counter').where({ id: 1 }).first('value')).toEqual({ value: 20 });
    }, 60_000);

    it('migrates up and down; dropping a column of a parent keeps its cascading children', async () => {
      const warnings: string[] = [];
      const db = open('knex_migrations', { log: { warn: (text: string) => warnings.push(text) } });
      const migrations: Record<string, Migration> = {
        '001_tables': { up: createFamily, down: dropFamily },
        '002_drop_note': {
          up: (k) => k.schema.alterTable('parent', (t) => t.dropColumn('note')).then(() => {}),
          down: (k) => k.schema.alterTable('parent', (t) => t.string('note')).then(() => {}),
        },
      };
      expect(await db.migrate.latest(inMemory(migrations))).toEqual([1, Object.keys(migrations)]);
      expect(await childCount(db)).toBe(3);
      expect(await db.schema.hasColumn('parent', 'note')).toBe(false);
      // A change only a rebuild can make, in a migration's transaction: refused, nothing lost.
      const required = (nullable: boolean) => (k: Knex) =>
        k.schema.alterTable('parent', (t) => {
          const name = t.string('name');
          (nullable ? name.nullable() : name.notNullable()).alter();
        });
      migrations['003_name_required'] = { up: required(false), down: required(true) } as Migration;
      await expect(db.migrate.latest(inMemory(migrations))).rejects.toBeInstanceOf(
        UnsafeTableRebuildError,
      );
      expect(warnings.join('\n')).toContain('refusing to rebuild table "parent"');
      expect(await childCount(db)).toBe(3);
      // Outside a transaction the adapter rebuilds with foreign keys off.
      migrations['003_name_required']!.config = { transaction: false };
      expect(await db.migrate.latest(inMemory(migrations))).toEqual([2, ['003_name_required']]);
      expect((await db('parent').columnInfo()).name!.nullable).toBe(false);
      expect(await childCount(db)).toBe(3);
      expect(await db.raw('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
      const orphan = db('child').insert({ id: 9, parent_id: 42 });
      await expect(orphan).rejects.toBeInstanceOf(ConstraintError);
      await db.migrate.rollback(inMemory(migrations), true);
      expect(await db.schema.hasTable('parent')).toBe(false);
      expect(await db('knex_migrations').count({ n: '*' })).toEqual([{ n: 0 }]);
    }, 60_000);

    it('introspects tables and columns', async () => {
      const db = open('knex_introspection');
      await db.schema.createTable('shapes', (t) => {
        t.increments('id');
        t.string('name', 30).notNullable().defaultTo('circle');
        t.float('size');
      });
      expect(await db('shapes').columnInfo()).toEqual({
        id: { type: 'integer', maxLength: null, nullable: false, defaultValue: null },
        name: { type: 'varchar', maxLength: '30', nullable: false, defaultValue: "'circle'" },
        size: { type: 'float', maxLength: null, nullable: true, defaultValue: null },
      });
      expect(await db('shapes').columnInfo('size')).toMatchObject({ type: 'float' });
      expect(await db.schema.hasTable('shapes')).toBe(true);
      expect(await db.schema.hasTable('circles')).toBe(false);
      expect(await db.schema.hasColumn('shapes', 'size')).toBe(true);
      expect(await db.schema.hasColumn('shapes', 'colour')).toBe(false);
    });

    it('streams 10,000 rows, stops early with the consumer, returns connections as they came', async () => {
      const { pool, db } = openShared('knex_stream', { max: 1 });
      await db.schema.createTable('numbers', (t) => t.integer('n').primary());
      await db.raw(
        'insert into numbers (n) with recursive c(x) as (select 1 union all select x + 1 from c where x < 10000) select x from c',
      );
      let expected = 1;
      for await (const row of db('numbers').orderBy('n').select('n').stream()) {
        expect(row).toEqual({ n: expected++ });
      }
      expect(expected).toBe(10_001);
      let seen = 0;
      for await (const _row of db('numbers').select('n').stream({ highWaterMark: 16 })) {
        if (++seen === 100) break;
      }
      for (let attempt = 0; attempt < 50 && pool.stats().borrowed > 0; attempt++) await sleep(20);
      expect(pool.stats().borrowed).toBe(0);
      await db.raw('PRAGMA foreign_keys = OFF'); // as Knex's rebuilds do; max 1: the same connection
      expect(await db.raw('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
      // A shared pool outlives knex.destroy(); an owned one is created again by initialize().
      await db.destroy();
      expect((await pool.query('SELECT count(*) AS n FROM numbers')).rows).toEqual([{ n: 10_000 }]);
      const owned = open('knex_stream');
      await owned.destroy();
      owned.initialize();
      expect(await owned('numbers').count({ n: '*' })).toEqual([{ n: 10_000 }]);
    }, 60_000);

    it('a table rebuild cut by a leader change fails and deletes no child row', async () => {
      const { pool, db } = openShared('knex_rebuild_failover');
      await createFamily(db);
      let killed: string | undefined;
      db.on('query', ({ sql }: { sql: string }) => {
        if (killed !== undefined || !sql.startsWith('CREATE TABLE `_knex_temp_alter')) return;
        killed = pool.stats().leader!;
        void cluster.kill(killed); // SIGKILL goes out at once, before the statement does
      });
      // Knex turned foreign keys off on the old leader's connection; on the new leader they are
      // on, so replaying the rebuild would cascade: the pool refuses the replay instead.
      const rebuild = db.schema.alterTable('parent', (t) => t.string('name').notNullable().alter());
      await expect(rebuild).rejects.toBeInstanceOf(TransactionReplayError);
      expect(await childCount(db)).toBe(3);
      expect((await db('parent').columnInfo()).name!.nullable).toBe(true);
      await cluster.restart(killed!);
    }, 120_000);

    it('survives kill -9 of the leader during 8 loops of transactions: no error, no row lost or doubled', async () => {
      const { pool, db } = openShared('knex_failover');
      await db.raw('create table rows (id integer primary key, loop integer)');
      const [loops, perLoop] = [8, 25];
      let killed: string | undefined;
      const run = async (loop: number) => {
        for (let index = 0; index < perLoop; index++) {
          const id = loop * 1000 + index;
          await db.transaction(async (trx) => {
            await trx('rows').insert({ id, loop });
            if (loop === 0 && index === 8) {
              // Mid-transaction: the pool must replay BEGIN + INSERT on the new leader.
              killed = pool.stats().leader!;
              await cluster.kill(killed);
            }
            expect(await trx('rows').where({ id }).first('loop')).toEqual({ loop });
          });
        }
      };
      const outcomes = await Promise.allSettled(
        Array.from({ length: loops }, (_, loop) => run(loop)),
      );
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      expect(pool.stats().generation).toBeGreaterThan(0);
      const ids = (await db('rows').orderBy('id').pluck('id')) as number[];
      const each = (count: number) => [...Array(count).keys()];
      expect(ids).toEqual(each(loops).flatMap((loop) => each(perLoop).map((i) => loop * 1000 + i)));
      await cluster.restart(killed!);
      expect(await db('rows').count({ n: '*' })).toEqual([{ n: loops * perLoop }]);
    }, 120_000);
  });
}
