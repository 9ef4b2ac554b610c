import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { TlsOptions } from '../../src/wire/index.js';

/** TLS 1.2 is the oldest version this client offers. */
const TLS_VERSION_MIN = 'TLSv1.2';

/**
 * Contexts of checked options. A pool passes its one checked copy to every connect, so the PEM is
 * parsed once per pool, not once per connection.
 */
const contexts = new WeakMap<TlsOptions, tls.SecureContext>();

/**
 * Checks `value` as TlsOptions and returns a frozen copy; building its context also proves that
 * the PEM parses and the key matches the certificate. Throws a TypeError that starts with
 * `where` (such as "connect(options)") and names the option.
 */
export function checkTlsOptions(value: unknown, where: string): TlsOptions {
  if (typeof value === 'object' && value !== null && contexts.has(value as TlsOptions)) {
    return value as TlsOptions; // checked before
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${where}: tls must be an object { cert, key, ca }`);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'cert' && key !== 'key' && key !== 'ca') {
      throw new TypeError(`${where}: unknown option "tls.${key}"`);
    }
  }
  const { cert, key, ca } = value as Partial<Record<keyof TlsOptions, unknown>>;
  checkPem(cert, `${where}: tls.cert`);
  checkPem(key, `${where}: tls.key`);
  const authorities: unknown[] = Array.isArray(ca) ? ca : [ca];
  if (authorities.length === 0) throw new TypeError(`${where}: tls.ca must not be empty`);
  for (const authority of authorities) checkPem(authority, `${where}: tls.ca`);
  const checked: TlsOptions = Object.freeze({
    cert: cert as string | Buffer,
    key: key as string | Buffer,
    ca: Array.isArray(ca)
      ? Object.freeze([...(ca as (string | Buffer)[])])
      : (ca as string | Buffer),
  });
  try {
    // The secure context skips CA text that is not PEM without a word; parsing it does not.
    for (const authority of authorities) new X509Certificate(authority as string | Buffer);
    secureContextOf(checked);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(
      `${where}: tls.cert, tls.key and tls.ca must be PEM and the key must match: ${reason}`,
      { cause: error },
    );
  }
  return checked;
}

function checkPem(value: unknown, name: string): void {
  if (!(typeof value === 'string' || Buffer.isBuffer(value)) || value.length === 0) {
    throw new TypeError(`${name} must be PEM text, as a non-empty string or Buffer`);
  }
}

/** The secure context of `options`, built on first use. */
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

/** Asks the node for TLS with this client's certificate; the node's must chain to the CA. */
export function connectTls(
  endpoint: { host: string; port: number } | { path: string },
  options: TlsOptions,
): tls.TLSSocket {
  return tls.connect({
    ...endpoint,
    secureContext: secureContextOf(options),
    rejectUnauthorized: true,
    // The chain to the CA is the check; host names are not (see TlsOptions).
    checkServerIdentity: () => undefined,
  });
}

/**
 * Why the TLS handshake failed, for the error message: `error` came after the TCP connection
 * opened and before the handshake finished (or the node closed it then, when undefined).
 */
export function handshakeFailure(error: (Error & { code?: string }) | undefined): string {
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
