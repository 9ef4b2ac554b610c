import fs from 'node:fs';
import type { TlsOptions } from '../../index.js';
import { UsageError } from './usage-error.js';

/** parseArgs options of the TLS flags, shared by every command that dials or serves. */
export const TLS_ARGUMENTS = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
} as const;

/** The TLS flags as they appear in each command's usage. */
export const TLS_USAGE = '[--tls-cert FILE --tls-key FILE --tls-ca FILE]';

/**
 * The TlsOptions the flags name (PEM files), or undefined for plain TCP when none is given. The
 * three go together: a certificate without its key or CA cannot work.
 */
export function tlsFromFiles(values: {
  readonly 'tls-cert'?: string;
  readonly 'tls-key'?: string;
  readonly 'tls-ca'?: string;
}): TlsOptions | undefined {
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  const ca = values['tls-ca'];
  if (cert === undefined && key === undefined && ca === undefined) return undefined;
  if (cert === undefined || key === undefined || ca === undefined) {
    throw new UsageError('--tls-cert, --tls-key and --tls-ca go together: give all three or none');
  }
  return {
    cert: readPem(cert, '--tls-cert'),
    key: readPem(key, '--tls-key'),
    ca: readPem(ca, '--tls-ca'),
  };
}

function readPem(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${flag}: cannot read ${file}: ${reason}`, { cause: error });
  }
}
