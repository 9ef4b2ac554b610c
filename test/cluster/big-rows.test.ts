// Rows of many megabytes through the pool, on a 3-node cluster of processes, as an application
// sends them: each commits exactly once, every replica holds it (the product's own content
// check), and neither 20 MB rows nor one of the request cap (64 MB) costs a pre-vote or an
// election. A transaction's pages travel as Raft entries of at most 1 MiB, the log encodes them
// one record per write, a large request is copied as it arrives, and the SQL worker shares large
// bytes with the main thread instead of cloning them, so no node's main thread stops for long
// enough to miss the leader's heartbeats (docs/benchmarks.md, "Big rows", measures the same with
// more sizes).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { connect, createPool, type LeaderPool } from '../../index.js';
import { checkAndStop, converged, expectContentCheckAgrees } from './node-content.js';

/** The largest row one request carries: just under the node's 64 MiB message limit. */
const CAP_BYTES = 64 * 1024 * 1024 - 4096;

let cluster: LocalCluster;
let pool: LeaderPool;

beforeAll(async () => {
  // Debug level: a pre-vote is logged only there.
  cluster = await LocalCluster.start({ nodes: 3, nodeArgs: ['--log-level', 'debug'] });
  pool = createPool({ cluster: cluster.addresses, database: 'big', timeoutMs: 120_000 });
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
}, 90_000);

afterAll(async () => {
  await pool?.close();
  await checkAndStop(cluster);
});

describe('big rows', () => {
  it('commits 20 MB rows with no pre-vote and no election', async () => {
    const before = cluster.campaigns().length;
    const rows = [randomBytes(20 * 1024 * 1024), randomBytes(20 * 1024 * 1024)];
    for (const row of rows) await pool.exec('INSERT INTO t (v) VALUES (?)', [row]);
    expect(cluster.campaigns().slice(before)).toEqual([]);
    for (const row of rows) {
      const { rows: found } = await pool.query('SELECT count(*) AS n FROM t WHERE v = ?', [row]);
      expect(found[0]?.n).toBe(1);
    }
    await expectContentCheckAgrees(cluster.addresses, 'big');
  }, 180_000);

  it('commits a row as large as one request carries, exactly once, on every replica, with no pre-vote', async () => {
    const before = cluster.campaigns().length;
    const row = randomBytes(CAP_BYTES);
    await pool.exec('INSERT INTO t (v) VALUES (?)', [row]);
    const { rows: found } = await pool.query(
      'SELECT count(*) AS n, max(length(v)) AS bytes FROM t WHERE v = ?',
      [row],
    );
    expect(found[0]).toEqual({ n: 1, bytes: CAP_BYTES });
    expect(cluster.campaigns().slice(before)).toEqual([]);
    await expectContentCheckAgrees(cluster.addresses, 'big');
  }, 180_000);

  it('brings a follower killed after the big rows back from its own log, equal to the others', async () => {
    // Its log holds the rows above as records of megabyte entries, each written as parts where
    // the entries lay: reading them back at the restart is the other half of that format.
    const client = await connect({ cluster: cluster.addresses, database: 'big' });
    const leader = client.address;
    await client.close();
    const follower = cluster.addresses.find((address) => address !== leader)!;
    await cluster.kill(follower);
    const row = randomBytes(20 * 1024 * 1024);
    await pool.exec('INSERT INTO t (v) VALUES (?)', [row]);
    await cluster.restart(follower);
    const content = await converged(cluster.addresses, 'big');
    expect(content.integrity).toBe('ok');
    const { rows: found } = await pool.query('SELECT count(*) AS n FROM t');
    expect(found[0]?.n).toBe(4);
  }, 180_000);
});
