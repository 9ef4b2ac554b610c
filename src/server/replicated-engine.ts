import path from 'node:path';
import type net from 'node:net';
import {
  EntryType,
  type Configuration,
  type Entry,
  type MembershipChange,
  type NodeId,
  type RaftConfig,
  type RaftCore,
  type RaftEvent,
  type RaftInitialState,
  type RaftStatus,
  type Server,
} from '../raft/index.js';
import type { LogFiles } from '../storage/index.js';
import type { NodeTls, PeerAddress } from '../transport/index.js';
import { ErrorCode, type WireValue } from '../wire/index.js';
import { AppliedIndex } from './applied-index.js';
import { EngineLog } from './engine-log.js';
import { FollowerReadIndex } from './follower-read-index.js';
import { engineStateMachine } from './engine-state-machine.js';
import { reserveShortfall } from './disk-reserve.js';
import { LeadFitness } from './lead-fitness.js';
import { Leadership } from './leadership.js';
import { LeadershipConfirmations } from './leadership-confirmations.js';
import type { NodeLimits } from './limits.js';
import { LocalContentChecks, type ContentCheckOutcome } from './local-content-checks.js';
import {
  productionEnvironment,
  type NodeEnvironment,
  type NodeStorage,
} from './node-environment.js';
import { silentLogger, type NodeLogger } from './node-logger.js';
import { NodeRaft } from './node-raft.js';
import { openRaft } from './open-raft.js';
import { LeadershipLost } from './outcomes.js';
import { PointReads } from './point-reads.js';
import { SessionRequests } from './session-requests.js';
import type { EngineLink } from './sql/engine-link.js';
import type { EngineCall, EngineOutcome, EngineReply } from './sql/engine-messages.js';
import { WritePath } from './write-path.js';

export interface ReplicatedEngineOptions {
  readonly id: NodeId;
  readonly address: string;
  readonly dataDir: string;
  /** The configuration a brand-new cluster starts with; only its first node passes it. */
  readonly bootstrap?: Configuration;
  readonly raft?: Partial<RaftConfig>;
  readonly busyTimeoutMs: number;
  /** What the SQL engine lets one connection hold (NodeLimits); defaults as there. */
  readonly sqlLimits?: Pick<
    NodeLimits,
    'statementsPerConnectionMax' | 'queryBufferBytes' | 'diskReserveBytes'
  >;
  readonly snapshotThresholdEntries?: number;
  /**
   * Most bytes of pages one Raft entry carries; a larger transaction spans several entries
   * (page-set.ts). Default 1 MiB; the simulation makes it small so that it happens often.
   */
  readonly transactionEntryBytes?: number;
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
  /**
   * Where the node logs role and membership changes, snapshots, divergence and disk problems,
   * bound to this node (nodeBindings). Default: nothing is logged.
   */
  readonly logger?: NodeLogger;
}

/** Longest a closing leader waits for its handover. */
const closeHandoverWaitMs = 1000;

/**
 * The SQL engine behind Raft, on the node's main thread: Raft runs here (NodeRaft), SQL runs in
 * the engine's worker, and only a transaction's pages and commit notices cross between them. This
 * class joins the two and owns what both halves share: whether this node serves SQL as leader
 * (Leadership), the applied index and the leadership confirmations. Raft's events become the SQL
 * engine's: the term's barrier applied starts serving ('lead'); a role change ends it
 * ('step-down'), held answers fail with LEADERSHIP_LOST and the engine undoes what never
 * committed.
 *
 * No answer leaves before what it could reflect is committed (docs/architecture.md, "Replication",
 * step 3): requests run through SessionRequests, and WritePath decides what each is answered with.
 */
