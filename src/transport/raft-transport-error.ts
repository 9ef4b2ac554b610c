/**
 * Why a peer connection failed. Stable strings that callers and tests may act on. The first group
 * says bytes from a peer could not be read as Raft messages: the stream position is lost, so the
 * connection is closed. The second group ends an outbound connection, which is then redialled.
 */
export type RaftTransportErrorReason =
  | 'truncated' // a field runs past the end of its frame, or a frame is shorter than its header
  | 'oversized' // a frame (announced or encoded) is larger than the configured frameBytesMax
  | 'unknown-version' // the frame's format version is not one this codec speaks
  | 'unknown-type' // the frame's message type code is not one this codec knows
  | 'trailing-bytes' // a frame holds more bytes than its message's fields
  | 'bad-enum' // a boolean or entry type holds a code outside its set
  | 'unsafe-integer' // a u64 term, index or id is above Number.MAX_SAFE_INTEGER
  | 'malformed' // a value the message cannot hold: node id 0, an invalid configuration
  | 'connect-timeout' // a dial did not complete within connectTimeoutMilliseconds
  | 'write-stall' // the socket accepted no bytes for writeStallTimeoutMilliseconds
  | 'refused' // an inbound connection over unknownPeerConnectionsMax
  | 'unexpected-data'; // the peer wrote on our outbound connection, which only we write on

/**
 * A failure of a Raft peer connection: malformed traffic or a peer that stopped behaving. Never an
 * assertion (docs/contributing.md, "Assertions and limits": malformed network input closes the
 * connection), so it is safe to catch and report.
 */
export class RaftTransportError extends Error {
  override readonly name = 'RaftTransportError';
  readonly reason: RaftTransportErrorReason;

  constructor(reason: RaftTransportErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}
