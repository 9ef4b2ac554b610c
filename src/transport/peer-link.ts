import type net from 'node:net';
import type { NodeId } from '../raft/types.js';
import { parsePeerAddress } from './peer-address.js';
import type { PeerCounters } from './peer-stats.js';
import type { ResolvedPeerTransportOptions } from './peer-transport-options.js';
import type { RaftFrame } from './raft-message-codec.js';
import { RaftTransportError } from './raft-transport-error.js';
import { reconnectDelayMilliseconds } from './reconnect-backoff.js';
import { SendQueue } from './send-queue.js';
import { dialNode } from './tls.js';

/**
 * idle: no socket and no timer; the next send dials. connecting: a dial is under way.
 * connected: the handshake is written and frames flow. waiting: a connection failed or was lost
 * and a timer will allow the next dial. closed: the peer was removed or the transport closed.
 */
type LinkState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

export type Lane = 'normal' | 'snapshot';

/**
 * The outbound connection to one peer: the only socket this node writes Raft messages to that
 * peer on (the peer's own dial to us carries its messages the other way), so each connection has
 * one writer and one reader, and neither side must tell replies from requests on a socket.
 *
 * Two lanes feed the socket. The normal lane (votes, appends, results, heartbeats) is always
 * written first. The snapshot lane is written only when the normal lane is empty and the socket
 * is not backed up (`write` returned true, or 'drain' came since): a heartbeat queued behind
 * snapshot chunks waits for at most the one chunk already handed to the socket.
 */
export class PeerLink {
  readonly id: NodeId;
  readonly address: string;
  readonly #options: ResolvedPeerTransportOptions;
  readonly #handshake: Buffer;
  readonly #counters: PeerCounters;
  readonly #normalLane: SendQueue<RaftFrame>;
  readonly #snapshotLane: SendQueue<RaftFrame>;
  #state: LinkState = 'idle';
  #socket: net.Socket | undefined;
  /** `write` returned false and no 'drain' came since. Invariant: only while connected. */
  #awaitingDrain = false;
  /** Failed or lost connections since the last successful connect: the backoff's attempt. */
  #failures = 0;
  #dials = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;

