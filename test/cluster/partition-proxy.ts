// A loopback TCP proxy in front of one node that can partition it from chosen peers. A node
// dialling a peer says who it is in its first bytes (CONNECT with its advertised address), so the
// proxy knows which peer each connection comes from; a blocked peer's connections are cut and
// refused, and whatever they carried is lost, as in a real partition. Clients pass untouched.
import net from 'node:net';
import { PEER_HANDSHAKE_BYTES_MAX, parsePeerHandshake } from '../../src/transport/index.js';

export class PartitionProxy {
  readonly address: string;
  readonly #server: net.Server;
  readonly #blocked = new Set<string>();
  /** Open proxied connections with the peer address they came from ('' for clients). */
  readonly #connections = new Map<net.Socket, { from: string; upstream: net.Socket }>();

  private constructor(server: net.Server, address: string) {
    this.#server = server;
    this.address = address;
  }

  static async start(upstream: string): Promise<PartitionProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new PartitionProxy(
      server,
      `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    );
    server.on('connection', (socket) => proxy.#accept(socket, upstream));
    return proxy;
  }

  /** Cuts every connection from the peer advertising `peer`, and refuses new ones. */
  block(peer: string): void {
    this.#blocked.add(peer);
    for (const [socket, { from, upstream }] of this.#connections) {
      if (from !== peer) continue;
      socket.destroy();
      upstream.destroy();
    }
  }

  unblockAll(): void {
    this.#blocked.clear();
  }

  async close(): Promise<void> {
    for (const [socket, { upstream }] of this.#connections) {
      socket.destroy();
      upstream.destroy();
    }
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #accept(socket: net.Socket, upstream: string): void {
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const handshake = parsePeerHandshake(buffered);
      if (handshake.kind === 'need-more-bytes' && buffered.length < PEER_HANDSHAKE_BYTES_MAX)
        return;
      socket.off('data', onData);
      const from = handshake.kind === 'peer' ? handshake.address : '';
      if (this.#blocked.has(from)) {
        socket.destroy();
        return;
      }
      const [host, port] = upstream.split(':') as [string, string];
      const target = net.connect({ host, port: Number(port) });
      target.on('error', () => socket.destroy());
      socket.on('close', () => {
        target.destroy();
        this.#connections.delete(socket);
      });
      target.on('close', () => socket.destroy());
      this.#connections.set(socket, { from, upstream: target });
      target.write(buffered);
      socket.pipe(target);
      target.pipe(socket);
    };
    socket.on('data', onData);
  }
}
