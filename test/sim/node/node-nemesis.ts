import { Role, type NodeId } from '../../../src/raft/types.js';
import { calmNetwork } from '../sim-network.js';
import type { Prng } from '../prng.js';
import { addressOf, type NodeCluster } from './node-cluster.js';

export const nodeFaultKinds = [
  'crash',
  'pause',
  'partition',
  'isolate-leader',
  'network-rates',
  'transfer',
  'membership',
  'engine-stall',
  'stale-leader',
  'commit-race',
  'failed-transfer',
] as const;
export type NodeFaultKind = (typeof nodeFaultKinds)[number];

export interface NodeNemesisOptions {
  readonly cluster: NodeCluster;
  readonly prng: Prng;
  /** The fault kinds this seed uses, each with its weight (swarm testing). */
  readonly weights: Partial<Record<NodeFaultKind, number>>;
  readonly intervalMaxMs: number;
  readonly faultMaxMs: number;
  /** A stale leader just woke up: the clients ask it for reads at once. */
  readonly probe?: (id: NodeId) => void;
  /** Scripted clients on node `id` around a leadership move the nemesis makes (sim-clients.ts). */
  readonly commitRace?: (id: NodeId, moveLeadership: () => void) => void;
  readonly transactionAcrossLeadership?: (id: NodeId, moveLeadership: () => void) => void;
}

/**
 * Faults for the whole-node simulation: crashes (with the disk's unsynced writes lost) and
 * restarts, pauses, partitions, an isolated leader, lossy links, leadership transfers. Each
 * fault heals itself after a while; `heal` ends them all at once.
 */
export class NodeNemesis {
  readonly counts: Record<string, number> = {};
  readonly #options: NodeNemesisOptions;
  #running = false;
  /** Restarts still to do, by machine. */
  readonly #restarts = new Set<NodeId>();

  constructor(options: NodeNemesisOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running = true;
    this.#next();
  }

  stop(): void {
    this.#running = false;
  }

  /** Ends every fault: network whole and calm, every machine running. */
  async heal(): Promise<void> {
    const cluster = this.#options.cluster;
    cluster.network.heal();
    cluster.network.faults = calmNetwork;
    for (const machine of cluster.machines) {
      if (machine.paused) machine.resume();
      if (!machine.running && !machine.paused) await machine.start();
    }
    this.#restarts.clear();
    cluster.note('nemesis: healed');
  }

