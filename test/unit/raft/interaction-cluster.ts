import type { RaftConfig } from '../../../src/raft/config.js';
import { RaftCore } from '../../../src/raft/raft-core.js';
import { bootstrapState } from '../../../src/raft/raft-bootstrap.js';
import { RaftDriver } from '../../../src/raft/raft-driver.js';
import type { RaftEvent } from '../../../src/raft/ready.js';
import { Role, type Message, type NodeId } from '../../../src/raft/types.js';
import {
  describeConfiguration,
  describeEntries,
  describeEvent,
  describeHardState,
  describeMessage,
  describeStatus,
} from './describe-raft.js';
import { InstantStorage } from './instant-storage.js';
import { ManualStorage } from './manual-storage.js';
import { RecordingStateMachine } from './test-cluster.js';

export interface InteractionNode {
  readonly id: NodeId;
  readonly driver: RaftDriver;
  readonly storage: InstantStorage | ManualStorage;
  readonly fsm: RecordingStateMachine;
  up: boolean;
  /** This node's monotonic clock: a tick period per tick it took, so leases count in ticks. */
  clockMs: number;
  /** Advances the clock by one tick period and ticks the driver. */
  tick(): void;
}

/** What happened during one step (a tick batch, a delivery, a request), in order of kind. */
interface StepRecord {
  sent: Message[];
  dropped: Map<string, number>;
  events: Array<{ id: NodeId; text: string }>;
}

/**
 * The cluster behind the interaction scripts: RaftDriver nodes over in-memory storage (instant,
 * or manual for nodes whose fsync the script controls), and one queue of messages that wait until
 * the script delivers them. Messages over a cut link or to a stopped node are dropped when sent.
 * After each step `render()` describes what changed, so every line of output is caused by the
 * step above it. Deterministic: each node's randomness is a fixed sequence seeded by its id.
 */
export class InteractionCluster {
  readonly nodes = new Map<NodeId, InteractionNode>();
  queue: Message[] = [];
  readonly #cut = new Set<string>();
  readonly #config: Partial<RaftConfig>;
  readonly #snapshotThresholdEntries: number;
  #record: StepRecord = emptyRecord();
  /** The last status and configuration line printed per node, to print only changes. */
  readonly #shown = new Map<NodeId, { status: string; configuration: string }>();
  readonly #campaigns = new Map<NodeId, number>();

  constructor(options: {
    voters: number;
    config: Partial<RaftConfig>;
    snapshotThresholdEntries: number;
    manualDisks: readonly NodeId[];
  }) {
    this.#config = options.config;
    this.#snapshotThresholdEntries = options.snapshotThresholdEntries;
    const servers = Array.from({ length: options.voters }, (_, i) => ({
      id: i + 1,
      address: `node-${i + 1}`,
      role: Role.voter,
    }));
    for (const server of servers) {
      const initial = bootstrapState({ servers });
      const manual = options.manualDisks.includes(server.id);
      this.startNode(server.id, manual ? new ManualStorage(initial) : new InstantStorage(initial));
    }
  }

