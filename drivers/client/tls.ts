import { X509Certificate } from 'node:crypto';
import { secureContextOf } from '../../src/wire/dial.js';
import type { TlsOptions } from '../../src/wire/index.js';

/**
 * Options this module checked and froze. A pool passes its one checked copy to every connect,
 * which then need not check it again.
 */
const checkedOptions = new WeakSet<object>();

/**
 * Checks `value` as TlsOptions and returns a frozen copy; building its context also proves that
 * the PEM parses and the key matches the certificate. Throws a TypeError that starts with
 * `where` (such as "connect(options)") and names the option.
 */
export function checkTlsOptions(value: unknown, where: string): TlsOptions {
  if (typeof value === 'object' && value !== null && checkedOptions.has(value)) {
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
    secureContextOf(checked); // built once here, then reused by every dial with these options
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(
      `${where}: tls.cert, tls.key and tls.ca must be PEM and the key must match: ${reason}`,
      { cause: error },
    );
  }
  checkedOptions.add(checked);
  return checked;
}

function checkPem(value: unknown, name: string): void {
  if (!(typeof value === 'string' || Buffer.isBuffer(value)) || value.length === 0) {
    throw new TypeError(`${name} must be PEM text, as a non-empty string or Buffer`);
  }
}
