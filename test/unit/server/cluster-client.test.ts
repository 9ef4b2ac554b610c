// A node asks other nodes things (join, probes, content checks) over the same wire connection as
// the client: these check that it gets the answers, and the client's errors when it does not.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectionError,
  HandshakeError,
  NotDqliteError,
  TimeoutError,
} from '../../../drivers/client/index.js';
import { probeOnline, requestLeader, requestOnce } from '../../../src/server/cluster-client.js';
import { startScriptedNode } from '../client/scripted-node.js';
import type { RequestHandler, ScriptedNode } from '../client/scripted-node.js';

const started: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
});

/** A scripted node that answers DESCRIBE with weight `weight` and ignores anything else. */
async function describingNode(weight: bigint): Promise<ScriptedNode> {
  const handler: RequestHandler = (request, socket, node) => {
    if (request.type === 'DESCRIBE') {
      node.send(socket, { type: 'METADATA', failureDomain: 0n, weight });
    }
  };
  const node = await startScriptedNode(handler);
  started.push(node);
  return node;
}

/** A loopback TCP server that treats each connection with `onConnection`. */
async function rawServer(onConnection: (socket: net.Socket) => void): Promise<string> {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  started.push({ close: () => void server.close() });
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** A loopback port with nothing listening on it. */
async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

describe('requestOnce', () => {
  it('sends one request on a fresh connection and returns the answer', async () => {
    const node = await describingNode(7n);
    const answer = await requestOnce(node.address, { type: 'DESCRIBE', format: 0n });
    expect(answer).toEqual({ type: 'METADATA', failureDomain: 0n, weight: 7n });
    expect(node.requests.map((request) => request.type)).toEqual(['DESCRIBE']);
  });

  it('keeps to its timeout, connection included, with the TimeoutError the client gets', async () => {
    const node = await describingNode(1n);
    const begun = Date.now();
    const error = await requestOnce(node.address, { type: 'WEIGHT', weight: 2n }, 300).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ address: node.address, request: 'WEIGHT', requestSent: true });
    expect(Date.now() - begun).toBeLessThan(2000);
  });

  it('says that nothing listens', async () => {
    const address = await deadAddress();
    const error = await requestOnce(address, { type: 'LEADER', unused: 0n }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).not.toBeInstanceOf(HandshakeError);
    expect((error as Error).message).toMatch(/^could not connect: .*ECONNREFUSED/);
    expect((error as Error).message).toContain(address);
  });

  it('tells a node that closes before answering (as one that requires TLS does) from a foreign peer', async () => {
    const closing = await rawServer((socket) => socket.end());
    const refused = await requestOnce(closing, { type: 'LEADER', unused: 0n }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(HandshakeError);
    expect((refused as Error).message).toMatch(
      /before answering the first request: it may require TLS/,
    );

    const web = await rawServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const foreign = await requestOnce(web, { type: 'LEADER', unused: 0n }).catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(NotDqliteError);
    expect((foreign as Error).message).toContain('HTTP/1.1 400');
  });

  it('refuses a malformed address before dialling', async () => {
    await expect(requestOnce('no-port', { type: 'LEADER', unused: 0n })).rejects.toThrow(
      RangeError,
    );
  });
});

describe('requestLeader', () => {
  it('asks the leader that the first node to know one names', async () => {
    const voter = await describingNode(1n);
    const leader = await describingNode(2n);
    voter.leaderAddress = leader.address;
    const undecided = await describingNode(3n);
    undecided.leaderAddress = '';
    const dead = await deadAddress();
    const answer = await requestLeader([dead, undecided.address, voter.address], {
      type: 'DESCRIBE',
      format: 0n,
    });
    expect(answer).toMatchObject({ type: 'METADATA', weight: 2n });
    expect(voter.requests.map((request) => request.type)).toEqual(['LEADER']);
    expect(leader.requests.map((request) => request.type)).toEqual(['DESCRIBE']);
  });

  it('fails with the last reason when no address leads anywhere', async () => {
    const undecided = await describingNode(3n);
    undecided.leaderAddress = '';
    await expect(
      requestLeader([await deadAddress(), undecided.address], { type: 'DESCRIBE', format: 0n }),
    ).rejects.toThrow(`${undecided.address} knows no leader`);
  });
});

describe('probeOnline', () => {
  it('names the nodes that answer DESCRIBE in time', async () => {
    const up = await describingNode(1n);
    const silent = await startScriptedNode(() => undefined);
    started.push(silent);
    const servers = [
      { id: 1, address: up.address },
      { id: 2, address: silent.address },
      { id: 3, address: await deadAddress() },
    ];
    expect(await probeOnline(servers, 300)).toEqual(new Set([1]));
  });
});
