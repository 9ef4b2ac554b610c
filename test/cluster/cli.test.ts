// The command line as users run it: the demo (the README's main job) and the SQL shell against a
// cluster of `dqlite-ts node` processes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, cliCommand, freePorts } from '../../bin/local-cluster.js';
import { encodeHandshake } from '../../src/wire/index.js';
import { cli, startCliNode } from './cli-process.js';
import { checkAndStop } from './node-content.js';

describe('dqlite-ts demo', () => {
  it('kills the leader under load and reports the recovery, with no row lost', async () => {
    const { stdout } = await cli('demo', '--seconds', '2');
    expect(stdout).toMatch(/time to recover +\d+ ms/);
    expect(stdout).toMatch(/rows lost +0\n/);
    const acknowledged = Number(/rows acknowledged (\d+)/.exec(stdout)?.[1]);
    expect(acknowledged).toBeGreaterThan(0);
    expect(stdout).toContain(`rows in the table ${acknowledged}`);
    // Node ids in hexadecimal, as every other command prints them: the killed leader is one of
    // the nodes listed at the start.
    const listed = [...stdout.matchAll(/ {2}node ([0-9a-f]+) at \S+: voter/g)].map((m) => m[1]);
    const oldLeader = /old leader +node ([0-9a-f]+) at/.exec(stdout)?.[1];
    expect(listed).toContain(oldLeader);
    expect(listed).toContain(/new leader +node ([0-9a-f]+) at/.exec(stdout)?.[1]);
  }, 100_000);
});

describe('dqlite-ts shell', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await LocalCluster.start({ nodes: 3 });
  }, 60_000);
  afterAll(async () => {
    await checkAndStop(cluster);
  });

  it('runs SQL and dot-commands, as a table or as JSON', async () => {
    const shell = (...args: string[]) =>
      cli('shell', '--cluster', cluster.addresses.join(','), ...args);
    expect((await shell('app', 'CREATE TABLE t (k INTEGER, v TEXT)')).stdout).toContain(
      'rows_affected',
    );
    await shell('app', "INSERT INTO t VALUES (1, 'one'), (2, NULL)");
    expect((await shell('app', 'SELECT k, v FROM t ORDER BY k')).stdout).toBe(
      'k | v\n--+-----\n1 | one\n2 | NULL\n',
    );
    expect((await shell('--format', 'json', 'app', 'SELECT k, v FROM t ORDER BY k')).stdout).toBe(
      '{"k":1,"v":"one"}\n{"k":2,"v":null}\n',
    );
    const members = (await shell('--format', 'json', 'app', '.cluster')).stdout.trim().split('\n');
    expect(members.map((line) => (JSON.parse(line) as { address: string }).address).sort()).toEqual(
      [...cluster.addresses].sort(),
    );
    expect((await shell('app', '.leader')).stdout).toMatch(/127\.0\.0\.1:\d+/);
    expect((await shell('app', '.describe')).stdout).toContain('failure_domain');
    expect((await shell('app', '.dump')).stdout).toMatch(/app-wal/);
    const failed = await shell('app', 'SELEC 1').catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toContain('syntax error');
  }, 60_000);

  it('runs every statement of a line, and exits 1 when any failed', async () => {
    const shell = (...args: string[]) =>
      cli('shell', '--cluster', cluster.addresses.join(','), '--format', 'json', ...args);
    expect((await shell('lines', 'SELECT 1 AS a; SELECT 2 AS b;')).stdout).toBe(
      '{"a":1}\n{"b":2}\n',
    );
    const failed = (await shell('lines', 'SELECT 1 AS a; SELEC 2; SELECT 3 AS c').catch(
      (error: unknown) => error,
    )) as { code: number; stdout: string; stderr: string };
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('{"a":1}\n{"c":3}\n');
    expect(failed.stderr).toContain('syntax error');
  }, 60_000);

  it('prints node ids in hexadecimal, takes them in either form, and follows the leader', async () => {
    const addresses = cluster.addresses.join(',');
    const members = (
      await cli('shell', '--cluster', addresses, '--format', 'json', 'app', '.cluster')
    ).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; address: string });
    for (const { id } of members) expect(id).toMatch(/^[0-9a-f]+$/);
    const leader = (await cli('leader', '--cluster', addresses)).stdout.trim().split(' ')[0];
    expect(members.map((member) => member.id)).toContain(leader); // one format everywhere
    const followers = members.filter((member) => member.id !== leader);
    const [first, second] = followers as [(typeof followers)[0], (typeof followers)[0]];
    const decimal = BigInt(`0x${second.id}`).toString();
    const script = [
      'CREATE TABLE moved (n INTEGER);',
      `.transfer ${first.id}`,
      'INSERT INTO moved VALUES (1);',
      `.transfer ${decimal}`,
      'INSERT INTO moved VALUES (2);',
      '.leader',
      'SELECT count(*) AS n FROM moved;',
    ].join('\n');
    const run = await shellScript(['--cluster', addresses, '--format', 'json', 'app'], script);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`leader: ${first.address}`);
    expect(run.stdout).toContain(`leader: ${second.address}`);
    expect(run.stdout).toContain(`{"id":"${second.id}","address":"${second.address}"}`);
    expect(run.stdout).toContain('{"n":2}');
    const unknown = await shellScript(['--cluster', addresses, 'app'], '.transfer 0xdeadbeef\n');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no node has id 0xdeadbeef');
  }, 90_000);
});

/** `dqlite-ts shell ...args` reading `input` as its standard input (a script, as from a pipe). */
function shellScript(args: readonly string[], input: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [...cliCommand(), 'shell', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('dqlite-ts <command> --help', () => {
  it("prints the command's usage and exits 0", async () => {
    for (const command of ['node', 'shell', 'check', 'demo', 'query']) {
      const { stdout } = await cli(command, '--help');
      expect(stdout.startsWith(`dqlite-ts ${command === 'query' ? '<query|' : command}`)).toBe(
        true,
      );
    }
  }, 60_000);
});

describe('dqlite-ts node --limit', () => {
  it('refuses an unknown limit or a malformed setting, naming it', async () => {
    const failed = (await cli(
      'node',
      '--address',
      '127.0.0.1:1',
      '--data',
      '/nonexistent',
      '--limit',
      'connections=5',
    ).catch((error: unknown) => error)) as { code: number; stderr: string };
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain('unknown limit "connections"');
    const malformed = (await cli(
      'node',
      '--address',
      '127.0.0.1:1',
      '--data',
      '/nonexistent',
      '--limit',
      'idleTimeoutMs',
    ).catch((error: unknown) => error)) as { code: number; stderr: string };
    expect(malformed.stderr).toContain('--limit takes NAME=INTEGER');
  }, 30_000);

  it('passes the limit to the node: a silent connection closes after --limit idleTimeoutMs', async () => {
    const [port] = await freePorts(1);
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-limit-'));
    const child = await startCliNode([
      '--address',
      `127.0.0.1:${port}`,
      '--data',
      data,
      '--voters',
      '1',
      '--limit',
      'idleTimeoutMs=300',
    ]);
    try {
      const socket = net.connect({ host: '127.0.0.1', port: port as number });
      const started = Date.now();
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(encodeHandshake());
      await new Promise((resolve) => socket.once('close', resolve));
      // The default is an hour: closing at all, well within a minute, shows the flag took.
      expect(Date.now() - started).toBeLessThan(60_000);
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(data, { recursive: true, force: true });
    }
  }, 30_000);
});
