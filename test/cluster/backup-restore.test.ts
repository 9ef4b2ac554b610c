// Backup and restore against a cluster of `dqlite-ts node` processes: a backup under a steady
// writer is one snapshot, a restore lands whole or not at all even when the leader dies in the
// middle, and a better-sqlite3 application's file moves into the cluster and reads back through
// Drizzle. Each cluster ends with every replica holding the same data.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drizzle } from '../../adapters/drizzle/index.js';
import { LocalCluster } from '../../bin/local-cluster.js';
import {
  RestoreRefusedError,
  backup,
  connect,
  createPool,
  restore,
  type DqliteClient,
} from '../../index.js';
import { cli } from './cli-process.js';
import { checkAndStop, converged, expectContentCheckAgrees } from './node-content.js';
import { startCounterWriter } from './counter-writer.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-restore-'));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

/** A schema with one of everything a copy must recreate. */
const RICH_SCHEMA = `
  CREATE TABLE counter (n INTEGER PRIMARY KEY);
  CREATE TABLE bulk (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT, at DATETIME, ok BOOLEAN, r REAL,
    twice INTEGER GENERATED ALWAYS AS (id * 2) VIRTUAL);
  CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
  CREATE TABLE strict_t (x INTEGER, y TEXT) STRICT;
  CREATE INDEX bulk_v ON bulk (v);
  CREATE VIEW bulk_view AS SELECT id, v FROM bulk;
  CREATE TRIGGER bulk_log AFTER INSERT ON bulk BEGIN INSERT INTO strict_t VALUES (new.id, 'log'); END;
  PRAGMA user_version = 42;`;

/** Every table's rows and the schema of a local SQLite file, and its integrity check. */
function fileContent(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    return {
      integrity: db.pragma('integrity_check', { simple: true }),
      schema: db
        .prepare(
          "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .raw()
        .all(),
      userVersion: db.pragma('user_version', { simple: true }),
      counter: db.prepare('SELECT n FROM counter ORDER BY n').pluck().all() as number[],
      bulk: db.prepare('SELECT count(*) FROM bulk').pluck().get() as number,
      sequence: db.prepare('SELECT name, seq FROM sqlite_sequence').raw().all(),
    };
  } finally {
    db.close();
  }
}

