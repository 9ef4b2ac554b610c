import { afterEach, describe, expect, it } from 'vitest';
import { ValueType } from '../../../src/wire/index.js';
import type { RowsResponse } from '../../../src/wire/index.js';
import {
  ConnectionError,
  DqliteError,
  NotLeaderError,
  ProtocolError,
  TimeoutError,
  connect,
} from '../../../drivers/client/index.js';
import type { ClientOptions } from '../../../drivers/client/index.js';
import { startScriptedNode } from './scripted-node.js';
import type { RequestHandler, ScriptedNode } from './scripted-node.js';

let node: ScriptedNode | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
});

async function clientOf(handler: RequestHandler, options: Partial<ClientOptions> = {}) {
  node = await startScriptedNode(handler);
  return connect({ cluster: [node.address], database: 'app', ...options });
}

const batch = (first: number, count: number, more: boolean): RowsResponse => ({
  type: 'ROWS',
  columns: ['x'],
  rows: Array.from({ length: count }, (_, i) => [
    { type: ValueType.INTEGER, value: BigInt(first + i) },
  ]),
  more,
});

describe('client connection faults', () => {
  it('fails every waiting request at once when the socket dies', async () => {
    const client = await clientOf((_request, socket) => socket.destroy());
    const waiting = Array.from({ length: 10 }, () =>
      client.query('SELECT 1').catch((error: unknown) => error),
    );
    const outcomes = await Promise.all(waiting);
    for (const outcome of outcomes) {
      expect(outcome).toBeInstanceOf(ConnectionError);
      expect(outcome).not.toBeInstanceOf(TimeoutError);
    }
    // Only the request in flight reached the node; the queued ones are safe to retry anywhere.
    expect(outcomes.map((outcome) => (outcome as ConnectionError).requestSent)).toEqual([
      true,
      ...new Array(9).fill(false),
    ]);
    expect(client.isOpen).toBe(false);
    await expect(client.query('SELECT 1')).rejects.toThrow(ConnectionError);
  });

  it('closes the connection on bytes that are not the protocol', async () => {
    const client = await clientOf((_request, socket) =>
      socket.write(Buffer.from('0000000008000000', 'hex')),
    );
    const error = await client.exec('SELECT 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).cause).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/empty body/);
    expect(client.isOpen).toBe(false);
  });

  it('refuses a response larger than messageBytesMax', async () => {
    const client = await clientOf(
      (_request, socket) => socket.write(Buffer.from('ffffff0007000000', 'hex')),
      { messageBytesMax: 4096 },
    );
    const error = await client.query('SELECT 1').catch((e: unknown) => e);
    expect((error as ConnectionError).cause).toMatchObject({ reason: 'oversized' });
  });

  it('times out a request the node never answers, and closes the connection', async () => {
    const client = await clientOf(() => undefined, { requestTimeoutMs: 100 });
    const error = await client.exec('SELECT 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).request).toBe('EXEC_SQL');
    expect(client.isOpen).toBe(false);
  });

  it('refuses requests beyond the queue limit', async () => {
    const client = await clientOf(() => undefined, { queueLengthMax: 2, requestTimeoutMs: 200 });
    const calls = Array.from({ length: 4 }, () =>
      client.exec('SELECT 1').catch((error: unknown) => error),
    );
    const outcomes = await Promise.all(calls);
    expect((outcomes[3] as Error).message).toMatch(/2 requests already queued/);
    expect(outcomes[0]).toBeInstanceOf(TimeoutError);
    expect(outcomes[0]).toMatchObject({ requestSent: true });
    expect(outcomes[1]).not.toBeInstanceOf(TimeoutError);
    expect(outcomes[1]).toMatchObject({ requestSent: false });
    expect((outcomes[1] as Error).message).toMatch(/for an earlier request/);
  });

  it('interrupts a query stopped early and drains it, as dqlite 1.11 answers', async () => {
    // dqlite 1.11 keeps pushing every batch after INTERRUPT, then answers EMPTY (§6.1).
    // The node holds back all but two batches until it reads INTERRUPT, so the query is still
    // running when the consumer stops.
    const client = await clientOf((request, socket, scripted) => {
      if (request.type === 'QUERY_SQL' && request.sql === 'big') {
        for (let index = 0; index < 2; index++) scripted.send(socket, batch(index * 10, 10, true));
      } else if (request.type === 'INTERRUPT') {
        for (let index = 2; index < 20; index++)
          scripted.send(socket, batch(index * 10, 10, index < 19));
        scripted.send(socket, { type: 'EMPTY', unused: 0n });
      } else {
        scripted.send(socket, batch(7, 1, false));
      }
    });
    let seen = 0;
    for await (const _row of client.iterate('big')) if (++seen === 15) break;
    expect(seen).toBe(15);
    expect(node!.requests.map((request) => request.type)).toContain('INTERRUPT');
    expect((await client.query('small')).rows).toEqual([[7]]);
  });

  it('pauses reading while a slow consumer holds buffered batches', async () => {
    const client = await clientOf((request, socket, scripted) => {
      if (request.type !== 'QUERY_SQL') return;
      for (let index = 0; index < 200; index++)
        scripted.send(socket, batch(index * 100, 100, index < 199));
    });
    let total = 0;
    for await (const row of client.iterate('rows')) {
      total += 1;
      if (total % 2000 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(row[0]).toBe(total - 1);
    }
    expect(total).toBe(20_000);
  });

  it('maps a FAILURE prefixed by a partial ROWS batch to the real error', async () => {
    const client = await clientOf((_request, socket, scripted) =>
      scripted.send(socket, {
        type: 'FAILURE',
        code: 1,
        message: 'integer overflow',
        partialBatch: batch(1, 3, false),
      }),
    );
    await expect(client.query('SELECT 1')).rejects.toMatchObject({
      code: 'SQLITE_ERROR',
      sqliteMessage: 'integer overflow',
    });
  });
});

describe("dqlite 1.11's code 7 for a write raft refused during a leadership change", () => {
  /** A node that fails EXEC_SQL with code 7, then names `leaderAfter` as leader. */
  async function nomemNode(leaderAfter: (self: string) => string) {
    const client = await clientOf((request, socket, scripted) => {
      if (request.type !== 'EXEC_SQL') return;
      scripted.leaderAddress = leaderAfter(scripted.address);
      scripted.send(socket, { type: 'FAILURE', code: 7, message: 'no more rows available' });
    });
    return client;
  }

  it('is a NotLeaderError once the node no longer names itself', async () => {
    const client = await nomemNode(() => '127.0.0.1:1');
    const error = await client.exec('INSERT INTO t VALUES (1)').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotLeaderError);
    expect((error as NotLeaderError).message).toMatch(/no longer the leader/);
  });

  it('stays SQLITE_NOMEM while the node is still the leader', async () => {
    const client = await nomemNode((self) => self);
    const error = await client.exec('INSERT INTO t VALUES (1)').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DqliteError);
    expect(error).not.toBeInstanceOf(NotLeaderError);
    expect(error).toMatchObject({ code: 'SQLITE_NOMEM', rawCode: 7 });
  });
});
