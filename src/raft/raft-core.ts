import { assert } from './assert.js';
import { resolveRaftConfig, type RaftConfig } from './config.js';
import type { MembershipChange } from './configuration.js';
import { campaign, handleRequestVote, handleRequestVoteResult } from './election.js';
import { handleAppendEntries, handleInstallSnapshot, snapshotChunkWritten } from './follower.js';
import {
  appendProposal,
  changeMembership,
  leaderFlush,
  refusal,
  startTransfer,
  tickLeader,
  type Refusal,
} from './leader.js';
import { expireForwardedReads, forwardRead, handleReadIndexResult } from './forwarded-reads.js';
import { confirmReads, handleReadIndex, readIndexNow, requestRead } from './read-index.js';
import { RaftState } from './raft-state.js';
import { acceptTerm, followLeaderOf } from './term-rules.js';
import type { RaftInitialState } from './raft-storage.js';
import type { PersistToken, RaftRole, Ready, SnapshotRead, SnapshotWrite } from './ready.js';
import { ReadyBatches } from './ready-batches.js';
import {
  handleAppendEntriesResult,
  handleInstallSnapshotResult,
  restartSnapshot,
  sendSnapshotChunk,
} from './replication.js';
import {
  EntryType,
  unreachable,
  type Configuration,
  type Message,
  type NodeId,
  type SnapshotMetadata,
} from './types.js';

export type ProposeResult =
  { readonly ok: true; readonly index: number; readonly term: number } | Refusal;

/** What `proposeAll` appended, in order, and the refusal that stopped it, if one did. */
export interface ProposeAllResult {
  readonly appended: readonly { readonly index: number; readonly term: number }[];
  readonly refusal?: Refusal;
}

/** A membership change either appended now, or (a promotion) started catching the node up. */
export type MembershipResult = ProposeResult | { readonly ok: true; readonly catchingUp: true };

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly role: RaftRole;
  readonly leaderId: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly durableIndex: number;
  readonly snapshotIndex: number;
  /** A leader's snapshot is being received (staged) here. */
  readonly receivingSnapshot: boolean;
  readonly configuration: Configuration;
  readonly configurationIndex: number;
}

/**
 * One Raft node as a deterministic state machine (docs/contributing.md, "Raft is a pure state
 * machine"). Inputs: `tick`, `step` (a peer message), proposals and requests, and completions
 * (`persisted`, `snapshotRead`, `snapshotWritten`, `snapshotTaken`). Output: `ready()`, whose TSDoc
 * is the contract a host must follow.
 */
export class RaftCore {
  readonly #state: RaftState;
  /** The output side: each Ready, and the persists handed out until durable. */
  readonly #batches: ReadyBatches;
  /** Why this node must not campaign (holdCampaigns), or undefined. */
  #campaignHold: string | undefined;