describe('backup and restore on a dqlite-ts cluster', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
  }, 90_000);
  afterAll(async () => {
    await checkAndStop(cluster);
  });

  it('backs up one snapshot while a writer keeps writing', async () => {
    const client = await connect({ cluster: cluster.addresses, database: 'app' });
    await client.exec(RICH_SCHEMA);
    await client.exec(
      `WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 30000)
       INSERT INTO bulk (v, at, ok, r) SELECT 'row ' || n, '2024-01-01 00:00:00', n % 2, n * 1.0 FROM i`,
    );
    await client.exec("INSERT INTO kv VALUES ('k', x'00ff')");
    const pool = createPool({ cluster: cluster.addresses, database: 'app' });
    const writer = startCounterWriter(pool);
    try {
      await writer.waitFor(50);
      const before = writer.written;
      let writtenDuringBackup = 0;
      const progress: string[] = [];
      const file = path.join(directory, 'app.db');
      const result = await backup({
        cluster: cluster.addresses,
        database: 'app',
        file,
        onProgress: async (report) => {
          progress.push(`${report.table} ${report.tableRows}`);
          if (report.table === 'bulk' && report.tableRows === 10_000) {
            // The snapshot is open: the cluster keeps taking writes, and the file holds none of them.
            const mark = writer.written;
            await writer.waitFor(mark + 20);
            writtenDuringBackup = writer.written - mark;
          }
        },
      });
      await writer.stop();
      expect(writtenDuringBackup).toBeGreaterThanOrEqual(20);
      expect(progress).toContain('bulk 10000');
      expect(progress).toContain('bulk 30000');
      expect(result.appliedIndex).toBeGreaterThan(0n);
      const content = fileContent(file);
      expect(content.integrity).toBe('ok');
      expect(content.userVersion).toBe(42);
      expect(content.bulk).toBe(30_000);
      expect(content.sequence).toEqual([['bulk', 30_000]]);
      // A prefix of the counter: no gaps, everything acknowledged before the backup began, and
      // none of the writes acknowledged while its snapshot was open.
      const count = content.counter.length;
      expect(content.counter).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      expect(count).toBeGreaterThanOrEqual(before);
      expect(count).toBeLessThan(writer.written - writtenDuringBackup + 1);
      const clusterSchema = await client.query(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
      );
      expect(content.schema).toEqual(clusterSchema.rows);
      // Typed values arrive as stored: DATETIME text stays text, a whole REAL stays REAL.
      const db = new Database(file, { readonly: true });
      expect(
        db
          .prepare('SELECT typeof(at), typeof(ok), typeof(r), twice FROM bulk WHERE id = 2')
          .raw()
          .get(),
      ).toEqual(['text', 'integer', 'real', 4]);
      db.close();
      const later = await backup({ cluster: cluster.addresses, database: 'app', file });
      expect(later.appliedIndex).toBeGreaterThan(result.appliedIndex!);
    } finally {
      await writer.stop().catch(() => undefined);
      await pool.close();
      await client.close();
    }
    // node-content's row hash orders by rowid, which the WITHOUT ROWID table lacks: compare
    // through the content check alone.
    await expectContentCheckAgrees(cluster.addresses, 'app');
  }, 180_000);

  it('dqlite-ts backup and restore print what they did', async () => {
    const file = path.join(directory, 'cli.db');
    const addresses = cluster.addresses.join(',');
    const backedUp = await cli('backup', '--cluster', addresses, 'app', file);
    expect(backedUp.stdout).toMatch(/^wrote .*cli\.db: 4 tables, \d+ rows\n/);
    expect(backedUp.stdout).toMatch(
      /raft index \d+: every transaction committed at this index or below is in the file \(later ones may be too\)/,
    );
    expect(backedUp.stderr).toMatch(/backup: table bulk: 30000 rows; \d+ in all; 2\/4 tables done/);
    const restored = await cli('restore', '--cluster', addresses, 'from-cli', file);
    expect(restored.stdout).toMatch(/^restored \d+ rows in 4 tables into from-cli\n$/);
    const again = await cli('restore', '--cluster', addresses, 'from-cli', file).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(again).toMatchObject({ code: 1 });
    expect((again as { stderr: string }).stderr).toMatch(
      /nothing was restored: RestoreRefusedError: database from-cli is not empty/,
    );
    await expectContentCheckAgrees(cluster.addresses, 'from-cli');
  }, 180_000);

  it('restores a file of many Raft entries through the CLI, and --bytes-max bounds it', async () => {
    // 24 MB of pages: more than the old one-entry cap, two dozen entries of at most 1 MiB.
    const file = path.join(directory, 'large.db');
    const db = new Database(file);
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL, blob BLOB)');
    db.exec('CREATE INDEX items_label ON items (label)');
    db.prepare(
      "WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 24000) INSERT INTO items SELECT n, 'item ' || n, randomblob(1000) FROM i",
    ).run();
    db.close();
    const bytes = fs.statSync(file).size;
    expect(bytes).toBeGreaterThan(20 * 1024 * 1024);
    const addresses = cluster.addresses.join(',');
    const refused = await cli(
      'restore',
      '--cluster',
      addresses,
      '--bytes-max',
      '16MiB',
      'large',
      file,
    ).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toMatch(
      /nothing was restored: RestoreRefusedError: .*large\.db holds \d+ bytes of pages, more than one restore carries \(bytesMax 16777216\)/,
    );
    const restored = await cli(
      'restore',
      '--cluster',
      addresses,
      '--bytes-max',
      String(bytes),
      'large',
      file,
    );
    expect(restored.stdout).toBe('restored 24000 rows in 1 tables into large\n');
    const content = await converged(cluster.addresses, 'large');
    expect(content.rows.items).toBe(24000);
  }, 180_000);

  it('refuses a file that is not SQLite, a corrupted file, and a non-empty target', async () => {
    const notSqlite = path.join(directory, 'notes.txt');
    fs.writeFileSync(notSqlite, 'these are not the pages you are looking for\n'.repeat(100));
    await expect(
      restore({ cluster: cluster.addresses, database: 'refused', file: notSqlite }),
    ).rejects.toMatchObject({ name: 'RestoreRefusedError', reason: 'not-sqlite' });

    const corrupt = path.join(directory, 'corrupt.db');
    const db = new Database(corrupt);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t (v)');
    db.prepare(
      "WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 2000) INSERT INTO t (v) SELECT 'value ' || n FROM i",
    ).run();
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    // Page 4 onwards hold the table's and the index's b-tree pages: scribble over one.
    const fd = fs.openSync(corrupt, 'r+');
    fs.writeSync(fd, Buffer.alloc(200, 0x5a), 0, 200, 5 * pageSize + 100);
    fs.closeSync(fd);
    const refusal = await restore({
      cluster: cluster.addresses,
      database: 'refused',
      file: corrupt,
    }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RestoreRefusedError);
    expect(refusal).toMatchObject({ reason: 'corrupt' });
    expect((refusal as Error).message).toContain('corrupt.db');

    const client = await connect({ cluster: cluster.addresses, database: 'occupied' });
    await client.exec("CREATE TABLE mine (v TEXT); INSERT INTO mine VALUES ('keep me')");
    const source = path.join(directory, 'source.db');
    const app = new Database(source);
    app.exec("CREATE TABLE theirs (v TEXT); INSERT INTO theirs VALUES ('new')");
    app.close();
    await expect(
      restore({ cluster: cluster.addresses, database: 'occupied', file: source }),
    ).rejects.toMatchObject({ name: 'RestoreRefusedError', reason: 'not-empty' });
    expect((await client.query('SELECT v FROM mine')).rows).toEqual([['keep me']]);
    expect(
      (await client.query("SELECT count(*) FROM sqlite_master WHERE name = 'theirs'")).rows,
    ).toEqual([[0]]);

    // One page over the limit is refused; the limit itself passes below.
    const sourceBytes = fs.statSync(source).size;
    await expect(
      restore({
        cluster: cluster.addresses,
        database: 'refused',
        file: source,
        bytesMax: sourceBytes - 1,
      }),
    ).rejects.toMatchObject({ name: 'RestoreRefusedError', reason: 'too-large' });

    const replaced = await restore({
      bytesMax: sourceBytes,
      cluster: cluster.addresses,
      database: 'occupied',
      file: source,
      replace: true,
    });
    expect(replaced).toEqual({ tables: 1, rows: 1 });
    expect(
      (
        await client.query(
          "SELECT name FROM sqlite_master WHERE name NOT LIKE 'dqlite_ts_%' AND name NOT LIKE 'sqlite_%'",
        )
      ).rows,
    ).toEqual([['theirs']]);
    await client.close();
    await converged(cluster.addresses, 'occupied');
  }, 180_000);

  it('moves a better-sqlite3 application into the cluster, and Drizzle reads it back', async () => {
    const file = path.join(directory, 'shop.db');
    const app = new Database(file);
    app.exec(`
      CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT UNIQUE);
      CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id), total INTEGER NOT NULL);
      CREATE INDEX orders_customer ON orders (customer_id);`);
    const addCustomer = app.prepare('INSERT INTO customers (name, email) VALUES (?, ?)');
    const addOrder = app.prepare('INSERT INTO orders (customer_id, total) VALUES (?, ?)');
    app.transaction(() => {
      for (let i = 1; i <= 500; i++) {
        addCustomer.run(`customer ${i}`, `c${i}@example.com`);
        addOrder.run(i, i * 10);
        addOrder.run(i, i * 20);
      }
    })();
    app.close();

    expect(await restore({ cluster: cluster.addresses, database: 'shop', file })).toEqual({
      tables: 2,
      rows: 1500,
    });

    const customers = sqliteTable('customers', {
      id: integer('id').primaryKey({ autoIncrement: true }),
      name: text('name').notNull(),
      email: text('email'),
    });
    const orders = sqliteTable('orders', {
      id: integer('id').primaryKey(),
      customerId: integer('customer_id').notNull(),
      total: integer('total').notNull(),
    });
    const pool = createPool({ cluster: cluster.addresses, database: 'shop' });
    try {
      const db = drizzle(pool);
      const [customer] = await db
        .select()
        .from(customers)
        .where(eq(customers.email, 'c7@example.com'));
      expect(customer).toEqual({ id: 7, name: 'customer 7', email: 'c7@example.com' });
      const theirOrders = await db
        .select()
        .from(orders)
        .where(eq(orders.customerId, 7))
        .orderBy(orders.total);
      expect(theirOrders.map((order) => order.total)).toEqual([70, 140]);
      // AUTOINCREMENT carries on where the application left off.
      const [added] = await db
        .insert(customers)
        .values({ name: 'new', email: 'new@example.com' })
        .returning();
      expect(added!.id).toBe(501);
    } finally {
      await pool.close();
    }
    await converged(cluster.addresses, 'shop');
  }, 180_000);
});

