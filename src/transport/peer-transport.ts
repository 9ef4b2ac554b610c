import type net from 'node:net';
import type { Message, NodeId } from '../raft/types.js';
import { InboundPeerConnection } from './inbound-peer-connection.js';
import { parsePeerAddress } from './peer-address.js';
import { encodePeerHandshake } from './peer-handshake.js';
import { PeerLink } from './peer-link.js';
import { createPeerCounters } from './peer-stats.js';
import type { PeerCounters, PeerStats, PeerTransportStats } from './peer-stats.js';
import { checkNodeId, resolvePeerTransportOptions } from './peer-transport-options.js';
import type {
  PeerTransportOptions,
  ResolvedPeerTransportOptions,
} from './peer-transport-options.js';
import { encodeRaftFrame } from './raft-message-codec.js';
import type { RaftTransport } from '../raft/raft-transport.js';
import { RaftTransportError } from './raft-transport-error.js';

/** A peer as `setPeers` takes it: a configuration's servers fit as they are. */
export interface PeerAddress {
  readonly id: NodeId;
  readonly address: string;
}

/**
 * Carries Raft messages between this node and its peers over TCP.
 *
 * Each direction has its own connection: this node dials every peer it sends to and writes only
 * on that connection; each peer dials us for its own messages, and the node's listener hands
 * those sockets to `accept`. A socket therefore has one writer and one reader, a dial never races
 * the peer's dial to us, and a connection lost in one direction leaves the other untouched.
 *
 * `send` never blocks and never throws for network reasons: messages wait in bounded per-peer
 * queues and are dropped, and counted, when a peer cannot keep up; Raft retransmits what was not
 * acknowledged. Lost connections are redialled with exponential backoff and jitter. Messages to
 * one peer keep their order, except that InstallSnapshot chunks travel in a lane of their own
 * and are overtaken by everything else (see PeerLink), so a snapshot never holds up heartbeats.
 *
 * @example
 * ```ts
 * const transport = new PeerTransport({ id: 1, address: '10.0.0.1:9001', onMessage: step });
 * transport.setPeers(configuration.servers);
 * transport.send({ type: 'TimeoutNow', from: 1, to: 2, term: 7 });
 * // in the node's listener, once parsePeerHandshake says 'peer':
 * transport.accept(socket, handshake.rest, handshake);
 * ```
 */
export class PeerTransport implements RaftTransport {
  readonly #options: ResolvedPeerTransportOptions;
  readonly #handshake: Buffer;
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #inbound = new Map<NodeId, InboundPeerConnection>();
  /** Totals of configured peers and of peers with an inbound connection, nothing else. */
  readonly #counters = new Map<NodeId, PeerCounters>();
  /** Addresses peers announced in CONNECT, for stats of peers that are not configured. */
  readonly #announcedAddresses = new Map<NodeId, string>();
  #unroutable = 0;
  #refusedConnections = 0;
  #closed = false;

  /** Options are copied and frozen; a misspelled or out-of-range one throws at once. */
  constructor(options: PeerTransportOptions) {
    this.#options = resolvePeerTransportOptions(options);
    this.#handshake = encodePeerHandshake(this.#options);
  }

