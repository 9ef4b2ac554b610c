/**
 * Why a byte stream could not be understood as Dqlite protocol messages. Stable strings that
 * callers may test: a server answers every one of them with a FAILURE and closes the connection;
 * a client fails the request in flight and drops the connection.
 */
export type ProtocolErrorReason =
  | 'truncated' // a field runs past the end of the message body
  | 'oversized' // a header announces a body larger than the configured cap
  | 'empty-body' // a header announces zero words; every message has at least one
  | 'malformed' // a field holds a value the protocol does not allow
  | 'unknown-type' // a message or value type code this codec does not know
  | 'trailing-bytes' // a body holds more than its fields (beyond word padding)
  | 'handshake'; // an unsupported protocol version word

/** A message that cannot be decoded or encoded. Never thrown for a well-formed exchange. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly reason: ProtocolErrorReason;

  constructor(reason: ProtocolErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}
