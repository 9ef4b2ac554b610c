// Many databases on one cluster of processes, as an application with a database per tenant uses
// it: each written through clients that connect, write and go, while snapshots (every 64
// entries) carry all of them, a follower is killed and restarted from its snapshot and log, and
// the leader is killed. Every acknowledged row is there, in its own database, and every node
// holds the same data in every database (the product's content check over all of them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bin/local-cluster.js';
import { connect } from '../../index.js';
import { checkAndStop, converged } from './node-content.js';

const DATABASES = 40;
const nameOf = (i: number) => `tenant-${i}`;

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await LocalCluster.start({ nodes: 3, nodeArgs: ['--snapshot-entries', '64'] });
}, 60_000);

afterAll(() => checkAndStop(cluster), 60_000);

/** One row into database `i` through a client of its own, which closes once it is answered. */
async function writeOnce(i: number, row: number): Promise<void> {
  const client = await connect({ cluster: cluster.addresses, database: nameOf(i) });
  try {
    await client.exec('CREATE TABLE IF NOT EXISTS t (row INTEGER PRIMARY KEY, tenant TEXT)');
    await client.exec('INSERT INTO t VALUES (?, ?)', [row, nameOf(i)]);
  } finally {
    await client.close();
  }
}

async function leaderAddress(): Promise<string> {
  const client = await connect({ cluster: cluster.addresses, database: nameOf(0) });
  await client.close();
  return client.address;
}

describe('forty databases on one cluster', () => {
  it('keeps each database its own rows through snapshots, a follower restart and a leader kill', async () => {
    const written = new Map<number, number>();
    const writeRound = async (row: number) => {
      for (let i = 0; i < DATABASES; i++) {
        await writeOnce(i, row);
        written.set(i, row);
      }
    };
    await writeRound(1);
    await writeRound(2);
    // A follower restarts from its own snapshot (taken every 64 entries, so holding databases
    // written in earlier rounds) and the log after it.
    const leader = await leaderAddress();
    const follower = cluster.addresses.find((address) => address !== leader)!;
    await cluster.kill(follower);
    await writeRound(3);
    await cluster.restart(follower);
    await cluster.kill(leader);
    await writeRound(4);
    await cluster.restart(leader);

    for (let i = 0; i < DATABASES; i++) {
      const client = await connect({ cluster: cluster.addresses, database: nameOf(i) });
      try {
        const { rows } = await client.query('SELECT row, tenant FROM t ORDER BY row');
        expect(rows).toEqual(Array.from({ length: written.get(i)! }, (_, r) => [r + 1, nameOf(i)]));
      } finally {
        await client.close();
      }
    }
    // Spot checks of whole files on every node; checkAndStop then compares all forty.
    for (const i of [0, DATABASES - 1]) {
      const content = await converged(cluster.addresses, nameOf(i));
      expect(content.rows.t).toBe(4);
    }
  }, 180_000);
});
