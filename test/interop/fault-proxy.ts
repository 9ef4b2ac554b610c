// A loopback TCP proxy in front of a real dqlite node that can cut a connection at an exact
// protocol moment: before forwarding a chosen request, or after the node has answered it but
// before the answer reaches the client. That turns "the socket died with a COMMIT in flight"
// from a timing accident into a deterministic test, against the real server.
//
// The proxy presents itself as the leader: LEADER answers naming the upstream node are rewritten
// to name the proxy, so a client given only the proxy's address stays behind it.

import net from 'node:net';
import {
  FrameDecoder,
  decodeRequest,
  decodeResponse,
  encodeFrame,
  encodeResponse,
  ResponseType,
} from '../../src/wire/index.js';
import type { Frame, Request } from '../../src/wire/index.js';

/** `drop`: the request never reaches the node. `answer-then-cut`: the node runs it, the client never hears. */
export type FaultAction = 'drop' | 'answer-then-cut';

export interface Fault {
  readonly match: (request: Request) => boolean;
  readonly action: FaultAction;
}

export interface FaultProxy {
  readonly address: string;
  /** Arms a one-shot fault for the next request that matches, on any connection. */
  arm(fault: Fault): void;
  /** How many armed faults have fired. */
  readonly fired: number;
  /** Every request clients sent through the proxy, in order. */
  readonly requests: readonly Request[];
  /** Closes every proxied connection now (both sides). */
  cutAll(): void;
  close(): Promise<void>;
}

/** `upstream()` names the node a new client connection is forwarded to (the leader, usually). */
export async function startFaultProxy(upstream: () => string): Promise<FaultProxy> {
  let armed: Fault | undefined;
  let fired = 0;
  const requests: Request[] = [];
  const pairs = new Set<{ client: net.Socket; node: net.Socket }>();
  const server = net.createServer((client) => {
    const [host, port] = upstream().split(':');
    const node = net.connect({ host: host!, port: Number(port) });
    const pair = { client, node };
    pairs.add(pair);
    const cut = () => {
      client.destroy();
      node.destroy();
      pairs.delete(pair);
    };
    client.on('error', cut).on('close', cut);
    node.on('error', cut).on('close', cut);
    let cutAfterAnswer = false;
    const fromClient = new FrameDecoder({ expectHandshake: true });
    client.on('data', (chunk: Buffer) =>
      fromClient.push(chunk, {
        handshake: (version) => {
          const word = Buffer.alloc(8);
          word.writeBigUInt64LE(version);
          node.write(word);
        },
        frame: (frame) => {
          const request = decodeRequest(frame);
          requests.push(request);
          const fault = armed && armed.match(request) ? armed : undefined;
          if (fault) {
            armed = undefined;
            fired++;
            if (fault.action === 'drop') return cut();
            cutAfterAnswer = true;
          }
          node.write(encodeFrame(frame.type, frame.schema, frame.body));
        },
      }),
    );
    const fromNode = new FrameDecoder();
    node.on('data', (chunk: Buffer) =>
      fromNode.push(chunk, {
        frame: (frame) => {
          if (cutAfterAnswer) return cut(); // the node answered: it ran the request
          client.write(rewriteLeader(frame, upstreamAddress(node), proxy.address));
        },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const proxy: FaultProxy = {
    address: `127.0.0.1:${port}`,
    arm: (fault) => (armed = fault),
    get fired() {
      return fired;
    },
    requests,
    cutAll: () => {
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.node.destroy();
      }
      pairs.clear();
    },
    close: async () => {
      proxy.cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

function upstreamAddress(node: net.Socket): string {
  return `${node.remoteAddress}:${node.remotePort}`;
}

/** A SERVER answer naming the upstream node names the proxy instead. */
function rewriteLeader(frame: Frame, upstream: string, proxyAddress: string): Buffer {
  if (frame.type === ResponseType.SERVER) {
    const response = decodeResponse(frame);
    if (response.type === 'SERVER' && response.address === upstream) {
      return encodeResponse({ ...response, address: proxyAddress });
    }
  }
  return encodeFrame(frame.type, frame.schema, frame.body);
}
