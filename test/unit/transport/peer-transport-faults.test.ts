import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType } from '../../../src/raft/types.js';
import type { Message } from '../../../src/raft/types.js';
import { PeerTransport, RaftTransportError } from '../../../src/transport/index.js';
import type { PeerErrorContext, PeerStats } from '../../../src/transport/index.js';
import { deadAddress, listen, startPeerNode, waitUntil } from './peer-node.js';
import type { PeerNode } from './peer-node.js';

/** Peers that restart, are gone, or stop reading: the transport recovers and stays bounded. */

const nodes: PeerNode[] = [];
const transports: PeerTransport[] = [];
const servers: net.Server[] = [];
const serverSockets: net.Socket[] = [];

afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  for (const socket of serverSockets.splice(0)) socket.destroy();
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

const timeoutNow = (term: number): Message => ({ type: 'TimeoutNow', from: 1, to: 2, term });

/** An AppendEntries carrying one command entry of `dataBytes` bytes. */
function append(dataBytes: number): Message {
  return {
    type: 'AppendEntries',
    from: 1,
    to: 2,
    term: 1,
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: [{ index: 1, term: 1, type: EntryType.command, data: new Uint8Array(dataBytes) }],
    leaderCommit: 0,
    heartbeatSequence: 0,
  };
}

/** A sending transport for node 1 that only dials (nothing listens for it). */
function sender(options: Partial<ConstructorParameters<typeof PeerTransport>[0]> = {}) {
  const errors: { error: Error; context: PeerErrorContext }[] = [];
  const transport = new PeerTransport({
    id: 1,
    address: '127.0.0.1:1',
    onMessage: () => {},
    onError: (error, context) => errors.push({ error, context }),
    reconnectDelayMillisecondsMin: 10,
    reconnectDelayMillisecondsMax: 40,
    ...options,
  });
  transports.push(transport);
  return { transport, errors, peer: (): PeerStats => transport.stats().peers[0]! };
}

/** A server that accepts connections and never reads from them. */
async function stalledPeer(): Promise<string> {
  const server = net.createServer((socket) => serverSockets.push(socket));
  servers.push(server);
  return `127.0.0.1:${await listen(server, 0)}`;
}

describe('PeerTransport recovering', () => {
  it('reconnects after the peer restarts its listener on the same port', async () => {
    const one = await startPeerNode(1, { reconnectDelayMillisecondsMin: 10 });
    const two = await startPeerNode(2);
    nodes.push(one, two);
    one.transport.setPeers([two]);
    one.transport.send(timeoutNow(1));
    await waitUntil(() => two.received.length === 1, 'the first message arrived');
    await two.stopListener();
    await waitUntil(() => !one.transport.stats().peers[0]!.connected, 'node 1 saw the loss');
    one.transport.send(timeoutNow(2)); // dials a closed port: refused, then backoff
    await waitUntil(() => one.errors.length > 0, 'a dial was refused');
    await two.startListener();
    let term = 3;
    // Raft would keep sending heartbeats; so does this loop, which waitUntil bounds.
    await waitUntil(() => {
      one.transport.send(timeoutNow(term++));
      return two.received.length > 1;
    }, 'a message arrived over the new connection');
    expect(one.transport.stats().peers[0]!.reconnects).toBeGreaterThanOrEqual(1);
    expect(one.errors[0]!.context).toEqual({ peerId: 2, direction: 'outbound' });
  });

  it('keeps the queues of a dead peer bounded and keeps redialling with backoff', async () => {
    const { transport, errors, peer } = sender({
      queueMessagesMax: 8,
      snapshotQueueMessagesMax: 2,
    });
    transport.setPeers([{ id: 2, address: await deadAddress() }]);
    for (let term = 1; term <= 100; term++) transport.send(timeoutNow(term));
    const snapshot = { type: 'InstallSnapshot' as const, from: 1, to: 2, term: 1 };
    const metadata = {
      index: 1,
      term: 1,
      configurationIndex: 1,
      bytes: 1,
      configuration: { servers: [{ id: 1, address: '127.0.0.1:1', role: 0 as const }] },
    };
    for (let offset = 0; offset < 5; offset++) {
      const data = new Uint8Array(1);
      transport.send({ ...snapshot, metadata, offset, data, done: false, heartbeatSequence: 0 });
    }
    expect(peer()).toMatchObject({ queuedMessages: 10, snapshotQueuedMessages: 2, dropped: 95 });
    await waitUntil(() => peer().reconnects >= 3, 'three redials');
    expect(peer()).toMatchObject({ connected: false, queuedMessages: 10, messagesSent: 0 });
    expect(errors.every((entry) => entry.context.peerId === 2)).toBe(true);
    transport.close();
    const errorsAtClose = errors.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors.length).toBe(errorsAtClose); // no timer dials after close
  });

  it('keeps the queue of a peer that never reads bounded, socket buffer included', async () => {
    const queueBytesMax = 1024 * 1024;
    const { transport, peer } = sender({ queueMessagesMax: 64, queueBytesMax });
    transport.setPeers([{ id: 2, address: await stalledPeer() }]);
    const frameBytes = 64 * 1024;
    transport.send(timeoutNow(1));
    let sent = 1;
    await waitUntil(() => peer().connected && peer().queuedMessages === 0, 'connected');
    // Bounded: the kernel's loopback buffers hold some megabytes, far below 100 rounds of 3 MiB.
    for (let round = 0; round < 100 && peer().dropped === 0; round++) {
      for (let count = 0; count < 50; count++, sent++) transport.send(append(frameBytes));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const stats = peer();
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.connected).toBe(true);
    // Megabytes went out before the first drop: the socket, not the dial, held them back.
    expect(stats.messagesSent).toBeGreaterThan(queueBytesMax / frameBytes);
    expect(stats.queuedMessages).toBeLessThanOrEqual(64);
    expect(stats.queuedBytes).toBeLessThanOrEqual(queueBytesMax);
    // The socket is written to only while it is not backed up: at most its high-water mark and
    // the one frame that crossed it wait in Node's buffer.
    expect(stats.writeBufferedBytes).toBeLessThanOrEqual(16 * 1024 + frameBytes + 200);
    expect(stats.messagesSent + stats.queuedMessages + stats.dropped).toBe(sent);
  });

  it('closes and redials a connection whose socket takes no bytes for writeStallTimeoutMilliseconds', async () => {
    const { transport, errors, peer } = sender({ writeStallTimeoutMilliseconds: 100 });
    transport.setPeers([{ id: 2, address: await stalledPeer() }]);
    // One 16 MiB message fills the loopback buffers and leaves the socket backed up.
    transport.send(append(16 * 1024 * 1024));
    const stalled = () => errors.find((entry) => entry.error instanceof RaftTransportError);
    await waitUntil(() => stalled() !== undefined, 'the stall was noticed');
    expect((stalled()!.error as RaftTransportError).reason).toBe('write-stall');
    await waitUntil(() => !peer().connected, 'the stalled connection closed');
    // Redials are lazy: the next message brings one.
    transport.send(timeoutNow(1));
    await waitUntil(() => peer().reconnects === 1 && peer().connected, 'redialled');
  });

  it('drops a message over frameBytesMax before queueing it, and says so', async () => {
    const { transport, errors, peer } = sender({ frameBytesMax: 64 * 1024 });
    transport.setPeers([{ id: 2, address: await deadAddress() }]);
    transport.send(append(64 * 1024));
    expect(peer()).toMatchObject({ dropped: 1, queuedMessages: 0, reconnects: 0 });
    expect((errors[0]!.error as RaftTransportError).reason).toBe('oversized');
  });
});
