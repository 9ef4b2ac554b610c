import type { MembershipChange } from '../../src/raft/configuration.js';
import type { RaftConfig } from '../../src/raft/config.js';
import {
  RaftCore,
  type MembershipResult,
  type ProposeResult,
  type RaftStatus,
} from '../../src/raft/raft-core.js';
import { RaftDriver } from '../../src/raft/raft-driver.js';
import { snapshotReadBytesMax } from '../../src/raft/state-machine.js';
import type { RaftInitialState } from '../../src/raft/raft-storage.js';
import type { RaftEvent, ReadState } from '../../src/raft/ready.js';
import type { Entry, Message, NodeId } from '../../src/raft/types.js';
import type { Invariants, ObservedNode } from './invariants.js';
import { MemoryStorage } from './memory-storage.js';
import type { Prng } from './prng.js';
import type { ScheduledEvent, Scheduler } from './scheduler.js';
import type { SimNetwork } from './sim-network.js';
import { SimStateMachine } from './sim-state-machine.js';
import type { Trace } from './trace.js';
import type { Later } from '../unit/raft/memory-snapshot.js';

export interface SimNodeOptions {
  readonly id: NodeId;
  readonly scheduler: Scheduler;
  /** This node's own stream; its disk and its core's election timeouts draw from forks of it. */
  readonly prng: Prng;
  readonly network: SimNetwork;
  readonly invariants: Invariants;
  readonly trace: Trace;
  readonly raftConfig: Partial<RaftConfig>;
  readonly snapshotThresholdEntries: number;
  /** How fast this node's clock runs: ticks come every tickMilliseconds * clockRate. */
  readonly clockRate: number;
  readonly fsyncMinMilliseconds: number;
  readonly fsyncMaxMilliseconds: number;
  readonly tornPersistProbability: number;
  readonly onReadState?: (node: SimNode, read: ReadState) => void;
  /** Every event the driver reports, after it is traced; scenarios react to role changes. */
  readonly onEvent?: (node: SimNode, event: RaftEvent) => void;
  /** Every write handed to the disk, when it starts; scenarios react to what a node stores. */
  readonly onPersist?: (node: SimNode, entries: readonly Entry[]) => void;
}

export type SimNodeState = 'running' | 'paused' | 'crashed';

/**
 * Most inputs a paused node queues. Storage completions are always kept (the driver waits for
 * them); messages beyond the limit are dropped, as a full socket buffer would.
 */
export const inboxMessagesMax = 10_000;

/**
 * One simulated machine: a disk (`MemoryStorage`) that survives crashes, and a process (core,
 * driver, state machine) that does not. A crash discards the process and whatever the disk had
 * not made durable; a restart builds a new process from the disk. A paused process (a long GC,
 * SIGSTOP) neither ticks nor handles input; input waits in its inbox until it resumes.
 */
