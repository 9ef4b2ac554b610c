import type { Message, NodeId } from '../../src/raft/types.js';
import type { Prng } from './prng.js';
import type { Scheduler } from './scheduler.js';

/** Random misbehaviour of every link, changed by the nemesis as the run goes. */
export interface NetworkFaults {
  readonly dropProbability: number;
  readonly duplicateProbability: number;
  /** Chance that one message takes up to `spikeMaxMilliseconds` instead of the usual latency. */
  readonly delaySpikeProbability: number;
}

export const calmNetwork: NetworkFaults = Object.freeze({
  dropProbability: 0,
  duplicateProbability: 0,
  delaySpikeProbability: 0,
});

export interface SimNetworkOptions {
  readonly scheduler: Scheduler;
  readonly prng: Prng;
  readonly latencyMinMilliseconds: number;
  readonly latencyMaxMilliseconds: number;
  readonly spikeMaxMilliseconds: number;
  /**
   * Hands a message to its destination. The destination decides what a crashed (drop) or paused
   * (queue until resumed) node does with it; the network only models the wire.
   */
  readonly deliver: (message: Message) => void;
  /** Called for every message put on the wire, before any fault applies; for traces. */
  readonly onSend?: (message: Message) => void;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  droppedByPartition: number;
  duplicated: number;
  delaySpikes: number;
}

/**
 * The wire between simulated nodes. Each message gets its own latency from the PRNG, so messages
 * overtake each other (reordering) without a separate fault. A link is cut by a symmetric
 * partition (nodes in different groups), a one-way block, or the isolation of either end; a cut
 * applies when a message is sent and again when it would arrive, as a real partition also loses
 * what is in flight.
 */
export class SimNetwork {
  faults: NetworkFaults = calmNetwork;
  readonly stats: NetworkStats = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    droppedByPartition: 0,
    duplicated: 0,
    delaySpikes: 0,
  };
  readonly #options: SimNetworkOptions;
  /** Group number of each node in the current symmetric partition; absent nodes are unaffected. */
  #groupOf = new Map<NodeId, number>();
  /** Directed links cut by a one-way partition, as "from>to". */
  readonly #oneWayBlocks = new Set<string>();
  readonly #isolated = new Set<NodeId>();

  constructor(options: SimNetworkOptions) {
    if (
      options.latencyMinMilliseconds < 0 ||
      options.latencyMaxMilliseconds < options.latencyMinMilliseconds
    ) {
      throw new RangeError('latency bounds must satisfy 0 <= min <= max');
    }
    this.#options = options;
  }

  send(message: Message): void {
    this.stats.sent++;
    this.#options.onSend?.(message);
    if (!this.canReach(message.from, message.to)) {
      this.stats.droppedByPartition++;
      return;
    }
    const prng = this.#options.prng;
    if (prng.chance(this.faults.dropProbability)) {
      this.stats.dropped++;
      return;
    }
    this.#schedule(message);
    if (prng.chance(this.faults.duplicateProbability)) {
      this.stats.duplicated++;
      this.#schedule(message);
    }
  }

  /** True unless a partition, one-way block or isolation cuts the link from `from` to `to`. */
  canReach(from: NodeId, to: NodeId): boolean {
    if (from === to) return true;
    if (this.#isolated.has(from) || this.#isolated.has(to)) return false;
    if (this.#oneWayBlocks.has(`${from}>${to}`)) return false;
    const fromGroup = this.#groupOf.get(from);
    const toGroup = this.#groupOf.get(to);
    return fromGroup === undefined || toGroup === undefined || fromGroup === toGroup;
  }

  /** Splits the listed nodes into groups that cannot reach each other; replaces any split. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, number) => {
      for (const id of group) {
        if (groupOf.has(id)) throw new RangeError(`node ${id} is in two partition groups`);
        groupOf.set(id, number);
      }
    });
    this.#groupOf = groupOf;
  }

  /** Cuts the link from `from` to `to` only: `to` still reaches `from`. */
  blockOneWay(from: NodeId, to: NodeId): void {
    this.#oneWayBlocks.add(`${from}>${to}`);
  }

  /** Cuts every link to and from `id`. */
  isolate(id: NodeId): void {
    this.#isolated.add(id);
  }

  /** Restores every link; random faults stay as they are. */
  heal(): void {
    this.#groupOf = new Map();
    this.#oneWayBlocks.clear();
    this.#isolated.clear();
  }

  /** A one-line account of the cuts in force, for traces. */
  describeCuts(): string {
    const parts: string[] = [];
    if (this.#groupOf.size > 0) {
      const groups = new Map<number, NodeId[]>();
      for (const [id, group] of this.#groupOf)
        groups.set(group, [...(groups.get(group) ?? []), id]);
      parts.push(`partition ${[...groups.values()].map((ids) => ids.join(',')).join(' | ')}`);
    }
    if (this.#oneWayBlocks.size > 0) parts.push(`one-way ${[...this.#oneWayBlocks].join(' ')}`);
    if (this.#isolated.size > 0) parts.push(`isolated ${[...this.#isolated].join(',')}`);
    return parts.length === 0 ? 'none' : parts.join('; ');
  }

  #schedule(message: Message): void {
    const options = this.#options;
    const prng = options.prng;
    let latency = prng.int(options.latencyMinMilliseconds, options.latencyMaxMilliseconds);
    if (prng.chance(this.faults.delaySpikeProbability)) {
      this.stats.delaySpikes++;
      latency = prng.int(options.latencyMaxMilliseconds, options.spikeMaxMilliseconds);
    }
    const label = `deliver ${message.type} ${message.from}->${message.to}`;
    options.scheduler.schedule(latency, label, () => {
      if (!this.canReach(message.from, message.to)) {
        this.stats.droppedByPartition++;
        return;
      }
      this.stats.delivered++;
      options.deliver(message);
    });
  }
}
