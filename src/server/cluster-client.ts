import net from 'node:net';
import { parsePeerAddress } from '../transport/index.js';
import {
  ErrorCode,
  FrameDecoder,
  decodeResponse,
  encodeHandshake,
  encodeRequest,
  type Request,
  type Response,
} from '../wire/index.js';

/** Longest one request to another node may take, connection included. */
const requestTimeoutMs = 5000;

/**
 * Sends one request to the node at `address` on a fresh connection and returns its answer. The
 * node uses this to talk to its cluster (join, role changes) without the client driver, which
 * sits above the engine in DESIGN.md's layering.
 */
export function requestOnce(
  address: string,
  request: Request,
  timeoutMs: number = requestTimeoutMs,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(parsePeerAddress(address));
    const decoder = new FrameDecoder();
    const timer = setTimeout(
      () => finish(new Error(`${address}: no answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (outcome: Response | Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    socket.on('connect', () => {
      socket.setNoDelay(true);
      socket.write(Buffer.concat([encodeHandshake(), encodeRequest(request)]));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, { frame: (frame) => finish(decodeResponse(frame)) });
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`${address}: connection closed`)));
  });
}

/** Sends `request` to the current leader, found through any of `addresses`. */
export async function requestLeader(
  addresses: readonly string[],
  request: Request,
): Promise<Response> {
  let lastError: Error = new Error('no address to try');
  for (const address of addresses) {
    try {
      const leader = await requestOnce(address, { type: 'LEADER', unused: 0n });
      if (leader.type !== 'SERVER' || leader.address === '') {
        lastError = new Error(`${address} knows no leader`);
        continue;
      }
      const answer = await requestOnce(leader.address, request);
      if (answer.type === 'FAILURE' && answer.code === ErrorCode.SQLITE_IOERR_NOT_LEADER) {
        lastError = new Error(`${leader.address} is no longer the leader`);
        continue;
      }
      return answer;
    } catch (error) {
      lastError = error instanceof Error ? error : new Error(String(error));
    }
  }
  throw lastError;
}

/**
 * The nodes among `servers` that answer a DESCRIBE within `timeoutMs` (go-dqlite's app probes
 * the same way before it adjusts roles). Spares get no Raft traffic, so only a probe tells
 * whether they are up.
 */
export async function probeOnline(
  servers: readonly { readonly id: number; readonly address: string }[],
  timeoutMs: number,
): Promise<Set<number>> {
  const answers = await Promise.all(
    servers.map(async (server) => {
      try {
        const answer = await requestOnce(
          server.address,
          { type: 'DESCRIBE', format: 0n },
          timeoutMs,
        );
        return answer.type === 'METADATA' ? server.id : undefined;
      } catch {
        return undefined; // down or unreachable: that is what the probe asks
      }
    }),
  );
  return new Set(answers.filter((id): id is number => id !== undefined));
}
