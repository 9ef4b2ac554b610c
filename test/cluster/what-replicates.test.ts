// Every way a statement could change a database or its WAL behind replication's back, tried on a
// real cluster: each is either replicated (every node ends with the same schema and rows) or
// refused with SQLITE_AUTH and a message saying why. One test per row of docs/what-replicates.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { connect, DqliteError, type DqliteClient } from '../../index.js';
import { converged } from './node-content.js';

const DATABASE = 'audit';
const SQLITE_AUTH = 23;

describe('what a leader replicates and what it refuses', () => {
  let cluster: LocalCluster;

  /** A connection of its own for `body`, closed after it. */
  async function session<T>(body: (client: DqliteClient) => Promise<T>): Promise<T> {
    const client = await connect({ cluster: cluster.addresses, database: DATABASE });
    try {
      return await body(client);
    } finally {
      await client.close();
    }
  }

  /** `sql` fails with SQLITE_AUTH and a reason matching `why`; the session stays usable. */
  async function expectRefused(sql: string, why: RegExp): Promise<void> {
    await session(async (client) => {
      const error = await client.exec(sql).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(DqliteError);
      expect((error as DqliteError).errno).toBe(SQLITE_AUTH);
      expect((error as Error).message).toMatch(why);
      expect((await client.query('SELECT count(*) FROM kv')).rows).toHaveLength(1);
    });
  }

  /** Every node holds the same schema and rows; returns the row count of kv. */
  async function replicated(): Promise<number> {
    const content = await converged(cluster.addresses, DATABASE);
    return content.rows.kv ?? 0;
  }

  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    await session((client) => client.exec('CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB)'));
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('refuses PRAGMA wal_checkpoint in every mode', async () => {
    for (const mode of ['', '(PASSIVE)', '(FULL)', '(RESTART)', '(TRUNCATE)']) {
      await expectRefused(`PRAGMA wal_checkpoint${mode}`, /checkpoints its databases itself/);
    }
    await expectRefused('PRAGMA wal_autocheckpoint = 1', /checkpoints its databases itself/);
    await replicated();
  });

  it('refuses leaving WAL mode, and answers the journal mode when asked', async () => {
    for (const mode of ['DELETE', 'TRUNCATE', 'PERSIST', 'MEMORY', 'OFF']) {
      await expectRefused(`PRAGMA journal_mode = ${mode}`, /replication needs WAL mode/);
    }
    await session(async (client) => {
      expect((await client.query('PRAGMA journal_mode')).rows).toEqual([['wal']]);
      expect((await client.query('PRAGMA journal_mode = WAL')).rows).toEqual([['wal']]);
    });
  });

  it('refuses an exclusive locking mode', async () => {
    await expectRefused('PRAGMA locking_mode = EXCLUSIVE', /locking_mode = EXCLUSIVE is refused/);
    await session(async (client) => {
      expect((await client.query('PRAGMA locking_mode = NORMAL')).rows).toEqual([['normal']]);
    });
  });

  it('refuses ATTACH and VACUUM INTO, which would write files on the leader only', async () => {
    await expectRefused("ATTACH 'elsewhere.db' AS elsewhere", /ATTACH is refused/);
    await expectRefused("VACUUM INTO 'copy.db'", /VACUUM INTO is refused/);
  });

  it('replicates writes made under a journal size limit', async () => {
    await session(async (client) => {
      // A pragma that answers a row is a query (EXEC is for statements without rows).
      expect((await client.query('PRAGMA journal_size_limit = 0')).rows).toEqual([[0]]);
      for (let i = 0; i < 20; i++) {
        await client.exec('INSERT INTO kv (k, v) VALUES (?, randomblob(3000))', [1000 + i]);
      }
    });
    expect(await replicated()).toBe(20);
  });

  it('replicates VACUUM, which rewrites and shrinks the whole file', async () => {
    await session(async (client) => {
      await client.exec(
        'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) ' +
          'INSERT INTO kv (k, v) SELECT 5000 + i, randomblob(4000) FROM n',
      );
      await client.exec('DELETE FROM kv WHERE k >= 5000');
      await client.exec('VACUUM');
    });
    expect(await replicated()).toBe(20);
  });

  it('replicates a transaction large enough to spill pages into the WAL before it commits', async () => {
    await session(async (client) => {
      // A tiny page cache makes SQLite write pages out before COMMIT.
      await client.exec('PRAGMA cache_size = 10');
      await client.exec('BEGIN');
      for (let i = 0; i < 40; i++) {
        await client.exec('INSERT INTO kv (k, v) VALUES (?, randomblob(100000))', [2000 + i]);
      }
      await client.exec('COMMIT');
    });
    expect(await replicated()).toBe(60);
  });

  it('keeps temporary tables to their connection: never replicated, and nothing else changes', async () => {
    await session(async (client) => {
      await client.exec('PRAGMA temp_store = FILE'); // answers no row
      await client.exec('CREATE TEMP TABLE scratch (x)');
      await client.exec('INSERT INTO scratch VALUES (1), (2)');
      expect((await client.query('SELECT count(*) FROM scratch')).rows).toEqual([[2]]);
      await client.exec('INSERT INTO kv (k, v) SELECT 3000 + x, NULL FROM scratch');
    });
    await session(async (client) => {
      await expect(client.query('SELECT * FROM scratch')).rejects.toThrow(/no such table/);
    });
    expect(await replicated()).toBe(62);
  });

  it('lets no client edit the schema table: SQLite runs in defensive mode', async () => {
    await session(async (client) => {
      await client.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
      await client.exec('PRAGMA writable_schema = ON');
      await expect(
        client.exec(
          "UPDATE sqlite_schema SET sql = replace(sql, 'TEXT', 'BLOB') WHERE name = 'notes'",
        ),
      ).rejects.toThrow(/sqlite_master may not be modified/);
    });
    expect(await replicated()).toBe(62);
  });
});
