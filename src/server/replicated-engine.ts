import fs from 'node:fs';
import path from 'node:path';
import type net from 'node:net';
import {
  RaftCore,
  RaftDriver,
  bootstrapState,
  type Configuration,
  type Entry,
  type MembershipChange,
  type NodeId,
  type RaftConfig,
  type RaftEvent,
  type RaftStatus,
  type RaftStorage,
  type RaftTransport,
  type Server,
  EntryType,
  Role,
} from '../raft/index.js';
import { FileStorage, type StorageStall } from '../storage/index.js';
import {
  PeerTransport,
  type NodeTls,
  type PeerAddress,
  type PeerTransportOptions,
} from '../transport/index.js';
import { ErrorCode, type WireValue } from '../wire/index.js';
import { diskFiles, engineStateMachine, type SnapshotFiles } from './engine-state-machine.js';
import { LeadershipConfirmations } from './leadership-confirmations.js';
import { MembershipError } from './membership-error.js';
import { PointReads } from './point-reads.js';
import { AppliedIndex } from './applied-index.js';
import { DiskHandover, isDiskFailureCode } from './disk-handover.js';
import type { NodeLimits } from './limits.js';
import { handedOver, promoted, type RaftObserver } from './raft-waits.js';
import { encodeContentCheck, type ContentCheck } from '../fsm/content-check.js';
import { divergenceAdvice, readDivergence, recordDivergence } from './divergence-marker.js';
import { Leadership } from './leadership.js';
import { LeadershipLost, leadershipLost, notLeader } from './outcomes.js';
import { WritePath } from './write-path.js';
import { EngineLink, type EngineLinkOptions } from './sql/engine-link.js';
import { systemClock, type Clock } from './clock.js';
import type { EngineCall, EngineOutcome, EngineReply } from './sql/engine-messages.js';

export interface ReplicatedEngineOptions {
  readonly id: NodeId;
  readonly address: string;
  readonly dataDir: string;
  /** The configuration a brand-new cluster starts with; only its first node passes it. */
  readonly bootstrap?: Configuration;
  readonly raft?: Partial<RaftConfig>;
  readonly busyTimeoutMs: number;
  /** What the SQL engine lets one connection hold (NodeLimits); defaults as there. */
  readonly sqlLimits?: Pick<NodeLimits, 'statementsPerConnectionMax' | 'queryBufferBytes'>;
  readonly snapshotThresholdEntries?: number;
  /**
   * Answer reads from a leader lease (the Raft core's, read-index.ts) instead of a heartbeat round
   * each; default true. Assumes no node's clock runs more than 20% faster than the leader's
   * (leaseMilliseconds).
   */
  readonly leaseReads?: boolean;
  /** Dial peers over mutual TLS (createNodeTls). Default plain TCP. */
  readonly tls?: NodeTls;
  /** The node cannot go on safely (storage or engine failure); the host must stop it. */
  readonly onFatal: (error: Error) => void;
}

/** The Raft log's storage as the node uses it: FileStorage in production. */
export interface NodeStorage extends RaftStorage {
  /** Why writes stall now (no space, no write access), or undefined. */
  readonly stall: StorageStall | undefined;
  close(): Promise<void>;
}

/** The peer network as the node uses it: PeerTransport in production. */
export interface NodeTransport extends RaftTransport {
  setPeers(peers: readonly PeerAddress[]): void;
  accept(socket: net.Socket, rest: Buffer, peer: PeerAddress): void;
  close(): void;
}

/**
 * What a node runs on: disk, SQL engine, network, time and randomness. Production's come from
 * `productionEnvironment`; the whole-node simulator passes simulated ones, so that everything
 * above them (this class, Raft, the SQL engine's code, SQLite) runs as in production.
 */
export interface NodeEnvironment {
  readonly clock: Clock;
  readonly random: () => number;
  openStorage(directory: string, onStall: (stall: StorageStall | undefined) => void): NodeStorage;
  startEngine(options: EngineLinkOptions): EngineLink;
  startTransport(options: PeerTransportOptions): NodeTransport;
  /** How the snapshot files the engine writes are read here. */
  readonly snapshotFiles: SnapshotFiles;
}

export const productionEnvironment: NodeEnvironment = {
  clock: systemClock,
  random: Math.random,
  openStorage: (directory, onStall) => FileStorage.open({ directory, onStall }),
  startEngine: (options) => EngineLink.start(options),
  startTransport: (options) => new PeerTransport(options),
  snapshotFiles: diskFiles,
};