export class SimNode implements ObservedNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly clockRate: number;
  incarnation = 0;
  #state: SimNodeState = 'crashed';
  #driver: RaftDriver | undefined;
  #stateMachine: SimStateMachine | undefined;
  #inbox: Array<{ readonly message: boolean; readonly run: () => void }> = [];
  #tickEvent: ScheduledEvent | undefined;
  readonly #options: SimNodeOptions;

  constructor(options: SimNodeOptions) {
    this.id = options.id;
    this.clockRate = options.clockRate;
    this.#options = options;
    this.storage = new MemoryStorage({
      scheduler: options.scheduler,
      prng: options.prng.fork('disk'),
      fsyncMinMilliseconds: options.fsyncMinMilliseconds,
      fsyncMaxMilliseconds: options.fsyncMaxMilliseconds,
      tornPersistProbability: options.tornPersistProbability,
      gate: (callback) => this.#enter(false, callback),
      trace: (text) => options.trace.add(options.scheduler.now, () => `node ${this.id} ${text()}`),
      onPersist: (write) => {
        options.invariants.persisting(this, write);
        options.onPersist?.(this, write.entries);
      },
    });
  }

  get state(): SimNodeState {
    return this.#state;
  }

  get stateMachine(): SimStateMachine | undefined {
    return this.#stateMachine;
  }

  /** Writes the node's first durable state; only before the first start. */
  bootstrap(initialState: RaftInitialState): void {
    this.storage.bootstrap(initialState);
  }

  /** Starts a new process from the durable state. */
  start(): void {
    if (this.#state !== 'crashed')
      throw new RangeError(`node ${this.id} is already ${this.#state}`);
    const options = this.#options;
    this.incarnation++;
    this.#state = 'running';
    const invariants = options.invariants;
    const machinePrng = options.prng.fork(`state-machine-${this.incarnation}`);
    const stateMachine = new SimStateMachine({
      observer: {
        applied: (entry, hash) => invariants.applied(this.id, entry, hash),
        restored: (metadata, hash) => invariants.restored(this.id, metadata, hash),
      },
      later: this.#later(machinePrng),
      restoreChunkBytes: machinePrng.pick([1024, 16384, snapshotReadBytesMax]),
    });
    this.#stateMachine = stateMachine;
    const random = options.prng.fork(`core-${this.incarnation}`);
    const core = new RaftCore({
      id: this.id,
      initialState: this.storage.load(),
      config: options.raftConfig,
      random: () => random.next(),
      // This node's monotonic clock: it runs at the node's rate and on through pauses.
      now: () => options.scheduler.now / this.clockRate,
    });
    this.#driver = new RaftDriver({
      core,
      storage: this.storage,
      transport: { send: (message) => this.#send(message) },
      stateMachine,
      snapshotThresholdEntries: options.snapshotThresholdEntries,
      onReadState: (read) => options.onReadState?.(this, read),
      onEvent: (event) => {
        this.#traceEvent(event);
        options.onEvent?.(this, event);
      },
    });
    this.#scheduleTick(options.prng.next());
  }

  /** Power loss: the process is gone and the disk keeps only what was durable. */
  crash(): void {
    if (this.#state === 'crashed') return;
    this.#driver?.stop();
    this.#driver = undefined;
    this.#stateMachine = undefined;
    this.#state = 'crashed';
    this.#inbox = [];
    this.#cancelTick();
    this.storage.crash();
    this.#options.invariants.ledger.crashed(this.id);
  }

  pause(): void {
    if (this.#state !== 'running') return;
    this.#state = 'paused';
    this.#cancelTick();
  }

  /** Resumes a paused process: it first handles everything that arrived meanwhile. */
  resume(): void {
    if (this.#state !== 'paused') return;
    this.#state = 'running';
    const inbox = this.#inbox;
    this.#inbox = [];
    for (const input of inbox) {
      if (this.#state !== 'running') break;
      input.run();
    }
    if (this.#state === 'running') this.#scheduleTick(0);
  }

  /** The network hands this node a message. */
  deliver(message: Message): void {
    this.#enter(true, () => {
      this.#driver?.receive(message);
      this.#options.invariants.received(this, message);
    });
  }

  status(): RaftStatus | undefined {
    return this.#driver?.core.status();
  }

  /** Proposes a command if this process runs; undefined when it cannot take requests now. */
  propose(data: Uint8Array): ProposeResult | undefined {
    if (this.#state !== 'running' || this.#driver === undefined) return undefined;
    return this.#driver.propose(data);
  }

  proposeBarrier(): ProposeResult | undefined {
    if (this.#state !== 'running' || this.#driver === undefined) return undefined;
    return this.#driver.proposeBarrier();
  }

  changeMembership(change: MembershipChange): MembershipResult | undefined {
    if (this.#state !== 'running' || this.#driver === undefined) return undefined;
    return this.#driver.changeMembership(change);
  }

  transferLeadership(target?: NodeId): { readonly ok: boolean } | undefined {
    if (this.#state !== 'running' || this.#driver === undefined) return undefined;
    return this.#driver.transferLeadership(target);
  }

  readIndex(
    requestId: number,
    options: { follower?: boolean } = {},
  ): { readonly ok: boolean } | undefined {
    if (this.#state !== 'running' || this.#driver === undefined) return undefined;
    return this.#driver.readIndex(requestId, options);
  }

  /**
   * Completes state-machine work after a disk-like delay, as production's engine thread does. Work
   * of an earlier process is dropped: its driver stopped, and its machine must not report to the
   * invariant checker as if it were the node's current one.
   */
  #later(prng: Prng): Later {
    const options = this.#options;
    const incarnation = this.incarnation;
    return (label, run) => {
      const delay = prng.int(options.fsyncMinMilliseconds, options.fsyncMaxMilliseconds);
      options.scheduler.schedule(delay, `${label} ${this.id}`, () => {
        if (this.incarnation !== incarnation) return;
        options.trace.add(options.scheduler.now, () => `node ${this.id} ${label}`);
        this.#enter(false, run);
      });
    };
  }

  /** Runs an input now, queues it while paused, drops it once crashed. */
  #enter(message: boolean, run: () => void): void {
    if (this.#state === 'running') return run();
    if (this.#state === 'crashed') return;
    if (message && this.#inbox.length >= inboxMessagesMax) return;
    this.#inbox.push({ message, run });
  }

  #send(message: Message): void {
    this.#options.invariants.messageSent(message, this);
    this.#options.network.send(message);
  }

  /** Ticks at this node's own rate; `phase` in [0, 1) spreads the first tick of each node. */
  #scheduleTick(phase: number): void {
    const options = this.#options;
    const tickMilliseconds = (options.raftConfig.tickMilliseconds ?? 50) * this.clockRate;
    this.#tickEvent = options.scheduler.schedule(
      tickMilliseconds * (1 - phase),
      `tick ${this.id}`,
      () => {
        this.#tickEvent = undefined;
        if (this.#state !== 'running') return;
        this.#driver?.tick();
        if (this.#state === 'running' && this.#tickEvent === undefined) this.#scheduleTick(0);
      },
    );
  }

  #cancelTick(): void {
    if (this.#tickEvent !== undefined) this.#options.scheduler.cancel(this.#tickEvent);
    this.#tickEvent = undefined;
  }

  #traceEvent(event: RaftEvent): void {
    const time = this.#options.scheduler.now;
    const detail = Object.entries(event)
      .filter(([key]) => key !== 'type')
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(' ');
    this.#options.trace.add(time, `node ${this.id}: ${event.type} ${detail}`);
  }
}
