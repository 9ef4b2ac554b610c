import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message, NodeId } from '../../../src/raft/types.js';
import {
  RaftTransportError,
  encodePeerHandshake,
  encodeRaftMessage,
} from '../../../src/transport/index.js';
import { sampleMessages } from './message-arbitraries.js';
import { closed, connectRaw, startPeerNode, waitUntil } from './peer-node.js';
import type { PeerNode } from './peer-node.js';

/** Real sockets on 127.0.0.1: transports exchanging messages, and peers that misbehave. */

const nodes: PeerNode[] = [];
const rawSockets: net.Socket[] = [];

afterEach(async () => {
  for (const socket of rawSockets.splice(0)) socket.destroy();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

async function cluster(count: number): Promise<PeerNode[]> {
  const started: PeerNode[] = [];
  for (let id = 1; id <= count; id++) {
    const node = await startPeerNode(id, { reconnectDelayMillisecondsMin: 10 });
    nodes.push(node);
    started.push(node);
  }
  for (const node of started) node.transport.setPeers(started);
  return started;
}

async function rawPeer(to: PeerNode, id: NodeId): Promise<net.Socket> {
  const socket = await connectRaw(to.port);
  rawSockets.push(socket);
  socket.on('error', () => {}); // the node closing on us is what some tests expect
  socket.write(encodePeerHandshake({ id, address: `127.0.0.1:${40_000 + id}` }));
  return socket;
}

/**
 * Messages split by send lane, each in its order: InstallSnapshot chunks travel in their own lane
 * and may be overtaken by the others, so only the order within a lane is promised.
 */
function byLane(messages: readonly Message[]): { normal: Message[]; snapshot: Message[] } {
  return {
    normal: messages.filter((message) => message.type !== 'InstallSnapshot'),
    snapshot: messages.filter((message) => message.type === 'InstallSnapshot'),
  };
}

function receivedFrom(node: PeerNode, from: NodeId): Message[] {
  return node.received.filter((message) => message.from === from);
}

describe('PeerTransport between nodes', () => {
  it('carries every message type between two nodes, both ways, in order per lane', async () => {
    const [one, two] = await cluster(2);
    for (const message of sampleMessages(1, 2)) one!.transport.send(message);
    for (const message of sampleMessages(2, 1)) two!.transport.send(message);
    const count = sampleMessages(1, 2).length;
    await waitUntil(
      () => one!.received.length === count && two!.received.length === count,
      'all arrived',
    );
    expect(byLane(two!.received)).toEqual(byLane(sampleMessages(1, 2)));
    expect(byLane(one!.received)).toEqual(byLane(sampleMessages(2, 1)));
    const stats = one!.transport.stats().peers[0]!;
    expect(stats).toMatchObject({ id: 2, connected: true, inboundConnected: true, dropped: 0 });
    expect(stats).toMatchObject({
      messagesSent: count,
      messagesReceived: count,
      queuedMessages: 0,
    });
    expect(stats.bytesSent).toBeGreaterThan(0);
    expect(stats.bytesReceived).toBe(
      two!.transport.stats().peers[0]!.bytesSent - handshakeBytes(2),
    );
  });

  it('carries every message type among three nodes', async () => {
    const three = await cluster(3);
    for (const from of three) {
      for (const to of three) {
        if (from !== to)
          for (const message of sampleMessages(from.id, to.id)) from.transport.send(message);
      }
    }
    const count = 2 * sampleMessages(1, 2).length;
    await waitUntil(() => three.every((node) => node.received.length === count), 'all arrived');
    for (const to of three) {
      for (const from of three) {
        if (from === to) continue;
        expect(byLane(receivedFrom(to, from.id))).toEqual(byLane(sampleMessages(from.id, to.id)));
      }
    }
  });

  it('counts messages to an unknown peer as unroutable, and ignores sends after close', async () => {
    const [one] = await cluster(1);
    one!.transport.send({ type: 'TimeoutNow', from: 1, to: 9, term: 1 });
    expect(one!.transport.stats().unroutable).toBe(1);
    one!.transport.close();
    one!.transport.send({ type: 'TimeoutNow', from: 1, to: 9, term: 1 });
    expect(one!.transport.stats()).toEqual({ peers: [], unroutable: 1, refusedConnections: 0 });
  });

  it('closes both connections of a removed peer and forgets it', async () => {
    const [one, two] = await cluster(2);
    one!.transport.send({ type: 'TimeoutNow', from: 1, to: 2, term: 1 });
    two!.transport.send({ type: 'TimeoutNow', from: 2, to: 1, term: 1 });
    await waitUntil(() => one!.received.length === 1 && two!.received.length === 1, 'arrived');
    one!.transport.setPeers([{ id: 1, address: one!.address }]);
    expect(one!.transport.stats().peers).toEqual([]);
    await waitUntil(() => two!.transport.stats().peers[0]!.inboundConnected === false, 'closed');
    one!.transport.send({ type: 'TimeoutNow', from: 1, to: 2, term: 2 });
    expect(one!.transport.stats().unroutable).toBe(1);
  });

  it('redials a peer at its new address when setPeers changes it', async () => {
    const [one, two] = await cluster(2);
    one!.transport.setPeers([{ id: 2, address: '127.0.0.1:1' }]);
    one!.transport.send({ type: 'TimeoutNow', from: 1, to: 2, term: 1 });
    await waitUntil(() => one!.errors.length > 0, 'the dial at the wrong address failed');
    one!.transport.setPeers([two!]);
    expect(one!.transport.stats().peers[0]).toMatchObject({
      address: two!.address,
      queuedMessages: 0,
    });
    one!.transport.send({ type: 'TimeoutNow', from: 1, to: 2, term: 2 });
    await waitUntil(() => two!.received.length === 1, 'arrived at the new address');
    expect(two!.received[0]).toMatchObject({ term: 2 });
  });
});

describe('PeerTransport facing a misbehaving peer', () => {
  it('closes only the connection that sent malformed bytes', async () => {
    const [one, two] = await cluster(2);
    two!.transport.setPeers([...[one!, two!], { id: 3, address: '127.0.0.1:1' }]);
    one!.transport.send({ type: 'TimeoutNow', from: 1, to: 2, term: 1 });
    await waitUntil(() => two!.received.length === 1, 'the first message arrived');
    const hostile = await rawPeer(two!, 3);
    const badVersion = encodeRaftMessage({ type: 'TimeoutNow', from: 3, to: 2, term: 1 });
    badVersion[4] = 99;
    hostile.write(badVersion);
    await closed(hostile);
    const error = two!.errors.find((entry) => entry.error instanceof RaftTransportError)!;
    expect((error.error as RaftTransportError).reason).toBe('unknown-version');
    expect(error.context).toEqual({ peerId: 3, direction: 'inbound' });
    expect(two!.transport.stats().peers.find((peer) => peer.id === 3)!.decodeErrors).toBe(1);
    one!.transport.send({ type: 'TimeoutNow', from: 1, to: 2, term: 2 });
    await waitUntil(() => two!.received.length === 2, 'the connection from node 1 still works');
    expect(two!.transport.stats().peers[0]).toMatchObject({ id: 1, inboundConnected: true });
  });

  it('drops messages whose sender is not the CONNECT id or whose recipient is not us', async () => {
    const [, two] = await cluster(2);
    const impostor = await rawPeer(two!, 3);
    impostor.write(encodeRaftMessage({ type: 'TimeoutNow', from: 1, to: 2, term: 1 }));
    impostor.write(encodeRaftMessage({ type: 'TimeoutNow', from: 3, to: 1, term: 1 }));
    impostor.write(encodeRaftMessage({ type: 'TimeoutNow', from: 3, to: 2, term: 1 }));
    await waitUntil(() => two!.received.length === 1, 'the honest message arrived');
    expect(two!.received[0]).toMatchObject({ from: 3, to: 2 });
    const stats = two!.transport.stats().peers.find((peer) => peer.id === 3)!;
    expect(stats).toMatchObject({
      droppedReceived: 2,
      messagesReceived: 1,
      address: '127.0.0.1:40003',
    });
  });

  it('delivers messages that came in the same chunk as the handshake', async () => {
    const [, two] = await cluster(2);
    const socket = await connectRaw(two!.port);
    rawSockets.push(socket);
    const messages = sampleMessages(3, 2);
    socket.write(
      Buffer.concat([
        encodePeerHandshake({ id: 3, address: '127.0.0.1:40003' }),
        ...messages.map((message) => encodeRaftMessage(message)),
      ]),
    );
    await waitUntil(() => two!.received.length === messages.length, 'all arrived');
    expect(two!.received).toEqual(messages); // one stream from a raw peer: no lanes involved
  });

  it('holds unknownPeerConnectionsMax connections from strangers; a redial replaces the old one', async () => {
    const node = await startPeerNode(1, { unknownPeerConnectionsMax: 2 });
    nodes.push(node);
    node.transport.setPeers([{ id: 5, address: '127.0.0.1:1' }]);
    const [first, second] = [await rawPeer(node, 2), await rawPeer(node, 3)];
    await waitUntil(() => node.transport.stats().peers.length === 3, 'both accepted');
    const third = await rawPeer(node, 4);
    await closed(third);
    expect(node.transport.stats().refusedConnections).toBe(1);
    expect(node.errors.map(({ error }) => (error as RaftTransportError).reason)).toEqual([
      'refused',
    ]);
    const configured = await rawPeer(node, 5); // a configured peer is never crowded out
    const redial = await rawPeer(node, 2); // replaces `first`, within the limit
    await closed(first);
    for (const [socket, from] of [
      [redial, 2],
      [second, 3],
      [configured, 5],
    ] as const) {
      socket.write(encodeRaftMessage({ type: 'TimeoutNow', from, to: 1, term: 1 }));
    }
    await waitUntil(() => node.received.length === 3, 'every remaining connection delivers');
    expect(node.transport.stats()).toMatchObject({ refusedConnections: 1 });
    expect(node.transport.stats().peers.map((peer) => peer.id)).toEqual([2, 3, 5]);
  });

  it("refuses a connection that claims this node's own id", async () => {
    const node = await startPeerNode(1);
    nodes.push(node);
    await closed(await rawPeer(node, 1));
    expect(node.transport.stats()).toMatchObject({ peers: [], refusedConnections: 1 });
  });
});

/** The handshake node `id` writes first: counted as sent, never as received by the peer. */
function handshakeBytes(id: NodeId): number {
  return encodePeerHandshake({ id, address: nodes[id - 1]!.address }).length;
}