/** Longest a request waits for a node that just won an election to be ready to serve. */
const leadReadyWaitMs = 2000;
/** Longest a leadership transfer may take before TRANSFER fails. */
const transferWaitMs = 5000;
/** Longest a closing leader waits for its handover. */
const closeHandoverWaitMs = 1000;

/** Longest a node waits for a content check's entry to be applied before it answers. */
const contentCheckWaitMs = 10_000;

/** A content check's result, or why there is none. */
export type ContentCheckOutcome =
  | { readonly ok: true; readonly check: ContentCheck }
  | { readonly ok: false; readonly code: number; readonly message: string };

const failed = (code: number, message: string) => ({ ok: false, code, message }) as const;
const lostCode = ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST;

const debugEvents = process.env.DQLITE_TS_DEBUG !== undefined && process.env.DQLITE_TS_DEBUG !== '';

/**
 * The SQL engine behind Raft, on the node's main thread: Raft (core, driver, log storage, peer
 * transport, the tick) runs here, SQL runs in the engine's worker, and only a transaction's pages
 * and commit notices cross between them.
 *
 * No answer leaves before what it could reflect is committed (docs/architecture.md, "Replication",
 * step 3): `execute` proposes what a request committed locally, then holds its answer until the
 * newest proposal so far is applied, and a read's answer also until a ReadIndex round confirmed
 * this node was still leader after the read ran. When leadership is lost, held answers fail with
 * LEADERSHIP_LOST and the engine undoes what never committed.
 */