  /**
   * Sets who this node sends to. New peers are dialled on their first message; a removed peer's
   * connections (both directions) are closed and its queued messages discarded; a peer whose
   * address changed is redialled at the new one. An entry with this node's own id is skipped.
   */
  setPeers(peers: readonly PeerAddress[]): void {
    const wanted = checkPeers(peers);
    wanted.delete(this.#options.id);
    if (this.#closed) return;
    for (const [id, link] of this.#links) {
      if (wanted.get(id) === link.address) continue;
      link.close();
      this.#links.delete(id);
      if (wanted.has(id)) continue;
      this.#inbound.get(id)?.close();
      this.#inbound.delete(id);
      this.#counters.delete(id);
      this.#announcedAddresses.delete(id);
    }
    for (const [id, address] of wanted) {
      if (this.#links.has(id)) continue;
      this.#links.set(
        id,
        new PeerLink({ id, address }, this.#options, this.#handshake, this.#countersOf(id)),
      );
    }
  }

  /**
   * Queues `message` for `message.to` and returns at once. After `close`, and for a peer not set
   * with `setPeers`, the message is dropped. A field the format cannot carry (an unsafe integer,
   * node id 0) throws a RangeError: that is a bug in the caller, not a network condition.
   */
  send(message: Message): void {
    if (this.#closed) return;
    const link = this.#links.get(message.to);
    if (link === undefined) {
      this.#unroutable += 1;
      return;
    }
    const frame = encodeRaftFrame(message);
    if (frame.length > this.#options.frameBytesMax) {
      this.#countersOf(link.id).dropped += 1;
      const error = new RaftTransportError(
        'oversized',
        `${message.type} to node ${link.id} needs ${frame.length} bytes; frameBytesMax is ${this.#options.frameBytesMax}`,
      );
      this.#options.onError(error, { peerId: link.id, direction: 'outbound' });
      return;
    }
    link.send(frame, message.type === 'InstallSnapshot' ? 'snapshot' : 'normal');
  }

  /**
   * Takes over a socket a peer dialled to us. The listener has read the handshake and CONNECT
   * (see `parsePeerHandshake`) and passes the peer's id and address and `initialBytes`, whatever
   * arrived after CONNECT. The socket must be paused with no 'data' listener left; this resumes
   * it. Messages in `initialBytes` are delivered before `accept` returns.
   *
   * A newer connection from the same peer replaces the older one (the peer redialled, so the
   * older one is dead or dying). The socket is closed instead when it claims this node's own id,
   * or comes from a node that is not a configured peer while `unknownPeerConnectionsMax` such
   * connections are open.
   */
  accept(socket: net.Socket, initialBytes: Buffer, peer: PeerAddress): void {
    checkNodeId(peer.id, 'peer.id');
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const refusal = this.#refusal(peer.id);
    if (refusal !== undefined) {
      this.#refusedConnections += 1;
      socket.destroy();
      this.#options.onError(refusal, { peerId: peer.id, direction: 'inbound' });
      return;
    }
    this.#inbound.get(peer.id)?.close();
    this.#announcedAddresses.set(peer.id, peer.address);
    const connection = new InboundPeerConnection(
      socket,
      peer.id,
      this.#options,
      this.#countersOf(peer.id),
      (closed) => this.#onInboundClosed(closed),
    );
    this.#inbound.set(peer.id, connection);
    connection.start(initialBytes);
  }

  /** A snapshot of every peer's connections, queues and totals. */
  stats(): PeerTransportStats {
    const ids = [...new Set([...this.#links.keys(), ...this.#inbound.keys()])].sort(
      (a, b) => a - b,
    );
    return {
      peers: ids.map((id) => this.#peerStats(id)),
      unroutable: this.#unroutable,
      refusedConnections: this.#refusedConnections,
    };
  }

  /** Closes every connection and cancels every reconnect timer; later calls do nothing. */
  close(): void {
    this.#closed = true;
    for (const link of this.#links.values()) link.close();
    for (const connection of this.#inbound.values()) connection.close();
    this.#links.clear();
    this.#inbound.clear();
  }

  /** Why a connection from `id` is refused, or `undefined` when it is accepted. */
  #refusal(id: NodeId): RaftTransportError | undefined {
    if (id === this.#options.id) {
      return new RaftTransportError('malformed', `a connection claims this node's own id ${id}`);
    }
    if (this.#links.has(id) || this.#inbound.has(id)) return undefined;
    const unknownPeers = [...this.#inbound.keys()].filter((other) => !this.#links.has(other));
    if (unknownPeers.length < this.#options.unknownPeerConnectionsMax) return undefined;
    return new RaftTransportError(
      'refused',
      `node ${id.toString(16)} is not a configured peer and ${unknownPeers.length} such nodes are connected`,
    );
  }

  #peerStats(id: NodeId): PeerStats {
    const link = this.#links.get(id);
    return {
      id,
      address: link?.address ?? this.#announcedAddresses.get(id) ?? '',
      connected: link?.connected ?? false,
      inboundConnected: this.#inbound.has(id),
      queuedMessages: (link?.normalLane.messageCount ?? 0) + (link?.snapshotLane.messageCount ?? 0),
      queuedBytes: (link?.normalLane.bytes ?? 0) + (link?.snapshotLane.bytes ?? 0),
      snapshotQueuedMessages: link?.snapshotLane.messageCount ?? 0,
      snapshotQueuedBytes: link?.snapshotLane.bytes ?? 0,
      writeBufferedBytes: link?.writeBufferedBytes ?? 0,
      ...this.#countersOf(id),
    };
  }

  #countersOf(id: NodeId): PeerCounters {
    let counters = this.#counters.get(id);
    if (counters === undefined) {
      counters = createPeerCounters();
      this.#counters.set(id, counters);
    }
    return counters;
  }

  /** Forgets an unconfigured peer once its last connection is gone, so memory stays bounded. */
  #onInboundClosed(connection: InboundPeerConnection): void {
    const id = connection.peerId;
    if (this.#inbound.get(id) !== connection) return;
    this.#inbound.delete(id);
    if (this.#links.has(id)) return;
    this.#counters.delete(id);
    this.#announcedAddresses.delete(id);
  }
}

/** Validates `setPeers`' argument and returns address by id. */
function checkPeers(peers: readonly PeerAddress[]): Map<NodeId, string> {
  if (!Array.isArray(peers)) throw new TypeError('setPeers: peers must be an array');
  const wanted = new Map<NodeId, string>();
  peers.forEach((peer, position) => {
    checkNodeId(peer.id, `setPeers: peers[${position}].id`);
    parsePeerAddress(peer.address, `setPeers: peers[${position}].address`);
    if (wanted.has(peer.id)) throw new RangeError(`setPeers: node id ${peer.id} appears twice`);
    wanted.set(peer.id, peer.address);
  });
  return wanted;
}
