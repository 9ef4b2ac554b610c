// canonical's Go shell (Debian's `dqlite`, go-dqlite's own connector and client) against a
// dqlite-ts cluster of separate processes: an independent client that must find our leader, run
// SQL with every value type, and read the cluster, leader, metadata and database files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../index.js';
import type { ClusterHandle } from './cluster-provider.js';
import { dqliteTsProvider } from './dqlite-ts-cluster.js';
import { GO_SHELL_BINARY, goShell, parseGoShellCluster, parseGoShellLeader } from './go-shell.js';
import { cDqliteProvider } from './c-cluster.js';
import { requirePeer } from './peer-available.js';

const DATABASE = 'shell';

// The Go shell ships with the C server's package; c-dqlite's check says how to install both.
const goShellPresent = requirePeer({
  ...cDqliteProvider,
  name: `go-dqlite shell (${GO_SHELL_BINARY})`,
});

describe.skipIf(!goShellPresent)('the go-dqlite shell against dqlite-ts', () => {
  let cluster: ClusterHandle;
  const shell = (command: string, addresses?: readonly string[]) =>
    goShell(addresses ?? cluster.addresses, DATABASE, command, 15_000);

  beforeAll(async () => {
    cluster = await dqliteTsProvider.start({ nodes: 3 });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('creates, inserts and selects every value type', async () => {
    await shell(
      'CREATE TABLE v (i INTEGER, f FLOAT, t TEXT, b BLOB, n TEXT, d DATETIME, ok BOOLEAN)',
    );
    await shell(
      "INSERT INTO v VALUES (-42, 1.5, 'héllo', x'0102', NULL, '2026-11-26 10:00:00', 1)",
    );
    await shell("INSERT INTO v VALUES (9007199254740993, -0.25, '', x'', NULL, NULL, 0)");
    const rows = (await shell('SELECT i, f, t, b, n, ok FROM v ORDER BY i')).trim().split('\n');
    expect(rows).toEqual([
      '-42|1.5|héllo|[1 2]|<nil>|true',
      '9007199254740993|-0.25||[]|<nil>|false',
    ]);
    const dates = (await shell('SELECT d FROM v ORDER BY i')).trim().split('\n');
    expect(dates[0]).toMatch(/^2026-11-26 10:00:00/);
  });

  it('reads .cluster and .leader as our client does', async () => {
    const members = parseGoShellCluster(await shell('.cluster'));
    expect(members.map((member) => member.address).sort()).toEqual([...cluster.addresses].sort());
    expect(members.every((member) => member.role === 'voter')).toBe(true);
    const client = await connect({ cluster: [...cluster.addresses], database: DATABASE });
    const leader = parseGoShellLeader(await shell('.leader'));
    expect(leader).toBe(client.address);
    expect(members.map((member) => member.id).sort()).toEqual(
      (await client.cluster()).map((member) => member.id).sort(),
    );
    await client.close();
  });

  it('describes a node and dumps the database', async () => {
    const address = cluster.addresses[1] as string;
    expect((await shell(`.describe ${address}`)).trim()).toBe(`${address}|0|0`);
    // `.dump ADDR DB` writes the node's database file and WAL into the shell's directory.
    const leader = parseGoShellLeader(await shell('.leader'));
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'go-shell-dump-'));
    try {
      const output = await goShell(
        cluster.addresses,
        DATABASE,
        `.dump ${leader} ${DATABASE}`,
        15_000,
        directory,
      );
      expect(output.trim()).toBe('OK');
      expect(fs.readdirSync(directory).sort()).toEqual([DATABASE, `${DATABASE}-wal`]);
      const copy = new Database(path.join(directory, DATABASE));
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.prepare('SELECT t FROM v WHERE i = -42').pluck().get()).toBe('héllo');
      copy.close();
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  it('works when given only a follower address', async () => {
    const leader = parseGoShellLeader(await shell('.leader'));
    const follower = cluster.addresses.find((address) => address !== leader) as string;
    expect((await shell('SELECT count(*) FROM v', [follower])).trim()).toBe('2');
    expect(parseGoShellLeader(await shell('.leader', [follower]))).toBe(leader);
  });
});
