// The Drizzle migrator's specification (part of drizzle-suite.ts): hand-written migrations
// applied once, a drizzle-kit style rebuild of a parent table under foreign keys with no child
// row lost, a rebuild that would orphan rows rolled back, and two pools migrating at once.

import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { drizzle, migrate, MigrationForeignKeyError } from '../../adapters/drizzle/index.js';
import type { LeaderPool, PoolOptions } from '../../drivers/pool/index.js';
import type { Request } from '../../src/wire/index.js';
import { FILL_NUMBERS, LIBRARY_INIT, rebuildAuthors, writeMigrations } from './drizzle-fixtures.js';
import { startFaultProxy } from './fault-proxy.js';
import type { FaultProxy } from './fault-proxy.js';

type OpenPool = (database: string, options?: Partial<PoolOptions>) => LeaderPool;

/** Two authors with three books each. */
async function seedLibrary(pool: LeaderPool): Promise<void> {
  await pool.batch([
    { sql: "INSERT INTO authors (id, name) VALUES (1, 'Le Guin'), (2, 'Lem')" },
    {
      sql: `INSERT INTO books (id, author_id, title) VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 1, 'c'),
        (4, 2, 'd'), (5, 2, 'e'), (6, 2, 'f')`,
    },
  ]);
}

const scalar = async (pool: LeaderPool, query: string) =>
  (await pool.query(query, [], { rowMode: 'array' })).rows[0]![0];

/** Foreign keys as the pool's connections see them (several at once, so several connections). */
async function foreignKeysSeen(pool: LeaderPool): Promise<unknown[]> {
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => scalar(pool, 'PRAGMA foreign_keys')),
  );
  return [...new Set(answers)];
}

const execOf =
  (pattern: RegExp) =>
  (request: Request): boolean =>
    request.type === 'EXEC_SQL' && pattern.test(request.sql);

