import net from 'node:net';
import type { Message, NodeId } from '../../../src/raft/types.js';
import { PeerTransport, parsePeerHandshake } from '../../../src/transport/index.js';
import type { PeerErrorContext, PeerTransportOptions } from '../../../src/transport/index.js';

/**
 * One node's networking for the socket tests: a PeerTransport and a tiny listener on 127.0.0.1
 * that does what the future server will do: read the handshake with parsePeerHandshake and hand
 * peer sockets to `accept`.
 */
export interface PeerNode {
  readonly id: NodeId;
  readonly address: string;
  readonly port: number;
  readonly transport: PeerTransport;
  readonly received: Message[];
  readonly errors: { readonly error: Error; readonly context: PeerErrorContext }[];
  /** Closes the listener and every socket it accepted, as if the node's process stopped. */
  stopListener(): Promise<void>;
  /** Listens again on the same port. */
  startListener(): Promise<void>;
  close(): Promise<void>;
}

type NodeOptions = Omit<PeerTransportOptions, 'id' | 'address' | 'onMessage' | 'onError'>;

export async function startPeerNode(id: NodeId, options: NodeOptions = {}): Promise<PeerNode> {
  const received: Message[] = [];
  const errors: PeerNode['errors'] = [];
  const sockets = new Set<net.Socket>();
  // No one can connect before `transport` exists below: the port is not known until then.
  const handOver = (socket: net.Socket): void => acceptPeer(socket, transport, sockets);
  let server = net.createServer(handOver);
  const port = await listen(server, 0);
  const address = `127.0.0.1:${port}`;
  const transport = new PeerTransport({
    id,
    address,
    onMessage: (message) => received.push(message),
    onError: (error, context) => errors.push({ error, context }),
    ...options,
  });
  const stopListener = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  };
  return {
    id,
    address,
    port,
    transport,
    received,
    errors,
    stopListener,
    startListener: async () => {
      server = net.createServer(handOver);
      await listen(server, port);
    },
    close: async () => {
      transport.close();
      await stopListener();
    },
  };
}

/** Reads the first bytes of a connection and hands a peer's socket to the transport. */
export function acceptPeer(socket: net.Socket, transport: PeerTransport, sockets: Set<net.Socket>) {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  // Errors before the hand-over have no one else to hear them; the transport reports later ones.
  socket.on('error', () => {});
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    // Bounded: parsePeerHandshake decides within PEER_HANDSHAKE_BYTES_MAX bytes.
    const handshake = parsePeerHandshake(buffered);
    if (handshake.kind === 'need-more-bytes') return;
    socket.pause();
    socket.off('data', onData);
    if (handshake.kind === 'peer') transport.accept(socket, handshake.rest, handshake);
    else socket.destroy();
  };
  socket.on('data', onData);
}

export function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Polls `condition` every few milliseconds; fails naming `what` after `timeoutMilliseconds`. */
export async function waitUntil(
  condition: () => boolean,
  what: string,
  timeoutMilliseconds = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMilliseconds;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A port on 127.0.0.1 with nothing listening: bound once, then released. */
export async function deadAddress(): Promise<string> {
  const server = net.createServer();
  const port = await listen(server, 0);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

/** Connects a raw socket to `port`, for tests that play a misbehaving peer. */
export function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves once `socket` has closed. */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
