// Tests the c-dqlite cluster harness itself against real dqlite-demo processes, observed through
// the go-dqlite shell. The steps share one cluster and run in order (vitest runs the tests of a
// file sequentially): start, query, kill the leader, restart it, stop.

import { existsSync } from 'node:fs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { cDqliteProvider, DEMO_DATABASE } from './c-cluster.js';
import type { CDqliteClusterHandle } from './c-cluster.js';
import { goShell, parseGoShellCluster, parseGoShellLeader } from './go-shell.js';
import { requirePeer } from './peer-available.js';
import { pollUntil } from './poll-until.js';

/** A raft election after a SIGKILL took 5-10 s here; leave room for a slow CI machine. */
const ELECTION_TIMEOUT_MS = 30_000;
const SHELL_PROBE_TIMEOUT_MS = 3_000;
const POLL_INTERVAL_MS = 200;

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0 only checks existence
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls `.leader`, asking only `askAddresses`, until it names one of `leaderCandidates`. */
async function waitForLeader(
  askAddresses: readonly string[],
  leaderCandidates: readonly string[],
): Promise<string> {
  const probe = async (remainingMs: number): Promise<string | undefined> => {
    const timeoutMs = Math.min(SHELL_PROBE_TIMEOUT_MS, remainingMs);
    const output = await goShell(askAddresses, DEMO_DATABASE, '.leader', timeoutMs);
    const leader = parseGoShellLeader(output);
    return leaderCandidates.includes(leader) ? leader : undefined;
  };
  const options = {
    timeoutMs: ELECTION_TIMEOUT_MS,
    intervalMs: POLL_INTERVAL_MS,
    description: `a leader among ${leaderCandidates.join(', ')} (asking ${askAddresses.join(', ')})`,
  };
  return pollUntil(probe, options);
}

describe.skipIf(!requirePeer(cDqliteProvider))('c-dqlite cluster provider', () => {
  let cluster: CDqliteClusterHandle;
  let killedAddress = '';

  beforeAll(async () => {
    cluster = await cDqliteProvider.start({ nodes: 3 });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  it('starts 3 voters at the addresses it reports', async () => {
    expect(cluster.addresses).toHaveLength(3);
    const members = parseGoShellCluster(
      await goShell(cluster.addresses, DEMO_DATABASE, '.cluster'),
    );
    expect(members.map((member) => member.address).sort()).toEqual([...cluster.addresses].sort());
    expect(members.every((member) => member.role === 'voter')).toBe(true);
    // go-dqlite's bootstrap node always gets this fixed id.
    const first = members.find((member) => member.address === cluster.addresses[0]);
    expect(first?.id).toBe(0x2dc171858c3155ben);
  });

  it('runs SQL through the go shell', async () => {
    const run = (sql: string): Promise<string> => goShell(cluster.addresses, DEMO_DATABASE, sql);
    await run('CREATE TABLE IF NOT EXISTS h (x)');
    await run('DELETE FROM h');
    expect(await run("INSERT INTO h VALUES (1), ('two')")).toBe('');
    expect(await run('SELECT x, typeof(x) FROM h ORDER BY rowid')).toBe('1|integer\ntwo|text\n');
    await expect(run('SELECT * FROM missing_table')).rejects.toThrow(/no such table/);
  });

  it('elects a new leader among the survivors when the leader is killed', async () => {
    const leader = parseGoShellLeader(await goShell(cluster.addresses, DEMO_DATABASE, '.leader'));
    expect(cluster.addresses).toContain(leader);
    await cluster.kill(leader);
    killedAddress = leader;
    const survivors = cluster.addresses.filter((address) => address !== leader);
    const newLeader = await waitForLeader(survivors, survivors);
    expect(survivors).toContain(newLeader);
  }, 60_000);

  it('restarts the killed node and it serves again as a voter', async () => {
    expect(killedAddress).not.toBe('');
    await cluster.restart(killedAddress);
    // Only a voter that hears from the leader answers LEADER with an address; asking through the
    // restarted node alone therefore proves it rejoined (standbys and spares answer "no leader").
    await waitForLeader([killedAddress], cluster.addresses);
    const members = parseGoShellCluster(
      await goShell(cluster.addresses, DEMO_DATABASE, '.cluster'),
    );
    expect(members.find((member) => member.address === killedAddress)?.role).toBe('voter');
  }, 60_000);

  it('stop() ends every process it started and removes the data directories', async () => {
    const pids = cluster.nodes.flatMap((node) => node.pids);
    expect(pids.length).toBe(4); // 3 starts + 1 restart
    await cluster.stop();
    expect(pids.filter(isProcessAlive)).toEqual([]);
    expect(cluster.nodes.filter((node) => existsSync(node.dataDirectory))).toEqual([]);
    await cluster.stop(); // idempotent
    await expect(cluster.kill(cluster.addresses[0] ?? '')).rejects.toThrow(/stopped/);
  }, 30_000);
});