  #next(): void {
    const { cluster, prng } = this.#options;
    cluster.scheduler.schedule(prng.int(1, this.#options.intervalMaxMs), 'nemesis', () => {
      if (!this.#running) return;
      const kind = pickWeighted(prng, this.#options.weights);
      if (kind !== undefined) {
        this.counts[kind] = (this.counts[kind] ?? 0) + 1;
        this.#inject(kind);
      }
      this.#next();
    });
  }

  #inject(kind: NodeFaultKind): void {
    const { cluster, prng } = this.#options;
    const duration = prng.int(1, this.#options.faultMaxMs);
    faults[kind]({ cluster, prng, duration, restarts: this.#restarts, scripts: this.#options });
  }
}

/** What one fault needs: the cluster, the nemesis's PRNG, how long it lasts, and the scripts. */
interface Fault {
  readonly cluster: NodeCluster;
  readonly prng: Prng;
  readonly duration: number;
  /** Machines the nemesis crashed and will restart (heal restarts them all at once). */
  readonly restarts: Set<NodeId>;
  readonly scripts: Pick<
    NodeNemesisOptions,
    'probe' | 'commitRace' | 'transactionAcrossLeadership'
  >;
}

const faults: Record<NodeFaultKind, (fault: Fault) => void> = {
  crash,
  pause,
  partition,
  'isolate-leader': isolateLeader,
  'network-rates': networkRates,
  'engine-stall': engineStall,
  'stale-leader': staleLeader,
  'commit-race': commitRace,
  'failed-transfer': failedTransfer,
  membership,
  transfer,
};

function crash(fault: Fault): void {
  const { cluster, prng, duration } = fault;
  const machines = cluster.machines;
  const majority = Math.floor(machines.length / 2) + 1;
  // Keep a majority of machines up or coming back: a crash beyond that only stalls the run.
  const down = machines.filter((machine) => !machine.running).length;
  if (down >= machines.length - majority) return;
  const machine = prng.pick(machines.filter((candidate) => candidate.running));
  cluster.note(`nemesis: crash node ${machine.id} for ${duration} ms`);
  machine.crash();
  fault.restarts.add(machine.id);
  cluster.scheduler.schedule(duration, `restart ${machine.id}`, () => {
    if (!fault.restarts.delete(machine.id) || machine.running) return;
    cluster.note(`nemesis: restart node ${machine.id}`);
    void machine.start();
  });
}

function pause(fault: Fault): void {
  const { cluster, prng, duration } = fault;
  const machines = cluster.machines;
  const running = machines.filter((candidate) => candidate.running);
  if (running.length === 0) return;
  const machine = prng.pick(running);
  cluster.note(`nemesis: pause node ${machine.id} for ${duration} ms`);
  machine.pause();
  cluster.scheduler.schedule(duration, `resume ${machine.id}`, () => machine.resume());
}

function partition(fault: Fault): void {
  const { cluster, prng, duration } = fault;
  const machines = cluster.machines;
  const ids = machines.map((machine) => machine.id);
  const side = ids.filter(() => prng.chance(0.5));
  if (side.length === 0 || side.length === ids.length) return;
  const groups = [side, ids.filter((id) => !side.includes(id))];
  cluster.note(`nemesis: partition ${groups.map((group) => group.join(',')).join(' | ')}`);
  cluster.network.partition(groups);
  cluster.scheduler.schedule(duration, 'heal partition', () => cluster.network.heal());
}

function isolateLeader(fault: Fault): void {
  const { cluster, duration } = fault;
  const leader = cluster.servingLeader();
  if (leader === undefined) return;
  cluster.note(`nemesis: isolate leader ${leader.id} for ${duration} ms`);
  cluster.network.isolate(leader.id);
  cluster.scheduler.schedule(duration, 'heal isolation', () => cluster.network.heal());
}

function networkRates(fault: Fault): void {
  const { cluster, prng, duration } = fault;
  cluster.network.faults = {
    dropProbability: prng.pick([0, 0.01, 0.05, 0.2]),
    duplicateProbability: prng.pick([0, 0.01, 0.05]),
    delaySpikeProbability: prng.pick([0, 0.01, 0.05]),
  };
  cluster.note(`nemesis: network ${JSON.stringify(cluster.network.faults)}`);
  cluster.scheduler.schedule(duration, 'calm network', () => {
    cluster.network.faults = calmNetwork;
  });
}

function engineStall(fault: Fault): void {
  const { cluster, prng, duration } = fault;
  const machines = cluster.machines;
  // A long statement or a busy main thread: replies and requests wait on one node while
  // Raft on its main thread goes on (and may lose leadership meanwhile).
  const running = machines.filter((candidate) => candidate.running);
  if (running.length === 0) return;
  const machine = prng.chance(0.5)
    ? (cluster.servingLeaderMachine() ?? prng.pick(running))
    : prng.pick(running);
  const stall = prng.int(1, Math.min(duration, 500));
  cluster.note(`nemesis: stall node ${machine.id}'s engine for ${stall} ms`);
  machine.enginePort?.stall(cluster.scheduler.now + stall);
}

function staleLeader(fault: Fault): void {
  const { cluster, prng } = fault;
  // The leader stops (SIGSTOP, a long GC) while cut off; the others elect another and
  // write. It wakes still cut off, its monotonic clock far ahead and its ticks not: until
  // its own timers notice, it still believes it leads, and clients still ask it.
  const machine = cluster.servingLeaderMachine();
  if (machine === undefined) return;
  const paused = prng.int(600, 3000);
  const cutOff = paused + prng.int(0, 1000);
  cluster.note(`nemesis: stale leader ${machine.id}: paused ${paused} ms, cut off ${cutOff} ms`);
  cluster.network.isolate(machine.id);
  machine.pause();
  cluster.scheduler.schedule(paused, `resume ${machine.id}`, () => {
    machine.resume();
    fault.scripts.probe?.(machine.id);
  });
  cluster.scheduler.schedule(cutOff, 'heal stale leader', () => cluster.network.heal());
}

function commitRace(fault: Fault): void {
  const { cluster, prng } = fault;
  // The leader's engine commits while its replies (carrying the proposals) wait: clients
  // read on the leader meanwhile, and leadership moves before the replies are taken, so
  // those transactions are undone and answered "not committed".
  const machine = cluster.servingLeaderMachine();
  const leader = machine?.engine;
  if (machine === undefined || leader === undefined) return;
  const held = prng.int(50, 400);
  cluster.note(`nemesis: commit race on leader ${machine.id}: replies held ${held} ms`);
  machine.enginePort?.stallReplies(cluster.scheduler.now + held);
  fault.scripts.commitRace?.(machine.id, () => {
    void leader.transferLeadership(undefined, 2000).catch(() => undefined);
  });
}

function failedTransfer(fault: Fault): void {
  const { cluster, prng } = fault;
  // A transfer to a voter that cannot hear the leader: writes are refused while it runs
  // (the engine steps down, Raft keeps the lead), and when it gives up the same node
  // serves again, with its clients' sessions still open, some in a transaction.
  const machine = cluster.servingLeaderMachine();
  const leader = machine?.engine;
  if (machine === undefined || leader === undefined) return;
  const targets = leader
    .configuration()
    .servers.filter((server) => server.role === Role.voter && server.id !== leader.id);
  if (targets.length === 0) return;
  const target = prng.pick(targets).id;
  const cut = prng.int(300, 1500);
  fault.scripts.transactionAcrossLeadership?.(machine.id, () => {
    cluster.note(`nemesis: transfer from ${machine.id} to ${target}, cut off for ${cut} ms`);
    cluster.network.blockOneWay(machine.id, target);
    void leader.transferLeadership(target, 1000).catch(() => undefined);
    // A write while the transfer runs is refused, and the engine steps down.
    fault.scripts.commitRace?.(machine.id, () => undefined);
    cluster.scheduler.schedule(cut, 'heal failed transfer', () => cluster.network.heal());
  });
}

function membership(fault: Fault): void {
  const { cluster, prng } = fault;
  changeMembership(cluster, prng);
}

function transfer(fault: Fault): void {
  const { cluster } = fault;
  const leader = cluster.servingLeader();
  if (leader === undefined) return;
  cluster.note(`nemesis: transfer leadership away from ${leader.id}`);
  // Refusals (no voter caught up, a transfer running) are answers, not faults.
  void leader.transferLeadership(undefined, 2000).catch(() => undefined);
}

/** The bootstrap cluster never shrinks below this many voters, so one crash is survivable. */
const votersMin = 3;

/**
 * Adds a machine outside the configuration as a voter (the node promotes it once it caught up),
 * or removes a voter that is not the leader while more than `votersMin` remain.
 */
function changeMembership(cluster: NodeCluster, prng: Prng): void {
  const leader = cluster.servingLeader();
  if (leader === undefined) return;
  const servers = leader.configuration().servers;
  const voters = servers.filter((server) => server.role === Role.voter);
  const outside = cluster.machines.filter(
    (machine) => !servers.some((server) => server.id === machine.id),
  );
  // Refusals (a change in progress, leadership lost) are answers, not faults.
  const ignore = () => undefined;
  if (voters.length > votersMin && prng.chance(0.5)) {
    const removable = voters.filter((server) => server.id !== leader.id);
    const removed = prng.pick(removable);
    cluster.note(`nemesis: remove node ${removed.id}`);
    void leader.changeMembership({ type: 'remove', id: removed.id }).catch(ignore);
    return;
  }
  const added = outside.length === 0 ? undefined : prng.pick(outside);
  if (added === undefined) return;
  cluster.note(`nemesis: add node ${added.id} as a voter`);
  void leader
    .changeMembership({ type: 'add', id: added.id, address: addressOf(added.id) })
    .then(() => leader.changeMembership({ type: 'assign', id: added.id, role: Role.voter }))
    .catch(ignore);
}

function pickWeighted<K extends string>(
  prng: Prng,
  weights: Partial<Record<K, number>>,
): K | undefined {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  if (total <= 0) return undefined;
  let draw = prng.next() * total;
  for (const [kind, weight] of entries) {
    draw -= weight;
    if (draw < 0) return kind;
  }
  return entries[entries.length - 1]?.[0];
}