  /** Starts a node (or restarts it) on `storage`. */
  startNode(id: NodeId, storage: InstantStorage | ManualStorage): InteractionNode {
    let seed = id * 7919;
    const core = new RaftCore({
      id,
      initialState: storage.load(),
      config: this.#config,
      random: () => (seed = (seed * 48271) % 2147483647) / 2147483647,
      now: () => node.clockMs,
    });
    const fsm = new RecordingStateMachine();
    const driver = new RaftDriver({
      core,
      storage,
      stateMachine: fsm,
      transport: { send: (message) => this.#send(message) },
      snapshotThresholdEntries: this.#snapshotThresholdEntries,
      onEvent: (event) => this.#event(id, event),
      onReadState: (read) =>
        this.#record.events.push({
          id,
          text: `read id=${read.requestId} index=${read.index} applied=${fsm.lastAppliedIndex}`,
        }),
    });
    const node: InteractionNode = {
      id,
      driver,
      storage,
      fsm,
      up: true,
      clockMs: 0,
      tick() {
        node.clockMs += core.config.tickMilliseconds;
        driver.tick();
      },
    };
    this.nodes.set(id, node);
    return node;
  }

  node(id: NodeId): InteractionNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  liveNode(id: NodeId): InteractionNode {
    const node = this.node(id);
    if (!node.up) throw new Error(`node ${id} is down`);
    return node;
  }

  #event(id: NodeId, event: RaftEvent): void {
    this.#record.events.push({ id, text: `event: ${describeEvent(event)}` });
    const campaigning = event.type === 'role-changed' && event.role.endsWith('candidate');
    if (campaigning) this.#campaigns.set(id, this.campaigns(id) + 1);
  }

  /** How many elections (or pre-vote rounds) `id` started since the cluster began. */
  campaigns(id: NodeId): number {
    return this.#campaigns.get(id) ?? 0;
  }

  /** Why a message from `from` to `to` would be lost now, or undefined when it gets through. */
  lossReason(from: NodeId, to: NodeId): string | undefined {
    const target = this.nodes.get(to);
    if (target === undefined) return 'no such node';
    if (!target.up) return 'node down';
    if (this.#cut.has(`${from}->${to}`)) return 'link cut';
    return undefined;
  }

  #send(message: Message): void {
    const reason = this.lossReason(message.from, message.to);
    if (reason === undefined) {
      this.queue.push(message);
      this.#record.sent.push(message);
      return;
    }
    const key = `${message.from}->${message.to} ${message.type} (${reason})`;
    this.#record.dropped.set(key, (this.#record.dropped.get(key) ?? 0) + 1);
  }

  cut(a: NodeId, b: NodeId): void {
    this.#cut.add(`${a}->${b}`).add(`${b}->${a}`);
  }

  heal(): void {
    this.#cut.clear();
  }

  /** Removes queued messages that can no longer arrive (after a cut or a crash). */
  dropUndeliverable(): Message[] {
    const lost = this.queue.filter((m) => this.lossReason(m.from, m.to) !== undefined);
    this.queue = this.queue.filter((m) => this.lossReason(m.from, m.to) === undefined);
    return lost;
  }

  deliver(message: Message): void {
    if (this.lossReason(message.from, message.to) !== undefined) return;
    this.node(message.to).driver.receive(message);
  }

  /**
   * The lines describing everything since the last call: messages sent, messages dropped on the
   * way out, then per node its status and configuration when they changed, the persists its
   * manual disk started, its events and the reads it served.
   */
  render(): string[] {
    const record = this.#record;
    this.#record = emptyRecord();
    const lines = record.sent.map(describeMessage);
    for (const [key, count] of record.dropped) {
      lines.push(`dropped ${key}${count > 1 ? ` x${count}` : ''}`);
    }
    for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) {
      lines.push(...this.#renderNode(id));
      lines.push(...record.events.filter((e) => e.id === id).map((e) => `n${id} ${e.text}`));
    }
    return lines;
  }

  #renderNode(id: NodeId): string[] {
    const node = this.node(id);
    const shown = this.#shown.get(id);
    if (!node.up) {
      if (shown?.status === 'down') return [];
      this.#shown.set(id, { status: 'down', configuration: '' });
      return [`n${id}: down`];
    }
    const lines: string[] = [];
    const status = node.driver.core.status();
    const manual = node.storage instanceof ManualStorage;
    const statusLine = describeStatus(status, manual);
    const configurationLine =
      `n${id} configuration ${status.configurationIndex}: ` +
      describeConfiguration(status.configuration);
    if (shown?.status !== statusLine) lines.push(statusLine);
    if (shown?.configuration !== configurationLine && status.configurationIndex > 0) {
      lines.push(configurationLine);
    }
    this.#shown.set(id, { status: statusLine, configuration: configurationLine });
    if (node.storage instanceof ManualStorage) {
      for (const write of node.storage.started) {
        const hardState =
          write.hardState === undefined ? '' : ` hardState(${describeHardState(write.hardState)})`;
        lines.push(`n${id} persist started:${hardState} entries=${describeEntries(write.entries)}`);
      }
      node.storage.started = [];
    }
    return lines;
  }

  /** Forgets what was shown for `id`, so its next render prints everything again. */
  forgetShown(id: NodeId): void {
    this.#shown.delete(id);
  }
}

function emptyRecord(): StepRecord {
  return { sent: [], dropped: new Map(), events: [] };
}
