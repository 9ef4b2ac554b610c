import { NodeMonitoring, checkHttpOptions, type HttpOptions } from './http/node-http.js';
import { pino } from 'pino';
import type { RaftConfig } from './raft/index.js';
import { Role } from './raft/index.js';
import { backoffCeilingMs, type Backoff } from './retry/backoff.js';
import { ContentCheckMonitor, type ContentCheckReport } from './server/content-check-monitor.js';
import { requestLeader } from './server/cluster-client.js';
import { openDataDirectory } from './server/data-format.js';
import { loadOrCreateIdentity } from './server/node-identity.js';
import { resolveNodeLimits, type NodeLimits } from './server/limits.js';
import { productionEnvironment } from './server/node-environment.js';
import { NodeListener } from './server/node-listener.js';
import { nodeBindings, type NodeLogger } from './server/node-logger.js';
import { ReplicatedEngine } from './server/replicated-engine.js';
import { RoleKeeper } from './server/role-keeper.js';
import { createNodeTls, type NodeTls, type TlsOptions } from './transport/index.js';

export interface NodeOptions {
  /**
   * "host:port" the node listens on and other nodes and clients dial; or an absolute path, to
   * listen on a Unix socket (every node and client then runs on this machine).
   */
  readonly address: string;
  /** Where the node keeps its identity, Raft log and databases. */
  readonly dataDir: string;
  /**
   * Addresses of existing nodes. Empty (the default) on a brand-new cluster's first node, which
   * bootstraps it. On a restart the node already knows its cluster; given `join`, it only asks
   * to be added again if it was removed meanwhile.
   */
  readonly join?: readonly string[];
  /** Voters the cluster keeps (promoting standbys and spares as needed). Default 3. */
  readonly voters?: number;
  /** Standbys the cluster keeps. Default 0. */
  readonly standbys?: number;
  /** A fixed node id (a positive safe integer); default a random one, kept in dataDir. */
  readonly id?: number;
  /** Listen here instead of `address` ("host:port", or a Unix socket path): behind a proxy. */
  readonly listen?: string;
  /** How long a write waits for another transaction before SQLITE_BUSY. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /**
   * Answer reads on the leader from a lease (208 ms with the default timings, after a heartbeat
   * round a majority answered, on the monotonic clock) instead of a round per burst of reads. Safe
   * while no node's clock runs more than 20% faster than the leader's. Default true; false makes
   * every read wait for a round. See docs/guarantees.md.
   */
  readonly leaseReads?: boolean;
  /** Reported by DESCRIBE; dqlite uses it to spread voters over failure domains. Default 0. */
  readonly failureDomain?: number;
  /** Reported by DESCRIBE and changed by WEIGHT. Default 0. */
  readonly weight?: number;
  /** Raft tunables (timings in ticks of `tickMilliseconds`). */
  readonly raft?: Partial<RaftConfig>;
  /** Take a snapshot (and compact the log) every this many entries. Default 8192. */
  readonly snapshotThresholdEntries?: number;
  /** How often the leader checks roles against `voters` and `standbys`. Default 1000 ms. */
  readonly roleCheckIntervalMs?: number;
  /** How long to keep trying to join before createNode fails. Default 30 s. */
  readonly joinTimeoutMs?: number;
  /**
   * What clients may take of this node: connections, message size, prepared statements, rows
   * buffered per query, idle time. Each has a default (NodeLimits; docs/limits.md).
   */
  readonly limits?: NodeLimits;
  /**
   * Mutual TLS for every connection, to and from the other nodes and from clients: PEM contents
   * of this node's certificate and key, and of the CA that signed every node's and client's
   * certificate. A connection without a certificate from that CA is closed. Default: plain TCP.
   *
   * Only the chain to `ca` is checked, not host names (nodes dial each other by the addresses they
   * were given), so use a CA that signs only this cluster's certificates.
   *
   * @example
   * tls: { cert: fs.readFileSync('node1.crt'), key: fs.readFileSync('node1.key'), ca: fs.readFileSync('ca.crt') }
   */
  readonly tls?: TlsOptions;
  /**
   * How often the leader runs a content check (DqliteNode.checkContent): every node hashes its
   * databases at one Raft index, and a node that differs from the majority is reported and never
   * leads again. Each check reads every database once on every node. Default 600000 (10 min);
   * 0 turns the periodic check off.
   */
  readonly contentCheckIntervalMs?: number;
  /**
   * The node hit an error it cannot survive safely (its disk failed, or its SQL engine broke an
   * invariant) and stopped. It is logged at level fatal either way. Default: nothing more.
   */
  readonly onFatal?: (error: Error) => void;
  /**
   * Serve an HTTP endpoint for operators at `address` ("host:port"; port 0 picks one): Prometheus
   * metrics at /metrics, Kubernetes probes at /healthz and /readyz, and a status page at /
   * (docs/operations.md, "Monitoring"). /readyz says 503 while the applied index trails the known
   * commit index by more than `readyLagEntriesMax` (default 1000). Default: no endpoint.
   *
   * @example
   * http: { address: '0.0.0.0:9100' }
   */
  readonly http?: HttpOptions;
  /**
   * Where the node logs: role changes, membership changes, snapshots, divergence, disk problems
   * and fatal errors, one line each, and nothing per request at level info. A pino logger, or
   * any object with pino's six level methods and `child`; every line carries the node's id
   * (hexadecimal, as the CLI prints it) and address. Default: pino at level 'info', JSON lines
   * on stderr.
   *
   * @example
   * import { pino } from 'pino';
   * logger: pino({ level: 'debug' }, pino.destination({ dest: 2, sync: true }))
   */
  readonly logger?: NodeLogger;
}

