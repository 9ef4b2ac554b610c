// Reads served by followers (docs/reads.md), against three `dqlite-ts node` processes: what each
// consistency promises, seen from a client; the pool spreading reads and falling back to the
// leader; and what a follower still refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import {
  NotLeaderError,
  connect,
  connectForReads,
  createPool,
  type DqliteClient,
  type LeaderPool,
} from '../../index.js';
import { openConnection } from '../../drivers/client/connection.js';
import { knex } from '../../adapters/knex/index.js';
import { checkAndStop } from './node-content.js';

const DATABASE = 'replicas';

/** Writes row `id` through `pool`, then reads it `reads` times: each read must see it. */
async function writeThenRead(pool: LeaderPool, id: number, v: string, reads: number) {
  await pool.exec('INSERT INTO t (id, v) VALUES (?, ?)', [id, v]);
  for (let read = 0; read < reads; read++) {
    expect((await pool.query('SELECT v FROM t WHERE id = ?', [id])).rows).toEqual([{ v }]);
  }
}

describe('reads served by followers', () => {
  let cluster: LocalCluster;
  let leader: DqliteClient;
  const clients: DqliteClient[] = [];
  const followers = () => cluster.addresses.filter((address) => address !== leader.address);
  const forReads = async (
    address: string,
    consistency: 'read-index' | 'bounded',
    maxStalenessMs = 0,
  ) => {
    const client = await connectForReads(
      address,
      { cluster: [address], database: DATABASE },
      { consistency, maxStalenessMs },
    );
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    leader = await connect({ cluster: cluster.addresses, database: DATABASE });
    clients.push(leader);
    await leader.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await checkAndStop(cluster);
  });

  it('read-index: a follower sees every write acknowledged before the read was asked', async () => {
    const readers = await Promise.all(
      followers().map((address) => forReads(address, 'read-index')),
    );
    for (let i = 1; i <= 50; i++) {
      await leader.exec('INSERT INTO t (id, v) VALUES (?, ?)', [i, `row ${i}`]);
      // Asked right after the acknowledgement: linearizable means no follower may miss it.
      for (const reader of readers) {
        const { rows } = await reader.query('SELECT count(*), max(id) FROM t');
        expect(rows).toEqual([[i, i]]);
      }
    }
  });

  it('a follower answers big results in one go, and SQL errors as the leader does', async () => {
    const reader = await forReads(followers()[0]!, 'read-index');
    const { rows } = await reader.query(
      'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT i, ? FROM n',
      ['x'.repeat(40)],
    );
    expect(rows).toHaveLength(20_000);
    expect(rows[19_999]).toEqual([20_000, 'x'.repeat(40)]);
    await expect(reader.query('SELECT * FROM missing')).rejects.toThrow(/no such table: missing/);
  });

  it('a follower still refuses writes, and queries on connections that did not ask', async () => {
    const reader = await forReads(followers()[0]!, 'read-index');
    await expect(reader.exec("INSERT INTO t (v) VALUES ('no')")).rejects.toBeInstanceOf(
      NotLeaderError,
    );
    await expect(reader.query("INSERT INTO t (v) VALUES ('no') RETURNING id")).rejects.toThrow(
      NotLeaderError,
    );
    // Dqlite's own behaviour on a follower is unchanged without READ_CONSISTENCY.
    const connection = await openConnection(followers()[0]!, {
      connectTimeoutMs: 5000,
      messageBytesMax: 1 << 20,
      queueLengthMax: 4,
    });
    try {
      const opened = await connection.request(
        { type: 'OPEN', name: DATABASE, flags: 0n, vfs: 'volatile' },
        5000,
      );
      expect(opened.type).toBe('DB');
      const plain = await connection.request(
        { type: 'QUERY_SQL', db: 0n, sql: 'SELECT 1', parameters: [] },
        5000,
      );
      expect(plain).toMatchObject({ type: 'FAILURE', code: 10250 });
    } finally {
      connection.close();
    }
  });

  it('the pool spreads reads over the members and each sees the writes before it', async () => {
    const pool = createPool({
      cluster: cluster.addresses,
      database: DATABASE,
      reads: { consistency: 'read-index' },
    });
    try {
      for (let i = 0; i < 30; i++) {
        const id = 1000 + i;
        await writeThenRead(pool, id, 'pool', 1);
      }
      // The first reads went to the leader while the members were asked; then they served.
      expect(pool.stats().readsServedByMembers).toBeGreaterThan(10);
      // A call may choose otherwise; a write with RETURNING always goes to the leader.
      const leaderOnly = await pool.query('SELECT count(*) AS n FROM t', [], {
        consistency: 'leader',
      });
      expect(leaderOnly.rows).toEqual([{ n: 80 }]);
      const returned = await pool.query("INSERT INTO t (v) VALUES ('ret') RETURNING v");
      expect(returned.rows).toEqual([{ v: 'ret' }]);
    } finally {
      await pool.close();
    }
  });

  it('pools that come and go, and idle gaps past the idle timeout, read every write', async () => {
    const reads = { consistency: 'read-index' } as const;
    // One-shot pools: each lives for one write and a few reads.
    for (let i = 0; i < 5; i++) {
      const pool = createPool({ cluster: cluster.addresses, database: DATABASE, reads });
      try {
        const id = 3000 + i;
        await writeThenRead(pool, id, 'short', 4);
      } finally {
        await pool.close();
      }
    }
    // A long-lived pool whose member connections idle past idleTimeoutMs between bursts.
    const pool = createPool({
      cluster: cluster.addresses,
      database: DATABASE,
      reads,
      idleTimeoutMs: 200,
    });
    try {
      for (let burst = 0; burst < 3; burst++) {
        const id = 3100 + burst;
        await writeThenRead(pool, id, 'idle', 6);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(pool.stats().readsServedByMembers).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  });

  it('Knex with `reads` sees every write before its reads, on its reserved connections too', async () => {
    const db = knex({
      client: 'dqlite',
      connection: {
        cluster: cluster.addresses,
        database: DATABASE,
        reads: { consistency: 'read-index' },
      },
    });
    try {
      for (let i = 0; i < 20; i++) {
        const id = 2000 + i;
        await db('t').insert({ id, v: 'knex' });
        expect(await db('t').where({ id }).select('v')).toEqual([{ v: 'knex' }]);
      }
      // Inside a transaction every statement stays on the leader's connection.
      await db.transaction(async (trx) => {
        await trx('t').insert({ id: 2100, v: 'trx' });
        expect(await trx('t').where({ id: 2100 }).select('v')).toEqual([{ v: 'trx' }]);
      });
    } finally {
      await db.destroy();
    }
  });

  it('bounded staleness: served from the last confirmation while it is recent enough, refused after', async () => {
    const address = followers()[0]!;
    const bounded = await forReads(address, 'bounded', 600_000);
    const strict = await forReads(address, 'read-index');
    const fresh = await forReads(address, 'bounded', 0);
    // A bounded read may be served from an older confirmation (this follower's last may be from
    // before the latest inserts): never older than its bound, so at most 110 rows. A read-index
    // read confirms again; from then on the bounded read sees all 110.
    const before = (await bounded.query('SELECT count(*) FROM t')).rows[0]![0];
    expect(before).toBeLessThanOrEqual(110);
    expect((await strict.query('SELECT count(*) FROM t')).rows).toEqual([[110]]);
    expect((await bounded.query('SELECT count(*) FROM t')).rows).toEqual([[110]]);
    // With every other node stopped, this follower cannot ask a leader: a read-index read and a
    // read that must be fresh fail (the pool would then read elsewhere); the bounded read is
    // still served, within its bound, from what the last confirmation made sure of.
    const others = cluster.addresses.filter((other) => other !== address);
    for (const other of others) cluster.pause(other);
    try {
      expect((await bounded.query('SELECT count(*) FROM t')).rows).toEqual([[110]]);
      await expect(strict.query('SELECT count(*) FROM t')).rejects.toBeInstanceOf(NotLeaderError);
      await expect(fresh.query('SELECT count(*) FROM t')).rejects.toBeInstanceOf(NotLeaderError);
    } finally {
      for (const other of others) cluster.resume(other);
    }
  }, 60_000);
});
