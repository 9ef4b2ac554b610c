import net from 'node:net';
import tls from 'node:tls';
import { ConnectionError, HandshakeError, TimeoutError } from './connection-error.js';
import type { TlsOptions } from './tls-options.js';

/** Where a node listens: TCP, or a Unix socket (an absolute path, for a node on this machine). */
export type WireEndpoint =
  { readonly host: string; readonly port: number } | { readonly path: string };

/** TLS 1.2 is the oldest version a node or a client offers or accepts. */
export const TLS_VERSION_MIN = 'TLSv1.2';

/**
 * Contexts of checked options. A pool passes its one checked copy to every connect, and a node
 * its own to every dial, so the PEM is parsed once per pool or node, not once per connection.
 */
const contexts = new WeakMap<TlsOptions, tls.SecureContext>();

/**
 * The secure context of `options`, built on first use. Building it proves that the PEM parses
 * and that the key matches the certificate; it throws otherwise.
 */
export function secureContextOf(options: TlsOptions): tls.SecureContext {
  let context = contexts.get(options);
  if (context === undefined) {
    context = tls.createSecureContext({
      cert: options.cert,
      key: options.key,
      ca: options.ca as string | Buffer | (string | Buffer)[],
      minVersion: TLS_VERSION_MIN,
    });
    contexts.set(options, context);
  }
  return context;
}

/** A dial under way, and the event after which the socket may be written to. */
export interface SocketDial {
  readonly socket: net.Socket;
  /** 'connect' on plain TCP; 'secureConnect' once the TLS handshake verified the other side. */
  readonly readyEvent: 'connect' | 'secureConnect';
}

/**
 * Dials a node, over mutual TLS with this side's certificate when `tlsOptions` is set. The other
 * side's certificate must chain to the CA; its host name is not checked (see TlsOptions).
 */
export function dialSocket(endpoint: WireEndpoint, tlsOptions: TlsOptions | undefined): SocketDial {
  if (tlsOptions === undefined) return { socket: net.connect(endpoint), readyEvent: 'connect' };
  const socket = tls.connect({
    ...endpoint,
    secureContext: secureContextOf(tlsOptions),
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
  });
  return { socket, readyEvent: 'secureConnect' };
}

/**
 * Opens a connection to `address` (dialled at `endpoint`); over TLS, resolves once the handshake
 * verified the node's certificate. Fails with a ConnectionError that could not connect, a
 * TimeoutError after `connectTimeoutMs`, or, once the TCP connection opened, a HandshakeError:
 * any later failure is the TLS handshake's.
 */
export function dial(
  address: string,
  endpoint: WireEndpoint,
  options: { readonly connectTimeoutMs: number; readonly tls?: TlsOptions },
): Promise<net.Socket> {
  const timeoutMs = options.connectTimeoutMs;
  return new Promise((resolve, reject) => {
    const { socket, readyEvent } = dialSocket(endpoint, options.tls);
    let connected = false;
    const onConnect = () => (connected = true);
    const onReady = () => {
      clearTimeout(timer);
      socket.off('connect', onConnect).off('error', onError).off('close', onClose);
      resolve(socket);
    };
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error & { code?: string }) => {
      const message = connected ? handshakeFailure(error) : `could not connect: ${error.message}`;
      const Failure = connected ? HandshakeError : ConnectionError;
      fail(new Failure(message, address, { cause: error }));
    };
    // A node that ends the handshake without an alert leaves only a close.
    const onClose = () => fail(new HandshakeError(handshakeFailure(undefined), address));
    const timer = setTimeout(() => {
      if (!connected) {
        fail(new TimeoutError(`could not connect within ${timeoutMs} ms`, address));
        return;
      }
      const message = `TLS handshake failed: not finished within ${timeoutMs} ms; does the node use TLS?`;
      fail(new HandshakeError(message, address));
    }, timeoutMs);
    socket.once('connect', onConnect);
    socket.once(readyEvent, onReady);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/**
 * Why the TLS handshake failed, for the error message: `error` came after the TCP connection
 * opened and before the handshake finished (or the node closed it then, when undefined).
 */
function handshakeFailure(error: (Error & { code?: string }) | undefined): string {
  const code = error?.code ?? '';
  const reason = (error as { reason?: string } | undefined)?.reason ?? error?.message;
  if (error === undefined || /^E[A-Z]+$/.test(code)) {
    return `TLS handshake failed: the node closed the connection${reason ? ` (${reason})` : ''}; does it use TLS, and does it trust the CA of tls.cert?`;
  }
  if (/^ERR_SSL_.*ALERT/.test(code)) return certificateRefused(reason ?? code);
  if (code.startsWith('ERR_')) {
    return `TLS handshake failed: ${reason ?? code}; does the node use TLS?`;
  }
  // A verification code from OpenSSL, such as SELF_SIGNED_CERT_IN_CHAIN or CERT_HAS_EXPIRED.
  return `TLS handshake failed: the node's certificate is not trusted (${code}: ${reason}); is it signed by the CA in tls.ca?`;
}

/** The node refused this client's certificate (a TLS alert, or TLS 1.3's close after the handshake). */
export function certificateRefused(reason: string): string {
  return `TLS handshake failed: the node refused this client's certificate (${reason}); is tls.cert signed by the CA the node trusts?`;
}