/**
 * A member of the cluster as an embedded node knows it (`DqliteNode.leader()`, `cluster()`). Its
 * id is a number, the node's own; the protocol client's `NodeInfo` carries the wire's bigint.
 */
export interface ClusterMember {
  readonly id: number;
  readonly address: string;
  readonly role: 'voter' | 'standby' | 'spare';
}

/** One running dqlite-ts node, embedded in this process. */
export interface DqliteNode {
  readonly id: number;
  readonly address: string;
  /** Where the HTTP endpoint listens ("host:port", the port resolved), or undefined without one. */
  readonly httpAddress: string | undefined;
  /** This node is the leader and serves SQL. */
  isLeader(): boolean;
  /** The leader this node knows, or undefined during an election. */
  leader(): ClusterMember | undefined;
  /** The cluster's members as this node knows them. */
  cluster(): ClusterMember[];
  /**
   * Runs a content check now (this node must lead): every node hashes its databases at one Raft
   * index, and a node whose content differs from a strict majority's is reported, told, and never
   * leads again. Resolves with every node's answer.
   */
  checkContent(): Promise<ContentCheckReport>;
  /** Why a content check found this node's databases diverged (it then never leads), or undefined. */
  diverged(): string | undefined;
  /** Stops the node; a leader first hands leadership to another voter. */
  close(): Promise<void>;
}

const roleNames = {
  [Role.voter]: 'voter',
  [Role.standby]: 'standby',
  [Role.spare]: 'spare',
} as const;
const knownOptions = new Set([
  'address',
  'dataDir',
  'join',
  'voters',
  'standbys',
  'id',
  'listen',
  'busyTimeoutMs',
  'leaseReads',
  'failureDomain',
  'weight',
  'raft',
  'snapshotThresholdEntries',
  'roleCheckIntervalMs',
  'joinTimeoutMs',
  'limits',
  'tls',
  'contentCheckIntervalMs',
  'onFatal',
  'http',
  'logger',
]);

/**
 * Starts a node: the first node of a new cluster bootstraps it; a new node with `join` asks the
 * leader to add it (as a spare, which the leader's role management then promotes); a restarted
 * node rejoins with its identity and data from `dataDir`.
 *
 * @example
 * const node = await createNode({ address: '127.0.0.1:9001', dataDir: './data/1' });
 */
