import { afterEach, describe, expect, it } from 'vitest';
import { Role } from '../../../src/raft/types.js';
import type { InstallSnapshot, Message } from '../../../src/raft/types.js';
import { startPeerNode, waitUntil } from './peer-node.js';
import type { PeerNode } from './peer-node.js';

/**
 * Snapshot chunks travel in their own lane, written only when the normal lane is empty and the
 * socket is not backed up: a heartbeat queued behind several large chunks waits for at most the
 * one chunk already handed to the socket.
 */

const nodes: PeerNode[] = [];

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

const CHUNK_BYTES = 4 * 1024 * 1024;
const CHUNKS = 5;

function chunk(position: number): InstallSnapshot {
  return {
    type: 'InstallSnapshot',
    from: 1,
    to: 2,
    term: 3,
    metadata: {
      index: 100,
      term: 3,
      configuration: { servers: [{ id: 1, address: '127.0.0.1:1', role: Role.voter }] },
      configurationIndex: 1,
      bytes: CHUNKS * CHUNK_BYTES,
    },
    offset: position * CHUNK_BYTES,
    data: new Uint8Array(CHUNK_BYTES).fill(position),
    done: position === CHUNKS - 1,
    heartbeatSequence: position,
  };
}

const heartbeat: Message = {
  type: 'AppendEntries',
  from: 1,
  to: 2,
  term: 3,
  prevLogIndex: 100,
  prevLogTerm: 3,
  entries: [],
  leaderCommit: 100,
  heartbeatSequence: 99,
};

describe('the snapshot lane', () => {
  it('lets a heartbeat overtake every snapshot chunk but the one being written', async () => {
    const one = await startPeerNode(1);
    const two = await startPeerNode(2);
    nodes.push(one, two);
    one.transport.setPeers([two]);
    one.transport.send({ type: 'TimeoutNow', from: 1, to: 2, term: 3 });
    await waitUntil(() => two.received.length === 1, 'connected');
    two.received.length = 0;

    for (let position = 0; position < CHUNKS; position++) one.transport.send(chunk(position));
    one.transport.send(heartbeat);
    // How many chunks the socket took at once depends on the kernel's buffer (a loopback socket
    // may swallow a whole 4 MiB chunk synchronously); at least one is written, and the rest wait.
    const queued = one.transport.stats().peers[0]!;
    const written = CHUNKS - queued.snapshotQueuedMessages;
    expect(written).toBeGreaterThanOrEqual(1);
    expect(written).toBeLessThan(CHUNKS);
    expect(queued.queuedMessages).toBe(queued.snapshotQueuedMessages + 1); // and the heartbeat

    await waitUntil(() => two.received.length === CHUNKS + 1, 'everything arrived');
    const types = two.received.map((message) => message.type);
    // The heartbeat overtook every chunk still queued: only those already written precede it.
    expect(types.indexOf('AppendEntries')).toBe(written);
    expect(two.received[types.indexOf('AppendEntries')]).toEqual(heartbeat);
    const chunks = two.received.filter((message) => message.type === 'InstallSnapshot');
    expect(chunks.map((message) => message.offset)).toEqual(
      Array.from({ length: CHUNKS }, (_, position) => position * CHUNK_BYTES),
    );
    // Buffer.equals: a deep toEqual walks 4 MiB element by element and takes seconds.
    const { data, ...rest } = chunks[CHUNKS - 1] as InstallSnapshot;
    const { data: expectedData, ...expectedRest } = chunk(CHUNKS - 1);
    expect(rest).toEqual(expectedRest);
    expect(Buffer.from(data).equals(expectedData)).toBe(true);
  });
});
