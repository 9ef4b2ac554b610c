import type { RaftConfig } from '../../src/raft/config.js';
import { bootstrapState } from '../../src/raft/raft-bootstrap.js';
import type { RaftEvent, ReadState } from '../../src/raft/ready.js';
import { Role, type Configuration, type Entry, type NodeId } from '../../src/raft/types.js';
import { describeMessage } from './describe-message.js';
import { InvariantViolation } from './invariant-violation.js';
import { Invariants } from './invariants.js';
import { Prng } from './prng.js';
import { Scheduler } from './scheduler.js';
import { SimNetwork } from './sim-network.js';
import { SimNode } from './sim-node.js';
import { Trace } from './trace.js';

export interface SimClusterOptions {
  readonly seed: number;
  /** Voters of the bootstrap configuration, ids 1..voterCount. */
  readonly voterCount: number;
  /** Nodes started empty, outside the configuration, that the nemesis may add later. */
  readonly spareCount: number;
  readonly raftConfig: Partial<RaftConfig>;
  readonly snapshotThresholdEntries: number;
  /** Each node's clock runs at a rate drawn from [1 - drift, 1 + drift]. */
  readonly clockDrift: number;
  readonly latencyMinMilliseconds: number;
  readonly latencyMaxMilliseconds: number;
  readonly spikeMaxMilliseconds: number;
  readonly fsyncMinMilliseconds: number;
  readonly fsyncMaxMilliseconds: number;
  readonly tornPersistProbability: number;
  readonly traceCapacity: number;
  /** Receives every trace line as it happens. */
  readonly echo?: (line: string) => void;
}

/** What a scenario of the nemesis watches; each hook runs synchronously, inside the step. */
export interface ClusterObserver {
  /** A node's driver reported `event` (a role change, a new leader, ...). */
  onEvent?(node: SimNode, event: RaftEvent): void;
  /** A node started writing `entries` to its disk. */
  onPersist?(node: SimNode, entries: readonly Entry[]): void;
}

/** Address of a simulated node; configurations need one, the simulator routes by id. */
export function addressOf(id: NodeId): string {
  return `sim-${id}`;
}

/**
 * A whole simulated cluster: one scheduler, one network, the nodes, and the invariant checker
 * that watches all of them. `step()` runs one event and then checks every step property.
 */
export class SimCluster {
  readonly scheduler = new Scheduler();
  readonly prng: Prng;
  readonly network: SimNetwork;
  readonly invariants = new Invariants();
  readonly trace: Trace;
  readonly nodes: readonly SimNode[];
  readonly options: SimClusterOptions;
  /** Reads asked of a leader, with the last index acknowledged to a client before asking. */
  readonly #reads = new Map<number, number>();
  #readSequence = 0;
  readonly #observers = new Set<ClusterObserver>();
  steps = 0;

