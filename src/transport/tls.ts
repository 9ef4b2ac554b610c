import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { TLS_VERSION_MIN, dialSocket, secureContextOf } from '../wire/dial.js';
import type { SocketDial } from '../wire/dial.js';
import type { TlsOptions } from '../wire/index.js';
import type { PeerEndpoint } from './peer-address.js';

/** Checked TLS options and the context built from them once, for every dial. @internal */
export interface NodeTls {
  readonly options: TlsOptions;
  /** The context every dial with `options` uses (secureContextOf's, built once). */
  readonly context: tls.SecureContext;
}

/**
 * Checks `value` as TlsOptions and builds its secure context, which also proves that the PEM
 * parses and the key matches the certificate. Throws a TypeError naming `name` (such as
 * "createNode: tls") on anything else.
 */
export function createNodeTls(value: unknown, name: string): NodeTls {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object { cert, key, ca }`);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'cert' && key !== 'key' && key !== 'ca') {
      throw new TypeError(`${name}: unknown option "${key}"`);
    }
  }
  const { cert, key, ca } = value as Partial<Record<keyof TlsOptions, unknown>>;
  checkPem(cert, `${name}.cert`);
  checkPem(key, `${name}.key`);
  const authorities = Array.isArray(ca) ? ca : [ca];
  if (authorities.length === 0) throw new TypeError(`${name}.ca must not be empty`);
  for (const authority of authorities) checkPem(authority, `${name}.ca`);
  const options: TlsOptions = Object.freeze({
    cert: cert as string | Buffer,
    key: key as string | Buffer,
    ca: Array.isArray(ca)
      ? Object.freeze([...(ca as (string | Buffer)[])])
      : (ca as string | Buffer),
  });
  let context: tls.SecureContext;
  try {
    // The secure context skips CA text that is not PEM without a word; parsing it does not.
    for (const authority of authorities) new X509Certificate(authority as string | Buffer);
    context = secureContextOf(options); // the one every dial with these options uses
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(`${name}: cert, key and ca must be PEM and the key must match: ${reason}`, {
      cause: error,
    });
  }
  return Object.freeze({ options, context });
}

function checkPem(value: unknown, name: string): void {
  if (!(typeof value === 'string' || Buffer.isBuffer(value)) || value.length === 0) {
    throw new TypeError(`${name} must be PEM text, as a non-empty string or Buffer`);
  }
}

/**
 * What `tls.createServer` takes for a node's listener: every connection, peer or client, must
 * present a certificate signed by `ca`, within `handshakeTimeoutMs`.
 */
export function tlsServerOptions(nodeTls: NodeTls, handshakeTimeoutMs: number): tls.TlsOptions {
  return {
    cert: nodeTls.options.cert,
    key: nodeTls.options.key,
    ca: nodeTls.options.ca as string | Buffer | (string | Buffer)[],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: TLS_VERSION_MIN,
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** A dial to another node under way, and the event after which it may be written to. */
export type NodeDial = SocketDial;

/**
 * Dials a node, over TLS when `nodeTls` is set: the wire's dial (src/wire/dial.ts), which the
 * client and the node's own requests to other nodes use too. The other side's certificate must
 * chain to the CA; its host name is not checked (see TlsOptions).
 */
export function dialNode(endpoint: PeerEndpoint, nodeTls: NodeTls | undefined): NodeDial {
  return dialSocket(endpoint, nodeTls?.options);
}
