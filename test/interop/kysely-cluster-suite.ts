// Kysely on Dqlite where the cluster shows: the Migrator (up and down, a dropped column under
// ON DELETE CASCADE, a failing run rolled back whole, two migrators on two pools racing) and a
// kill -9 of the leader under concurrent Kysely transactions. Each test uses a database of its own.

import { Kysely, Migrator, NO_MIGRATIONS, sql } from 'kysely';
import type { Migration } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DqliteDialect } from '../../adapters/kysely/index.js';
import { connect } from '../../drivers/client/index.js';
import { TransactionReplayError } from '../../drivers/pool/index.js';
import type { ClusterProvider } from './cluster-provider.js';
import { startFaultProxy } from './fault-proxy.js';
import type { FaultProxy } from './fault-proxy.js';
import { useKyselyFixture } from './kysely-fixture.js';
import { requirePeer } from './peer-available.js';
import { pollUntil } from './poll-until.js';

interface Database {
  event: { id: number; loop: number; seq: number };
  parent: { id: number; name: string; legacy?: string | null };
  child: { id: number; parent_id: number };
}
type Db = Kysely<Database>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const provider = (migrations: Record<string, Migration>) => ({
  getMigrations: async () => migrations,
});

export function defineKyselyClusterSuite(provider_: ClusterProvider): void {
  describe.skipIf(!requirePeer(provider_))(
    `kysely migrations and failover against ${provider_.name}`,
    () => {
      const fixture = useKyselyFixture<Database>(provider_);
      const { openPool, openDb } = fixture;
      const familyMigrations: Record<string, Migration> = {
        '001_family': {
          up: async (db) => {
            await db.schema
              .createTable('parent')
              .addColumn('id', 'integer', (column) => column.primaryKey())
              .addColumn('name', 'text', (column) => column.notNull())
              .addColumn('legacy', 'text')
              .execute();
            await db.schema
              .createTable('child')
              .addColumn('id', 'integer', (column) => column.primaryKey())
              .addColumn('parent_id', 'integer', (column) =>
                column.notNull().references('parent.id').onDelete('cascade'),
              )
              .execute();
          },
          down: async (db) => {
            await db.schema.dropTable('child').execute();
            await db.schema.dropTable('parent').execute();
          },
        },
        '002_drop_legacy': {
          up: (db) => db.schema.alterTable('parent').dropColumn('legacy').execute(),
          down: (db) => db.schema.alterTable('parent').addColumn('legacy', 'text').execute(),
        },
      };

      it('migrates up and down; dropping a column of a cascading parent keeps every child', async () => {
        const db = openDb('kysely_migrate', { pragmas: { foreign_keys: true } });
        const migrator = new Migrator({ db, provider: provider(familyMigrations) });
        expect(await migrator.migrateTo('001_family')).toEqual({
          results: [{ migrationName: '001_family', direction: 'Up', status: 'Success' }],
        });
        const { rows: pragma } = await sql`PRAGMA foreign_keys`.execute(db);
        expect(pragma).toEqual([{ foreign_keys: 1 }]);
        await db
          .insertInto('parent')
          .values([1, 2, 3].map((id) => ({ id, name: `p${id}`, legacy: 'x' })))
          .execute();
        await db
          .insertInto('child')
          .values([1, 2, 3, 4, 5, 6].map((id) => ({ id, parent_id: ((id - 1) % 3) + 1 })))
          .execute();
        await db.deleteFrom('parent').where('id', '=', 3).execute(); // cascades: foreign keys are on
        const childIds = async () =>
          (await db.selectFrom('child').select('id').orderBy('id').execute()).map((r) => r.id);
        expect(await childIds()).toEqual([1, 2, 4, 5]);

        const latest = await migrator.migrateToLatest();
        expect(latest.error).toBeUndefined();
        expect(latest.results).toEqual([
          { migrationName: '002_drop_legacy', direction: 'Up', status: 'Success' },
        ]);
        expect(await childIds()).toEqual([1, 2, 4, 5]);
        const columns = async () =>
          (await db.introspection.getTables())
            .find((table) => table.name === 'parent')!
            .columns.map((column) => column.name);
        expect(await columns()).toEqual(['id', 'name']);

        expect((await migrator.migrateDown()).results).toEqual([
          { migrationName: '002_drop_legacy', direction: 'Down', status: 'Success' },
        ]);
        expect(await columns()).toEqual(['id', 'name', 'legacy']);
        expect(await childIds()).toEqual([1, 2, 4, 5]);

        const failing = new Migrator({
          db,
          provider: provider({
            ...familyMigrations,
            '003_fails': {
              up: async (trx) => {
                await trx.schema.createTable('run').addColumn('name', 'text').execute();
                throw new Error('migration 003 fails');
              },
            },
          }),
        });
        const failed = await failing.migrateToLatest();
        expect((failed.error as Error).message).toBe('migration 003 fails');
        // The run is one transaction: 002 and 003's table are rolled back with the failure.
        const tables = (await db.introspection.getTables()).map((table) => table.name);
        expect(tables).not.toContain('run');
        expect(await columns()).toEqual(['id', 'name', 'legacy']);
        expect((await migrator.migrateTo(NO_MIGRATIONS)).error).toBeUndefined();
        const left = (await db.introspection.getTables()).map((table) => table.name);
        expect(left.filter((name) => name === 'parent' || name === 'child')).toEqual([]);
      }, 60_000);

      it('lets migrators race, on two pools and on one: each migration runs exactly once', async () => {
        const runs = new Map<string, number>();
        const slow = (name: string): Migration => ({
          up: async (db) => {
            runs.set(name, (runs.get(name) ?? 0) + 1);
            await db.schema.createTable(name).addColumn('id', 'integer').execute();
            await sleep(300); // hold the lock a while
          },
        });
        const migrations = { m1: slow('m1'), m2: slow('m2'), m3: slow('m3') };
        const shared = openPool('kysely_race');
        const sharing = new Kysely<Database>({ dialect: new DqliteDialect({ pool: shared }) });
        fixture.adopt(sharing);
        const instances = [openDb('kysely_race'), openDb('kysely_race'), sharing];
        const outcomes = await Promise.all(
          instances.map((db) =>
            new Migrator({ db, provider: provider(migrations) }).migrateToLatest(),
          ),
        );
        expect(outcomes.map((outcome) => outcome.error)).toEqual([undefined, undefined, undefined]);
        const counts = outcomes.map((outcome) => outcome.results!.length).sort();
        expect(counts).toEqual([0, 0, 3]);
        expect(Object.fromEntries(runs)).toEqual({ m1: 1, m2: 1, m3: 1 });
      }, 60_000);

      /** A client on the leader, to move leadership and to aim a fault proxy at. */
      const leaderClient = (database: string) =>
        connect({ cluster: [...fixture.cluster.addresses], database, leaderTimeoutMs: 15_000 });
      const eventTable = (db: Db) =>
        db.schema
          .createTable('event')
          .addColumn('id', 'integer', (column) => column.primaryKey())
          .addColumn('loop', 'integer', (column) => column.notNull())
          .addColumn('seq', 'integer', (column) => column.notNull())
          .execute();
      const eventIds = async (db: Db) =>
        (await db.selectFrom('event').select('id').orderBy('id').execute()).map((row) => row.id);

      it('carries a transaction over a leadership transfer, or says why it cannot', async () => {
        const db = openDb('kysely_transfer');
        await eventTable(db);
        const transfer = async () => {
          const admin = await leaderClient('kysely_transfer');
          try {
            const target = (await admin.cluster()).find((node) => node.address !== admin.address)!;
            await admin.transfer(target.id);
          } finally {
            await admin.close();
          }
        };
        const trx = await db.startTransaction().execute();
        await trx.insertInto('event').values({ id: 1, loop: 0, seq: 0 }).execute();
        await transfer();
        await trx.insertInto('event').values({ id: 2, loop: 0, seq: 1 }).execute();
        await trx.commit().execute();
        expect(await eventIds(db)).toEqual([1, 2]);

        // A transaction that read random() cannot be replayed with the same answers: it fails
        // with a typed error, Kysely rolls back, and the next transaction is unaffected.
        const attempt = db.transaction().execute(async (inner) => {
          await sql`SELECT random() AS r`.execute(inner);
          await inner.insertInto('event').values({ id: 3, loop: 0, seq: 2 }).execute();
          await transfer();
          await inner.insertInto('event').values({ id: 4, loop: 0, seq: 3 }).execute();
        });
        await expect(attempt).rejects.toThrow(TransactionReplayError);
        await db.transaction().execute(async (inner) => {
          await inner.insertInto('event').values({ id: 5, loop: 0, seq: 4 }).execute();
        });
        expect(await eventIds(db)).toEqual([1, 2, 5]);
      }, 60_000);

      it('settles a COMMIT whose answer was lost, or which never arrived, exactly once', async () => {
        const admin = await leaderClient('kysely_commit');
        let proxy: FaultProxy | undefined;
        try {
          proxy = await startFaultProxy(() => admin.address);
          const db = openDb('kysely_commit', { cluster: [proxy.address] });
          await eventTable(db);
          const actions = ['answer-then-cut', 'drop'] as const;
          for (const [id, action] of actions.entries()) {
            proxy.arm({
              match: (request) => request.type === 'EXEC_SQL' && request.sql === 'COMMIT',
              action,
            });
            await db.transaction().execute(async (trx) => {
              await trx.insertInto('event').values({ id, loop: 0, seq: id }).execute();
            });
          }
          expect(proxy.fired).toBe(2);
          expect(await eventIds(db)).toEqual([0, 1]);
        } finally {
          await fixture.closeAll();
          await proxy?.close();
          await admin.close();
        }
      }, 60_000);

      it('rides out a kill -9 of the leader under concurrent transactions: no error, no row lost or doubled', async () => {
        const pool = openPool('kysely_failover');
        const leaderChanges: unknown[] = [];
        pool.on('leaderChange', (change) => leaderChanges.push(change));
        const db = new Kysely<Database>({ dialect: new DqliteDialect({ pool }) });
        fixture.adopt(db);
        await db.schema
          .createTable('event')
          .addColumn('id', 'integer', (column) => column.primaryKey())
          .addColumn('loop', 'integer', (column) => column.notNull())
          .addColumn('seq', 'integer', (column) => column.notNull())
          .execute();
        const loops = 8;
        const perLoop = 40;
        const committed = Array.from({ length: loops }, () => 0);
        const workload = Array.from({ length: loops }, async (_, loop) => {
          for (let seq = 0; seq < perLoop; seq++) {
            await db.transaction().execute(async (trx) => {
              await trx
                .insertInto('event')
                .values({ id: loop * 1000 + seq, loop, seq })
                .execute();
              const mine = await trx
                .selectFrom('event')
                .select((eb) => eb.fn.countAll<number>().as('n'))
                .where('loop', '=', loop)
                .executeTakeFirstOrThrow();
              expect(mine.n).toBe(seq + 1);
            });
            committed[loop]!++;
          }
        });
        const total = () => committed.reduce((sum, count) => sum + count, 0);
        await pollUntil(async () => (total() >= 40 ? true : undefined), {
          timeoutMs: 30_000,
          intervalMs: 20,
          description: '40 committed transactions',
        });
        const leader = pool.stats().leader!;
        await fixture.cluster.kill(leader);
        await Promise.all(workload);
        expect(committed).toEqual(Array.from({ length: loops }, () => perLoop));
        const rows = await db.selectFrom('event').select(['id']).orderBy('id').execute();
        const expected = Array.from({ length: loops }, (_, loop) =>
          Array.from({ length: perLoop }, (_, seq) => loop * 1000 + seq),
        ).flat();
        expect(rows.map((row) => row.id)).toEqual(expected);
        expect(pool.stats().leader).not.toBe(leader);
        expect(leaderChanges.length).toBeGreaterThan(0);
        await fixture.cluster.restart(leader);
      }, 180_000);
    },
  );
}
