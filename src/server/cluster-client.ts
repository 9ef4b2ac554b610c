import { parsePeerAddress, type NodeTls } from '../transport/index.js';
import {
  ErrorCode,
  MESSAGE_BYTES_MAX_DEFAULT,
  type Request,
  type Response,
} from '../wire/index.js';
import { WireConnection } from '../wire/wire-connection.js';

/** Longest one request to another node may take, connection included. */
const requestTimeoutMs = 5000;

/**
 * Sends one request to the node at `address` on a fresh connection and returns its answer. The node
 * uses this to talk to its cluster (join, role changes, content checks) over the wire's connection
 * (src/wire/wire-connection.ts), the client's too; not through the client driver, which sits above
 * the engine in the layering of docs/architecture.md. With `tls`, the connection is mutual TLS.
 * Fails with a ConnectionError (src/wire/connection-error.ts) that names the address and why.
 */
export async function requestOnce(
  address: string,
  request: Request,
  timeoutMs: number = requestTimeoutMs,
  tls?: NodeTls,
): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  const connection = await WireConnection.open(address, parsePeerAddress(address), {
    connectTimeoutMs: timeoutMs,
    // One request per connection; a DUMP answer carries whole database files.
    queueLengthMax: 1,
    messageBytesMax: MESSAGE_BYTES_MAX_DEFAULT,
    tls: tls?.options,
  });
  try {
    // What is left of `timeoutMs` once connected, so that the whole exchange keeps to it.
    return await connection.request(request, Math.max(1, deadline - Date.now()));
  } finally {
    connection.close();
  }
}

/**
 * Sends `request` to the current leader, found through any of `addresses`: asks each in turn with
 * LEADER and sends `request` to the first leader named, on a fresh connection. One pass, without
 * pauses; the caller retries (createNode's join loop). The client's leader search
 * (drivers/client/connector.ts) is another policy on the same connection: it keeps the leader's
 * connection for a session, registers with CLIENT, and paces rounds until its own deadline.
 */
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