describe('restore when the leader dies midway', () => {
  let cluster: LocalCluster;
  const file = path.join(directory, 'midway.db');
  const rowsInFile = 20_000;
  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    const db = new Database(file);
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL)');
    db.prepare(
      `WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ${rowsInFile}) INSERT INTO items SELECT n, 'item ' || n FROM i`,
    ).run();
    db.close();
  }, 90_000);
  afterAll(async () => {
    await checkAndStop(cluster);
  });

  async function leaderAddress(): Promise<string> {
    const client: DqliteClient = await connect({ cluster: cluster.addresses, database: 'probe' });
    try {
      return client.address;
    } finally {
      await client.close();
    }
  }

  /** Kills the leader (kill -9) from inside the restore, once it has sent `statements` INSERTs. */
  function killLeaderAfter(statements: number, leader: string) {
    let seen = 0;
    let killed = false;
    return {
      attempts: () => (killed ? 2 : 1),
      onProgress: async () => {
        seen++;
        if (!killed && seen === statements) {
          killed = true;
          await cluster.kill(leader);
        }
      },
    };
  }

  it('restores everything when the pool reruns it on the new leader', async () => {
    const leader = await leaderAddress();
    const hook = killLeaderAfter(10, leader);
    const result = await restore({
      cluster: cluster.addresses,
      database: 'whole',
      file,
      onProgress: hook.onProgress,
    });
    expect(result).toEqual({ tables: 1, rows: rowsInFile });
    const alive = cluster.addresses.filter((address) => address !== leader);
    const content = await converged(alive, 'whole');
    expect(content.rows.items).toBe(rowsInFile);
    await cluster.restart(leader);
    await converged(cluster.addresses, 'whole');
  }, 180_000);

  it('restores nothing when it gives up after the leader died', async () => {
    const leader = await leaderAddress();
    let statements = 0;
    let killed = false;
    const failure = await restore({
      cluster: cluster.addresses,
      database: 'nothing',
      file,
      onProgress: async () => {
        statements++;
        if (!killed && statements === 10) {
          killed = true;
          await cluster.kill(leader);
        } else if (killed && statements === 20) {
          throw new Error('the operator gave up');
        }
      },
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ message: 'the operator gave up' });
    const alive = cluster.addresses.filter((address) => address !== leader);
    const content = await converged(alive, 'nothing');
    expect(content.rows.items).toBeUndefined();
    await cluster.restart(leader);
    const all = await converged(cluster.addresses, 'nothing');
    expect(all.rows.items).toBeUndefined();
  }, 180_000);
});
