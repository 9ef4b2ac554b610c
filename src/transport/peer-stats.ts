import type { NodeId } from '../raft/types.js';

/** Running totals for one peer, kept across its reconnections; updated by its connections. */
export interface PeerCounters {
  /** Messages refused for sending: a full lane, or a frame over frameBytesMax. */
  dropped: number;
  /** Dials of this peer after the first one. */
  reconnects: number;
  /** Bytes handed to the outbound socket (the handshake included); not proof of delivery. */
  bytesSent: number;
  messagesSent: number;
  /** Bytes read from inbound connections of this peer, after the handshake. */
  bytesReceived: number;
  /** Messages delivered to onMessage. */
  messagesReceived: number;
  /** Messages received but not delivered: `from` is not the CONNECT id, or `to` is not us. */
  droppedReceived: number;
  /** Inbound connections closed for malformed traffic. */
  decodeErrors: number;
}

export function createPeerCounters(): PeerCounters {
  return {
    dropped: 0,
    reconnects: 0,
    bytesSent: 0,
    messagesSent: 0,
    bytesReceived: 0,
    messagesReceived: 0,
    droppedReceived: 0,
    decodeErrors: 0,
  };
}

/** A snapshot of one peer's connections, queues and totals. */
export interface PeerStats extends Readonly<PeerCounters> {
  readonly id: NodeId;
  /** The configured address, else the one the peer announced in CONNECT. */
  readonly address: string;
  /** The outbound connection is established (and its handshake written). */
  readonly connected: boolean;
  /** An inbound connection from this peer is open. */
  readonly inboundConnected: boolean;
  /** Messages waiting in both lanes. Invariant: within the lanes' limits (see SendQueue). */
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  /** The part of the above waiting in the snapshot lane. */
  readonly snapshotQueuedMessages: number;
  readonly snapshotQueuedBytes: number;
  /** Bytes the outbound socket holds that the kernel has not taken yet. */
  readonly writeBufferedBytes: number;
}

/** What `PeerTransport.stats()` returns: per-peer figures and transport-wide counts. */
export interface PeerTransportStats {
  /** Configured peers and peers with an inbound connection, by ascending id. */
  readonly peers: readonly PeerStats[];
  /** Messages to an id that is not a configured peer. */
  readonly unroutable: number;
  /**
   * Inbound connections refused: unknownPeerConnectionsMax connections from nodes that are not
   * configured peers were open, or the connection claimed this node's own id.
   */
  readonly refusedConnections: number;
}
