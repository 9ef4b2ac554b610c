import { addressProblem } from './peer-handshake.js';

/**
 * Where to dial a node: the `host:port` of its address (IPv6 hosts in brackets), or a Unix
 * socket when the address is an absolute path (nodes on one machine).
 */
export type PeerEndpoint =
  { readonly host: string; readonly port: number } | { readonly path: string };

/**
 * Splits a node address such as `10.0.0.1:9001`, `node-1.example:9001` or `[::1]:9001`. Throws a
 * RangeError naming `name` when the address is not a host and a port from 1 to 65535.
 */
export function parsePeerAddress(address: string, name = 'address'): PeerEndpoint {
  if (typeof address !== 'string') throw new TypeError(`${name} must be a string`);
  const problem = addressProblem(address);
  if (problem !== undefined) throw new RangeError(`${name} "${address}": ${problem}`);
  if (address.startsWith('/')) return { path: address };
  const colon = address.lastIndexOf(':');
  const portText = address.slice(colon + 1);
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(portText);
  if (
    colon < 1 ||
    host.length === 0 ||
    !/^[0-9]{1,5}$/.test(portText) ||
    port < 1 ||
    port > 65535
  ) {
    throw new RangeError(
      `${name} "${address}" is not host:port with a port from 1 to 65535, nor a socket path`,
    );
  }
  return { host, port };
}
