// The node's Prometheus metrics, in a registry of its own: several nodes may run in one process,
// and prom-client's global registry would mix them. State the node already holds (role, indexes,
// log files, connections) is read when Prometheus scrapes, through collect callbacks, so the node
// pays nothing between scrapes; only events with no state to read (a request answered, a persist
// made durable, a snapshot installed) are counted as they happen, through child handles created
// once, so the request path allocates no label objects. The process metrics (memory, CPU, event
// loop delay, garbage collection) describe the process, not a node: they are collected once per
// process, in a registry of their own that every node's scrape adds, because prom-client's
// collectors (an event loop monitor, a GC observer) can never be stopped, and one set per node
// would pile up as nodes open and close.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RaftRole } from '../raft/index.js';
import type { RequestObserver } from '../server/request-observer.js';
import { RequestType, ResultCode } from '../wire/index.js';
import type { MonitoredNode } from './monitored-node.js';
import type { StorageObserver } from './observed-storage.js';

/** Every family's name starts with this, the default process metrics' included. */
export const metricPrefix = 'dqlite_ts_';

const raftRoles: readonly RaftRole[] = ['follower', 'pre-candidate', 'candidate', 'leader'];
const verdicts = ['agreed', 'diverged', 'undecided', 'failed'] as const;

/** Latency buckets in seconds, from a point read (~0.1 ms) to a write stuck behind a slow disk. */
const requestBuckets = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const persistBuckets = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];
const snapshotBuckets = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60];

let processRegistry: Registry | undefined;

/** The process metrics, collected from the first node's metrics on, and shared by all. */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: metricPrefix });
  }
  return processRegistry;
}

/** Request type codes are one byte: the array of child handles has one slot per code. */
const requestTypeCodes = 256;

type HistogramChild = ReturnType<Histogram['labels']>;
type CounterChild = ReturnType<Counter['labels']>;