  constructor(options: {
    id: NodeId;
    initialState: RaftInitialState;
    config?: Partial<RaftConfig>;
    random: () => number;
    /**
     * Monotonic milliseconds, for leader leases; required with `leaseReads`. Production passes
     * performance.now (it runs on while the process is paused); the simulator a node's clock.
     */
    now?: () => number;
  }) {
    const config = resolveRaftConfig(options.config);
    if (config.leaseReads && options.now === undefined) {
      throw new RangeError('Raft option "leaseReads" needs a clock: pass `now` to RaftCore');
    }
    const now = options.now ?? (() => 0);
    this.#state = new RaftState(
      options.id,
      config,
      { random: options.random, now },
      options.initialState,
    );
    this.#batches = new ReadyBatches(this.#state, options.initialState.hardState);
    this.#state.resetElectionTimer();
  }

  get id(): NodeId {
    return this.#state.id;
  }

  get config(): RaftConfig {
    return this.#state.config;
  }

  /**
   * Keeps this node from ever campaigning (with a reason), or lets it again (undefined). A node
   * whose state machine diverged from the others' must not lead; it still votes and follows,
   * because its log is as good as anyone's. The host also ignores TimeoutNow while it holds.
   */
  holdCampaigns(reason: string | undefined): void {
    this.#campaignHold = reason;
  }

  get campaignHold(): string | undefined {
    return this.#campaignHold;
  }

  tick(): void {
    const state = this.#state;
    state.ticks += 1;
    if (state.role === 'leader') {
      tickLeader(state);
      this.#afterInput();
      return;
    }
    state.electionElapsed += 1;
    expireForwardedReads(state);
    if (state.electionElapsed < state.randomizedElectionTimeout) return;
    if (state.isVoter() && state.reception?.writing !== true && this.#campaignHold === undefined) {
      campaign(state, { preVote: state.config.preVote, transfer: false });
    } else {
      state.resetElectionTimer();
    }
    this.#afterInput();
  }

  /** Handles one message from a peer. Messages for another node are ignored. */
  step(message: Message): void {
    const state = this.#state;
    if (message.to !== state.id || message.from === state.id) return;
    if (!acceptTerm(state, message)) {
      this.#afterInput();
      return;
    }
    switch (message.type) {
      case 'RequestVote':
        handleRequestVote(state, message);
        break;
      case 'RequestVoteResult':
        handleRequestVoteResult(state, message);
        break;
      case 'AppendEntries':
        followLeaderOf(state, message);
        handleAppendEntries(state, message);
        break;
      case 'InstallSnapshot':
        followLeaderOf(state, message);
        handleInstallSnapshot(state, message);
        break;
      case 'AppendEntriesResult':
        if (state.role === 'leader') handleAppendEntriesResult(state, message);
        break;
      case 'InstallSnapshotResult':
        if (state.role === 'leader') handleInstallSnapshotResult(state, message);
        break;
      case 'TimeoutNow':
        if (state.role === 'follower') campaign(state, { preVote: false, transfer: true });
        break;
      case 'ReadIndex':
        handleReadIndex(state, message);
        break;
      case 'ReadIndexResult':
        if (state.role === 'follower') handleReadIndexResult(state, message);
        break;
      default:
        unreachable(message);
    }
    this.#afterInput();
  }

  propose(data: Uint8Array): ProposeResult {
    return this.#propose(EntryType.command, data);
  }

  /** Appends an empty entry; once applied, everything before it is applied too. */
  proposeBarrier(): ProposeResult {
    return this.#propose(EntryType.barrier, new Uint8Array(0));
  }

  #propose(type: EntryType, data: Uint8Array): ProposeResult {
    const state = this.#state;
    if (state.role !== 'leader') return this.#notLeader();
    const entry = appendProposal(state, type, data);
    if ('ok' in entry) return entry;
    this.#afterInput();
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * Appends `data` as consecutive command entries in one input: nothing of this node's own (a
   * promotion's configuration, say) can come between them, which a transaction spanning entries
   * needs (page-set.ts: every node takes any other entry between its parts for the loss of their
   * leader). Stops at the first refusal; the entries before it are in the log.
   */
  proposeAll(data: readonly Uint8Array[]): ProposeAllResult {
    const state = this.#state;
    if (state.role !== 'leader') return { appended: [], refusal: this.#notLeader() };
    const appended: { index: number; term: number }[] = [];
    let refusal: Refusal | undefined;
    for (const part of data) {
      const entry = appendProposal(state, EntryType.command, part);
      if ('ok' in entry) {
        refusal = entry;
        break;
      }
      appended.push({ index: entry.index, term: entry.term });
    }
    // Postcondition: the entries are consecutive and nothing followed them yet.
    const first = appended[0]?.index ?? state.log.lastIndex() + 1;
    assert(
      appended.every((entry, i) => entry.index === first + i) &&
        (appended.length === 0 || state.log.lastIndex() === first + appended.length - 1),
      'proposals of one input are consecutive entries',
    );
    this.#afterInput();
    return refusal === undefined ? { appended } : { appended, refusal };
  }

  changeMembership(change: MembershipChange): MembershipResult {
    const state = this.#state;
    if (state.role !== 'leader') return this.#notLeader();
    const outcome = changeMembership(state, change);
    this.#afterInput();
    if (outcome === 'catching-up') return { ok: true, catchingUp: true };
    if ('ok' in outcome) return outcome;
    return { ok: true, index: outcome.index, term: outcome.term };
  }

  /** Hands leadership to `target`, or to the most up-to-date voter (thesis §3.10). */
  transferLeadership(target?: NodeId): { readonly ok: true } | Refusal {
    const state = this.#state;
    if (state.role !== 'leader') return this.#notLeader();
    const outcome = startTransfer(state, target);
    this.#afterInput();
    return outcome ?? { ok: true };
  }

  /**
   * Starts a linearizable read; a `readStates` entry with `requestId` says when to serve it, or a
   * 'read-failed' event that it cannot be. A leader confirms it itself; a follower or standby
   * asks its leader with a ReadIndex message (forwarded-reads.ts) only when `follower` is set,
   * since a read served there is for hosts that ask for one.
   */
  readIndex(
    requestId: number,
    options: { follower?: boolean } = {},
  ): { readonly ok: true } | Refusal {
    const state = this.#state;
    if (state.role === 'leader') {
      requestRead(state, { requestId, from: state.id });
    } else if (options.follower === true && state.role === 'follower') {
      const refused = forwardRead(state, requestId);
      if (refused !== undefined) return refusal('not-leader', refused);
    } else {
      return this.#notLeader();
    }
    this.#afterInput();
    return { ok: true };
  }

  /**
   * The index a `readIndex` of this leader would be served at at once (single voter or lease), or
   * undefined when it would need a heartbeat round or cannot be served. Changes nothing: a host
   * may ask before every read, and start a round only when this says no.
   */
  readIndexNow(): number | undefined {
    return readIndexNow(this.#state);
  }

  #notLeader(): Refusal {
    const leader = this.#state.leaderId;
    return refusal('not-leader', leader === 0 ? 'no known leader' : `the leader is node ${leader}`);
  }

  /** Re-runs the leader's commit rule, replication and read confirmation after any input. */
  #afterInput(): void {
    const state = this.#state;
    leaderFlush(state);
    confirmReads(state);
  }

  /** Whether `ready(options)` would return any work. Pass the same options. */
  hasReady(options: { persist?: boolean } = {}): boolean {
    return this.#batches.hasWork(options.persist ?? true);
  }

  /** Takes the next batch of work (ReadyBatches). See `Ready` for the order a host must follow. */
  ready(options: { persist?: boolean } = {}): Ready {
    return this.#batches.take(options.persist ?? true);
  }

  /** A persist from `ready()` is durable. Persists complete in the order they were handed out. */
  persisted(token: PersistToken): void {
    this.#batches.persisted(token);
    this.#afterInput();
  }

  snapshotRead(read: SnapshotRead, data: Uint8Array | Error): void {
    if (data instanceof Error) restartSnapshot(this.#state, read);
    else sendSnapshotChunk(this.#state, read, data);
    this.#afterInput();
  }

  snapshotWritten(write: SnapshotWrite): void {
    snapshotChunkWritten(this.#state, write);
    this.#afterInput();
  }

  /** Metadata for a snapshot of the state machine as it is now (at the applied index). */
  snapshotMetadata(bytes: number): SnapshotMetadata {
    const state = this.#state;
    const index = state.log.appliedIndex;
    const term = state.log.term(index);
    assert(term !== undefined, `term of applied index ${index} is known`);
    const configuration = state.configurationAt(index);
    return {
      index,
      term,
      configuration: configuration.configuration,
      configurationIndex: configuration.index,
      bytes,
    };
  }

  /**
   * Entries to keep before a snapshot at `index` (`snapshotTrailingEntries`, bounded by
   * `snapshotTrailingBytes`); the host passes the same count to its storage.
   */
  trailingEntriesAt(index: number): number {
    const { config, log } = this.#state;
    return log.trailingCount(index, config.snapshotTrailingEntries, config.snapshotTrailingBytes);
  }

  /** The host stored a snapshot taken at `metadata.index`; forget entries it covers. */
  snapshotTaken(metadata: SnapshotMetadata): void {
    const state = this.#state;
    assert(metadata.index <= state.log.appliedIndex, 'a snapshot covers only applied entries');
    if (metadata.index <= (state.snapshot?.index ?? 0)) return;
    state.snapshot = metadata;
    state.log.compactTo(Math.max(0, metadata.index - this.trailingEntriesAt(metadata.index)));
  }

  /**
   * A leader's match index for each other server (§5.3: the highest entry known to be
   * replicated there), for monitoring; empty on any other role. A copy: changing it changes
   * nothing.
   */
  matchIndexes(): Map<NodeId, number> {
    const matches = new Map<NodeId, number>();
    if (this.#state.role !== 'leader') return matches;
    for (const [id, progress] of this.#state.progress) {
      if (id !== this.#state.id) matches.set(id, progress.matchIndex);
    }
    return matches;
  }

  status(): RaftStatus {
    const state = this.#state;
    const log = state.log;
    return {
      id: state.id,
      term: state.term,
      vote: state.vote,
      role: state.role,
      leaderId: state.leaderId,
      commitIndex: log.commitIndex,
      appliedIndex: log.appliedIndex,
      lastIndex: log.lastIndex(),
      lastTerm: log.lastTerm(),
      durableIndex: log.durableIndex,
      snapshotIndex: state.snapshot?.index ?? 0,
      receivingSnapshot: state.reception !== undefined,
      configuration: state.configuration(),
      configurationIndex: state.configurationIndex(),
    };
  }
}
