/**
 * The connection to a node failed: it could not be opened, it closed, it timed out, or the node
 * sent bytes that are not the protocol. Every request waiting on that connection gets one.
 *
 * `requestSent` tells whether the request had been written to the node: when false, the node
 * never saw it and it is safe to retry anywhere; when true, a write may or may not have happened.
 *
 * Thrown by WireConnection, the one connection the client and the node both use; the client
 * exports these classes (`dqlite-ts/client`).
 */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
  readonly address: string;
  readonly request: string | undefined;
  readonly requestSent: boolean;

  constructor(
    message: string,
    address: string,
    options: { request?: string; cause?: unknown; requestSent?: boolean } = {},
  ) {
    super(`${message} [${options.request ? `${options.request} on ` : ''}${address}]`, {
      cause: options.cause,
    });
    this.address = address;
    this.request = options.request;
    this.requestSent = options.requestSent ?? false;
  }
}

/** A request got no answer within its timeout; the connection was closed. */
export class TimeoutError extends ConnectionError {
  override name = 'TimeoutError';
}

/**
 * The node would not take the connection: the TLS handshake failed, or the node closed the
 * connection before answering its first request (what a node that requires TLS does to a plain
 * connection, and, under TLS 1.3, to a client certificate it does not trust). The message says
 * which. Trying again does not help until the node's or the client's configuration changes, so
 * `connect` gives up early when every node refuses it twice in a row.
 */
export class HandshakeError extends ConnectionError {
  override name = 'HandshakeError';
}

/**
 * The peer answered, but not in the Dqlite protocol: something else listens at that address (an
 * HTTP server, another database). The message quotes the start of what it sent. A HandshakeError:
 * waiting does not help.
 */
export class NotDqliteError extends HandshakeError {
  override name = 'NotDqliteError';
}
