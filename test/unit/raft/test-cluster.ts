import { RaftCore } from '../../../src/raft/raft-core.js';
import { bootstrapState } from '../../../src/raft/raft-bootstrap.js';
import { RaftDriver } from '../../../src/raft/raft-driver.js';
import {
  snapshotReadBytesMax,
  type ReadChunk,
  type SnapshotSource,
  type StateMachine,
} from '../../../src/raft/state-machine.js';
import type { RaftConfig } from '../../../src/raft/config.js';
import type { RaftEvent, ReadState } from '../../../src/raft/ready.js';
import {
  EntryType,
  Role,
  type Entry,
  type Message,
  type NodeId,
  type SnapshotMetadata,
} from '../../../src/raft/types.js';
import { InstantStorage } from './instant-storage.js';
import { memorySource, readWhole } from './memory-snapshot.js';

/**
 * Records what a node applied; snapshots are the JSON of that record. By default snapshot and
 * restore complete at once, inside the call (the contract allows it); `holding` makes them wait
 * for the test, as an engine on its own thread answers later.
 */
export class RecordingStateMachine implements StateMachine {
  applied: Array<{ index: number; term: number; text: string }> = [];
  restoredFrom: number[] = [];
  /** The last index applied, of any entry type, or restored. */
  lastAppliedIndex = 0;
  /** Snapshot answers, each restore read and the end of a restore wait in `held` while set. */
  holding = false;
  readonly held: Array<() => void> = [];
  /** While set, `snapshot` answers "not now". */
  declining = false;
  /** Bytes a restore reads at a time. */
  restoreChunkBytes = snapshotReadBytesMax;

  apply(entry: Entry): void {
    this.lastAppliedIndex = entry.index;
    if (entry.type !== EntryType.command) return;
    this.applied.push({
      index: entry.index,
      term: entry.term,
      text: Buffer.from(entry.data).toString(),
    });
  }

  snapshot(done: (error: Error | undefined, source?: SnapshotSource) => void): void {
    const data = Buffer.from(JSON.stringify(this.applied));
    const source = memorySource(this.lastAppliedIndex, data);
    this.#finish(() => done(undefined, this.declining ? undefined : source));
  }

  restore(metadata: SnapshotMetadata, read: ReadChunk, done: (error?: Error) => void): void {
    const whole = (error: Error | undefined, data?: Uint8Array) => {
      if (error !== undefined || data === undefined) return done(error);
      this.#finish(() => {
        this.restoredFrom.push(metadata.index);
        this.lastAppliedIndex = metadata.index;
        this.applied = JSON.parse(Buffer.from(data).toString()) as typeof this.applied;
        done();
      });
    };
    const heldRead: ReadChunk = (offset, length, readDone) =>
      this.#finish(() => read(offset, length, readDone));
    readWhole(metadata.bytes, heldRead, whole, this.restoreChunkBytes);
  }

  /** Runs the work held so far; work it starts is held again while `holding` is set. */
  runHeld(): void {
    for (const run of this.held.splice(0)) run();
  }

  #finish(run: () => void): void {
    if (this.holding) this.held.push(run);
    else run();
  }

  texts(): string[] {
    return this.applied.map((entry) => entry.text);
  }
}

export interface TestNode {
  readonly id: NodeId;
  driver: RaftDriver;
  readonly storage: InstantStorage;
  fsm: RecordingStateMachine;
  readonly events: RaftEvent[];
  readonly reads: ReadState[];
  up: boolean;
}

/**
 * Nodes whose storage is durable at once and whose messages wait in one queue until the test
 * delivers them, so a scenario controls every interleaving. Deterministic: randomness is a
 * counter-based sequence per node.
 */
