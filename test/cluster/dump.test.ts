// DUMP from the leader gives committed data only. The leader runs a write in SQLite before Raft
// commits it, so its files can hold a transaction that never commits; a DUMP that read them at
// once would hand out a row no other node will ever have.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../index.js';
import { startEmbeddedCluster, type EmbeddedCluster } from './embedded-cluster.js';

/** The names in table t of a DUMP's files, opened as SQLite opens them. */
function namesIn(files: readonly { name: string; data: Buffer }[]): string[] {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dump-'));
  try {
    for (const file of files) fs.writeFileSync(path.join(directory, file.name), file.data);
    const db = new Database(path.join(directory, files[0]!.name), { readonly: true });
    try {
      return db
        .prepare('SELECT name FROM t ORDER BY name')
        .pluck()
        .all()
        .map((name) => String(name));
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

describe('DUMP on a leader', () => {
  let cluster: EmbeddedCluster | undefined;
  afterAll(async () => {
    await cluster?.close();
  });

  it('holds no transaction that is not committed', async () => {
    // A long election timeout: the leader that lost its followers keeps leading (and keeps its
    // uncommitted write in its files) for seconds, not for 300 ms.
    cluster = await startEmbeddedCluster('dump', {
      raft: { electionTimeoutTicks: 50, heartbeatTicks: 2 },
    });
    const client = await connect({ cluster: [...cluster.addresses], database: 'dumped' });
    await client.exec('CREATE TABLE t (name TEXT)');
    await client.exec("INSERT INTO t VALUES ('committed')");
    expect(namesIn(await client.dump())).toEqual(['committed']);

    // Without its followers the leader runs the next write but cannot commit it.
    const leader = client.address;
    for (const [address, node] of cluster.nodes) {
      if (address === leader) continue;
      await node.close();
      cluster.nodes.delete(address);
    }
    const stranded = await connect({ cluster: [leader], database: 'dumped' });
    const never = stranded.exec("INSERT INTO t VALUES ('never committed')").catch(() => 'failed');
    await sleep(500);
    // The answer waits for a commit that cannot come: a failure, or files without that row.
    const dumped = await connect({ cluster: [leader], database: 'dumped', requestTimeoutMs: 3000 })
      .then((dumper) => dumper.dump().finally(() => dumper.close()))
      .catch((error: Error) => error);
    if (!(dumped instanceof Error)) expect(namesIn(dumped)).toEqual(['committed']);
    await stranded.close().catch(() => undefined);
    await never;
    await client.close().catch(() => undefined);
  }, 120_000);
});
