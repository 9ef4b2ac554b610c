import { addressBytesMax } from '../raft/configuration.js';
import type { NodeId } from '../raft/types.js';
import {
  HEADER_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  RequestType,
  WORD_BYTES,
  decodeRequest,
  encodeHandshake,
  encodeRequest,
} from '../wire/index.js';

/**
 * Most bytes a listener needs to tell a peer connection from a client one: the version word, a
 * CONNECT header, the id word and the longest address with its NUL, padded to a word (§11).
 */
export const PEER_HANDSHAKE_BYTES_MAX =
  WORD_BYTES +
  HEADER_BYTES +
  WORD_BYTES +
  Math.ceil((addressBytesMax + 1) / WORD_BYTES) * WORD_BYTES;

/** What the first bytes of a new connection say about who dialled. */
export type PeerHandshake =
  /** Too few bytes to decide; never returned once PEER_HANDSHAKE_BYTES_MAX bytes arrived. */
  | { readonly kind: 'need-more-bytes' }
  /** Not a Raft peer: a client (or a stranger) for the client gateway to handle. */
  | { readonly kind: 'not-peer' }
  /** A peer: the socket and `rest`, the bytes after CONNECT, belong to the Raft transport. */
  | { readonly kind: 'peer'; readonly id: NodeId; readonly address: string; readonly rest: Buffer }
  /** A CONNECT request that cannot be read: close the connection. */
  | { readonly kind: 'malformed'; readonly error: ProtocolError };

/**
 * Reads the start of a stream a listener received: `bytes` is everything received so far. A
 * node dialling a peer sends the protocol version word, then CONNECT with its own id and address,
 * and expects no answer (docs/wire-protocol.md §11). The caller buffers at most
 * PEER_HANDSHAKE_BYTES_MAX bytes before the answer is something other than 'need-more-bytes'.
 */
export function parsePeerHandshake(bytes: Buffer): PeerHandshake {
  if (bytes.length < WORD_BYTES) return { kind: 'need-more-bytes' };
  if (bytes.readBigUInt64LE(0) !== PROTOCOL_VERSION) return { kind: 'not-peer' };
  if (bytes.length < WORD_BYTES + HEADER_BYTES) return { kind: 'need-more-bytes' };
  const words = bytes.readUInt32LE(WORD_BYTES);
  const type = bytes.readUInt8(WORD_BYTES + 4);
  if (type !== RequestType.CONNECT) return { kind: 'not-peer' };
  const frameEnd = WORD_BYTES + HEADER_BYTES + words * WORD_BYTES;
  if (words === 0) return malformed('empty-body', 'CONNECT request with an empty body');
  if (frameEnd > PEER_HANDSHAKE_BYTES_MAX) {
    return malformed('oversized', `CONNECT request of ${words} words`);
  }
  if (bytes.length < frameEnd) return { kind: 'need-more-bytes' };
  const body = bytes.subarray(WORD_BYTES + HEADER_BYTES, frameEnd);
  let request;
  try {
    request = decodeRequest({ type, schema: bytes.readUInt8(WORD_BYTES + 5), body });
  } catch (error) {
    // A body that does not decode is the peer's fault; the caller closes the connection.
    if (error instanceof ProtocolError) return { kind: 'malformed', error };
    throw error;
  }
  if (request.type !== 'CONNECT') return { kind: 'not-peer' };
  if (request.id === 0n || request.id > BigInt(Number.MAX_SAFE_INTEGER)) {
    return malformed('malformed', `CONNECT from node id ${request.id}`);
  }
  const problem = addressProblem(request.address);
  if (problem !== undefined) return malformed('malformed', `CONNECT address: ${problem}`);
  const rest = bytes.subarray(frameEnd);
  return { kind: 'peer', id: Number(request.id), address: request.address, rest };
}

/** The bytes a dialling node sends first: the version word and CONNECT with its id and address. */
export function encodePeerHandshake(self: {
  readonly id: NodeId;
  readonly address: string;
}): Buffer {
  if (!Number.isSafeInteger(self.id) || self.id < 1) {
    throw new RangeError(`id must be a positive safe integer, got ${self.id}`);
  }
  const problem = addressProblem(self.address);
  if (problem !== undefined) throw new RangeError(`address: ${problem}`);
  const connect = encodeRequest({ type: 'CONNECT', id: BigInt(self.id), address: self.address });
  return Buffer.concat([encodeHandshake(), connect]);
}

/** Why `address` cannot name a node, or `undefined` when it can. */
export function addressProblem(address: string): string | undefined {
  if (address.length === 0) return 'empty';
  if (address.includes('\0')) return 'contains NUL';
  if (Buffer.byteLength(address, 'utf8') > addressBytesMax) {
    return `longer than ${addressBytesMax} bytes`;
  }
  return undefined;
}

function malformed(reason: ProtocolError['reason'], message: string): PeerHandshake {
  return { kind: 'malformed', error: new ProtocolError(reason, message) };
}
