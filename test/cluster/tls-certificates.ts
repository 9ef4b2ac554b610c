// Certificates for the TLS tests, made at run time with the openssl command: a CA, certificates
// it signs (for nodes and clients alike), and a second, unrelated "rogue" CA with its own.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** PEM contents of one certificate and its key, in the shape of the `tls` options. */
export interface Pem {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Where they were written, for the command line's --tls-cert and --tls-key. */
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * Writes a CA into `directory` (named `name`), and returns a function that issues a certificate
 * signed by it. Keys are P-256 (fast to make); certificates last two days and carry both TLS
 * uses, since a node is server and client alike.
 */
export function certificateAuthority(
  directory: string,
  name: string,
): { ca: Pem; issue: (subject: string) => Pem } {
  const extensions = path.join(directory, 'leaf.cnf');
  fs.writeFileSync(
    extensions,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  const ca = files(directory, name);
  openssl([
    'req',
    '-x509',
    '-new',
    ...newKey(ca.keyFile),
    '-out',
    ca.certFile,
    '-subj',
    `/CN=${name}`,
    '-days',
    '2',
  ]);
  let serial = 1;
  const issue = (subject: string): Pem => {
    const leaf = files(directory, `${name}-${subject}`);
    const request = path.join(directory, `${name}-${subject}.csr`);
    openssl(['req', '-new', ...newKey(leaf.keyFile), '-out', request, '-subj', `/CN=${subject}`]);
    openssl([
      'x509',
      '-req',
      '-in',
      request,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      String(serial++),
      '-days',
      '2',
      '-extfile',
      extensions,
      '-out',
      leaf.certFile,
    ]);
    return read(leaf);
  };
  return { ca: read(ca), issue };
}

function newKey(keyFile: string): string[] {
  return [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
  ];
}

function files(directory: string, name: string): { certFile: string; keyFile: string } {
  return {
    certFile: path.join(directory, `${name}.crt`),
    keyFile: path.join(directory, `${name}.key`),
  };
}

function read(pem: { certFile: string; keyFile: string }): Pem {
  return { ...pem, cert: fs.readFileSync(pem.certFile), key: fs.readFileSync(pem.keyFile) };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}
