// The pool's own limits, against a scripted node that holds queries until told to answer:
// never more than `max` connections, a bounded waiting line, and deadlines on waiting.

import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError } from '../../../drivers/client/index.js';
import { createPool, PoolQueueFullError, PoolTimeoutError } from '../../../drivers/pool/index.js';
import type { LeaderPool } from '../../../drivers/pool/index.js';
import { ValueType } from '../../../src/wire/index.js';
import { startScriptedNode } from '../client/scripted-node.js';
import type { ScriptedNode } from '../client/scripted-node.js';

let node: ScriptedNode | undefined;
let pool: LeaderPool | undefined;
afterEach(async () => {
  await pool?.close();
  await node?.close();
});

/** A node whose QUERY_SQL answers wait until `answerAll()`. */
async function holdingNode() {
  const held: (() => void)[] = [];
  node = await startScriptedNode((request, socket: net.Socket, scripted) => {
    if (request.type !== 'QUERY_SQL') return;
    held.push(() =>
      scripted.send(socket, {
        type: 'ROWS',
        columns: ['x'],
        rows: [[{ type: ValueType.INTEGER, value: 1n }]],
        more: false,
      }),
    );
  });
  const counting = node;
  return {
    address: counting.address,
    answerAll: () => held.splice(0).forEach((answer) => answer()),
    held: () => held.length,
    connections: () => counting.requests.filter((request) => request.type === 'OPEN').length,
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('pool limits', () => {
  it('opens at most max connections and bounds the waiting line', async () => {
    const scripted = await holdingNode();
    pool = createPool({ cluster: [scripted.address], database: 'app', max: 2, waitingMax: 3 });
    // Callers waiting for a connection that is still being opened count as waiting too, so fill
    // the connections first, then the line.
    const calls = [pool.query('SELECT 1'), pool.query('SELECT 1')];
    await settle();
    calls.push(...Array.from({ length: 3 }, () => pool!.query('SELECT 1')));
    await settle();
    expect(scripted.held()).toBe(2);
    expect(pool.stats()).toMatchObject({ size: 2, borrowed: 2, waiting: 3 });
    await expect(pool.query('SELECT 1')).rejects.toThrow(PoolQueueFullError);
    for (let round = 0; round < 3 && scripted.held() > 0; round++) {
      scripted.answerAll();
      await settle();
    }
    await Promise.all(calls);
    expect(scripted.connections()).toBe(2);
  });

  it('ends a wait for a connection at the call deadline', async () => {
    const scripted = await holdingNode();
    pool = createPool({ cluster: [scripted.address], database: 'app', max: 1 });
    const blocking = pool.query('SELECT 1');
    await settle();
    const started = Date.now();
    const error = await pool.query('SELECT 2', [], { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(Date.now() - started).toBeLessThan(1000);
    scripted.answerAll();
    await blocking;
  });

  it('ends a request the node never answers at the call deadline', async () => {
    const scripted = await holdingNode();
    pool = createPool({ cluster: [scripted.address], database: 'app' });
    const error = await pool.query('SELECT 1', [], { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(pool.stats().size).toBe(0); // the connection that timed out was closed, not reused
  });

  it('refuses calls once closed', async () => {
    const scripted = await holdingNode();
    pool = createPool({ cluster: [scripted.address], database: 'app' });
    await pool.close();
    await expect(pool.query('SELECT 1')).rejects.toThrow(ClosedError);
    await expect(pool.transaction(async () => 1)).rejects.toThrow(ClosedError);
  });

  it('never deadlocks a reserved connection against a pool writer waiting for a connection', async () => {
    node = await startScriptedNode((request, socket, scripted) => {
      if (request.type === 'EXEC_SQL')
        scripted.send(socket, { type: 'RESULT', lastInsertId: 0n, rowsAffected: 0 });
    });
    pool = createPool({ cluster: [node.address], database: 'app', max: 1, timeoutMs: 3000 });
    const reserved = await pool.reserve();
    const waiting = pool.exec('CREATE TABLE IF NOT EXISTS a (x)'); // waits for the one connection
    await settle();
    await expect(reserved.exec('CREATE TABLE IF NOT EXISTS b (x)')).resolves.toBeDefined();
    await reserved.release();
    await expect(waiting).resolves.toBeDefined();
  });
});
