// Kysely on Dqlite (dqlite-ts/kysely), specified against a real cluster: its configuration, CRUD
// over every value type, RETURNING, raw SQL, joins, introspection, transactions and savepoints,
// concurrent transactions, and streaming. The Migrator and failover are in kysely-cluster-suite.ts.
// Each test uses a database of its own.

import { Kysely, sql } from 'kysely';
import type { Generated } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DqliteDialect } from '../../adapters/kysely/index.js';
import type { ClusterProvider } from './cluster-provider.js';
import { useKyselyFixture } from './kysely-fixture.js';
import { requirePeer } from './peer-available.js';

interface Database {
  thing: {
    id: Generated<number>;
    name: string;
    big: bigint | number;
    price: number;
    active: boolean;
    born: Date;
    data: Buffer;
    note: string | null;
  };
  author: { id: number; name: string };
  book: { id: number; author_id: number; title: string };
  counter: { id: number; value: number };
  event: { id: number; loop: number; seq: number };
  run: { name: string };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function defineKyselySuite(provider_: ClusterProvider): void {
  describe.skipIf(!requirePeer(provider_))(`kysely against ${provider_.name}`, () => {
    const fixture = useKyselyFixture<Database>(provider_);
    const { openPool, openDb } = fixture;

    it('validates its configuration', () => {
      const pool = openPool('kysely_config');
      expect(() => new DqliteDialect({ pool, max: 2 } as never)).toThrow(TypeError);
      expect(() => new DqliteDialect({ pool: {} as never })).toThrow(TypeError);
      for (const migrationLockTimeoutMs of [0, 3_600_001])
        expect(() => new DqliteDialect({ pool, migrationLockTimeoutMs })).toThrow(RangeError);
      expect(() => new DqliteDialect({ pool, migrationLockTimeoutMs: 3_600_000 })).not.toThrow();
      const misspelled = new DqliteDialect({
        cluster: ['127.0.0.1:1'],
        database: 'x',
        maxx: 1,
      } as never);
      expect(() => new Kysely({ dialect: misspelled })).toThrow(TypeError);
    });

    it('inserts, reads, updates and deletes every value type; RETURNING commits', async () => {
      const db = openDb('kysely_crud');
      await db.schema
        .createTable('thing')
        .addColumn('id', 'integer', (column) => column.primaryKey())
        .addColumn('name', 'text', (column) => column.notNull().unique())
        .addColumn('big', 'integer', (column) => column.notNull())
        .addColumn('price', 'real', (column) => column.notNull())
        .addColumn('active', 'boolean', (column) => column.notNull())
        .addColumn('born', 'datetime', (column) => column.notNull())
        .addColumn('data', 'blob', (column) => column.notNull())
        .addColumn('note', 'text')
        .execute();
      const born = new Date('2024-05-06T07:08:09.123Z');
      const values = [
        { name: 'max', big: 2n ** 63n - 1n, price: 1.5, active: true, data: Buffer.from([0, 255]) },
        { name: 'min', big: -(2n ** 63n), price: -0.25, active: false, data: Buffer.alloc(0) },
        { name: 'small', big: 42, price: 0, active: true, data: Buffer.from('hi') },
      ].map((row) => ({ ...row, born, note: null }));

      const inserted = await db.insertInto('thing').values(values[0]!).executeTakeFirstOrThrow();
      expect(inserted).toMatchObject({ insertId: 1n, numInsertedOrUpdatedRows: 1n });
      const returned = await db
        .insertInto('thing')
        .values(values.slice(1))
        .returning(['id', 'name', 'big'])
        .execute();
      expect(returned).toEqual([
        { id: 2, name: 'min', big: -(2n ** 63n) },
        { id: 3, name: 'small', big: 42 },
      ]);
      const rows = await db.selectFrom('thing').selectAll().orderBy('id').execute();
      expect(rows).toEqual(values.map((row, index) => ({ id: index + 1, ...row })));

      const updated = await db
        .updateTable('thing')
        .set({ note: 'seen', active: false })
        .where('big', '>', 0)
        .executeTakeFirstOrThrow();
      expect(updated.numUpdatedRows).toBe(2n);
      const renamed = await db
        .updateTable('thing')
        .set({ name: 'tiny' })
        .where('name', '=', 'small')
        .returning(['id', 'note', 'active'])
        .executeTakeFirstOrThrow();
      expect(renamed).toEqual({ id: 3, note: 'seen', active: false });
      const removed = await db.deleteFrom('thing').where('id', '=', 2).returningAll().execute();
      expect(removed).toEqual([{ id: 2, ...values[1], note: null }]);
      const deleted = await db.deleteFrom('thing').where('id', '=', 1).executeTakeFirstOrThrow();
      expect(deleted.numDeletedRows).toBe(1n);
      // Every RETURNING statement committed, and the leader still takes writes after them.
      await db
        .insertInto('thing')
        .values({ ...values[0]!, name: 'again' })
        .execute();
      const names = await db.selectFrom('thing').select('name').orderBy('id').execute();
      expect(names.map((row) => row.name)).toEqual(['tiny', 'again']);
      await expect(
        db
          .insertInto('thing')
          .values({ ...values[0]!, name: 'tiny' })
          .execute(),
      ).rejects.toMatchObject({ extendedCode: 'SQLITE_CONSTRAINT_UNIQUE' });
      const { rows: raw } = await sql<{ n: number }>`SELECT count(*) AS n FROM thing`.execute(db);
      expect(raw).toEqual([{ n: 2 }]);
    });

    it('sends raw SQL as a query when it returns rows, else as an exec', async () => {
      const db = openDb('kysely_raw');
      await sql`CREATE TABLE run (name TEXT)`.execute(db);
      expect(await sql`PRAGMA user_version = 7`.execute(db)).toMatchObject({ rows: [] });
      expect((await sql`pragma user_version`.execute(db)).rows).toEqual([{ user_version: 7 }]);
      const written = await sql`-- the value 'returning' is no RETURNING clause
        INSERT INTO run (name) VALUES ('returning'), (${'b'})`.execute(db);
      expect(written).toMatchObject({ rows: [], numAffectedRows: 2n, insertId: 2n });
      const returned = await sql`INSERT INTO run VALUES ('c') RETURNING rowid AS id, name`.execute(
        db,
      );
      expect(returned.rows).toEqual([{ id: 3, name: 'c' }]);
      const common = await sql`WITH x(n) AS (VALUES ('d')) INSERT INTO run SELECT n FROM x`.execute(
        db,
      );
      expect(common.numAffectedRows).toBe(1n);
      const { rows } =
        await sql`WITH x AS (SELECT name FROM run) SELECT count(*) AS n FROM x`.execute(db);
      expect(rows).toEqual([{ n: 4 }]);
      const writes = db.insertInto('run').values({ name: 'e' });
      await expect(db.getExecutor().stream(writes.compile(), 10).next()).rejects.toThrow(TypeError);
    });

    it("behaves as Kysely on SQLite: log, explain(), caller stacks, only the app's tables", async () => {
      const pool = openPool('kysely_like_sqlite');
      const logged: string[] = [];
      const db = fixture.adopt(
        new Kysely<Database>({
          dialect: new DqliteDialect({ pool }),
          log: (event) => {
            logged.push(event.query.sql);
          },
        }),
      );
      await db.schema
        .createTable('run')
        .addColumn('name', 'text', (column) => column.unique())
        .execute();
      // An idempotent transaction makes the pool create its bookkeeping table.
      await pool.transaction((tx) => tx.exec("INSERT INTO run VALUES ('pool')"), {
        idempotent: true,
      });
      const trx = await db.startTransaction().execute();
      await trx.insertInto('run').values({ name: 'a' }).execute();
      const inner = await trx.savepoint('inner').execute();
      await inner.releaseSavepoint('inner').execute();
      await trx.commit().execute();
      // Every statement reaches Kysely's log, transaction control included, as on Kysely's own
      // SQLite driver.
      expect(logged.map((text) => text.toLowerCase())).toEqual(
        expect.arrayContaining(['begin immediate', 'savepoint "inner"', 'commit']),
      );
      // explain() of a write is a read: it returns the plan and changes nothing.
      for (const query of [
        db.insertInto('run').values({ name: 'x' }),
        db.updateTable('run').set({ name: 'y' }),
        db.deleteFrom('run'),
      ]) {
        expect((await query.explain()).length).toBeGreaterThan(0);
      }
      expect(await db.selectFrom('run').select('name').orderBy('name').execute()).toEqual([
        { name: 'a' },
        { name: 'pool' },
      ]);
      // A failure names the application code that made the call, not only the socket.
      const failing = async function insertDuplicateForTheStackTest() {
        await db.insertInto('run').values({ name: 'a' }).execute();
      };
      const duplicate = (await failing().catch((e: unknown) => e)) as Error;
      expect(duplicate).toMatchObject({ code: 'SQLITE_CONSTRAINT' });
      expect(duplicate.stack).toContain('insertDuplicateForTheStackTest');
      // The pool's bookkeeping table is not the application's: introspection leaves it out.
      const tables = (await db.introspection.getTables()).map((table) => table.name);
      expect(tables).toEqual(['run']);
      const all = (
        await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`.execute(db)
      ).rows;
      expect(all.map((row) => row.name)).toContain('dqlite_ts_transactions');
    });

    it('joins, groups and introspects', async () => {
      const db = openDb('kysely_join');
      await db.schema
        .createTable('author')
        .addColumn('id', 'integer', (column) => column.primaryKey().autoIncrement())
        .addColumn('name', 'text', (column) => column.notNull())
        .execute();
      await db.schema
        .createTable('book')
        .addColumn('id', 'integer', (column) => column.primaryKey())
        .addColumn('author_id', 'integer', (column) => column.notNull().references('author.id'))
        .addColumn('title', 'varchar(200)', (column) => column.notNull().defaultTo('untitled'))
        .execute();
      await db
        .insertInto('author')
        .values([
          { id: 1, name: 'Ann' },
          { id: 2, name: 'Bo' },
        ])
        .execute();
      await db
        .insertInto('book')
        .values([
          { id: 1, author_id: 1, title: 'A1' },
          { id: 2, author_id: 1, title: 'A2' },
        ])
        .execute();
      const joined = await db
        .selectFrom('book')
        .innerJoin('author', 'author.id', 'book.author_id')
        .select(['author.name', 'book.title'])
        .orderBy('book.id')
        .execute();
      expect(joined).toEqual([
        { name: 'Ann', title: 'A1' },
        { name: 'Ann', title: 'A2' },
      ]);
      const counts = await db
        .selectFrom('author')
        .leftJoin('book', 'book.author_id', 'author.id')
        .select(['author.name', (eb) => eb.fn.count<number>('book.id').as('books')])
        .groupBy('author.name')
        .orderBy('author.name')
        .execute();
      expect(counts).toEqual([
        { name: 'Ann', books: 2 },
        { name: 'Bo', books: 0 },
      ]);

      const tables = await db.introspection.getTables();
      const byName = Object.fromEntries(tables.map((table) => [table.name, table]));
      expect(Object.keys(byName)).toEqual(expect.arrayContaining(['author', 'book']));
      expect(byName.author!.columns).toEqual([
        expect.objectContaining({ name: 'id', dataType: 'INTEGER', isAutoIncrementing: true }),
        expect.objectContaining({ name: 'name', dataType: 'TEXT', isNullable: false }),
      ]);
      expect(byName.book!.columns[2]).toMatchObject({
        name: 'title',
        dataType: 'varchar(200)',
        hasDefaultValue: true,
      });
    });

    it('commits, rolls back, nests savepoints and enforces read only', async () => {
      const db = openDb('kysely_transactions');
      await db.schema
        .createTable('author')
        .addColumn('id', 'integer', (column) => column.primaryKey())
        .addColumn('name', 'text', (column) => column.notNull())
        .execute();
      const names = async () =>
        (await db.selectFrom('author').select('name').orderBy('id').execute()).map((r) => r.name);
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('author').values({ id: 1, name: 'kept' }).execute();
      });
      const failure = new Error('changed my mind');
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('author').values({ id: 2, name: 'dropped' }).execute();
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await names()).toEqual(['kept']);

      const trx = await db.startTransaction().setIsolationLevel('serializable').execute();
      await trx.insertInto('author').values({ id: 3, name: 'outer' }).execute();
      const first = await trx.savepoint('first').execute();
      await first.insertInto('author').values({ id: 4, name: 'undone' }).execute();
      const undone = await first.rollbackToSavepoint('first').execute();
      const second = await undone.savepoint('second point').execute();
      await second.insertInto('author').values({ id: 5, name: 'inner' }).execute();
      await second.releaseSavepoint('second point').execute();
      await trx.commit().execute();
      expect(await names()).toEqual(['kept', 'outer', 'inner']);

      const abandoned = await db.startTransaction().execute();
      await abandoned.insertInto('author').values({ id: 6, name: 'abandoned' }).execute();
      await abandoned.rollback().execute();
      const reads = await db
        .transaction()
        .setAccessMode('read only')
        .execute(async (reader) => {
          const count = await reader.selectFrom('author').select((eb) => eb.fn.countAll().as('n'));
          await expect(
            reader.insertInto('author').values({ id: 7, name: 'refused' }).execute(),
          ).rejects.toThrow(TypeError);
          return count.executeTakeFirstOrThrow();
        });
      expect(reads).toEqual({ n: 3 });
      expect(await names()).toEqual(['kept', 'outer', 'inner']);
    });

    it('runs 20 concurrent read-modify-write transactions without losing one', async () => {
      const db = openDb('kysely_counter');
      await db.schema
        .createTable('counter')
        .addColumn('id', 'integer', (column) => column.primaryKey())
        .addColumn('value', 'integer', (column) => column.notNull())
        .execute();
      await db.insertInto('counter').values({ id: 1, value: 0 }).execute();
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction().execute(async (trx) => {
            const { value } = await trx
              .selectFrom('counter')
              .select('value')
              .where('id', '=', 1)
              .executeTakeFirstOrThrow();
            await sleep(5); // widen the window a lost update would need
            await trx
              .updateTable('counter')
              .set({ value: value + 1 })
              .where('id', '=', 1)
              .execute();
          }),
        ),
      );
      const { value } = await db.selectFrom('counter').select('value').executeTakeFirstOrThrow();
      expect(value).toBe(20);
    });

    it('streams 10,000 rows in chunks of the asked size, and stops early', async () => {
      const db = openDb('kysely_stream');
      await db.schema
        .createTable('event')
        .addColumn('id', 'integer', (column) => column.primaryKey())
        .addColumn('loop', 'integer', (column) => column.notNull())
        .addColumn('seq', 'integer', (column) => column.notNull())
        .execute();
      // 80 rows of 3 values a statement: C dqlite 1.11 takes at most 255 parameters a statement.
      await db.transaction().execute(async (trx) => {
        for (let start = 0; start < 10_000; start += 80) {
          const ids = Array.from({ length: Math.min(80, 10_000 - start) }, (_, i) => start + i);
          await trx
            .insertInto('event')
            .values(ids.map((id) => ({ id, loop: 0, seq: id })))
            .execute();
        }
      });
      const query = db.selectFrom('event').select('id').orderBy('id');
      let expected = 0;
      for await (const row of query.stream(500)) expect(row.id).toBe(expected++);
      expect(expected).toBe(10_000);

      const chunks: number[] = [];
      for await (const result of db.getExecutor().stream(query.compile(), 3000))
        chunks.push(result.rows.length);
      expect(chunks).toEqual([3000, 3000, 3000, 1000]);
      for (const chunkSize of [0, 1.5, 100_001])
        await expect(db.getExecutor().stream(query.compile(), chunkSize).next()).rejects.toThrow(
          RangeError,
        );
      let seen = 0;
      for await (const _row of query.stream(100)) if (++seen === 10) break;
      const inTransaction = await db.transaction().execute(async (trx) => {
        let count = 0;
        for await (const _row of trx.selectFrom('event').select('id').stream(700)) count++;
        await trx.deleteFrom('event').where('id', '>=', 9000).execute();
        return count;
      });
      expect(inTransaction).toBe(10_000);
      expect(
        await db
          .selectFrom('event')
          .select((eb) => eb.fn.countAll().as('n'))
          .execute(),
      ).toEqual([{ n: 9000 }]);
    }, 60_000);
  });
}
