import type { RaftEvent } from '../../src/raft/ready.js';
import type { Entry, NodeId } from '../../src/raft/types.js';
import type { Prng } from './prng.js';
import type { SimCluster } from './sim-cluster.js';
import type { SimNode } from './sim-node.js';

/**
 * Where the scenario stands. Old is the leader it starts from, usurper the leader of the next
 * term; both ids stay fixed for the scenario's life.
 */
type Phase =
  | { readonly name: 'await-usurper'; readonly old: SimNode; readonly oldTerm: number }
  | { readonly name: 'await-old-again'; readonly old: SimNode; readonly usurper: SimNode }
  | {
      readonly name: 'old-replicates';
      readonly old: SimNode;
      readonly usurper: SimNode;
      readonly term: number;
    }
  | { readonly name: 'usurper-returns'; readonly old: SimNode; readonly usurper: SimNode };

/** Longest any phase waits for its election before the scenario gives up. */
const phaseMaxMilliseconds = 4000;
/** How long the usurper leads the others in the last phase before everything heals. */
const usurperLeadsMilliseconds = 1500;

/**
 * Drives the schedule of the Raft paper's figure 8 (§5.4.2), which only a commit rule that counts
 * replicas of an earlier term's entry gets wrong:
 *
 * 1. The leader (old) is cut off; the client keeps writing to it, so entries of its term pile up
 *    on it alone.
 * 2. Another node (the usurper) wins the next term and is cut off at once, before its first
 *    entry (the barrier of its term) leaves: that entry, of a higher term, sits on it alone.
 * 3. Old rejoins the others and wins again (its log is the longest). It replicates its old-term
 *    entries in several AppendEntries when messages are small; once a follower starts storing
 *    one, old's further messages to it are cut, but its acknowledgement still gets through. Old's
 *    barrier of the new term never reaches a majority, so a correct leader commits nothing.
 * 4. Old is cut off and the usurper rejoins: its last term is higher than the followers', so it
 *    wins and overwrites the old-term entries. Had old committed them, that breaks leader
 *    completeness and state machine safety.
 *
 * The scenario owns the network while it runs; each phase gives up after phaseMaxMilliseconds.
 */
export class Figure8Scenario {
  readonly #cluster: SimCluster;
  readonly #prng: Prng;
  readonly #note: (text: string) => void;
  readonly #onEnd: () => void;
  #phase: Phase | undefined;
  /** Counts phase changes, so a phase's deadline set earlier does not end a later phase. */
  #epoch = 0;
  #unobserve: (() => void) | undefined;

  constructor(options: {
    cluster: SimCluster;
    prng: Prng;
    note: (text: string) => void;
    /** Called once the scenario has healed the network and let go of it. */
    onEnd: () => void;
  }) {
    this.#cluster = options.cluster;
    this.#prng = options.prng;
    this.#note = options.note;
    this.#onEnd = options.onEnd;
  }

  get running(): boolean {
    return this.#phase !== undefined;
  }

  /** Starts from the current leader; returns false (and does nothing) when there is none. */
  start(): boolean {
    const cluster = this.#cluster;
    const old = cluster.leader();
    const oldTerm = old?.status()?.term;
    if (old === undefined || oldTerm === undefined || this.running) return false;
    this.#unobserve = cluster.observe({
      onEvent: (node, event) => this.#onEvent(node, event),
      onPersist: (node, entries) => this.#onPersist(node, entries),
    });
    cluster.network.heal();
    cluster.network.partition([[old.id], this.#othersThan([old.id])]);
    this.#enter({ name: 'await-usurper', old, oldTerm }, `cut off leader ${old.id} (t${oldTerm})`);
    return true;
  }

  /** Ends the scenario now if it runs (the schedule's heal phase). */
  abort(): void {
    if (this.running) this.#end('aborted');
  }

  #onEvent(node: SimNode, event: RaftEvent): void {
    const phase = this.#phase;
    if (phase === undefined || event.type !== 'role-changed' || event.role !== 'leader') return;
    const network = this.#cluster.network;
    if (phase.name === 'await-usurper' && node !== phase.old && event.term > phase.oldTerm) {
      network.partition([[node.id], this.#othersThan([node.id])]);
      this.#enter(
        { name: 'await-old-again', old: phase.old, usurper: node },
        `cut off usurper ${node.id} (t${event.term}) as it wins; ${phase.old.id} rejoins`,
      );
      return;
    }
    if (phase.name !== 'await-old-again') return;
    if (node !== phase.old) return this.#end(`node ${node.id} won instead of ${phase.old.id}`);
    const { old, usurper } = phase;
    this.#enter(
      { name: 'old-replicates', old, usurper, term: event.term },
      `${old.id} leads again (t${event.term})`,
    );
    // Long enough for two probes and the answer to the append that carries old entries, at the
    // seed's slowest links and disks; short enough that old's barrier has not been retried.
    const options = this.#cluster.options;
    const roundTrip = 2 * (options.latencyMaxMilliseconds + options.fsyncMaxMilliseconds);
    const delay = this.#prng.int(roundTrip, 3 * roundTrip);
    const epoch = this.#epoch;
    this.#cluster.scheduler.schedule(delay, 'figure 8: swap', () => {
      if (epoch === this.#epoch) this.#swap(old, usurper);
    });
  }

  /** A follower of old's new term starts storing entries of an earlier term: cut old's way to it. */
  #onPersist(node: SimNode, entries: readonly Entry[]): void {
    const phase = this.#phase;
    if (phase?.name !== 'old-replicates' || node === phase.old || node === phase.usurper) return;
    if (!entries.some((entry) => entry.term < phase.term)) return;
    if (!this.#cluster.network.canReach(phase.old.id, node.id)) return;
    this.#cluster.network.blockOneWay(phase.old.id, node.id);
    this.#note(`figure 8: ${phase.old.id} can no longer reach ${node.id}`);
  }

  #swap(old: SimNode, usurper: SimNode): void {
    const network = this.#cluster.network;
    network.heal();
    network.partition([[old.id], this.#othersThan([old.id])]);
    this.#enter(
      { name: 'usurper-returns', old, usurper },
      `cut off ${old.id}; usurper ${usurper.id} rejoins`,
    );
    const epoch = this.#epoch;
    this.#cluster.scheduler.schedule(usurperLeadsMilliseconds, 'figure 8: end', () => {
      if (epoch === this.#epoch) this.#end('done');
    });
  }

  #enter(phase: Phase, text: string): void {
    this.#phase = phase;
    this.#epoch++;
    this.#note(`figure 8: ${text}`);
    const epoch = this.#epoch;
    this.#cluster.scheduler.schedule(phaseMaxMilliseconds, 'figure 8: deadline', () => {
      if (epoch === this.#epoch) this.#end(`gave up in phase ${phase.name}`);
    });
  }

  #end(reason: string): void {
    this.#phase = undefined;
    this.#epoch++;
    this.#unobserve?.();
    this.#unobserve = undefined;
    this.#cluster.network.heal();
    this.#note(`figure 8: ends, ${reason}`);
    this.#onEnd();
  }

  #othersThan(ids: readonly NodeId[]): NodeId[] {
    return this.#cluster.nodes.map((node) => node.id).filter((id) => !ids.includes(id));
  }
}
