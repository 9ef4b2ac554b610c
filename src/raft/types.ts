/**
 * The vocabulary of the Raft core: entries, configurations, persistent state and the messages
 * peers exchange. Names follow the Raft paper (Ongaro & Ousterhout 2014, figure 2) and Ongaro's
 * thesis (2014) so a reader can search from one to the other.
 */

/** A server's id. A positive safe integer; Dqlite's wire format carries it as a u64. */
export type NodeId = number;

/**
 * What a server does in the cluster, with Dqlite's numeric codes (voter 0, standby 1, spare 2).
 * Voters vote and count towards quorum; standbys replicate the log without voting; spares neither
 * vote nor replicate and only wait to be promoted.
 */
export const Role = { voter: 0, standby: 1, spare: 2 } as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface Server {
  readonly id: NodeId;
  readonly address: string;
  readonly role: Role;
}

/** The cluster membership. Invariant: ids are unique; at least one voter once bootstrapped. */
export interface Configuration {
  readonly servers: readonly Server[];
}

/**
 * Entry kinds, with canonical raft's codes. A barrier carries no data: each new leader appends one
 * to commit an entry of its own term (thesis §6.4) and the host uses one to wait for apply.
 */
export const EntryType = { command: 1, barrier: 2, configuration: 3 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** One log entry. Invariant: index >= 1, term >= 1; a configuration entry's data decodes. */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** State that must be durable before the node answers a vote or acknowledges entries (§5.1). */
export interface HardState {
  readonly term: number;
  /** The candidate voted for in `term`, or 0 for none. */
  readonly vote: NodeId;
}

/**
 * Describes a snapshot: the state machine after applying every entry up to `index`, and the
 * configuration in force at that point (§7). `bytes` is the size of the opaque snapshot data.
 */
export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly configuration: Configuration;
  readonly configurationIndex: number;
  readonly bytes: number;
}

/** RequestVote (§5.2), also used for pre-vote (thesis §9.6) where `term` is the proposed term. */
export interface RequestVote {
  readonly type: 'RequestVote';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  readonly preVote: boolean;
  /** Set when a leadership transfer started this election: voters ignore leader stickiness. */
  readonly transfer: boolean;
}

export interface RequestVoteResult {
  readonly type: 'RequestVoteResult';
  readonly from: NodeId;
  readonly to: NodeId;
  /** The voter's current term, or for a pre-vote the term the vote was asked for. */
  readonly term: number;
  readonly voteGranted: boolean;
  readonly preVote: boolean;
}

/**
 * AppendEntries (§5.3). An empty one is a heartbeat. `heartbeatSequence` lets the leader count
 * which followers acknowledged its leadership after a given point (ReadIndex, check-quorum).
 */
export interface AppendEntries {
  readonly type: 'AppendEntries';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly leaderCommit: number;
  readonly heartbeatSequence: number;
}

export interface AppendEntriesResult {
  readonly type: 'AppendEntriesResult';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly success: boolean;
  /**
   * On success, the last index the follower has durably matched with the leader. On rejection,
   * the index the follower rejected (the leader's prevLogIndex).
   */
  readonly index: number;
  /**
   * On rejection, a hint for fast back-off (§5.3, "the follower can include the term of the
   * conflicting entry"): the largest index <= the rejected one whose term is <= `hintTerm`.
   */
  readonly hintIndex: number;
  readonly hintTerm: number;
  readonly heartbeatSequence: number;
}

/**
 * InstallSnapshot (§7): one chunk of the snapshot at `metadata.index`, starting at `offset`.
 * `done` marks the last chunk.
 */
export interface InstallSnapshot {
  readonly type: 'InstallSnapshot';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly metadata: SnapshotMetadata;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
  readonly heartbeatSequence: number;
}

/**
 * The follower's answer to one chunk: `nextOffset` is where it wants the next chunk to start, so a
 * leader resumes an interrupted transfer where it stopped. `installed` once the snapshot is in
 * force on the follower.
 */
export interface InstallSnapshotResult {
  readonly type: 'InstallSnapshotResult';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly snapshotIndex: number;
  readonly nextOffset: number;
  readonly installed: boolean;
  readonly rejected: boolean;
  readonly heartbeatSequence: number;
}

/** Leadership transfer (thesis §3.10): the target starts an election at once. */
export interface TimeoutNow {
  readonly type: 'TimeoutNow';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/**
 * A follower asks the leader for a read index on behalf of a read it wants to serve itself
 * (thesis §6.4, "followers can serve reads"): the leader confirms its leadership as for its own
 * reads and answers with the commit index the read must wait for.
 */
export interface ReadIndex {
  readonly type: 'ReadIndex';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** The follower's own number for the read, echoed in the answer. */
  readonly requestId: number;
}

/** The leader's answer to a ReadIndex: `success` false when it cannot confirm one now. */
export interface ReadIndexResult {
  readonly type: 'ReadIndexResult';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly requestId: number;
  readonly success: boolean;
  /** The leader's commit index once its leadership was confirmed; 0 without success. */
  readonly index: number;
}

export type Message =
  | RequestVote
  | RequestVoteResult
  | AppendEntries
  | AppendEntriesResult
  | InstallSnapshot
  | InstallSnapshotResult
  | TimeoutNow
  | ReadIndex
  | ReadIndexResult;

export type MessageType = Message['type'];

/** Throws at compile time when a switch over a union misses a case. */
export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
