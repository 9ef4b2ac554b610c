/**
 * What one node lets its clients take, each with a default (docs/limits.md). A client
 * that goes past one gets a clear answer (a FAILURE, or its connection closed); the node and its
 * other clients carry on.
 */
export interface NodeLimits {
  /** Connections open at once, clients and peers; more are closed on arrival. Default 4096. */
  readonly connectionsMax?: number;
  /** Largest request accepted, header included; a larger one closes the connection. Default 64 MiB. */
  readonly messageBytesMax?: number;
  /** Requests a client may send ahead before the node stops reading its connection. Default 64. */
  readonly pipelinedRequestsMax?: number;
  /** Prepared statements one connection may hold; one more is a FAILURE. Default 4096. */
  readonly statementsPerConnectionMax?: number;
  /**
   * Bytes of a query's rows the node encodes ahead of a client that has not read them yet (the
   * query then waits for the client). A row larger than this is still sent, alone. Default 64 KiB.
   */
  readonly queryBufferBytes?: number;
  /**
   * A connection on which nothing was read or written for this long, and no request is running,
   * is closed. 0 turns it off. Default 3600000 (one hour); the pool closes its own idle
   * connections long before (its `idleTimeoutMs`, 30 s).
   */
  readonly idleTimeoutMs?: number;
  /**
   * Bytes the leader keeps free on the file system holding its data directory, for the Raft log,
   * checkpoints and snapshots: with less free, a write fails at once with SQLITE_FULL instead of
   * reaching a log that cannot grow. 0 turns it off. Default 64 MiB.
   */
  readonly diskReserveBytes?: number;
}

export type ResolvedNodeLimits = Required<NodeLimits>;

export const NODE_LIMITS_DEFAULT: ResolvedNodeLimits = Object.freeze({
  connectionsMax: 4096,
  messageBytesMax: 64 * 1024 * 1024,
  pipelinedRequestsMax: 64,
  statementsPerConnectionMax: 4096,
  queryBufferBytes: 64 * 1024,
  idleTimeoutMs: 3_600_000,
  diskReserveBytes: 64 * 1024 * 1024,
});

/** Smallest and largest value each limit takes: below the floor the node could not work. */
const ranges: Record<keyof NodeLimits, readonly [number, number]> = {
  connectionsMax: [1, 1_000_000],
  // A request header is 8 bytes and the smallest body 8; Buffer's own cap is 4 GiB on 64-bit.
  messageBytesMax: [1024, 2 ** 32 - 1],
  pipelinedRequestsMax: [1, 1_000_000],
  statementsPerConnectionMax: [1, 1_000_000],
  queryBufferBytes: [1024, 1024 * 1024 * 1024],
  idleTimeoutMs: [0, 2 ** 31 - 1],
  diskReserveBytes: [0, Number.MAX_SAFE_INTEGER],
};

/** Fills in defaults; an unknown limit or a value out of range throws, naming it. */
export function resolveNodeLimits(limits: NodeLimits | undefined): ResolvedNodeLimits {
  if (limits === undefined) return NODE_LIMITS_DEFAULT;
  if (typeof limits !== 'object' || limits === null) {
    throw new TypeError('createNode: limits must be an object');
  }
  const resolved: Record<string, number> = { ...NODE_LIMITS_DEFAULT };
  for (const [name, value] of Object.entries(limits)) {
    const range = ranges[name as keyof NodeLimits] as readonly [number, number] | undefined;
    if (range === undefined) throw new TypeError(`createNode: unknown limit "${name}"`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw new TypeError(`createNode: limits.${name} must be an integer, got ${String(value)}`);
    }
    if (value < range[0] || value > range[1]) {
      throw new RangeError(
        `createNode: limits.${name} must be from ${range[0]} to ${range[1]}, got ${value}`,
      );
    }
    resolved[name] = value;
  }
  return Object.freeze(resolved) as ResolvedNodeLimits;
}
