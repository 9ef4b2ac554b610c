import { WireConnection } from '../../src/wire/wire-connection.js';
import type { WireConnectionOptions } from '../../src/wire/wire-connection.js';
import type { WireEndpoint } from '../../src/wire/dial.js';

export type { Exchange } from '../../src/wire/wire-connection.js';

/**
 * One connection to one node: the wire's (src/wire/wire-connection.ts), which dials, handshakes,
 * queues requests, times out and fails with ConnectionError and its subclasses. The node asks
 * other nodes over the same one, so both ends of the project speak the protocol alike.
 */
export type Connection = WireConnection;

/** Limits and timeouts of one connection to one node. */
export type ConnectionOptions = WireConnectionOptions;

/** Opens a connection to `address`, one of the client's "host:port" (or socket path) addresses. */
export function openConnection(address: string, options: ConnectionOptions): Promise<Connection> {
  return WireConnection.open(address, parseAddress(address), options);
}

/**
 * Splits "host:port" (or "[v6]:port"); an absolute path names a Unix socket. A malformed address
 * is the caller's mistake.
 */
export function parseAddress(address: string): WireEndpoint {
  if (address.startsWith('/')) return { path: address };
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) {
    throw new TypeError(`address "${address}" is not "host:port"`);
  }
  return { host: match[1] ?? match[2] ?? '', port };
}