  constructor(
    peer: { readonly id: NodeId; readonly address: string },
    options: ResolvedPeerTransportOptions,
    handshake: Buffer,
    counters: PeerCounters,
  ) {
    this.id = peer.id;
    this.address = peer.address;
    this.#options = options;
    this.#handshake = handshake;
    this.#counters = counters;
    this.#normalLane = new SendQueue({
      messagesMax: options.queueMessagesMax,
      bytesMax: options.queueBytesMax,
    });
    this.#snapshotLane = new SendQueue({
      messagesMax: options.snapshotQueueMessagesMax,
      bytesMax: options.snapshotQueueBytesMax,
    });
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  get normalLane(): Pick<SendQueue<RaftFrame>, 'messageCount' | 'bytes'> {
    return this.#normalLane;
  }

  get snapshotLane(): Pick<SendQueue<RaftFrame>, 'messageCount' | 'bytes'> {
    return this.#snapshotLane;
  }

  get writeBufferedBytes(): number {
    return this.#socket?.writableLength ?? 0;
  }

  /** Queues one encoded frame, or counts a drop when its lane is full; dials if idle. */
  send(frame: RaftFrame, lane: Lane): void {
    if (this.#state === 'closed') return;
    const queue = lane === 'snapshot' ? this.#snapshotLane : this.#normalLane;
    if (!queue.offer(frame)) {
      this.#counters.dropped += 1;
      return;
    }
    if (this.#state === 'idle') this.#dial();
    else if (this.#state === 'connected') this.#pump();
  }

  /** Closes the connection, cancels timers and discards queued messages. */
  close(): void {
    this.#state = 'closed';
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#stallTimer);
    this.#retryTimer = undefined;
    this.#stallTimer = undefined;
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#normalLane.clear();
    this.#snapshotLane.clear();
  }

  #dial(): void {
    this.#state = 'connecting';
    if (this.#dials > 0) this.#counters.reconnects += 1;
    this.#dials += 1;
    const { socket, readyEvent } = dialNode(parsePeerAddress(this.address), this.#options.tls);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, this.#options.keepAliveDelayMilliseconds);
    this.#socket = socket;
    socket.setTimeout(this.#options.connectTimeoutMilliseconds);
    socket.on('timeout', () => {
      if (socket !== this.#socket || this.#state !== 'connecting') return;
      const message = `no connection to ${this.address} within ${this.#options.connectTimeoutMilliseconds} ms`;
      socket.destroy(new RaftTransportError('connect-timeout', message));
    });
    // Over TLS, only once the handshake verified the peer's certificate.
    socket.once(readyEvent, () => this.#onConnect(socket));
    socket.on('drain', () => this.#onDrain(socket));
    socket.on('data', () => {
      const message = `node ${this.id} wrote on the connection we dialled`;
      socket.destroy(new RaftTransportError('unexpected-data', message));
    });
    socket.on('error', (error) => {
      this.#options.onError(error, { peerId: this.id, direction: 'outbound' });
    });
    socket.on('close', () => this.#onClose(socket));
  }

  #onConnect(socket: net.Socket): void {
    if (socket !== this.#socket || this.#state !== 'connecting') return;
    socket.setTimeout(0);
    this.#state = 'connected';
    this.#failures = 0;
    this.#counters.bytesSent += this.#handshake.length;
    if (!socket.write(this.#handshake)) this.#startStallTimer(socket);
    this.#pump();
  }

  /** Hands queued frames to the socket, normal lane first, until both are empty or it backs up. */
  #pump(): void {
    const socket = this.#socket;
    if (this.#state !== 'connected' || socket === undefined) return;
    // Bounded: every turn removes one frame from a bounded lane.
    while (!this.#awaitingDrain) {
      const frame = this.#normalLane.shift() ?? this.#snapshotLane.shift();
      if (frame === undefined) return;
      this.#counters.bytesSent += frame.length;
      this.#counters.messagesSent += 1;
      if (!writeFrame(socket, frame)) this.#startStallTimer(socket);
    }
  }

  #startStallTimer(socket: net.Socket): void {
    this.#awaitingDrain = true;
    const timeout = this.#options.writeStallTimeoutMilliseconds;
    this.#stallTimer = setTimeout(() => {
      if (socket !== this.#socket) return;
      const message = `node ${this.id} took no bytes for ${timeout} ms`;
      socket.destroy(new RaftTransportError('write-stall', message));
    }, timeout);
  }

  #onDrain(socket: net.Socket): void {
    if (socket !== this.#socket) return;
    this.#awaitingDrain = false;
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#pump();
  }

  /** Frames still in the socket's buffer are lost with it; queued frames wait for the redial. */
  #onClose(socket: net.Socket): void {
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    this.#awaitingDrain = false;
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    if (this.#state === 'closed') return;
    this.#failures += 1;
    this.#state = 'waiting';
    const delay = reconnectDelayMilliseconds(
      this.#failures,
      {
        firstMs: this.#options.reconnectDelayMillisecondsMin,
        maxMs: this.#options.reconnectDelayMillisecondsMax,
      },
      this.#options.random,
    );
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#state = 'idle';
      // Lazy as on the first send: a peer nobody sends to is not dialled.
      if (this.#normalLane.messageCount + this.#snapshotLane.messageCount > 0) this.#dial();
    }, delay);
  }
}

/**
 * Writes a frame's parts as one vectored write (corked: the socket hands them to the system
 * together on uncork). Returns what the last write returned: false once the socket's buffer is
 * over its mark, so the caller waits for 'drain'.
 */
function writeFrame(socket: net.Socket, frame: RaftFrame): boolean {
  const [only] = frame.parts;
  if (frame.parts.length === 1 && only !== undefined) return socket.write(only);
  socket.cork();
  let room = true;
  for (const part of frame.parts) room = socket.write(part);
  socket.uncork();
  return room;
}
