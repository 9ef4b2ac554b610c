import { assert } from './assert.js';
import type { RaftConfig } from './config.js';
import {
  decodeConfiguration as decodeConfigurationEntry,
  isVoter,
  replicasOf,
  votersOf,
} from './configuration.js';
import type { Progress } from './progress.js';
import { bootstrapTerm } from './raft-bootstrap.js';
import { RaftLog } from './raft-log.js';
import type { RaftInitialState } from './raft-storage.js';
import type { RaftEvent, RaftRole, ReadState, SnapshotRead, SnapshotWrite } from './ready.js';
import type { Configuration, Message, NodeId, Role, SnapshotMetadata } from './types.js';

/** A configuration and the index of the entry (or snapshot) that set it. */
export interface IndexedConfiguration {
  readonly index: number;
  readonly configuration: Configuration;
}

/** A promotion waiting for its target to catch up (canonical raft's rounds; thesis §4.2.1). */
export interface Promotion {
  readonly id: NodeId;
  readonly role: Role;
  round: number;
  roundTarget: number;
  roundTicks: number;
  totalTicks: number;
}

export interface LeadershipTransfer {
  readonly target: NodeId;
  ticks: number;
  timeoutNowSent: boolean;
}

/** A ReadIndex request confirmed once a quorum echoes `sequence` (thesis §6.4). */
export interface PendingRead extends ReadOrigin {
  readonly index: number;
  readonly sequence: number;
}

/** Whose read a leader confirms: its own host's (`from` is the leader), or a follower's. */
export interface ReadOrigin {
  readonly requestId: number;
  readonly from: NodeId;
}

/** A read this follower asked its leader to confirm (a ReadIndex message on its way). */
export interface ForwardedRead {
  readonly requestId: number;
  /** `ticks` when it was sent: unanswered for an election timeout, it fails. */
  readonly sentAtTick: number;
}

/** The follower side of an incoming snapshot. */
export interface SnapshotReception {
  readonly metadata: SnapshotMetadata;
  leaderId: NodeId;
  nextOffset: number;
  /** The last chunk's heartbeat sequence, echoed when its write completes (for ReadIndex). */
  heartbeatSequence: number;
  /** A SnapshotWrite is with the host; chunks arriving meanwhile are ignored. */
  writing: boolean;
}

/**
 * Everything one Raft node knows, shared by the role step functions in this folder. Only the
 * functions in `src/raft` mutate it; the host sees it through `RaftCore`.
 */
export class RaftState {
  readonly id: NodeId;
  readonly config: RaftConfig;
  readonly random: () => number;
  /**
   * The host's monotonic clock in milliseconds (leases, read-index.ts). It keeps running while the
   * process is paused, which a tick count does not: a lease in ticks would outlive a pause in
   * which another leader was elected. The simulator passes each node's drifting virtual clock.
   */
  readonly now: () => number;

  term: number;
  vote: NodeId;
  role: RaftRole = 'follower';
  /** 0 when unknown. */
  leaderId: NodeId = 0;
  readonly log: RaftLog;
  /** Oldest first. Invariant: the first is committed; later ones may not be (thesis §4.1). */
  configurations: IndexedConfiguration[];
  snapshot: SnapshotMetadata | undefined;

  /** Ticks since this node last heard from a leader (follower) or ran check-quorum (leader). */
  electionElapsed = 0;
  randomizedElectionTimeout = 0;
  heartbeatElapsed = 0;
  /**
   * Ticks since this node started; also times leases and promotion rounds. Invariant: while
   * ticks < electionTimeoutTicks a node that `mayOweLoyaltyAtStart` refuses candidates
   * (inLeaderLease), as if it had just heard from a leader it cannot name.
   */
  ticks = 0;
  /**
   * Whether this node may have answered a leader's heartbeat before it started, and so may still
   * owe that leader the loyalty a lease counts on (thesis §6.4.1) without remembering it: its
   * durable term is past the bootstrap term, in which no node leads. An answer in term T goes out
   * only once T is durable (RaftCore.#holdLeaderMessages, sendAfterPersist), so a node that
   * answered a leader of term T starts with a term of at least T.
   */
  readonly mayOweLoyaltyAtStart: boolean;

  votes = new Map<NodeId, boolean>();
  progress = new Map<NodeId, Progress>();
  heartbeatSequence = 0;
  /** When each recent heartbeat round was sent (on `now`), to start leases from. */
  sequenceSentAt = new Map<number, number>();
  /** Leader lease end on `now`, for lease-based reads; 0 when none. */
  leaseUntilMs = 0;
  /**
   * This leader sent TimeoutNow in its term: the target's election ignores stickiness, so no
   * lease may start again until a new leadership (thesis §6.4.1), even if the transfer gave up.
   */
  leaseRevoked = false;
  transfer: LeadershipTransfer | undefined;
  promotion: Promotion | undefined;
  pendingReads: PendingRead[] = [];
  /** ReadIndex requests received before this leader committed an entry of its term. */
  readsAwaitingCommit: ReadOrigin[] = [];
  /** A follower's reads out to its leader, oldest first (read-index.ts, forwardRead). */
  forwardedReads: ForwardedRead[] = [];
  reception: SnapshotReception | undefined;

