import type { Entry, HardState, Message, NodeId, SnapshotMetadata } from './types.js';

/** A leader's permission to serve a read: the read may run once the host has applied `index`. */
export interface ReadState {
  readonly requestId: number;
  readonly index: number;
}

/** A chunk of the local snapshot the leader needs, to send to `to` (see `RaftCore.snapshotRead`). */
export interface SnapshotRead {
  readonly to: NodeId;
  readonly metadata: SnapshotMetadata;
  readonly offset: number;
  readonly length: number;
}

/**
 * A chunk of a snapshot the leader sent us, to stage in storage (see `RaftCore.snapshotWritten`).
 * On the last chunk (`done`) the host makes the snapshot current and then, if `keepLogAfter` is
 * false, discards the whole log; otherwise it keeps the entries after `metadata.index` (§7).
 */
export interface SnapshotWrite {
  readonly metadata: SnapshotMetadata;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
  readonly keepLogAfter: boolean;
}

/** Things the host may want to log or act on. */
export type RaftEvent =
  | { readonly type: 'leader-changed'; readonly term: number; readonly leaderId: NodeId }
  | { readonly type: 'role-changed'; readonly role: RaftRole; readonly term: number }
  | { readonly type: 'promotion-failed'; readonly id: NodeId; readonly reason: string }
  | { readonly type: 'transfer-failed'; readonly target: NodeId; readonly reason: string }
  | { readonly type: 'read-failed'; readonly requestId: number; readonly reason: string };

export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/**
 * One batch of work the core hands its host. The host must process it in this order, which is the
 * whole durability contract of the core (cf. etcd's `Ready`):
 *
 * 1. Start persisting `hardState` (if set) and `entries` together. Entries replace any stored
 *    entries from `entries[0].index` on (a conflicting suffix, §5.3), then append. Persists
 *    complete in the order they were started.
 * 2. Send `messages` right away. They never depend on unpersisted state of this node: a leader may
 *    replicate entries it has not yet fsynced itself (thesis §10.2.1), because its own durable
 *    index is counted like any follower's vote.
 * 3. When the persist completes, call `persisted(persistToken)` and only then send
 *    `messagesAfterPersist` (votes and acknowledgements that promise durable state).
 * 4. Stage `snapshotWrites` in order, calling `snapshotWritten` after each; serve `snapshotReads`
 *    with `snapshotRead`.
 * 5. If `restoreSnapshot` is set, restore the state machine from that (now current) snapshot
 *    before applying anything else.
 * 6. Apply `committedEntries` in order. Every one is committed and durable on this node.
 * 7. Serve `readStates` once the state machine has applied their index.
 *
 * A Ready whose persist was skipped (`ready({ persist: false })`) carries no hard state, entries or
 * messagesAfterPersist; they stay in the core and come out in a later Ready. That is how a host
 * gets group commit: while one fsync runs it keeps sending messages, and the next persist writes
 * every entry proposed meanwhile.
 */
export interface Ready {
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly persistToken: PersistToken | undefined;
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly snapshotWrites: readonly SnapshotWrite[];
  readonly snapshotReads: readonly SnapshotRead[];
  readonly restoreSnapshot: SnapshotMetadata | undefined;
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  readonly events: readonly RaftEvent[];
}

/** Identifies one persist: the last entry it wrote (index and term) and its hard state. */
export interface PersistToken {
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly hardState: HardState;
}
