/**
 * Mutual TLS between a cluster's nodes and its clients, the same shape on both sides
 * (`createNode`'s `tls`, and the client's and the pool's): PEM contents (not file names) of this
 * side's certificate and key, and of the CA that signs every certificate of the cluster, nodes'
 * and clients' alike.
 *
 * Each side checks that the other's certificate chains to `ca`, and only that: nodes are dialled
 * by the addresses they were given (a client's `cluster`, the addresses nodes report for the
 * leader), which need not match their certificates, so host names are not checked. Use a CA that
 * signs only this cluster's certificates; anyone holding a certificate from it is a member or a
 * client.
 *
 * @example
 * tls: { cert: fs.readFileSync('app.crt'), key: fs.readFileSync('app.key'), ca: fs.readFileSync('ca.crt') }
 */
export interface TlsOptions {
  /** This node's or client's certificate (PEM), optionally followed by intermediates. */
  readonly cert: string | Buffer;
  /** The private key of `cert` (PEM, unencrypted). */
  readonly key: string | Buffer;
  /** The CA certificate(s) (PEM) every node and client certificate must chain to. */
  readonly ca: string | Buffer | readonly (string | Buffer)[];
}