export async function createNode(options: NodeOptions): Promise<DqliteNode> {
  checkOptions(options);
  const limits = resolveNodeLimits(options.limits);
  const tls = options.tls === undefined ? undefined : createNodeTls(options.tls, 'createNode: tls');
  const join = (options.join ?? []).filter((address) => address !== options.address);
  openDataDirectory(options.dataDir);
  const { identity } = loadOrCreateIdentity(options.dataDir, options.address, options.id);
  const stop: { node?: () => Promise<void> } = {};
  const log = (options.logger ?? defaultLogger()).child(
    nodeBindings(identity.id, identity.address),
  );
  const monitoring = options.http === undefined ? undefined : new NodeMonitoring(options.http);
  const engine = await ReplicatedEngine.start(
    {
      id: identity.id,
      address: identity.address,
      dataDir: options.dataDir,
      raft: options.raft,
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      sqlLimits: {
        statementsPerConnectionMax: limits.statementsPerConnectionMax,
        queryBufferBytes: limits.queryBufferBytes,
        diskReserveBytes: limits.diskReserveBytes,
      },
      leaseReads: options.leaseReads ?? true,
      tls,
      snapshotThresholdEntries: options.snapshotThresholdEntries,
      onFatal: (error) => {
        void stop.node?.();
        log.fatal({ err: error }, `fatal: ${error.message}; the node stopped`);
        options.onFatal?.(error);
      },
      logger: log,
      // Only a brand-new node without anyone to join starts a cluster; a restart ignores this.
      ...(join.length === 0
        ? {
            bootstrap: {
              servers: [{ id: identity.id, address: identity.address, role: Role.voter }],
            },
          }
        : {}),
    },
    monitoring?.environment(productionEnvironment),
  );
  const listener = await NodeListener.start({
    engine,
    listen: options.listen ?? identity.address,
    tls,
    connectionsMax: limits.connectionsMax,
    // A connection that has not even said whether it is a client or a peer is idle too.
    handshakeTimeoutMs: Math.min(10_000, limits.idleTimeoutMs || 10_000),
    session: {
      metadata: {
        failureDomain: BigInt(options.failureDomain ?? 0),
        weight: BigInt(options.weight ?? 0),
      },
      heartbeatTimeoutMs: 15_000,
      messageBytesMax: limits.messageBytesMax,
      queuedRequestsMax: limits.pipelinedRequestsMax,
      idleTimeoutMs: limits.idleTimeoutMs,
      observer: monitoring?.requests,
    },
  }).catch(async (error: unknown) => {
    await engine.close({ handover: false });
    throw error;
  });
  const checks = new ContentCheckMonitor({
    host: engine,
    intervalMs: options.contentCheckIntervalMs ?? 600_000,
    tls,
    logger: log,
  });
  const roles = new RoleKeeper(
    engine,
    { voters: options.voters ?? 3, standbys: options.standbys ?? 0 },
    options.roleCheckIntervalMs ?? 1000,
    tls,
  );
  let closing: Promise<void> | undefined;
  stop.node = () => {
    closing ??= (async () => {
      roles.stop();
      checks.stop();
      await engine.close();
      await listener.close();
      // Last: until here /healthz and /readyz answer that the node is closing.
      await monitoring?.close();
    })();
    return closing;
  };
  await monitoring
    ?.start({ engine, listener, checks, closing: () => closing !== undefined })
    .catch(async (error: unknown) => {
      await stop.node?.();
      throw error;
    });
  const isMember = engine.configuration().servers.some((server) => server.id === identity.id);
  const joinTimeoutMs = options.joinTimeoutMs ?? 30_000;
  if (!isMember && join.length > 0) {
    await joinCluster(join, identity, joinTimeoutMs, { tls }).catch(async (error: unknown) => {
      await stop.node?.();
      throw error;
    });
  } else if (join.length > 0) {
    // A node removed while it was away still finds itself in its own configuration (the leader
    // stops writing to a node once it removes it). Given peers to join, it asks the cluster and
    // rejoins if it is no longer a member; a cluster still restarting is tried again later.
    void joinCluster(join, identity, joinTimeoutMs, { onlyIfAbsent: true, tls }).catch(
      (error: Error) => log.warn({ problem: error.message }, 'could not rejoin the cluster'),
    );
  }
  return embeddedNode(identity, engine, checks, stop.node, monitoring?.address);
}

