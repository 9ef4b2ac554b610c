import { dialNode, parsePeerAddress, type NodeTls } from '../transport/index.js';
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
 * Sends one request to the node at `address` on a fresh connection and returns its answer. The node
 * uses this to talk to its cluster (join, role changes) without the client driver, which sits above
 * the engine in the layering of docs/architecture.md. With `tls`, the connection is mutual TLS.
 */
export function requestOnce(
  address: string,
  request: Request,
  timeoutMs: number = requestTimeoutMs,
  tls?: NodeTls,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const { socket, readyEvent } = dialNode(parsePeerAddress(address), tls);
    const decoder = new FrameDecoder();
    // Over TLS, a failure after the TCP connection opened and before any answer is about TLS.
    let connected = false;
    let ready = false;
    let answered = false;
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
    socket.once('connect', () => (connected = true));
    socket.on(readyEvent, () => {
      ready = true;
      socket.setNoDelay(true);
      socket.write(Buffer.concat([encodeHandshake(), encodeRequest(request)]));
    });
    socket.on('data', (chunk: Buffer) => {
      answered = true;
      try {
        decoder.push(chunk, { frame: (frame) => finish(decodeResponse(frame)) });
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on('error', (error) => {
      if (tls === undefined || !connected || answered) finish(error);
      else finish(new Error(`${address}: ${tlsFailure(error.message, ready)}`, { cause: error }));
    });
    socket.on('close', () => {
      if (!connected || answered) finish(new Error(`${address}: connection closed`));
      else if (tls !== undefined) finish(new Error(`${address}: ${tlsFailure(undefined, ready)}`));
      else {
        const message = 'connection closed before any answer (a node that requires TLS does that)';
        finish(new Error(`${address}: ${message}`));
      }
    });
  });
}

/**
 * Why a TLS connection ended before any answer. A node that does not trust this node's
 * certificate ends the connection during the handshake (TLS 1.2) or right after it (TLS 1.3).
 */
function tlsFailure(reason: string | undefined, handshakeDone: boolean): string {
  const why = reason === undefined ? '' : ` (${reason})`;
  if (handshakeDone) {
    return `closed the TLS connection before answering${why}, as a node does when our certificate is not from its CA`;
  }
  return `TLS handshake failed${why}: are both certificates from the same CA, and does the node use TLS?`;
}

/** Sends `request` to the current leader, found through any of `addresses`. */
export async function requestLeader(
  addresses: readonly string[],
  request: Request,
  tls?: NodeTls,
): Promise<Response> {
  let lastError: Error = new Error('no address to try');
  for (const address of addresses) {
    try {
      const leader = await requestOnce(address, { type: 'LEADER', unused: 0n }, undefined, tls);
      if (leader.type !== 'SERVER' || leader.address === '') {
        lastError = new Error(`${address} knows no leader`);
        continue;
      }
      const answer = await requestOnce(leader.address, request, undefined, tls);
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
  tls?: NodeTls,
): Promise<Set<number>> {
  const answers = await Promise.all(
    servers.map(async (server) => {
      try {
        const answer = await requestOnce(
          server.address,
          { type: 'DESCRIBE', format: 0n },
          timeoutMs,
          tls,
        );
        return answer.type === 'METADATA' ? server.id : undefined;
      } catch {
        return undefined; // down or unreachable: that is what the probe asks
      }
    }),
  );
  return new Set(answers.filter((id): id is number => id !== undefined));
}