export class ReplicatedEngine {
  readonly id: NodeId;
  readonly address: string;
  readonly #options: ReplicatedEngineOptions;
  readonly #storage: NodeStorage;
  readonly #raft: NodeRaft;
  readonly #link: EngineLink;
  readonly #confirmations: LeadershipConfirmations;
  /** Reads this node serves while it does not lead (docs/reads.md). */
  readonly #followerReads: FollowerReadIndex;
  /** Whether this node serves SQL as leader, its epoch and its newest proposal (one owner). */
  readonly #leadership = new Leadership();
  readonly #applied = new AppliedIndex();
  readonly #pointReads: PointReads;
  readonly #requests: SessionRequests;
  readonly #contentChecks: LocalContentChecks;
  readonly #fitness: LeadFitness;
  readonly #log: EngineLog;
  #closed = false;

  private constructor(
    options: ReplicatedEngineOptions,
    environment: NodeEnvironment,
    opened: { storage: NodeStorage; core: RaftCore; loaded: RaftInitialState },
    link: EngineLink,
  ) {
    const { storage, core, loaded } = opened;
    const clock = environment.clock;
    const logger = options.logger ?? silentLogger;
    this.#log = new EngineLog(logger, loaded);
    this.id = options.id;
    this.address = options.address;
    this.#options = options;
    this.#storage = storage;
    this.#link = link;
    this.#pointReads = new PointReads(path.join(options.dataDir, 'db'), {
      replyBytesMax: options.sqlLimits?.queryBufferBytes,
      now: () => clock.now(),
    });
    this.#fitness = new LeadFitness({
      id: options.id,
      dataDir: options.dataDir,
      clock,
      core,
      storage,
      isLeader: () => this.isLeader(),
      otherVoters: () => this.#raft.otherVoters(),
      closed: () => this.#closed,
      transferLeadership: () => this.transferLeadership(),
      diskShortfall: () =>
        reserveShortfall(options.dataDir, options.sqlLimits?.diskReserveBytes ?? 0),
      logger,
    });
    // One space of read request ids for Raft: a leader's confirmations and a follower's reads.
    let readRequests = 0;
    const nextReadRequestId = () => ++readRequests;
    this.#confirmations = new LeadershipConfirmations(
      (requestId) => {
        const started = this.#raft.readIndex(requestId);
        return started.ok ? undefined : new LeadershipLost(started.message);
      },
      nextReadRequestId,
      () => this.#raft.readConfirmedNow(),
    );
    this.#followerReads = new FollowerReadIndex({
      start: (requestId) => {
        const started = this.#raft.readIndex(requestId, { follower: true });
        return started.ok ? undefined : new LeadershipLost(started.message);
      },
      nextRequestId: nextReadRequestId,
      now: () => clock.now(),
    });
    const writePath = new WritePath({
      leadership: this.#leadership,
      link,
      propose: (data) => this.#raft.proposeAll(data),
      confirmations: this.#confirmations,
      applied: this.#applied,
      stepDownEngine: (why) => this.#stepDownEngine(why),
      fatal: (error) => this.#fatal(error),
    });
    this.#requests = new SessionRequests({
      clock,
      link,
      leadership: this.#leadership,
      writePath,
      pointReads: this.#pointReads,
      fitness: this.#fitness,
      isLeader: () => this.isLeader(),
    });
    this.#contentChecks = new LocalContentChecks({
      id: options.id,
      clock,
      applied: this.#applied,
      link,
      leadReady: () => this.#requests.leadReady(),
      propose: (data) => this.#raft.propose(data),
      closed: () => this.#closed,
    });
    this.#raft = new NodeRaft({
      id: options.id,
      address: options.address,
      tls: options.tls,
      snapshotThresholdEntries: options.snapshotThresholdEntries,
      environment,
      storage,
      core,
      stateMachine: engineStateMachine(
        link,
        {
          now: () => clock.now(),
          applied: (entry) => this.#afterApply(entry),
          taken: (snapshot, ms) => this.#log.taken(snapshot, ms),
          restored: (metadata, ms) => {
            this.#log.restored(metadata, ms);
            this.#applied.advance(metadata.index);
          },
        },
        environment.snapshotFiles,
      ),
      applied: this.#applied,
      onReadState: (read) => {
        if (!this.#followerReads.confirmed(read.requestId)) {
          this.#confirmations.confirmed(read.requestId);
        }
      },
      onEvent: (event) => this.#onEvent(event),
      afterTick: () => this.#reLead(),
      refusesTakeOver: () => this.#fitness.refusesTakeOver(),
      onFatal: (error) => this.#fatal(error),
    });
  }

  /** Starts a node on `environment` (production's by default) from what its disk holds. */
  static async start(
    options: ReplicatedEngineOptions,
    environment: NodeEnvironment = productionEnvironment,
  ): Promise<ReplicatedEngine> {
    // The link reports to the engine, which exists only once the link does.
    const created: { engine?: ReplicatedEngine } = {};
    const opened = await openRaft(
      { ...options, logger: options.logger ?? silentLogger },
      environment,
    );
    const link = environment.startEngine({
      directory: path.join(options.dataDir, 'db'),
      busyTimeoutMs: options.busyTimeoutMs,
      ...options.sqlLimits,
      transactionEntryBytes: options.transactionEntryBytes,
      onFatal: (error) => {
        if (created.engine === undefined) options.onFatal(error);
        else created.engine.#fatal(error);
      },
      onSpaceWait: (waiting) => {
        if (created.engine !== undefined) created.engine.#fitness.engineWaits(waiting);
      },
    });
    created.engine = new ReplicatedEngine(options, environment, opened, link);
    return created.engine;
  }

  status(): RaftStatus {
    return this.#raft.status();
  }

  configuration(): Configuration {
    return this.#raft.configuration();
  }

  /** A leader's match index per other server, for monitoring; empty on other roles. */
  matchIndexes(): Map<NodeId, number> {
    return this.#raft.matchIndexes();
  }

  /** The Raft log's files, for monitoring, when storage reports them. */
  logFiles(): LogFiles | undefined {
    return this.#storage.logFiles?.();
  }

  /** What the state machine applied; may trail Raft's applied index while the worker works. */
  get appliedIndex(): number {
    return this.#applied.index;
  }

  /** Raft leader (it may still be getting ready to serve SQL). */
  isLeader(): boolean {
    return !this.#closed && this.#raft.isLeader();
  }

  /** The leader this node knows, or undefined during an election. */
  leader(): Server | undefined {
    return this.#raft.leader();
  }

  /** Serves SQL as leader now (Raft leader whose term's barrier is applied). */
  isServing(): boolean {
    return this.#leadership.epoch !== undefined && !this.#closed;
  }

  onEvent(listener: (event: RaftEvent) => void): () => void {
    return this.#raft.onEvent(listener);
  }

  /** A peer dialled us (the listener read its CONNECT): NodeRaft.acceptPeer. */
  acceptPeer(socket: net.Socket, rest: Buffer, peer: PeerAddress): void {
    this.#raft.acceptPeer(socket, rest, peer);
  }

  /** Requests any node answers from its own state: SessionRequests.local. */
  local(call: EngineCall): Promise<EngineReply> {
    return this.#requests.local(call);
  }

  /** A point read on this thread, or undefined: SessionRequests.pointRead. */
  pointRead(
    session: number,
    database: string,
    sql: string,
    parameters: readonly WireValue[],
  ): Promise<EngineOutcome | undefined> {
    return this.#requests.pointRead(session, database, sql, parameters);
  }

  /**
   * A query served by this node while Raft has another leader (docs/reads.md): once this node
   * applied everything acknowledged before the call ('read-index'), or before `maxStalenessMs`
   * ago ('bounded', which asks the leader only when its last answer is older than that). Fails
   * with NOT_LEADER when it cannot confirm that with the leader, so that the client reads there.
   */
  async replicaQuery(query: {
    readonly database: string;
    readonly sql: string;
    readonly parameters: readonly WireValue[];
    readonly consistency: 'read-index' | 'bounded';
    readonly maxStalenessMs: number;
  }): Promise<EngineOutcome> {
    const fresh =
      query.consistency === 'bounded' && this.#followerReads.freshWithin(query.maxStalenessMs);
    if (!fresh) {
      try {
        await this.#followerReads.confirm();
      } catch (error) {
        return {
          ok: false,
          code: ErrorCode.SQLITE_IOERR_NOT_LEADER,
          message: `not leader: the read could not be confirmed with the leader (${(error as Error).message})`,
        };
      }
    }
    const { database, sql, parameters } = query;
    const reply = await this.#link.call({ op: 'replica-query', database, sql, parameters });
    return reply.outcome;
  }

  /** A leader-only request, its answer held as WritePath decides: SessionRequests.execute. */
  execute(call: EngineCall, hold?: 'commit' | 'none'): Promise<EngineOutcome> {
    return this.#requests.execute(call, hold);
  }

  /** Starts a content check through Raft (leader only): LocalContentChecks.start. */
  startContentCheck(): Promise<ContentCheckOutcome> {
    return this.#contentChecks.start();
  }

  /** What this node found at the content check of entry `index`: LocalContentChecks.at. */
  contentCheck(index: number, waitMs?: number): Promise<ContentCheckOutcome> {
    return this.#contentChecks.at(index, waitMs);
  }

  /** Applies a membership change through Raft; resolves once it is in force here. */
  changeMembership(change: MembershipChange): Promise<void> {
    return this.#raft.changeMembership(change);
  }

  /** Hands leadership to `target` (or the best voter): NodeRaft.transferLeadership. */
  transferLeadership(target?: NodeId, timeoutMs?: number): Promise<void> {
    return this.#raft.transferLeadership(target, timeoutMs);
  }

  /** Why this node's databases diverged from the cluster's (it then never leads), or undefined. */
  get diverged(): string | undefined {
    return this.#fitness.diverged;
  }

  /** A content check found this node diverged: LeadFitness.markDiverged. Idempotent. */
  markDiverged(reason: string): Promise<void> {
    return this.#fitness.markDiverged(reason);
  }

  /** Stops the node. With `handover`, a leader first passes leadership to another voter. */
  async close(options: { handover?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    if (options.handover !== false && this.isLeader() && this.#raft.otherVoters() > 0) {
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
    this.#raft.stop();
    this.#failWaiters('the node is closing');
    this.#requests.wake();
    this.#pointReads.closeAll();
  }

  /**
   * A leader whose engine stepped down while Raft kept it leader (a proposal was refused) serves
   * SQL again once a new barrier of its term is applied, every time that happens.
   */
  #reLead(): void {
    const status = this.status();
    if (!this.#leadership.barrierDue({ ...status, appliedIndex: this.#applied.index })) return;
    const barrier = this.#raft.proposeBarrier();
    if (barrier.ok) this.#leadership.barrierProposed(barrier.index);
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
      this.#requests.wake();
    }
    this.#log.applied(entry);
    this.#applied.advance(entry.index);
  }

  #onEvent(event: RaftEvent): void {
    this.#log.event(event);
    if (event.type === 'role-changed' && event.role !== 'leader') {
      this.#stepDownEngine(`this node became ${event.role} in term ${event.term}`);
    }
    if (event.type === 'read-failed') {
      const error = new LeadershipLost(event.reason);
      if (!this.#followerReads.failed(event.requestId, error)) this.#confirmations.failAll(error);
    }
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
    if (this.#closed) this.#followerReads.failAll(error);
  }

  #fatal(error: Error): void {
    if (this.#closed) return;
    this.#shutDown();
    void this.#link.close();
    this.#options.onFatal(error);
  }
}