function embeddedNode(
  identity: { id: number; address: string },
  engine: ReplicatedEngine,
  checks: ContentCheckMonitor,
  close: () => Promise<void>,
  httpAddress?: string,
): DqliteNode {
  const info = (server: { id: number; address: string; role: Role }): ClusterMember => ({
    id: server.id,
    address: server.address,
    role: roleNames[server.role],
  });
  return {
    id: identity.id,
    address: identity.address,
    httpAddress,
    isLeader: () => engine.isServing(),
    leader: () => {
      const leader = engine.leader();
      return leader === undefined ? undefined : info(leader);
    },
    cluster: () => engine.configuration().servers.map(info),
    checkContent: () => checks.run(),
    diverged: () => engine.diverged,
    close,
  };
}

/** pino at level 'info', JSON lines on stderr, written synchronously so a fatal line is not lost. */
function defaultLogger(): NodeLogger {
  return pino({ level: 'info' }, pino.destination({ dest: 2, sync: true }));
}

/** Pauses between the join requests of a node that is not yet a member. */
const joinRetryBackoff: Backoff = { firstMs: 50, maxMs: 1000 };

/** Asks the leader, found through `join`, to add this node; retries until `timeoutMs`. */
async function joinCluster(
  join: readonly string[],
  self: { id: number; address: string },
  timeoutMs: number,
  options: { onlyIfAbsent?: boolean; tls?: NodeTls } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    let problem: string;
    try {
      if (options.onlyIfAbsent === true) {
        const members = await requestLeader(join, { type: 'CLUSTER', format: 1n }, options.tls);
        if (members.type !== 'SERVERS') throw new Error(`CLUSTER answered ${members.type}`);
        if (members.servers.some((server) => server.id === BigInt(self.id))) return;
      }
      const answer = await requestLeader(
        join,
        { type: 'ADD', id: BigInt(self.id), address: self.address },
        options.tls,
      );
      if (answer.type === 'EMPTY') return;
      // Added before a restart (a spare keeps no log, so it cannot tell): already a member.
      if (answer.type === 'FAILURE' && answer.message === 'server ID already in use') return;
      problem = answer.type === 'FAILURE' ? `${answer.message} (${answer.code})` : answer.type;
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    }
    const delayMs = backoffCeilingMs(joinRetryBackoff, attempt);
    if (Date.now() + delayMs > deadline) {
      throw new Error(`could not join the cluster through ${join.join(', ')}: ${problem}`);
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

function checkOptions(options: NodeOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createNode: options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!knownOptions.has(key)) throw new TypeError(`createNode: unknown option "${key}"`);
  }
  if (
    typeof options.address !== 'string' ||
    !(/^.+:\d{1,5}$/.test(options.address) || options.address.startsWith('/'))
  ) {
    throw new TypeError('createNode: address must be "host:port" or a Unix socket path');
  }
  if (typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw new TypeError('createNode: dataDir must be a directory path');
  }
  if (options.join !== undefined && !Array.isArray(options.join)) {
    throw new TypeError('createNode: join must be an array of "host:port" addresses');
  }
  for (const name of ['voters', 'standbys'] as const) {
    const value = options[name];
    if (
      value !== undefined &&
      (!Number.isSafeInteger(value) || value < (name === 'voters' ? 1 : 0))
    ) {
      throw new RangeError(
        `createNode: ${name} must be an integer >= ${name === 'voters' ? 1 : 0}`,
      );
    }
  }
  if (options.id !== undefined && (!Number.isSafeInteger(options.id) || options.id < 1)) {
    throw new RangeError('createNode: id must be a positive safe integer');
  }
  const interval = options.contentCheckIntervalMs;
  if (interval !== undefined && (!Number.isSafeInteger(interval) || interval < 0)) {
    throw new RangeError('createNode: contentCheckIntervalMs must be an integer >= 0 (0: off)');
  }
  if (options.leaseReads !== undefined && typeof options.leaseReads !== 'boolean') {
    throw new TypeError('createNode: leaseReads must be a boolean');
  }
  if (options.http !== undefined) checkHttpOptions(options.http, 'createNode: http');
  const logger = options.logger as Partial<NodeLogger> | undefined;
  if (logger !== undefined && (typeof logger !== 'object' || typeof logger.child !== 'function')) {
    throw new TypeError('createNode: logger must be a pino-compatible logger (with child())');
  }
}
