/**
 * Tunables of the Raft core. Time is counted in ticks: the host calls `tick()` at a fixed period
 * (`tickMilliseconds` below is only advice to hosts and documentation; the core never reads a
 * clock). Every queue and window has a named maximum (docs/contributing.md, "Assertions and
 * limits").
 */
export interface RaftConfig {
  /** Period the host ticks at. Default 50 ms: 1 tick heartbeats, 6–12 ticks elections. */
  readonly tickMilliseconds: number;
  /** A leader sends a heartbeat to each peer when it has not sent anything for this many ticks. */
  readonly heartbeatTicks: number;
  /**
   * Base election timeout. A follower waits a random timeout in [base, 2·base) without hearing
   * from a leader before it campaigns (§5.2). Default 6 ticks = 300 ms at 50 ms/tick, so a
   * failover normally completes within 300–650 ms.
   */
  readonly electionTimeoutTicks: number;
  /** Run a pre-vote round before a real election (thesis §9.6). Default true. */
  readonly preVote: boolean;
  /** A leader that has not heard from a quorum within an election timeout steps down (§6.2). */
  readonly checkQuorum: boolean;
  /** Most AppendEntries a leader keeps unacknowledged per follower while pipelining. */
  readonly inflightMessagesMax: number;
  /** Most bytes of entries a leader keeps unacknowledged per follower. */
  readonly inflightBytesMax: number;
  /** Most bytes of entries in one AppendEntries (at least one entry is always sent). */
  readonly appendBytesMax: number;
  /** Most proposals waiting for the leader's log beyond its commit index; more are refused. */
  readonly uncommittedEntriesMax: number;
  /** Entries kept in the log after a snapshot, so slightly lagging followers avoid a snapshot. */
  readonly snapshotTrailingEntries: number;
  /**
   * Most bytes of entries kept after a snapshot, whatever `snapshotTrailingEntries` says: the log
   * lives in memory, and large entries must not keep megabytes each alive.
   */
  readonly snapshotTrailingBytes: number;
  /** Bytes of snapshot data per InstallSnapshot chunk. */
  readonly snapshotChunkBytes: number;
  /** A snapshot transfer with no acknowledgement for this many ticks is restarted. */
  readonly snapshotTimeoutTicks: number;
  /**
   * Catch-up rounds before a promotion to voter gives up (canonical raft's rule): each round
   * replicates up to the leader's last index at the round's start; the node is promoted once a
   * round completes within an election timeout.
   */
  readonly promotionRoundsMax: number;
  /**
   * Serve reads from a leader lease instead of a quorum round per ReadIndex, for
   * leaseMilliseconds after a round (read-index.ts), timed by the clock the host passes to
   * RaftCore (`now`). Safe only while no node's clock runs more than clockRateDifferenceMax (20%)
   * faster than the leader's; off by default (the node turns it on).
   */
  readonly leaseReads: boolean;
}

export const defaultRaftConfig: RaftConfig = Object.freeze({
  tickMilliseconds: 50,
  heartbeatTicks: 1,
  electionTimeoutTicks: 6,
  preVote: true,
  checkQuorum: true,
  inflightMessagesMax: 64,
  inflightBytesMax: 8 * 1024 * 1024,
  appendBytesMax: 1024 * 1024,
  uncommittedEntriesMax: 4096,
  snapshotTrailingEntries: 1024,
  snapshotTrailingBytes: 64 * 1024 * 1024,
  snapshotChunkBytes: 512 * 1024,
  snapshotTimeoutTicks: 100,
  promotionRoundsMax: 10,
  leaseReads: false,
});

const integerFields = [
  'tickMilliseconds',
  'heartbeatTicks',
  'electionTimeoutTicks',
  'inflightMessagesMax',
  'inflightBytesMax',
  'appendBytesMax',
  'uncommittedEntriesMax',
  'snapshotChunkBytes',
  'snapshotTrailingBytes',
  'snapshotTimeoutTicks',
  'promotionRoundsMax',
] as const;

/** Fills defaults, rejects unknown or out-of-range options, and freezes the result. */
export function resolveRaftConfig(options: Partial<RaftConfig> = {}): RaftConfig {
  for (const key of Object.keys(options)) {
    if (!(key in defaultRaftConfig)) throw new TypeError(`unknown Raft option "${key}"`);
  }
  const config: RaftConfig = { ...defaultRaftConfig, ...options };
  for (const key of integerFields) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`Raft option "${key}" must be a positive integer, got ${value}`);
    }
  }
  if (!Number.isSafeInteger(config.snapshotTrailingEntries) || config.snapshotTrailingEntries < 0) {
    throw new RangeError('Raft option "snapshotTrailingEntries" must be a non-negative integer');
  }
  for (const key of ['preVote', 'checkQuorum', 'leaseReads'] as const) {
    if (typeof config[key] !== 'boolean') {
      throw new TypeError(`Raft option "${key}" must be a boolean, got ${typeof config[key]}`);
    }
  }
  if (config.leaseReads && !config.checkQuorum) {
    // A lease is sound only because followers ignore candidates while they hear from the leader,
    // and that stickiness comes with check-quorum (thesis §6.4.1).
    throw new RangeError('Raft option "leaseReads" requires "checkQuorum"');
  }
  if (config.heartbeatTicks >= config.electionTimeoutTicks) {
    throw new RangeError('Raft option "heartbeatTicks" must be below "electionTimeoutTicks"');
  }
  return Object.freeze(config);
}