/**
 * One node's metrics. `requests` and `storage` are the observers the node's sessions and storage
 * report to; `node` is read at each scrape once `attach` named it.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly #requestDurations: HistogramChild[] = [];
  readonly #failures = new Map<number, CounterChild>();
  readonly #failuresCounter: Counter;
  readonly #persists: Histogram;
  readonly #snapshotDurations: Histogram;
  readonly #snapshotsInstalled: Counter;
  readonly #leaderChanges: Counter;
  #snapshotBytes = 0;
  #node: MonitoredNode | undefined;

  constructor() {
    const registers = [this.registry];
    processMetrics(); // started with the first node, so the event loop's delay is measured from then
    const durations = new Histogram({
      name: `${metricPrefix}request_duration_seconds`,
      help: 'Client requests answered, by wire request type: from decoded to answered (a query: to its last rows written). _count is the number of requests.',
      labelNames: ['type'],
      buckets: requestBuckets,
      registers,
    });
    const unknown = durations.labels('unknown');
    for (let code = 0; code < requestTypeCodes; code++) this.#requestDurations.push(unknown);
    for (const [name, code] of Object.entries(RequestType)) {
      this.#requestDurations[code] = durations.labels(name);
      durations.zero({ type: name }); // every known type is a series from the first scrape
    }
    this.#failuresCounter = new Counter({
      name: `${metricPrefix}request_failures_total`,
      help: 'FAILURE answers sent to clients, by result code and its name.',
      labelNames: ['code', 'name'],
      registers,
    });
    this.#persists = new Histogram({
      name: `${metricPrefix}log_persist_duration_seconds`,
      help: 'Raft log persists (entries and hard state, written with O_DSYNC) from handed to storage until durable, queueing behind earlier persists included.',
      buckets: persistBuckets,
      registers,
    });
    this.#snapshotDurations = new Histogram({
      name: `${metricPrefix}snapshot_install_duration_seconds`,
      help: 'Snapshots installed in storage (made current, log compacted), from the install call until durable.',
      buckets: snapshotBuckets,
      registers,
    });
    this.#snapshotsInstalled = new Counter({
      name: `${metricPrefix}snapshots_installed_total`,
      help: 'Snapshots installed in storage: taken by this node or received from the leader.',
      registers,
    });
    this.#leaderChanges = new Counter({
      name: `${metricPrefix}raft_leader_changes_total`,
      help: 'Leaders this node learned of since it started (a new leader, or the old one again after an election).',
      registers,
    });
    this.#stateGauges();
  }

  /** Reads `node` at every scrape from now on. */
  attach(node: MonitoredNode): void {
    this.#node = node;
  }

  readonly requests: RequestObserver = {
    answered: (type, seconds) => {
      // `type` comes from a decoded frame: one byte, so always a slot.
      (this.#requestDurations[type] as HistogramChild).observe(seconds);
    },
    failed: (code) => {
      let child = this.#failures.get(code);
      if (child === undefined) {
        child = this.#failuresCounter.labels(String(code), resultCodeName(code));
        this.#failures.set(code, child);
      }
      child.inc();
    },
  };

  readonly storage: StorageObserver = {
    persisted: (seconds) => this.#persists.observe(seconds),
    snapshotInstalled: (bytes, seconds) => {
      this.#snapshotsInstalled.inc();
      this.#snapshotBytes = bytes;
      this.#snapshotDurations.observe(seconds);
    },
  };

  /** Text in Prometheus' exposition format, and its content type. */
  async scrape(): Promise<{ readonly text: string; readonly contentType: string }> {
    const own = await this.registry.metrics();
    const shared = await processMetrics().metrics();
    return { text: `${own}\n${shared}`, contentType: this.registry.contentType };
  }

  /** Gauges read from the node at scrape time. */
  #stateGauges(): void {
    const registers = [this.registry];
    const node = () => this.#node;
    const gauge = (name: string, help: string, read: (node: MonitoredNode) => number): void => {
      new Gauge({
        name: `${metricPrefix}${name}`,
        help,
        registers,
        collect() {
          const current = node();
          if (current !== undefined) this.set(read(current));
        },
      });
    };
    new Gauge({
      name: `${metricPrefix}raft_role`,
      help: "This node's Raft role: 1 for the current one, 0 for the others.",
      labelNames: ['role'],
      registers,
      collect() {
        const role = node()?.engine.status().role;
        for (const name of raftRoles) this.labels(name).set(name === role ? 1 : 0);
      },
    });
    gauge('raft_term', 'The current Raft term.', (n) => n.engine.status().term);
    gauge('raft_leader_known', '1 when this node knows a leader, 0 during an election.', (n) =>
      n.engine.status().leaderId === 0 ? 0 : 1,
    );
    gauge(
      'raft_commit_index',
      'The highest log index this node knows committed.',
      (n) => n.engine.status().commitIndex,
    );
    gauge(
      'raft_applied_index',
      'The highest log index applied to the databases here.',
      (n) => n.engine.appliedIndex,
    );
    gauge(
      'raft_last_index',
      "The last index in this node's log.",
      (n) => n.engine.status().lastIndex,
    );
    gauge(
      'raft_snapshot_index',
      "The index of this node's current snapshot; 0 when none.",
      (n) => n.engine.status().snapshotIndex,
    );
    for (const [name, help] of [
      [
        'raft_peer_match_index',
        'On the leader: the highest index known replicated on each other member (§5.3).',
      ],
      [
        'raft_peer_lag_entries',
        "On the leader: entries each other member lacks (leader's last index minus its match index).",
      ],
    ] as const) {
      new Gauge({
        name: `${metricPrefix}${name}`,
        help,
        labelNames: ['peer'],
        registers,
        collect() {
          this.reset();
          const engine = node()?.engine;
          if (engine === undefined) return;
          const lastIndex = engine.status().lastIndex;
          for (const [id, match] of engine.matchIndexes()) {
            this.labels(id.toString(16)).set(
              name === 'raft_peer_match_index' ? match : lastIndex - match,
            );
          }
        },
      });
    }
    gauge(
      'log_segments',
      'Segment files holding the Raft log.',
      (n) => n.engine.logFiles()?.segments ?? 0,
    );
    gauge(
      'log_bytes',
      "Bytes of the Raft log's segment files (preallocated space included).",
      (n) => n.engine.logFiles()?.bytes ?? 0,
    );
    gauge(
      'log_entries',
      "Entries in the Raft log's segment files.",
      (n) => n.engine.logFiles()?.entries ?? 0,
    );
    gauge(
      'snapshot_bytes',
      'Size of the last snapshot installed since the node started; 0 before one.',
      () => this.#snapshotBytes,
    );
    gauge(
      'client_connections',
      'Client connections open now (peers not counted).',
      (n) => n.listener.clientConnections,
    );
    gauge(
      'diverged',
      "1 when a content check found this node's databases differ from the majority's (it then never leads).",
      (n) => (n.engine.diverged === undefined ? 0 : 1),
    );
    gauge(
      'content_check_last_timestamp_seconds',
      'When the last content check this node led ended; 0 before one.',
      (n) => (n.checks.last?.atMs ?? 0) / 1000,
    );
    new Counter({
      name: `${metricPrefix}content_checks_total`,
      help: 'Content checks this node led since it started, by verdict.',
      labelNames: ['verdict'],
      registers,
      collect() {
        // The monitor keeps the tallies; the counter shows them.
        const counts = node()?.checks.verdicts;
        this.reset();
        for (const verdict of verdicts) this.labels(verdict).inc(counts?.[verdict] ?? 0);
      },
    });
  }

  /** A leader change happened (counted as it happens: there is no state to read it from). */
  leaderChanged(): void {
    this.#leaderChanges.inc();
  }
}

const resultCodeNames = new Map<number, string>(
  Object.entries(ResultCode).map(([name, code]) => [code as number, name]),
);

function resultCodeName(code: number): string {
  return resultCodeNames.get(code) ?? 'unknown';
}
