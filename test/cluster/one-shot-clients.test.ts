// The cluster used the way applications and operators use it, not the way it is built: clients
// that connect for one statement and leave (our shell, canonical's Go shell, a fresh connection
// per request), a pool that sits idle past its idle timeout, pools opened and closed, connections
// dropped inside a transaction. On the leader every session closing is the moment SQLite may
// checkpoint and delete the WAL; a node that then lost track of its WAL acknowledged writes it
// never replicated. After each step every replica must hold the same rows, and at the end every
// acknowledged row must survive a kill -9 of the leader.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { connect, createPool } from '../../index.js';
import { GO_SHELL_BINARY, goShell } from '../interop/go-shell.js';
import { cDqliteProvider } from '../interop/c-cluster.js';
import { requirePeer } from '../interop/peer-available.js';
import { cli } from './cli-process.js';
import { converged } from './node-content.js';
import { waitUntil } from '../interop/poll-until.js';

const DATABASE = 'oneshot';

const goShellPresent = requirePeer({
  ...cDqliteProvider,
  name: `go-dqlite shell (${GO_SHELL_BINARY})`,
});

describe('one-shot clients against a 3-node cluster of processes', () => {
  let cluster: LocalCluster;
  /** Every key whose insert was acknowledged, in order. */
  const acknowledged: string[] = [];

  /** One statement on a connection of its own, closed right after. */
  async function oneShot(sql: string, parameters: string[] = []): Promise<void> {
    const client = await connect({ cluster: cluster.addresses, database: DATABASE });
    try {
      await client.exec(sql, parameters);
    } finally {
      await client.close();
    }
  }

  async function storedKeys(): Promise<string[]> {
    const client = await connect({ cluster: cluster.addresses, database: DATABASE });
    try {
      const { rows } = await client.query('SELECT k FROM kv ORDER BY k');
      return rows.map((row) => String(row[0]));
    } finally {
      await client.close();
    }
  }

  /** Every node holds the same rows, exactly the acknowledged ones. */
  async function expectEveryReplicaHoldsTheAcknowledgedRows(): Promise<void> {
    const content = await converged(cluster.addresses, DATABASE);
    expect(content.rows.kv).toBe(acknowledged.length);
    expect(await storedKeys()).toEqual([...acknowledged].sort());
  }

  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
    await oneShot('CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)');
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('replicates every insert made on a connection of its own', async () => {
    for (let i = 0; i < 20; i++) {
      const key = `connect-${String(i).padStart(2, '0')}`;
      await oneShot('INSERT INTO kv (k, v) VALUES (?, 1)', [key]);
      acknowledged.push(key);
    }
    await expectEveryReplicaHoldsTheAcknowledgedRows();
  }, 60_000);

  it('replicates every insert made by a one-shot `dqlite-ts shell` process', async () => {
    for (let i = 0; i < 4; i++) {
      const key = `shell-${i}`;
      await cli(
        'shell',
        '--cluster',
        cluster.addresses.join(','),
        DATABASE,
        `INSERT INTO kv (k, v) VALUES ('${key}', 2)`,
      );
      acknowledged.push(key);
    }
    await expectEveryReplicaHoldsTheAcknowledgedRows();
  }, 90_000);

  it.skipIf(!goShellPresent)(
    "replicates every insert made by canonical's Go shell, one process per statement",
    async () => {
      for (let i = 0; i < 10; i++) {
        const key = `go-${i}`;
        await goShell(cluster.addresses, DATABASE, `INSERT INTO kv (k, v) VALUES ('${key}', 3)`);
        acknowledged.push(key);
      }
      await expectEveryReplicaHoldsTheAcknowledgedRows();
    },
    60_000,
  );

  it('replicates writes after a pool sat idle past its idle timeout and closed its connections', async () => {
    const pool = createPool({ cluster: cluster.addresses, database: DATABASE, idleTimeoutMs: 200 });
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 5; i++) {
          const key = `idle-${round}-${i}`;
          await pool.exec('INSERT INTO kv (k, v) VALUES (?, 4)', [key]);
          acknowledged.push(key);
        }
        // The gap an application's quiet half minute makes: every connection closes.
        await waitUntil(() => pool.stats().size === 0, 'the pool closing its idle connections');
      }
    } finally {
      await pool.close();
    }
    await expectEveryReplicaHoldsTheAcknowledgedRows();
  }, 60_000);

  it('replicates writes from many pools opened and closed', async () => {
    for (let p = 0; p < 8; p++) {
      const pool = createPool({ cluster: cluster.addresses, database: DATABASE });
      try {
        for (let i = 0; i < 2; i++) {
          const key = `pool-${p}-${i}`;
          await pool.exec('INSERT INTO kv (k, v) VALUES (?, 5)', [key]);
          acknowledged.push(key);
        }
      } finally {
        await pool.close();
      }
    }
    await expectEveryReplicaHoldsTheAcknowledgedRows();
  }, 60_000);

  it('drops what a connection left uncommitted when it vanished, and replicates what came after', async () => {
    for (let i = 0; i < 5; i++) {
      const client = await connect({ cluster: cluster.addresses, database: DATABASE });
      await client.exec('BEGIN');
      await client.exec('INSERT INTO kv (k, v) VALUES (?, 6)', [`dropped-${i}`]);
      await client.close(); // the socket goes, mid-transaction
      const key = `after-drop-${i}`;
      await oneShot('INSERT INTO kv (k, v) VALUES (?, 6)', [key]);
      acknowledged.push(key);
    }
    await expectEveryReplicaHoldsTheAcknowledgedRows();
  }, 60_000);

  it('keeps every acknowledged row when the leader is killed', async () => {
    const probe = await connect({ cluster: cluster.addresses, database: DATABASE });
    const leader = probe.address;
    await probe.close();
    await cluster.kill(leader);
    const key = 'after-kill';
    await oneShot('INSERT INTO kv (k, v) VALUES (?, 7)', [key]);
    acknowledged.push(key);
    expect(await storedKeys()).toEqual([...acknowledged].sort());
    await cluster.restart(leader);
    await expectEveryReplicaHoldsTheAcknowledgedRows();
  }, 90_000);
});