export function defineDrizzleMigrateTests(openPool: OpenPool): void {
  describe('migrate', () => {
    const proxies: FaultProxy[] = [];
    /** A pool that reaches the leader only through a fault proxy (no leader change here). */
    const proxiedPool = async (database: string) => {
      const direct = openPool(database);
      await direct.query('SELECT 1');
      const leader = direct.stats().leader!;
      const proxy = await startFaultProxy(() => leader);
      proxies.push(proxy);
      return { proxy, pool: openPool(database, { cluster: [proxy.address] }) };
    };

    afterAll(async () => {
      await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    });

    it('applies hand-written migrations once and rebuilds a parent table keeping every child row', async () => {
      const pool = openPool('drizzle-migrate-library');
      const db = drizzle(pool);
      const first = writeMigrations([LIBRARY_INIT]);
      expect((await migrate(db, { migrationsFolder: first })).applied).toHaveLength(1);
      expect((await migrate(db, { migrationsFolder: first })).applied).toEqual([]);
      await seedLibrary(pool);

      const second = writeMigrations([LIBRARY_INIT, rebuildAuthors()]);
      const { applied } = await migrate(db, { migrationsFolder: second });
      expect(applied).toEqual([{ hash: expect.any(String), createdAtMs: 1_700_000_100_000 }]);
      expect(await scalar(pool, 'SELECT count(*) FROM books')).toBe(6);
      expect(await scalar(pool, "SELECT count(*) FROM authors WHERE country = 'unknown'")).toBe(2);
      expect((await pool.query('PRAGMA foreign_key_check')).rows).toEqual([]);
      expect(await scalar(pool, 'SELECT count(*) FROM __drizzle_migrations')).toBe(2);

      // Foreign keys are back on, on every connection: enforced, and cascading again.
      expect(await foreignKeysSeen(pool)).toEqual([1]);
      await expect(
        pool.exec("INSERT INTO books (id, author_id, title) VALUES (7, 99, 'orphan')"),
      ).rejects.toMatchObject({ name: 'ConstraintError' });
      await pool.exec('DELETE FROM authors WHERE id = 1');
      expect(await scalar(pool, 'SELECT count(*) FROM books')).toBe(3);
    });

    it('(why) the same rebuild inside a transaction, as Drizzle runs it, cascades into the children', async () => {
      const pool = openPool('drizzle-migrate-control');
      const db = drizzle(pool);
      await migrate(db, { migrationsFolder: writeMigrations([LIBRARY_INIT]) });
      await seedLibrary(pool);
      await db.transaction(async (tx) => {
        // PRAGMA foreign_keys=OFF is a no-op inside a transaction, so DROP TABLE cascades.
        for (const statement of rebuildAuthors().statements) await tx.run(sql.raw(statement));
      });
      expect(await scalar(pool, 'SELECT count(*) FROM books')).toBe(0);
    });

    it('rolls back a rebuild that would orphan rows, with MigrationForeignKeyError', async () => {
      const pool = openPool('drizzle-migrate-orphans');
      const db = drizzle(pool);
      await migrate(db, { migrationsFolder: writeMigrations([LIBRARY_INIT]) });
      await seedLibrary(pool);
      const folder = writeMigrations([LIBRARY_INIT, rebuildAuthors({ dropAuthorId: 1 })]);
      const error = await migrate(db, { migrationsFolder: folder }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationForeignKeyError);
      expect(error).toMatchObject({ violationCount: 3 });
      expect((error as MigrationForeignKeyError).violations[0]).toMatchObject({
        table: 'books',
        parent: 'authors',
      });
      const columns = (await pool.query('PRAGMA table_info(authors)')).rows.map((row) => row.name);
      expect(columns).toEqual(['id', 'name']);
      expect(await scalar(pool, 'SELECT count(*) FROM books')).toBe(6);
      expect(await scalar(pool, 'SELECT count(*) FROM __drizzle_migrations')).toBe(1);
      expect(await foreignKeysSeen(pool)).toEqual([1]);
    });

    it('two pools migrating at once apply each migration exactly once', async () => {
      const folder = writeMigrations(FILL_NUMBERS);
      const [a, b] = await Promise.all(
        ['a', 'b'].map(() =>
          migrate(drizzle(openPool('drizzle-migrate-race')), { migrationsFolder: folder }),
        ),
      );
      expect([a!.applied.length, b!.applied.length].sort()).toEqual([0, 3]);
      const pool = openPool('drizzle-migrate-race');
      expect(await scalar(pool, 'SELECT count(*) FROM numbers')).toBe(50_000);
      expect(await scalar(pool, 'SELECT count(DISTINCT hash) FROM __drizzle_migrations')).toBe(3);
      expect(await scalar(pool, 'SELECT count(*) FROM __drizzle_migrations')).toBe(3);
    }, 60_000);

    it('starts over, foreign keys off again, when the connection is cut in the middle of a rebuild', async () => {
      const { proxy, pool } = await proxiedPool('drizzle-migrate-cut');
      const db = drizzle(pool);
      await migrate(db, { migrationsFolder: writeMigrations([LIBRARY_INIT]) });
      await seedLibrary(pool);
      // The DROP TABLE never reaches the node; the new connection has foreign keys on, so the
      // pool cannot replay the transaction there, and migrate starts over.
      proxy.arm({ match: execOf(/^\s*DROP TABLE/), action: 'drop' });
      const folder = writeMigrations([LIBRARY_INIT, rebuildAuthors()]);
      expect((await migrate(db, { migrationsFolder: folder })).applied).toHaveLength(1);
      expect(proxy.fired).toBe(1);
      expect(await scalar(pool, 'SELECT count(*) FROM books')).toBe(6);
      expect(await scalar(pool, 'SELECT count(*) FROM __drizzle_migrations')).toBe(2);
      expect(await foreignKeysSeen(pool)).toEqual([1]);
    });

    it('settles a COMMIT whose answer was lost: applied once', async () => {
      const { proxy, pool } = await proxiedPool('drizzle-migrate-commit');
      const db = drizzle(pool);
      await migrate(db, { migrationsFolder: writeMigrations([LIBRARY_INIT]) });
      await seedLibrary(pool);
      proxy.arm({ match: execOf(/^COMMIT$/), action: 'answer-then-cut' });
      const folder = writeMigrations([LIBRARY_INIT, rebuildAuthors()]);
      expect((await migrate(db, { migrationsFolder: folder })).applied).toHaveLength(1);
      expect(proxy.fired).toBe(1);
      expect((await migrate(db, { migrationsFolder: folder })).applied).toEqual([]);
      expect(await scalar(pool, 'SELECT count(*) FROM books')).toBe(6);
      expect(await scalar(pool, 'SELECT count(*) FROM __drizzle_migrations')).toBe(2);
      expect(await foreignKeysSeen(pool)).toEqual([1]);
    });

    it('rejects misuse', async () => {
      const db = drizzle(openPool('drizzle-migrate-misuse'));
      await expect(migrate(db, { migrationsFolder: '/nonexistent' })).rejects.toThrow(
        /_journal\.json/,
      );
      await expect(migrate(db, { migrationsFolder: 'x', lockTimeout: 1 } as never)).rejects.toThrow(
        TypeError,
      );
      await expect(migrate({} as never, { migrationsFolder: 'x' })).rejects.toThrow(TypeError);
    });
  });
}