  messages: Message[] = [];
  messagesAfterPersist: Message[] = [];
  snapshotWrites: SnapshotWrite[] = [];
  snapshotReads: SnapshotRead[] = [];
  restoreSnapshot: SnapshotMetadata | undefined;
  readStates: ReadState[] = [];
  events: RaftEvent[] = [];

  constructor(
    id: NodeId,
    config: RaftConfig,
    clocks: { readonly random: () => number; readonly now: () => number },
    initial: RaftInitialState,
  ) {
    assert(Number.isSafeInteger(id) && id > 0, `node id ${id} is a positive safe integer`);
    this.id = id;
    this.config = config;
    this.random = clocks.random;
    this.now = clocks.now;
    this.term = initial.hardState.term;
    this.mayOweLoyaltyAtStart = initial.hardState.term > bootstrapTerm;
    this.vote = initial.hardState.vote;
    this.snapshot = initial.snapshot;
    this.log = new RaftLog({ ...logBase(initial), entries: initial.entries });
    this.configurations = [];
    this.#initializeFromSnapshot(initial.snapshot);
    // The host restores its state machine from the snapshot before applying any entry.
    this.restoreSnapshot = initial.snapshot;
  }

  #initializeFromSnapshot(snapshot: SnapshotMetadata | undefined): void {
    if (snapshot !== undefined) {
      this.configurations.push({
        index: snapshot.configurationIndex,
        configuration: snapshot.configuration,
      });
      if (this.log.baseIndex < snapshot.index) {
        // Entries at or before the snapshot are applied by restoring it; trailing ones remain
        // readable for followers that lag slightly.
        assert(snapshot.index <= this.log.lastIndex(), 'log reaches the snapshot');
        this.log.commitIndex = snapshot.index;
        this.log.appliedIndex = snapshot.index;
      }
    }
    for (const entry of this.log.entries) {
      if (
        entry.type === 3 &&
        (snapshot === undefined || entry.index > snapshot.configurationIndex)
      ) {
        this.appendConfigurationEntry(entry.index, entry.data);
      }
    }
  }

  /** Records a configuration entry appended to the log; it takes effect at once (thesis §4.1). */
  appendConfigurationEntry(index: number, data: Uint8Array): void {
    this.configurations.push({ index, configuration: decodeOrFail(data, index) });
  }

  configuration(): Configuration {
    const latest = this.configurations.at(-1);
    return latest?.configuration ?? { servers: [] };
  }

  configurationIndex(): number {
    return this.configurations.at(-1)?.index ?? 0;
  }

  /** The configuration in force at `index` (for snapshot metadata). */
  configurationAt(index: number): IndexedConfiguration {
    let found: IndexedConfiguration | undefined;
    for (const entry of this.configurations) if (entry.index <= index) found = entry;
    assert(found !== undefined, `a configuration is known at index ${index}`);
    return found;
  }

  /** Drops configurations superseded by one that is committed. */
  pruneConfigurations(): void {
    while (this.configurations.length > 1) {
      const second = this.configurations[1];
      if (second === undefined || second.index > this.log.commitIndex) break;
      if (second.index > this.log.appliedIndex) break;
      this.configurations.shift();
    }
  }

  /** Forgets configurations set by truncated entries (from `index` on). */
  truncateConfigurations(index: number): void {
    while ((this.configurations.at(-1)?.index ?? 0) >= index && this.configurations.length > 1) {
      this.configurations.pop();
    }
  }

  voters(): NodeId[] {
    return votersOf(this.configuration());
  }

  isVoter(): boolean {
    return isVoter(this.configuration(), this.id);
  }

  /** Peers the leader replicates to: voters and standbys, and a spare being promoted. */
  replicaPeers(): NodeId[] {
    const peers = replicasOf(this.configuration()).filter((id) => id !== this.id);
    const promoted = this.promotion?.id;
    if (promoted !== undefined && promoted !== this.id && !peers.includes(promoted))
      peers.push(promoted);
    return peers;
  }

  send(message: Message): void {
    this.messages.push(message);
  }

  sendAfterPersist(message: Message): void {
    this.messagesAfterPersist.push(message);
  }

  emit(event: RaftEvent): void {
    this.events.push(event);
  }

  resetElectionTimer(): void {
    this.electionElapsed = 0;
    const base = this.config.electionTimeoutTicks;
    this.randomizedElectionTimeout = base + Math.floor(this.random() * base);
  }
}

function decodeOrFail(data: Uint8Array, index: number): Configuration {
  try {
    return decodeConfigurationEntry(data);
  } catch (error) {
    // A configuration entry that does not decode was written by a broken node: stop.
    throw new Error(`configuration entry ${index} does not decode: ${(error as Error).message}`);
  }
}

/**
 * Where the in-memory log starts. With trailing entries kept before a snapshot, the term of the
 * entry before the first one is unknown (-1): a follower that needs it gets the snapshot.
 */
function logBase(initial: RaftInitialState): { baseIndex: number; baseTerm: number } {
  const first = initial.entries[0];
  const snapshot = initial.snapshot;
  if (first === undefined)
    return { baseIndex: snapshot?.index ?? 0, baseTerm: snapshot?.term ?? 0 };
  const baseIndex = first.index - 1;
  if (baseIndex === 0) return { baseIndex, baseTerm: 0 };
  if (snapshot !== undefined && snapshot.index === baseIndex)
    return { baseIndex, baseTerm: snapshot.term };
  return { baseIndex, baseTerm: -1 };
}
