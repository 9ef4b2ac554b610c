// A loopback TCP server that speaks just enough of the protocol to reach a client, then
// misbehaves on purpose: it lets the tests check how the client survives peers that die, stall,
// or send garbage, which a healthy real node cannot be made to do on demand.

import net from 'node:net';
import { FrameDecoder, decodeRequest, encodeResponse } from '../../../src/wire/index.js';
import type { Request, Response } from '../../../src/wire/index.js';

/** Decides what to do with one request; the default answers the connect sequence. */
export type RequestHandler = (request: Request, socket: net.Socket, node: ScriptedNode) => void;

export interface ScriptedNode {
  readonly address: string;
  /** Who this node names in LEADER answers; itself unless a test says otherwise. */
  leaderAddress: string;
  readonly requests: Request[];
  send(socket: net.Socket, response: Response): void;
  close(): Promise<void>;
}

export async function startScriptedNode(handler: RequestHandler): Promise<ScriptedNode> {
  const requests: Request[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy()); // the tests reset connections on purpose
    const decoder = new FrameDecoder({ expectHandshake: true });
    socket.on('data', (chunk: Buffer) =>
      decoder.push(chunk, {
        frame: (frame) => {
          const request = decodeRequest(frame);
          requests.push(request);
          if (!answerConnectSequence(request, socket, node)) handler(request, socket, node);
        },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const node: ScriptedNode = {
    address: `127.0.0.1:${port}`,
    leaderAddress: `127.0.0.1:${port}`,
    requests,
    send: (socket, response) => socket.write(encodeResponse(response)),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return node;
}

/** LEADER names this node, CLIENT and OPEN succeed: what `connect` needs. */
function answerConnectSequence(request: Request, socket: net.Socket, node: ScriptedNode): boolean {
  switch (request.type) {
    case 'LEADER':
      node.send(socket, { type: 'SERVER', id: 1n, address: node.leaderAddress });
      return true;
    case 'CLIENT':
      node.send(socket, { type: 'WELCOME', heartbeatTimeoutMs: 15_000 });
      return true;
    case 'OPEN':
      node.send(socket, { type: 'DB', db: 0, padding: 0 });
      return true;
    default:
      return false;
  }
}
