import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import {
  PEER_HANDSHAKE_BYTES_MAX,
  parsePeerHandshake,
  tlsServerOptions,
  type NodeTls,
} from '../transport/index.js';
import { ErrorCode, encodeResponse } from '../wire/index.js';
import { ClientSession, type ClientSessionContext } from './client-session.js';
import type { ReplicatedEngine } from './replicated-engine.js';

export interface NodeListenerOptions {
  readonly engine: ReplicatedEngine;
  /** "host:port" for TCP; a path for a Unix socket. */
  readonly listen: string;
  readonly session: Omit<ClientSessionContext, 'engine' | 'sessionId'>;
  /** A connection that has not said who it is within this time is closed. */
  readonly handshakeTimeoutMs?: number;
  /** Most connections open at once (clients and peers); more are closed at once. */
  readonly connectionsMax?: number;
  /**
   * Accept only mutual TLS: every connection, peer or client, must present a certificate signed
   * by the CA (createNodeTls). Default: plain TCP.
   */
  readonly tls?: NodeTls;
}

/**
 * The node's one listener: Raft peers and clients dial the same address. The first bytes tell
 * them apart (a peer sends CONNECT right after the version word, docs/wire-protocol.md §11): a peer's
 * socket goes to the Raft transport, anyone else's to a ClientSession.
 */
export class NodeListener {
  readonly #options: NodeListenerOptions;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #nextSessionId = 1;
  /** Client sessions open now (peers' connections are not counted). */
  #clientSessions = 0;

  private constructor(options: NodeListenerOptions) {
    this.#options = options;
    if (options.tls === undefined) {
      this.#server = net.createServer((socket) => {
        if (this.#admit(socket, (reason) => refuse(socket, reason))) this.#identify(socket);
      });
      return;
    }
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    const server = tls.createServer(tlsServerOptions(options.tls, handshakeTimeoutMs));
    // Counted from arrival, so connections still in the TLS handshake count against the limit.
    // One over it is dropped unanswered: a FAILURE could only be sent after a handshake.
    server.on('connection', (raw: net.Socket) => this.#admit(raw, () => raw.destroy()));
    server.on('secureConnection', (socket: tls.TLSSocket) => this.#identify(socket));
    // No certificate, one from another CA, plain TCP, a handshake timeout: the connection is
    // closed, and that is all. The listener needs no 'error' handler for these.
    server.on('tlsClientError', (_error: Error, socket: tls.TLSSocket) => socket.destroy());
    this.#server = server;
  }

  static async start(options: NodeListenerOptions): Promise<NodeListener> {
    const listener = new NodeListener(options);
    if (tcpEndpoint(options.listen) === undefined) await removeStaleSocket(options.listen);
    await new Promise<void>((resolve, reject) => {
      listener.#server.once('error', reject);
      const done = () => {
        listener.#server.off('error', reject);
        resolve();
      };
      const endpoint = tcpEndpoint(options.listen);
      if (endpoint === undefined) listener.#server.listen(options.listen, done);
      else listener.#server.listen(endpoint.port, endpoint.host, done);
    });
    return listener;
  }

  /**
   * Counts a new connection (over TLS: the TCP connection under it) until it closes; over
   * connectionsMax, `turnAway` ends it instead and the answer is false.
   */
  #admit(socket: net.Socket, turnAway: (reason: string) => void): boolean {
    const connectionsMax = this.#options.connectionsMax ?? 4096;
    if (this.#sockets.size >= connectionsMax) {
      turnAway(
        `too many connections: this node accepts at most ${connectionsMax} at once (its limits.connectionsMax)`,
      );
      return false;
    }
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    return true;
  }

  /** Reads the first bytes of an admitted connection and hands it to the transport or a session. */
  #identify(socket: net.Socket): void {
    socket.on('error', () => socket.destroy()); // until the hand-over, nobody else listens
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.#options.handshakeTimeoutMs ?? 10_000);
    // A TCP health check connects and hangs up without a word: its timer must not outlive it, or
    // it keeps the process alive after close().
    socket.once('close', () => clearTimeout(timer));
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      // Bounded: parsePeerHandshake decides within PEER_HANDSHAKE_BYTES_MAX bytes.
      const handshake = parsePeerHandshake(buffered);
      if (handshake.kind === 'need-more-bytes' && buffered.length < PEER_HANDSHAKE_BYTES_MAX) {
        return;
      }
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData);
      if (handshake.kind === 'peer') {
        this.#options.engine.acceptPeer(socket, handshake.rest, handshake);
      } else if (handshake.kind === 'malformed') {
        socket.destroy();
      } else {
        this.#clientSessions += 1;
        socket.once('close', () => (this.#clientSessions -= 1));
        new ClientSession(socket, buffered, {
          ...this.#options.session,
          engine: this.#options.engine,
          sessionId: this.#nextSessionId++,
        });
      }
    };
    socket.on('data', onData);
  }

  /** Client connections open now (sessions, not peers and not connections still identifying). */
  get clientConnections(): number {
    return this.#clientSessions;
  }

  /** Stops accepting and closes every connection it accepted. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}

/** How long a refused connection may linger while its client reads why. */
const refusalLingerMs = 1000;

/**
 * Ends a connection the node will not serve with a FAILURE that says why: a client reads it as the
 * answer to its first request. The socket is drained, not dropped, until the client closes (or
 * `refusalLingerMs`): closing with its request unread would reset the connection and lose the
 * FAILURE on the way.
 */
function refuse(socket: net.Socket, message: string): void {
  socket.on('error', () => socket.destroy());
  socket.end(encodeResponse({ type: 'FAILURE', code: ErrorCode.SQLITE_ERROR, message }));
  socket.resume();
  setTimeout(() => socket.destroy(), refusalLingerMs).unref();
}

/** "host:port" as a TCP endpoint, or undefined for a Unix socket path. */
function tcpEndpoint(listen: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(listen);
  if (match === null) return undefined;
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/**
 * A Unix socket file outlives a process that was killed; listening on it then fails. It is
 * removed only when nothing answers on it, so a running node's socket is never taken over.
 */
async function removeStaleSocket(socketPath: string): Promise<void> {
  if (!fs.existsSync(socketPath) || !fs.statSync(socketPath).isSocket()) return;
  const answered = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path: socketPath });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!answered) fs.rmSync(socketPath, { force: true });
}