export class ReplicatedEngine {
  readonly id: NodeId;
  readonly address: string;
  readonly #options: ReplicatedEngineOptions;
  readonly #clock: Clock;
  readonly #storage: NodeStorage;
  readonly #transport: NodeTransport;
  readonly #driver: RaftDriver;
  readonly #link: EngineLink;
  readonly #confirmations: LeadershipConfirmations;
  readonly #stopTicks: () => void;
  readonly #eventListeners = new Set<(event: RaftEvent) => void>();
  /** Nodes that dialled us with CONNECT, by id, until our configuration names them. */
  readonly #announcedPeers = new Map<NodeId, string>();
  /** Whether this node serves SQL as leader, its epoch and its newest proposal (one owner). */
  readonly #leadership = new Leadership();
  /** What each request the engine ran may be answered with ("no OK without a commit"). */
  readonly #writePath: WritePath;
  readonly #pointReads: PointReads;
  readonly #applied = new AppliedIndex();
  #leadReadyWaiters: (() => void)[] = [];
  #closed = false;
  /** Set while the SQL engine waits for disk space (why). */
  #engineWaiting: string | undefined;
  readonly #diskHandover = new DiskHandover({
    handOver: () => this.transferLeadership(),
    report: (message) => console.error(`dqlite-ts node ${this.id}: ${message}`),
    now: () => this.#clock.now(),
  });

  private constructor(
    options: ReplicatedEngineOptions,
    environment: NodeEnvironment,
    storage: NodeStorage,
    core: RaftCore,
    link: EngineLink,
  ) {
    this.id = options.id;
    this.address = options.address;
    this.#options = options;
    this.#clock = environment.clock;
    this.#storage = storage;
    this.#link = link;
    this.#pointReads = new PointReads(path.join(options.dataDir, 'db'), {
      replyBytesMax: options.sqlLimits?.queryBufferBytes,
      now: () => this.#clock.now(),
    });
    this.#transport = environment.startTransport({
      id: options.id,
      address: options.address,
      tls: options.tls,
      onMessage: (message) => {
        if (this.#closed) return;
        // Asked to take over leadership while this node's own disk is failing it: it could not
        // serve, so it lets the transfer time out and the leader looks elsewhere later.
        // A diverged node must never lead.
        if (message.type === 'TimeoutNow' && this.#diskTrouble() !== undefined) return;
        if (message.type === 'TimeoutNow' && this.#driver.core.campaignHold !== undefined) return;
        this.#driver.receive(message);
      },
      random: environment.random,
    });
    this.#confirmations = new LeadershipConfirmations((requestId) => {
      const started = this.#driver.readIndex(requestId);
      return started.ok ? undefined : new LeadershipLost(started.message);
    });
    this.#driver = new RaftDriver({
      core,
      storage,
      transport: this.#transport,
      stateMachine: engineStateMachine(
        link,
        {
          applied: (entry) => this.#afterApply(entry),
          restored: (index) => {
            this.#applied.advance(index);
          },
        },
        environment.snapshotFiles,
      ),
      snapshotThresholdEntries: options.snapshotThresholdEntries,
      onReadState: (read) => this.#confirmations.confirmed(read.requestId),
      defer: (run) => this.#clock.defer(run),
      onEvent: (event) => this.#onEvent(event),
      onFatal: (error) => this.#fatal(error),
    });
    this.#transport.setPeers(this.#peers());
    this.#writePath = new WritePath({
      leadership: this.#leadership,
      link,
      propose: (data) => this.#driver.propose(data),
      confirmations: this.#confirmations,
      applied: this.#applied,
      stepDownEngine: (why) => this.#stepDownEngine(why),
      fatal: (error) => this.#fatal(error),
    });
    this.#stopTicks = this.#clock.every(core.config.tickMilliseconds, () => this.#tick());
  }

  /** Starts a node on `environment` (production's by default) from what its disk holds. */
  static async start(
    options: ReplicatedEngineOptions,
    environment: NodeEnvironment = productionEnvironment,
  ): Promise<ReplicatedEngine> {
    const raftDirectory = path.join(options.dataDir, 'raft');
    // Storage and the link report to the engine, which exists only once both do.
    const created: { engine?: ReplicatedEngine } = {};
    fs.mkdirSync(raftDirectory, { recursive: true });
    const storage = environment.openStorage(raftDirectory, (stall) => {
      console.error(
        stall === undefined
          ? `dqlite-ts node ${options.id}: the Raft log is written again`
          : `dqlite-ts node ${options.id}: cannot write the Raft log (${stall.error.message}); ` +
              'waiting for space or write access, Raft carries on without this disk',
      );
    });
    let initial = storage.load();
    const fresh = initial.entries.length === 0 && initial.snapshot === undefined;
    if (fresh && options.bootstrap !== undefined) {
      const boot = bootstrapState(options.bootstrap);
      await new Promise<void>((resolve, reject) =>
        storage.persist({ hardState: boot.hardState, entries: boot.entries }, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
      initial = boot;
    }
    const core = new RaftCore({
      id: options.id,
      initialState: initial,
      // The lease (read-index.ts) needs check-quorum's stickiness; without it reads take rounds.
      config: {
        ...options.raft,
        leaseReads: (options.leaseReads ?? true) && (options.raft?.checkQuorum ?? true),
      },
      random: environment.random,
      now: () => environment.clock.now(),
    });
    const diverged = readDivergence(options.dataDir);
    if (diverged !== undefined) {
      core.holdCampaigns(diverged);
      console.error(`dqlite-ts node ${options.id}: ${divergenceAdvice(diverged)}`);
    }
    const link = environment.startEngine({
      directory: path.join(options.dataDir, 'db'),
      busyTimeoutMs: options.busyTimeoutMs,
      ...options.sqlLimits,
      onFatal: (error) => {
        if (created.engine === undefined) options.onFatal(error);
        else created.engine.#fatal(error);
      },
      onSpaceWait: (waiting) => created.engine?.engineWaits(waiting),
    });
    created.engine = new ReplicatedEngine(options, environment, storage, core, link);
    return created.engine;
  }

  status(): RaftStatus {
    return this.#driver.core.status();
  }

  configuration(): Configuration {
    return this.status().configuration;
  }

  /** Raft leader (it may still be getting ready to serve SQL). */
  isLeader(): boolean {
    return !this.#closed && this.status().role === 'leader';
  }

  /** The leader this node knows, or undefined during an election. */
  leader(): Server | undefined {
    const status = this.status();
    if (status.leaderId === 0) return undefined;
    return status.configuration.servers.find((server) => server.id === status.leaderId);
  }

  /** Serves SQL as leader now (Raft leader whose term's barrier is applied). */
  isServing(): boolean {
    return this.#leadership.epoch !== undefined && !this.#closed;
  }

  onEvent(listener: (event: RaftEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /** A peer dialled us (the listener read its CONNECT): the socket now carries Raft messages. */
  acceptPeer(socket: net.Socket, rest: Buffer, peer: PeerAddress): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#announcedPeers.set(peer.id, peer.address);
    this.#transport.accept(socket, rest, peer);
    this.#transport.setPeers(this.#peers());
  }

  /** Requests any node answers from its own state (OPEN, FINALIZE, INTERRUPT, close, DUMP). */
  async local(call: EngineCall): Promise<EngineReply> {
    const reply = await this.#link.call(call);
    if (call.op === 'close') this.#leadership.setInTransaction(call.session, false);
    return reply;
  }

  /**
   * A point read served on this thread (PointReads), held like any read's answer; undefined
   * when it must run in the engine instead.
   */
  async pointRead(
    session: number,
    database: string,
    sql: string,
    parameters: readonly WireValue[],
  ): Promise<EngineOutcome | undefined> {
    const epoch = this.#leadership.epoch;
    if (epoch === undefined || this.#leadership.inTransaction(session)) return undefined;
    // The entries committed before this leadership are applied when posted here, but written into
    // the files by the engine: until it has handled this epoch's 'lead', which comes after them,
    // only a read in the engine (behind them in its queue) sees them.
    if (this.#link.engineLeadingEpoch !== epoch) return undefined;
    const rows = this.#pointReads.run(database, sql, parameters);
    if (rows === undefined) return undefined;
    // A transaction the engine committed may be in what the read saw while its reply (with its
    // proposal) is still on the way; the answer must wait for that proposal too. A write the
    // engine began after this count was read cannot have been visible to the read.
    const writersTaken = this.#link.writersTaken(this.#link.writersStarted);
    try {
      if (writersTaken !== undefined) await writersTaken;
      await this.#confirmations.confirm();
      await this.#applied.reached(this.#leadership.lastProposedIndex);
    } catch (error) {
      if (error instanceof LeadershipLost) return leadershipLost(error.message);
      throw error;
    }
    if (this.#leadership.epoch !== epoch) return leadershipLost('leadership changed');
    return { ok: true, value: { rows, done: true } };
  }

  /**
   * A leader-only request. `hold` (statements) keeps the answer back until everything it could
   * reflect is committed; PREPARE needs the leader but reflects no data.
   */
  async execute(call: EngineCall, hold: 'commit' | 'none' = 'commit'): Promise<EngineOutcome> {
    if (!(await this.#leadReady())) return notLeader;
    const reply = await this.#link.call(call);
    if (!reply.outcome.ok && isDiskFailureCode(reply.outcome.code) && this.#otherVoters() > 0) {
      this.#diskHandover.failed(`${reply.outcome.message}, code ${reply.outcome.code}`);
    }
    if ('session' in call) this.#leadership.setInTransaction(call.session, reply.inTransaction);
    return this.#writePath.answer(call, reply, hold);
  }

  /**
   * Starts a content check (leader only): proposes it through Raft, and resolves with what this
   * node found once it applied it. Every node that applies the entry hashes its databases at it.
   */
  async startContentCheck(): Promise<ContentCheckOutcome> {
    if (!(await this.#leadReady())) return failed(ErrorCode.SQLITE_IOERR_NOT_LEADER, 'not leader');
    const proposal = this.#driver.propose(encodeContentCheck());
    if (!proposal.ok) return failed(lostCode, `leadership lost: ${proposal.message}`);
    return this.contentCheck(proposal.index);
  }

  /**
   * What this node found at the content check of entry `index`, waiting up to `waitMs` for it to
   * be applied here. Fails when the entry is not a content check, or this node skipped it (it
   * restored a snapshot taken after it) or forgot it (it keeps the newest few).
   */
  async contentCheck(index: number, waitMs = contentCheckWaitMs): Promise<ContentCheckOutcome> {
    if (!(await this.#appliedWithin(index, waitMs))) {
      return failed(
        ErrorCode.SQLITE_BUSY,
        `entry ${index} was not applied here within ${waitMs} ms`,
      );
    }
    const reply = await this.#link.call({ op: 'content-check', index });
    const check = reply.outcome.ok
      ? (reply.outcome.value as { check?: ContentCheck }).check
      : undefined;
    if (check === undefined) {
      return failed(
        ErrorCode.SQLITE_NOTFOUND,
        `no content check at index ${index} on node ${this.id} (applied ${this.#applied.index})`,
      );
    }
    return { ok: true, check };
  }

  /**
   * Whether entry `index` is applied here within `waitMs`. Unlike an answer's wait, this one
   * outlives role changes (which fail every answer waiting on the applied index): a follower that
   * starts a pre-vote still applies what was committed.
   */
  async #appliedWithin(index: number, waitMs: number): Promise<boolean> {
    const deadline = this.#clock.now() + waitMs;
    while (this.#applied.index < index && !this.#closed) {
      const remainingMs = deadline - this.#clock.now();
      if (remainingMs <= 0) return false;
      let cancel: (() => void) | undefined;
      const timedOut = new Promise<void>(
        (resolve) => (cancel = this.#clock.after(remainingMs, resolve)),
      );
      await Promise.race([this.#applied.reached(index).catch(() => undefined), timedOut]);
      cancel?.();
    }
    return this.#applied.index >= index;
  }

  /** What the waits in raft-waits.ts watch. */
  readonly #observer: RaftObserver = {
    id: () => this.id,
    status: () => this.status(),
    appliedIndex: () => this.#applied.index,
    onEvent: (listener) => this.onEvent(listener),
    clock: () => this.#clock,
  };

  /** Resolves true once this node serves SQL as leader; false if it is not (or stops being). */
  async #leadReady(): Promise<boolean> {
    if (this.#leadership.epoch !== undefined) return true;
    if (!this.isLeader()) return false;
    await new Promise<void>((resolve) => {
      const cancel = this.#clock.after(leadReadyWaitMs, resolve);
      this.#leadReadyWaiters.push(() => {
        cancel();
        resolve();
      });
    });
    return this.#leadership.epoch !== undefined;
  }

  /** Applies a membership change through Raft; resolves once it is in force here. */
  async changeMembership(change: MembershipChange): Promise<void> {
    try {
      const result = this.#driver.changeMembership(change);
      if (!result.ok) throw new MembershipError(result.code, result.message);
      if ('catchingUp' in result) {
        await promoted(this.#observer, change.id, this.#driver.core.config.tickMilliseconds);
        return;
      }
      await this.#applied.reached(result.index);
    } catch (error) {
      if (error instanceof LeadershipLost) {
        throw new MembershipError('not-leader', `leadership lost: ${error.message}`);
      }
      throw error;
    }
  }

  /**
   * Hands leadership to `target` (or the best voter); resolves once this node stepped down and
   * knows the new leader, so a LEADER request right after names it (as dqlite's does).
   */
  async transferLeadership(target?: NodeId, timeoutMs = transferWaitMs): Promise<void> {
    const result = this.#driver.transferLeadership(target);
    if (!result.ok) throw new MembershipError(result.code, result.message);
    await handedOver(this.#observer, timeoutMs);
  }

  /** Why this node's databases diverged from the cluster's (it then never leads), or undefined. */
  get diverged(): string | undefined {
    return this.#driver.core.campaignHold;
  }

  /**
   * A content check found this node's databases different from the majority's: it records that
   * durably, never campaigns again, and hands leadership over if it leads. Idempotent.
   */
  async markDiverged(reason: string): Promise<void> {
    if (this.diverged !== undefined || this.#closed) return;
    recordDivergence(this.#options.dataDir, reason);
    this.#driver.core.holdCampaigns(reason);
    console.error(`dqlite-ts node ${this.id}: ${divergenceAdvice(reason)}`);
    if (this.isLeader() && this.#otherVoters() > 0) {
      await this.transferLeadership().catch((error: Error) => {
        console.error(
          `dqlite-ts node ${this.id}: could not hand leadership over: ${error.message}`,
        );
      });
    }
  }

  /** The SQL engine waits for disk space to apply what Raft committed: it cannot serve. */
  engineWaits(waiting: string | undefined): void {
    this.#engineWaiting = waiting;
    if (waiting !== undefined && this.isLeader() && this.#otherVoters() > 0) {
      this.#diskHandover.cannotServe(waiting);
    }
  }

  /** Why this node's disk is failing it now (Raft log or SQL engine), or undefined. */
  #diskTrouble(): string | undefined {
    return this.#storage.stall?.error.message ?? this.#engineWaiting;
  }

  #otherVoters(): number {
    return this.configuration().servers.filter(
      (server) => server.role === Role.voter && server.id !== this.id,
    ).length;
  }

  /** Stops the node. With `handover`, a leader first passes leadership to another voter. */
  async close(options: { handover?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    if (options.handover !== false && this.isLeader() && this.#otherVoters() > 0) {
      // Closing anyway: if the target is going away too (a whole cluster stopping), an election
      // follows, so waiting longer than a few election timeouts buys nothing.
      await this.transferLeadership(undefined, closeHandoverWaitMs).catch(() => {});
    }
    this.#shutDown();
    await this.#storage.close().catch(() => {}); // a write in flight may fail: we are stopping
    await this.#link.close();
  }

  /**
   * Stops at once, as if the process were killed: no handover, no flush; whatever storage had
   * not finished is the disk's business. The simulator's crashes go through here.
   */
  abandon(): void {
    if (this.#closed) return;
    this.#shutDown();
    void this.#link.close();
  }

  /** Stops everything at once, like kill -9 but inside the process (tests and fatal errors). */
  #shutDown(): void {
    this.#closed = true;
    this.#stopTicks();
    this.#driver.stop();
    this.#transport.close();
    this.#failWaiters('the node is closing');
    for (const wake of this.#leadReadyWaiters.splice(0)) wake();
    this.#pointReads.closeAll();
  }

  #tick(): void {
    if (this.#closed) return;
    this.#driver.tick();
    this.#transport.setPeers(this.#peers());
    this.#reLead();
  }

  /**
   * A leader whose engine stepped down while Raft kept it leader (a proposal was refused) serves
   * SQL again once a new barrier of its term is applied, every time that happens.
   */
  #reLead(): void {
    const status = this.status();
    if (!this.#leadership.barrierDue({ ...status, appliedIndex: this.#applied.index })) return;
    const barrier = this.#driver.proposeBarrier();
    if (barrier.ok) this.#leadership.barrierProposed(barrier.index);
  }

  /**
   * Who the transport may send to: the configuration's servers, and nodes that dialled us but
   * are not in our configuration yet. A node that just joined knows no configuration until the
   * leader's first entries arrive, and must still answer them.
   */
  #peers(): PeerAddress[] {
    const servers = this.configuration().servers;
    const peers: PeerAddress[] = servers.map((server) => ({
      id: server.id,
      address: server.address,
    }));
    for (const [id, address] of this.#announcedPeers) {
      if (servers.some((server) => server.id === id)) this.#announcedPeers.delete(id);
      else peers.push({ id, address });
    }
    return peers;
  }

  #leadsTerm(term: number): boolean {
    const status = this.status();
    return status.term === term && status.role === 'leader';
  }

  #afterApply(entry: Entry): void {
    // A new leader's barrier of its own term applied: everything committed before the term is
    // in the databases, so SQL may start (DatabaseSet.lead's precondition).
    if (
      entry.type === EntryType.barrier &&
      this.#leadership.epoch === undefined &&
      this.#leadsTerm(entry.term)
    ) {
      this.#link.post({ op: 'lead', epoch: this.#leadership.begin(entry.index) });
      for (const wake of this.#leadReadyWaiters.splice(0)) wake();
    }
    this.#applied.advance(entry.index);
  }

  #onEvent(event: RaftEvent): void {
    // DQLITE_TS_DEBUG=1 prints every role and leader change (docs/cli.md).
    if (debugEvents)
      console.error(`${new Date().toISOString()} node ${this.id}: ${JSON.stringify(event)}`);
    if (event.type === 'role-changed' && event.role !== 'leader') {
      this.#stepDownEngine(`this node became ${event.role} in term ${event.term}`);
    }
    if (event.type === 'read-failed') {
      this.#confirmations.failAll(new LeadershipLost(event.reason));
    }
    for (const listener of this.#eventListeners) listener(event);
  }

  /** Leadership is gone: the engine undoes what did not commit; held answers fail. */
  #stepDownEngine(why: string): void {
    if (this.#leadership.end()) {
      // Before the engine undoes anything: a connection here would keep the WAL alive past it.
      this.#pointReads.closeAll();
      this.#link.post({ op: 'step-down' });
    }
    this.#failWaiters(why);
  }

  #failWaiters(why: string): void {
    const error = new LeadershipLost(why);
    this.#applied.failAll(error);
    this.#confirmations.failAll(error);
  }

  #fatal(error: Error): void {
    if (this.#closed) return;
    this.#shutDown();
    void this.#link.close();
    this.#options.onFatal(error);
  }
}
