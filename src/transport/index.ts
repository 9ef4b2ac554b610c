/**
 * Raft messages between nodes over TCP (or mutual TLS): the binary frame format, the peer
 * handshake a listener recognises, and PeerTransport, which keeps one outbound connection per peer.
 */
export { PeerTransport } from './peer-transport.js';
export type { PeerAddress } from './peer-transport.js';
export { peerTransportDefaults } from './peer-transport-options.js';
export type {
  PeerErrorContext,
  PeerTransportLimits,
  PeerTransportOptions,
} from './peer-transport-options.js';
export type { PeerStats, PeerTransportStats } from './peer-stats.js';
export type { RaftTransport } from '../raft/raft-transport.js';
export { RaftTransportError } from './raft-transport-error.js';
export type { RaftTransportErrorReason } from './raft-transport-error.js';
export {
  PEER_HANDSHAKE_BYTES_MAX,
  encodePeerHandshake,
  parsePeerHandshake,
} from './peer-handshake.js';
export type { PeerHandshake } from './peer-handshake.js';
export { parsePeerAddress } from './peer-address.js';
export type { PeerEndpoint } from './peer-address.js';
export { decodeRaftMessage, encodeRaftMessage } from './raft-message-codec.js';
export {
  RAFT_FRAME_BYTES_MAX_DEFAULT,
  RAFT_FRAME_BYTES_MAX_MAX,
  RAFT_FRAME_BYTES_MAX_MIN,
  RaftFrameDecoder,
} from './raft-frame-decoder.js';
export type { RaftFrameDecoderOptions } from './raft-frame-decoder.js';
export {
  MESSAGE_ENTRIES_MAX,
  RAFT_FORMAT_VERSION,
  RAFT_FRAME_HEADER_BYTES,
  RaftMessageCode,
} from './raft-message-schema.js';
export { createNodeTls, dialNode, tlsServerOptions } from './tls.js';
export type { NodeDial, NodeTls } from './tls.js';
export type { TlsOptions } from '../wire/index.js';
export { reconnectDelayMilliseconds } from './reconnect-backoff.js';