  constructor(options: SimClusterOptions) {
    this.options = options;
    this.prng = new Prng(options.seed);
    this.trace = new Trace({
      capacity: options.traceCapacity,
      ...(options.echo ? { echo: options.echo } : {}),
    });
    this.network = new SimNetwork({
      scheduler: this.scheduler,
      prng: this.prng.fork('network'),
      latencyMinMilliseconds: options.latencyMinMilliseconds,
      latencyMaxMilliseconds: options.latencyMaxMilliseconds,
      spikeMaxMilliseconds: options.spikeMaxMilliseconds,
      deliver: (message) => this.node(message.to)?.deliver(message),
      onSend: (message) => this.trace.add(this.scheduler.now, () => describeMessage(message)),
    });
    const clockPrng = this.prng.fork('clocks');
    const nodes: SimNode[] = [];
    for (let id = 1; id <= options.voterCount + options.spareCount; id++) {
      const clockRate = 1 - options.clockDrift + 2 * options.clockDrift * clockPrng.next();
      nodes.push(
        new SimNode({
          id,
          scheduler: this.scheduler,
          prng: this.prng.fork(`node-${id}`),
          network: this.network,
          invariants: this.invariants,
          trace: this.trace,
          raftConfig: options.raftConfig,
          snapshotThresholdEntries: options.snapshotThresholdEntries,
          clockRate,
          fsyncMinMilliseconds: options.fsyncMinMilliseconds,
          fsyncMaxMilliseconds: options.fsyncMaxMilliseconds,
          tornPersistProbability: options.tornPersistProbability,
          onReadState: (node, read) => this.#readServed(node, read),
          onEvent: (node, event) => {
            for (const observer of this.#observers) observer.onEvent?.(node, event);
          },
          onPersist: (node, entries) => {
            for (const observer of this.#observers) observer.onPersist?.(node, entries);
          },
        }),
      );
    }
    this.nodes = nodes;
    const configuration: Configuration = {
      servers: nodes
        .slice(0, options.voterCount)
        .map((node) => ({ id: node.id, address: addressOf(node.id), role: Role.voter })),
    };
    for (const node of nodes.slice(0, options.voterCount))
      node.bootstrap(bootstrapState(configuration));
    for (const node of nodes) node.start();
  }

  /** Registers `observer` until the returned function is called. */
  observe(observer: ClusterObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** The longest election timeout any node may draw, in virtual milliseconds. */
  get electionTimeoutMaxMilliseconds(): number {
    const config = this.options.raftConfig;
    const rateMax = Math.max(...this.nodes.map((node) => node.clockRate));
    return 2 * (config.electionTimeoutTicks ?? 6) * (config.tickMilliseconds ?? 50) * rateMax;
  }

  node(id: NodeId): SimNode | undefined {
    return this.nodes[id - 1];
  }

  /** The running leader with the highest term, if any: where a client would send requests. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const node of this.nodes) {
      const status = node.state === 'running' ? node.status() : undefined;
      if (status?.role === 'leader' && status.term > bestTerm) {
        best = node;
        bestTerm = status.term;
      }
    }
    return best;
  }

  /** Every running node that believes it leads, stale leaders of older terms included. */
  leaders(): SimNode[] {
    return this.nodes.filter(
      (node) => node.state === 'running' && node.status()?.role === 'leader',
    );
  }

  /** Runs one event and checks the step invariants. Returns false when no event is left. */
  step(): boolean {
    const event = this.scheduler.step();
    if (event === undefined) return false;
    this.steps++;
    this.invariants.checkStep(this.nodes);
    return true;
  }

  /**
   * Asks a leader (or, with `follower`, a follower, which asks its leader) for a linearizable
   * read; the answer is checked in `#readServed`.
   */
  requestRead(node: SimNode, options: { follower?: boolean } = {}): void {
    const requestId = ++this.#readSequence;
    // Recorded before the call: the call itself runs the node, which may acknowledge more writes
    // (concurrent with the read, which may or may not see them), and may serve the read at once
    // from a lease, which must be checked like any other.
    this.#reads.set(requestId, this.invariants.ledger.acknowledgedIndexMax);
    const result = node.readIndex(requestId, options);
    if (result?.ok !== true) this.#reads.delete(requestId);
  }

  /**
   * A read may be served at an index no lower than any write acknowledged before it was asked
   * (linearizability, thesis §6.4), and only once the state machine has applied that index.
   */
  #readServed(node: SimNode, read: ReadState): void {
    const required = this.#reads.get(read.requestId);
    this.#reads.delete(read.requestId);
    if (required !== undefined && read.index < required) {
      throw new InvariantViolation(
        'linearizable read',
        `node ${node.id} serves read ${read.requestId} at index ${read.index}, ` +
          `but index ${required} was acknowledged before the read was asked`,
      );
    }
    const applied = node.stateMachine?.appliedIndex ?? 0;
    if (applied < read.index) {
      throw new InvariantViolation(
        'linearizable read',
        `node ${node.id} serves read ${read.requestId} at index ${read.index} having applied ${applied}`,
      );
    }
  }
}