export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  queue: Message[] = [];
  /** Links that drop messages, as "from->to". */
  readonly cut = new Set<string>();
  readonly config: Partial<RaftConfig>;
  readonly snapshotThresholdEntries: number;
  /** Every node's monotonic clock (leases); a test moves it by hand. */
  clockMs = 0;

  constructor(options: {
    voters: number;
    config?: Partial<RaftConfig>;
    snapshotThresholdEntries?: number;
  }) {
    this.config = { electionTimeoutTicks: 10, heartbeatTicks: 1, ...options.config };
    this.snapshotThresholdEntries = options.snapshotThresholdEntries ?? 1_000_000;
    const servers = Array.from({ length: options.voters }, (_, i) => ({
      id: i + 1,
      address: `node-${i + 1}`,
      role: Role.voter,
    }));
    for (const server of servers) {
      this.addNode(server.id, new InstantStorage(bootstrapState({ servers })));
    }
  }

  /** Creates (or restarts, from its storage) a node. */
  addNode(id: NodeId, storage = new InstantStorage()): TestNode {
    const existing = this.nodes.get(id);
    const fsm = new RecordingStateMachine();
    const events: RaftEvent[] = existing?.events ?? [];
    const reads: ReadState[] = existing?.reads ?? [];
    let seed = id * 7919;
    const core = new RaftCore({
      id,
      initialState: storage.load(),
      config: this.config,
      random: () => (seed = (seed * 48271) % 2147483647) / 2147483647,
      now: () => this.clockMs,
    });
    const driver = new RaftDriver({
      core,
      storage,
      stateMachine: fsm,
      transport: { send: (message) => this.queue.push(message) },
      snapshotThresholdEntries: this.snapshotThresholdEntries,
      onEvent: (event) => events.push(event),
      onReadState: (read) => reads.push(read),
    });
    const node: TestNode = { id, driver, storage, fsm, events, reads, up: true };
    this.nodes.set(id, node);
    return node;
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  status(id: NodeId) {
    return this.node(id).driver.core.status();
  }

  /** Stops a node: it loses nothing (storage is instant) but takes no input until restarted. */
  crash(id: NodeId): void {
    const node = this.node(id);
    node.driver.stop();
    node.up = false;
    this.queue = this.queue.filter((message) => message.to !== id && message.from !== id);
  }

  restart(id: NodeId): TestNode {
    return this.addNode(id, this.node(id).storage);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`).add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  tick(id: NodeId, count = 1): void {
    for (let i = 0; i < count; i++) if (this.node(id).up) this.node(id).driver.tick();
  }

  /** Delivers queued messages (and those they cause) until none is left. Bounded. */
  deliverAll(limit = 100_000): void {
    for (let delivered = 0; this.queue.length > 0; delivered++) {
      if (delivered >= limit) throw new Error('messages keep flowing: livelock?');
      const message = this.queue.shift() as Message;
      this.deliver(message);
    }
  }

  deliver(message: Message): void {
    const target = this.nodes.get(message.to);
    if (target === undefined || !target.up || this.cut.has(`${message.from}->${message.to}`))
      return;
    target.driver.receive(message);
  }

  /** Drops queued messages matching `predicate`. */
  drop(predicate: (message: Message) => boolean): void {
    this.queue = this.queue.filter((message) => !predicate(message));
  }

  /** Ticks `id` until it campaigns, then delivers everything; returns the leader. */
  elect(id: NodeId): NodeId {
    for (let i = 0; i < 100 && this.status(id).role === 'follower'; i++) this.tick(id);
    this.deliverAll();
    const leader = this.leader();
    if (leader !== id) throw new Error(`node ${id} did not win (leader: ${String(leader)})`);
    return id;
  }

  /** Ticks every live node once and delivers; `rounds` times. */
  run(rounds: number): void {
    for (let round = 0; round < rounds; round++) {
      for (const node of this.nodes.values()) if (node.up) node.driver.tick();
      this.deliverAll();
    }
  }

  leader(): NodeId | undefined {
    const leaders = [...this.nodes.values()].filter(
      (node) => node.up && node.driver.core.status().role === 'leader',
    );
    const highest = leaders.sort(
      (a, b) => b.driver.core.status().term - a.driver.core.status().term,
    )[0];
    return highest?.id;
  }

  propose(id: NodeId, text: string) {
    return this.node(id).driver.propose(Buffer.from(text));
  }
}
