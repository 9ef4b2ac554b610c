// Point reads run on the leader's main thread (src/server/point-reads.ts), beside the SQL engine's
// worker. These check they answer exactly as the engine would: a session reads its own
// uncommitted writes, nobody else does, and a new leader serves them too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { connect, createPool, type DqliteClient } from '../../index.js';
import { checkAndStop } from './node-content.js';

const DATABASE = 'points';

describe('point reads on the leader', () => {
  let cluster: LocalCluster;
  const clients: DqliteClient[] = [];
  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await checkAndStop(cluster);
  });

  it('see committed writes only, except a transaction its own', async () => {
    const open = async () => {
      const client = await connect({ cluster: cluster.addresses, database: DATABASE });
      clients.push(client);
      return client;
    };
    const writer = await open();
    const reader = await open();
    await writer.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await writer.exec("INSERT INTO t VALUES (1, 'one')");
    const lookup = 'SELECT v FROM t WHERE id = ?';
    const writerLookup = await writer.prepare(lookup);
    const readerLookup = await reader.prepare(lookup);
    expect((await writerLookup.query([1])).rows).toEqual([['one']]);
    expect((await reader.query(lookup, [1])).rows).toEqual([['one']]);

    await writer.exec('BEGIN');
    await writer.exec("UPDATE t SET v = 'two' WHERE id = 1");
    await writer.exec("INSERT INTO t VALUES (2, 'new')");
    // The writer's session has a transaction open: its reads go where its writes are.
    expect((await writerLookup.query([1])).rows).toEqual([['two']]);
    expect((await writer.query(lookup, [2])).rows).toEqual([['new']]);
    // Nobody else sees them before COMMIT, by prepared statement or by text.
    expect((await readerLookup.query([1])).rows).toEqual([['one']]);
    expect((await reader.query(lookup, [2])).rows).toEqual([]);
    await writer.exec('COMMIT');
    expect((await readerLookup.query([1])).rows).toEqual([['two']]);
    expect((await reader.query(lookup, [2])).rows).toEqual([['new']]);

    await writer.exec('BEGIN');
    await writer.exec('DELETE FROM t WHERE id = 2');
    expect((await writer.query(lookup, [2])).rows).toEqual([]);
    await writer.exec('ROLLBACK');
    // The rollback ended the transaction: the writer's point reads are the main thread's again.
    expect((await writerLookup.query([2])).rows).toEqual([['new']]);
  });

  it('are served by the next leader after the leader is killed', async () => {
    const pool = createPool({ cluster: cluster.addresses, database: DATABASE });
    try {
      const before = await pool.query('SELECT v FROM t WHERE id = ?', [1]);
      expect(before.rows).toEqual([{ v: 'two' }]);
      const leader = pool.stats().leader;
      expect(leader).not.toBeNull();
      await cluster.kill(leader!);
      await pool.exec("UPDATE t SET v = 'three' WHERE id = 1");
      const after = await pool.query('SELECT v FROM t WHERE id = ?', [1]);
      expect(after.rows).toEqual([{ v: 'three' }]);
      expect(pool.stats().leader).not.toBe(leader);
      await cluster.restart(leader!);
    } finally {
      await pool.close();
    }
  }, 60_000);
});
