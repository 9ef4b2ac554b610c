import type net from 'node:net';
import type { Message, NodeId } from '../raft/types.js';
import type { PeerCounters } from './peer-stats.js';
import type { ResolvedPeerTransportOptions } from './peer-transport-options.js';
import { RaftFrameDecoder } from './raft-frame-decoder.js';
import { sharedBytesMin } from '../wire/shared-bytes.js';
import { RaftTransportError } from './raft-transport-error.js';

/**
 * A connection a peer dialled to us, after the listener read its handshake and CONNECT: from here
 * on the peer only writes Raft frames and we only read them (see PeerLink for why).
 */
export class InboundPeerConnection {
  readonly peerId: NodeId;
  readonly #socket: net.Socket;
  readonly #decoder: RaftFrameDecoder;
  readonly #options: ResolvedPeerTransportOptions;
  readonly #counters: PeerCounters;
  #closed = false;

  /** `onClose` runs once the socket has closed, for whatever reason. */
  constructor(
    socket: net.Socket,
    peerId: NodeId,
    options: ResolvedPeerTransportOptions,
    counters: PeerCounters,
    onClose: (connection: InboundPeerConnection) => void,
  ) {
    this.peerId = peerId;
    this.#socket = socket;
    this.#options = options;
    this.#counters = counters;
    this.#decoder = new RaftFrameDecoder({
      frameBytesMax: options.frameBytesMax,
      sharedFrameBytes: sharedBytesMin,
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, options.keepAliveDelayMilliseconds);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (error) => {
      this.#options.onError(error, { peerId, direction: 'inbound' });
    });
    socket.on('close', () => {
      this.#closed = true;
      onClose(this);
    });
  }

  /** Delivers what came with the handshake, then lets the socket flow. */
  start(initialBytes: Buffer): void {
    this.#receive(initialBytes);
    if (!this.#closed) this.#socket.resume();
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    if (this.#closed) return;
    this.#counters.bytesReceived += chunk.length;
    this.#decoder.push(chunk);
    // Bounded: each message consumes at least a frame header of the bytes buffered.
    while (!this.#closed) {
      let message: Message | undefined;
      try {
        message = this.#decoder.next();
      } catch (error) {
        if (!(error instanceof RaftTransportError)) throw error;
        this.#fail(error);
        return;
      }
      if (message === undefined) return;
      this.#deliver(message);
    }
  }

  /**
   * Only messages from the node that connected, to this node, reach Raft: a peer cannot speak
   * for another node, and a message for another node means the peer has the wrong address book.
   */
  #deliver(message: Message): void {
    if (message.from !== this.peerId || message.to !== this.#options.id) {
      this.#counters.droppedReceived += 1;
      return;
    }
    this.#counters.messagesReceived += 1;
    // Not caught: an exception from the Raft host is a bug there and must stop the process.
    this.#options.onMessage(message);
  }

  /** Malformed traffic closes this connection only; the peer redials and starts a fresh stream. */
  #fail(error: RaftTransportError): void {
    this.#counters.decodeErrors += 1;
    this.close();
    this.#options.onError(error, { peerId: this.peerId, direction: 'inbound' });
  }
}
