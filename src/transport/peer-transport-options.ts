import type { Message, NodeId } from '../raft/types.js';
import { parsePeerAddress } from './peer-address.js';
import { RAFT_FRAME_BYTES_MAX_DEFAULT, checkFrameBytesMax } from './raft-frame-decoder.js';
import type { NodeTls } from './tls.js';

/** Every bound PeerTransport enforces. Each has a default below and a test at its edge. */
export interface PeerTransportLimits {
  /** Most messages waiting per peer in the normal lane (everything but InstallSnapshot). */
  readonly queueMessagesMax: number;
  /** Most bytes waiting per peer in the normal lane (one larger message is taken when empty). */
  readonly queueBytesMax: number;
  /** Most InstallSnapshot messages waiting per peer in the snapshot lane. */
  readonly snapshotQueueMessagesMax: number;
  /** Most bytes waiting per peer in the snapshot lane. */
  readonly snapshotQueueBytesMax: number;
  /** Largest frame sent or received, length prefix included. */
  readonly frameBytesMax: number;
  /**
   * Most inbound connections at once from nodes that are not configured peers (not set with
   * `setPeers`), such as a leader whose configuration this node has not learnt yet. A configured
   * peer always gets its connection, so strangers cannot crowd it out. Each id holds at most one
   * inbound connection: a newer one replaces an older one.
   */
  readonly unknownPeerConnectionsMax: number;
  /** Delay before the first redial of a peer; doubles with each failure (plus jitter). */
  readonly reconnectDelayMillisecondsMin: number;
  /** Longest delay between two dials of one peer. */
  readonly reconnectDelayMillisecondsMax: number;
  /** A dial that has not connected by then is abandoned and retried after the backoff. */
  readonly connectTimeoutMilliseconds: number;
  /**
   * A connection whose socket accepted no bytes for this long while data waited is closed and
   * redialled. TCP keepalive cannot find such a peer: unacknowledged data suspends keepalive
   * probes, and retransmission gives up only after many minutes.
   */
  readonly writeStallTimeoutMilliseconds: number;
  /** Idle time before TCP keepalive probes start, on inbound and outbound connections. */
  readonly keepAliveDelayMilliseconds: number;
}

/**
 * Defaults. The queues hold well over the Raft core's in-flight window (64 appends of up to
 * 1 MiB, `inflightBytesMax` 8 MiB) and a few 512 KiB snapshot chunks, so they overflow only for a
 * peer that stopped reading. Reconnects start at 50 ms (a heartbeat period) and stay under the
 * 300 ms election timeout's scale at 1 s.
 */
export const peerTransportDefaults: PeerTransportLimits = Object.freeze({
  queueMessagesMax: 1024,
  queueBytesMax: 64 * 1024 * 1024,
  snapshotQueueMessagesMax: 16,
  snapshotQueueBytesMax: 64 * 1024 * 1024,
  frameBytesMax: RAFT_FRAME_BYTES_MAX_DEFAULT,
  unknownPeerConnectionsMax: 64,
  reconnectDelayMillisecondsMin: 50,
  reconnectDelayMillisecondsMax: 1000,
  connectTimeoutMilliseconds: 5000,
  writeStallTimeoutMilliseconds: 30_000,
  keepAliveDelayMilliseconds: 10_000,
});

/** Which connection an error came from. */
export interface PeerErrorContext {
  readonly peerId: NodeId;
  readonly direction: 'outbound' | 'inbound';
}

/** What `new PeerTransport(...)` takes: this node, its callbacks, and any limit to override. */
export interface PeerTransportOptions extends Partial<PeerTransportLimits> {
  /** This node's id, sent in CONNECT and expected as `to` of every message received. */
  readonly id: NodeId;
  /** This node's address (`host:port`), sent in CONNECT. */
  readonly address: string;
  /** Receives every message from a peer, synchronously, in the order each peer sent them. */
  readonly onMessage: (message: Message) => void;
  /**
   * Hears of every connection failure (refused dials, resets, malformed traffic, stalls). The
   * transport recovers from each by itself; this is for logs and metrics. Default: ignore.
   */
  readonly onError?: (error: Error, context: PeerErrorContext) => void;
  /** A source of numbers in [0, 1) for reconnect jitter. Default Math.random. */
  readonly random?: () => number;
  /** Dial peers over mutual TLS with these (from createNodeTls). Default: plain TCP. */
  readonly tls?: NodeTls;
}

/** Options with every default filled in, validated and frozen. @internal */
export interface ResolvedPeerTransportOptions extends PeerTransportLimits {
  readonly id: NodeId;
  readonly address: string;
  readonly onMessage: (message: Message) => void;
  readonly onError: (error: Error, context: PeerErrorContext) => void;
  readonly random: () => number;
  readonly tls: NodeTls | undefined;
}

const limitNames = Object.keys(peerTransportDefaults) as (keyof PeerTransportLimits)[];
const optionNames = new Set<string>([
  ...limitNames,
  'id',
  'address',
  'onMessage',
  'onError',
  'random',
  'tls',
]);

/** Copies, validates and freezes the options; throws TypeError or RangeError naming the option. */
export function resolvePeerTransportOptions(
  options: PeerTransportOptions,
): ResolvedPeerTransportOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('PeerTransport: options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!optionNames.has(key)) throw new TypeError(`PeerTransport: unknown option "${key}"`);
  }
  const resolved: ResolvedPeerTransportOptions = {
    ...peerTransportDefaults,
    ...definedOnly(options),
    onError: options.onError ?? ignoreError,
    random: options.random ?? Math.random,
    tls: options.tls,
  };
  checkNodeId(resolved.id, 'PeerTransport: id');
  parsePeerAddress(resolved.address, 'PeerTransport: address');
  for (const name of ['onMessage', 'onError', 'random'] as const) {
    if (typeof resolved[name] !== 'function') {
      throw new TypeError(`PeerTransport: ${name} must be a function`);
    }
  }
  if (resolved.tls !== undefined && (typeof resolved.tls !== 'object' || resolved.tls === null)) {
    throw new TypeError('PeerTransport: tls must come from createNodeTls');
  }
  for (const name of limitNames) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`PeerTransport: ${name} must be a positive integer, got ${value}`);
    }
  }
  if (resolved.reconnectDelayMillisecondsMin > resolved.reconnectDelayMillisecondsMax) {
    throw new RangeError(
      'PeerTransport: reconnectDelayMillisecondsMin must not exceed reconnectDelayMillisecondsMax',
    );
  }
  checkFrameBytesMax(resolved.frameBytesMax, 'PeerTransport: frameBytesMax');
  return Object.freeze(resolved);
}

/** Throws a RangeError unless `id` is a positive safe integer. */
export function checkNodeId(id: unknown, name: string): asserts id is NodeId {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw new RangeError(`${name} must be a positive safe integer, got ${String(id)}`);
  }
}

/** Options given as `undefined` take their default, as if absent. */
function definedOnly(options: PeerTransportOptions): PeerTransportOptions {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as unknown as PeerTransportOptions;
}

function ignoreError(): void {
  // The default: the transport recovers from every connection failure by itself.
}
