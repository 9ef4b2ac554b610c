// A cluster nobody answers for: generic-pool would retry a failing `create` forever without
// rejecting its waiters; the pool must still end every call at its deadline, say why, and stay
// quiet unless asked (an 'error' event without a listener must not crash the process).

import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, NoLeaderError, NotDqliteError } from '../../../drivers/client/index.js';
import { createPool, PoolTimeoutError } from '../../../drivers/pool/index.js';
import type { LeaderPool, PoolLogger } from '../../../drivers/pool/index.js';
import { UNREACHABLE_GIVE_UP_MS } from '../../../drivers/client/connector.js';
import { ACQUIRE_SLICE_MS } from '../../../drivers/pool/lease-pool.js';
import { startScriptedNode } from '../client/scripted-node.js';

let pool: LeaderPool | undefined;
afterEach(async () => {
  await pool?.close();
});

/** A loopback port with nothing listening on it. */
async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

describe('pool without a reachable leader', () => {
  it('ends the call at its deadline with the discovery failure as cause', async () => {
    pool = createPool({ cluster: [await deadAddress()], database: 'app', leaderTimeoutMs: 100 });
    const started = Date.now();
    const error = await pool.query('SELECT 1', [], { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect((error as PoolTimeoutError).cause).toBeInstanceOf(NoLeaderError);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('reports open failures to the logger and to error listeners only', async () => {
    const warnings: string[] = [];
    const logger: PoolLogger = { warn: (message) => warnings.push(message) };
    pool = createPool({
      cluster: [await deadAddress()],
      database: 'app',
      leaderTimeoutMs: 100,
      logger,
    });
    await pool.query('SELECT 1', [], { timeoutMs: 300 }).catch(() => undefined); // no listener: no crash
    const seen: unknown[] = [];
    pool.on('error', (error) => seen.push(error));
    await pool.query('SELECT 1', [], { timeoutMs: 300 }).catch(() => undefined);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toBeInstanceOf(NoLeaderError);
    expect(warnings).toContain('dqlite-ts pool: could not open a connection to the leader');
  });

  it('closes promptly, even with abandoned waiters and discovery in progress', async () => {
    pool = createPool({ cluster: [await deadAddress()], database: 'app', leaderTimeoutMs: 20_000 });
    const calls = Array.from({ length: 5 }, () =>
      pool!.query('SELECT 1', [], { timeoutMs: 200 }).catch((e: unknown) => e),
    );
    for (const outcome of await Promise.all(calls))
      expect(outcome).toBeInstanceOf(PoolTimeoutError);
    const started = Date.now();
    await pool.close();
    // An abandoned request lives at most one acquire slice; discovery stops at once.
    expect(Date.now() - started).toBeLessThan(ACQUIRE_SLICE_MS + 1000);
  });
});

/** Starts `server` on a free loopback port; returns its address and a way to stop it. */
async function listening(server: net.Server): Promise<{ address: string; stop: () => void }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { address: `127.0.0.1:${port}`, stop: () => server.close() };
}

describe('a cluster the pool cannot reach, told apart from a slow one', () => {
  it('reports a cluster where nothing listens in seconds, naming each address, not at the deadline', async () => {
    const addresses = [await deadAddress(), await deadAddress(), await deadAddress()];
    pool = createPool({ cluster: addresses, database: 'app', timeoutMs: 60_000 });
    const error = await pool.query('SELECT 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoLeaderError);
    expect(error).toMatchObject({ unreachable: true });
    expect((error as Error).message).toMatch(/^no node of the cluster accepted a connection/);
    for (const address of addresses) {
      const attempt = (error as NoLeaderError).attempts.find((a) => a.address === address);
      expect(attempt?.outcome).toContain('ECONNREFUSED');
    }
    // The client alone stops by the same rule, well before its leaderTimeoutMs.
    const alone = await connect({
      cluster: addresses,
      database: 'app',
      leaderTimeoutMs: 60_000,
    }).catch((e: unknown) => e);
    expect(alone).toMatchObject({ name: 'NoLeaderError', unreachable: true });
  }, 30_000);

  it('recognises a peer that is not a Dqlite node at once, and says what it answered', async () => {
    const web = await listening(http.createServer((_request, response) => response.end('hi')));
    try {
      pool = createPool({ cluster: [web.address], database: 'app', timeoutMs: 60_000 });
      const error = await pool.query('SELECT 1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotDqliteError);
      expect((error as Error).message).toContain('does not speak the Dqlite protocol');
      expect((error as Error).message).toContain('HTTP/1.1 400');
    } finally {
      web.stop();
    }
  }, 30_000);

  it('keeps looking while a node answers, even when it names a leader that is gone', async () => {
    // Right after a leader dies its followers name it until they elect another: that is hope.
    const follower = await startScriptedNode(() => undefined);
    try {
      const dead = await deadAddress();
      follower.leaderAddress = dead;
      const error = await connect({
        cluster: [dead, follower.address],
        database: 'app',
        leaderTimeoutMs: UNREACHABLE_GIVE_UP_MS + 1500,
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'NoLeaderError', unreachable: false });
      expect((error as NoLeaderError).attempts).toContainEqual({
        address: follower.address,
        outcome: `names ${dead} as the leader`,
      });
    } finally {
      await follower.close();
    }
  }, 30_000);

  it('keeps trying a node that accepts but does not answer, and the timeout says what it saw', async () => {
    const silent = await listening(net.createServer(() => undefined));
    try {
      pool = createPool({
        cluster: [silent.address],
        database: 'app',
        requestTimeoutMs: 200,
        timeoutMs: 3000,
      });
      const error = await pool.query('SELECT 1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PoolTimeoutError);
      const cause = (error as PoolTimeoutError).cause;
      expect(cause).toBeInstanceOf(NoLeaderError);
      expect((cause as NoLeaderError).attempts).toEqual([
        { address: silent.address, outcome: expect.stringContaining('no answer within 200 ms') },
      ]);
      expect((error as Error).message).toContain(silent.address);
    } finally {
      silent.stop();
    }
  }, 30_000);
});
