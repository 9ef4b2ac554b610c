import type { MembershipChange } from '../../src/raft/configuration.js';
import { Role, type NodeId } from '../../src/raft/types.js';
import type { Prng } from './prng.js';
import { Figure8Scenario } from './figure-8.js';
import type { ScheduledEvent } from './scheduler.js';
import { addressOf, type SimCluster } from './sim-cluster.js';
import { calmNetwork } from './sim-network.js';
import type { SimNode } from './sim-node.js';

/** Families of faults a schedule may inject; a run enables some or all of them. */
export const faultKinds = [
  'network',
  'partition',
  'crash',
  'pause',
  'membership',
  'transfer',
  'figure-8',
] as const;
export type FaultKind = (typeof faultKinds)[number];

type Action =
  | 'network-rates'
  | 'network-calm'
  | 'partition'
  | 'isolate-leader'
  | 'split-voters'
  | 'one-way'
  | 'heal-network'
  | 'crash'
  | 'crash-leader'
  | 'pause'
  | 'pause-cut-off-leader'
  | 'membership'
  | 'transfer'
  | 'figure-8';

/** Actions per fault kind, repeated to weigh them. */
const actionsOf: Record<FaultKind, readonly Action[]> = {
  network: ['network-rates', 'network-calm'],
  partition: [
    'partition',
    'isolate-leader',
    'split-voters',
    'one-way',
    'heal-network',
    'heal-network',
  ],
  crash: ['crash', 'crash', 'crash-leader'],
  pause: ['pause', 'pause', 'pause-cut-off-leader'],
  membership: ['membership', 'membership'],
  transfer: ['transfer'],
  'figure-8': ['figure-8'],
};

/** The bootstrap cluster never shrinks below this many voters, so one crash is survivable. */
export const votersMin = 3;

export interface NemesisOptions {
  readonly cluster: SimCluster;
  readonly prng: Prng;
  readonly kinds: readonly FaultKind[];
  /**
   * How often each kind's actions are picked relative to the others (swarm testing); 1 for a
   * kind not listed.
   */
  readonly weights?: Readonly<Partial<Record<FaultKind, number>>>;
  /** Longest pause between two actions. */
  readonly intervalMaxMilliseconds: number;
  /** Longest a crash, pause or partition lasts before it is undone. */
  readonly faultMaxMilliseconds: number;
}

/**
 * The seed-driven adversary: at random intervals it picks an action among the enabled fault
 * kinds, and schedules its undoing (restart, resume, heal) a random while later. Membership changes
 * and transfers go through the current leader, one at a time, as an operator would.
 */
export class Nemesis {
  /** How many times each action was injected (or, for membership, attempted). */
  readonly counts: Record<string, number> = {};
  readonly #options: NemesisOptions;
  readonly #actions: readonly Action[];
  readonly #figure8: Figure8Scenario;
  #event: ScheduledEvent | undefined;
  /**
   * Counts takeovers of the network by a scenario: a heal scheduled before one must not undo the
   * scenario's cuts.
   */
  #networkEpoch = 0;

  constructor(options: NemesisOptions) {
    this.#options = options;
    this.#actions = options.kinds.flatMap((kind) => {
      const weight = options.weights?.[kind] ?? 1;
      if (!Number.isSafeInteger(weight) || weight < 0)
        throw new RangeError(`weight of ${kind} must be a non-negative integer, got ${weight}`);
      return Array.from({ length: weight }, () => actionsOf[kind]).flat();
    });
    this.#figure8 = new Figure8Scenario({
      cluster: options.cluster,
      prng: options.prng.fork('figure-8'),
      note: (text) => this.#note(text),
      onEnd: () => this.#networkEpoch++,
    });
  }

  start(): void {
    if (this.#actions.length > 0) this.#schedule();
  }

  /** Stops injecting; undoings already scheduled still run. */
  stop(): void {
    if (this.#event !== undefined) this.#options.cluster.scheduler.cancel(this.#event);
    this.#event = undefined;
  }

  /** Undoes every fault at once: the heal phase of a schedule. */
  heal(): void {
    const cluster = this.#options.cluster;
    this.#figure8.abort();
    cluster.network.heal();
    cluster.network.faults = calmNetwork;
    for (const node of cluster.nodes) {
      if (node.state === 'crashed') node.start();
      if (node.state === 'paused') node.resume();
    }
    this.#note('heal everything');
  }

  #schedule(): void {
    const { cluster, prng, intervalMaxMilliseconds } = this.#options;
    this.#event = cluster.scheduler.schedule(
      prng.int(1, intervalMaxMilliseconds),
      'nemesis',
      () => {
        // A scenario owns the network and the nodes while it runs; other faults wait.
        if (!this.#figure8.running) this.#act(prng.pick(this.#actions));
        this.#schedule();
      },
    );
  }

  #act(action: Action): void {
    const { cluster, prng } = this.#options;
    const network = cluster.network;
    switch (action) {
      case 'network-rates':
        network.faults = {
          dropProbability: prng.pick([0, 0.01, 0.05, 0.2]),
          duplicateProbability: prng.pick([0, 0.01, 0.05]),
          delaySpikeProbability: prng.pick([0, 0.01, 0.05]),
        };
        return this.#count(
          action,
          `drop=${network.faults.dropProbability} dup=${network.faults.duplicateProbability} spike=${network.faults.delaySpikeProbability}`,
        );
      case 'network-calm':
        network.faults = calmNetwork;
        return this.#count(action, '');
      case 'partition':
        return this.#partition();
      case 'isolate-leader':
        return this.#isolateLeader();
      case 'split-voters':
        return this.#splitVoters();
      case 'one-way':
        return this.#oneWay();
      case 'heal-network':
        network.heal();
        return this.#count(action, '');
      case 'crash':
        return this.#crash(prng.pick(cluster.nodes));
      case 'crash-leader':
        return this.#crash(cluster.leader());
      case 'pause':
        return this.#pause(prng.pick(cluster.nodes));
      case 'pause-cut-off-leader':
        return this.#pauseCutOffLeader();
      case 'membership':
        return this.#changeMembership();
      case 'transfer':
        return this.#transfer();
      case 'figure-8':
        return this.#startFigure8();
    }
  }

  #partition(): void {
    const { cluster, prng } = this.#options;
    const ids = shuffle(
      prng,
      cluster.nodes.map((node) => node.id),
    );
    const split = prng.int(1, ids.length - 1);
    const groups = [ids.slice(0, split), ids.slice(split)];
    cluster.network.partition(groups);
    this.#count('partition', groups.map((group) => group.join(',')).join(' | '));
    this.#healLater();
  }

  #isolateLeader(): void {
    const leader = this.#options.cluster.leader();
    if (leader === undefined) return;
    this.#options.cluster.network.isolate(leader.id);
    this.#count('isolate-leader', `node ${leader.id}`);
    this.#healLater();
  }

  /**
   * Splits the voters of the leader's configuration into two halves (one larger when their number
   * is odd), other nodes going to either side: with an even number of voters neither half is a
   * majority, so neither may elect a leader or commit (§5.2).
   */
  #splitVoters(): void {
    const { cluster, prng } = this.#options;
    const reference = cluster.leader() ?? prng.pick(cluster.nodes);
    const servers = reference.status()?.configuration.servers ?? [];
    const voters = shuffle(
      prng,
      servers.filter((server) => server.role === Role.voter).map((server) => server.id),
    );
    if (voters.length < 2) return;
    const half = prng.chance(0.5) ? Math.floor(voters.length / 2) : Math.ceil(voters.length / 2);
    const groups = [voters.slice(0, half), voters.slice(half)];
    for (const node of cluster.nodes) {
      if (!voters.includes(node.id)) (prng.chance(0.5) ? groups[0] : groups[1])?.push(node.id);
    }
    cluster.network.partition(groups);
    this.#count('split-voters', groups.map((group) => group.join(',')).join(' | '));
    this.#healLater();
  }

  #startFigure8(): void {
    if (!this.#figure8.start()) return;
    this.#networkEpoch++;
    this.#count('figure-8', '');
  }

  /** Cuts one direction of a link, often one that touches the leader. */
  #oneWay(): void {
    const { cluster, prng } = this.#options;
    const leader = cluster.leader();
    const from = leader !== undefined && prng.chance(0.5) ? leader : prng.pick(cluster.nodes);
    const others = cluster.nodes.filter((node) => node !== from);
    const to = prng.pick(others);
    const [a, b] = prng.chance(0.5) ? [from.id, to.id] : [to.id, from.id];
    cluster.network.blockOneWay(a, b);
    this.#count('one-way', `${a} cannot reach ${b}`);
    this.#healLater();
  }

  #healLater(): void {
    const { cluster, prng, faultMaxMilliseconds } = this.#options;
    const epoch = this.#networkEpoch;
    cluster.scheduler.schedule(prng.int(50, faultMaxMilliseconds), 'heal network', () => {
      if (epoch !== this.#networkEpoch) return;
      cluster.network.heal();
      this.#note('network healed');
    });
  }

  /** Crashes `node` unless half the nodes are down already; restarts it later. */
  #crash(node: SimNode | undefined): void {
    const { cluster, prng, faultMaxMilliseconds } = this.#options;
    if (node === undefined || node.state === 'crashed') return;
    const down = cluster.nodes.filter((other) => other.state === 'crashed').length;
    if (down + 1 > Math.floor(cluster.nodes.length / 2)) return;
    node.crash();
    this.#count('crash', `node ${node.id}`);
    cluster.scheduler.schedule(prng.int(10, faultMaxMilliseconds), `restart ${node.id}`, () => {
      if (node.state !== 'crashed') return;
      node.start();
      this.#note(`restart node ${node.id} (incarnation ${node.incarnation})`);
    });
  }

  #pause(node: SimNode): void {
    const { cluster, prng, faultMaxMilliseconds } = this.#options;
    if (node.state !== 'running') return;
    node.pause();
    this.#count('pause', `node ${node.id}`);
    cluster.scheduler.schedule(prng.int(10, faultMaxMilliseconds), `resume ${node.id}`, () => {
      if (node.state !== 'paused') return;
      node.resume();
      this.#note(`resume node ${node.id}`);
    });
  }

  /**
   * A leader stops (a long GC, SIGSTOP) and loses its links; the others elect a new leader that
   * acknowledges writes. On resuming it still believes it leads, and a client that still knows it
   * asks it for a read at once: a lease timed on a clock that ran on through the pause has ended
   * (thesis §6.4.1), so the read must wait for a round it cannot win.
   */
  #pauseCutOffLeader(): void {
    const { cluster, prng } = this.#options;
    const leader = cluster.leader();
    if (leader === undefined || leader.state !== 'running') return;
    cluster.network.isolate(leader.id);
    leader.pause();
    this.#count('pause-cut-off-leader', `node ${leader.id}`);
    const pauseMilliseconds = prng.int(1, 4) * cluster.electionTimeoutMaxMilliseconds;
    cluster.scheduler.schedule(pauseMilliseconds, `resume ${leader.id}`, () => {
      if (leader.state !== 'paused') return;
      leader.resume();
      this.#note(`resume node ${leader.id}, which is asked for a read`);
      cluster.requestRead(leader);
      this.#healLater();
    });
  }

  #changeMembership(): void {
    const leader = this.#options.cluster.leader();
    const status = leader?.status();
    if (leader === undefined || status === undefined) return;
    if (status.configurationIndex > status.commitIndex) return;
    const change = this.#pickChange(leader.id, status.configuration.servers);
    if (change === undefined) return;
    const result = leader.changeMembership(change);
    const outcome = result === undefined ? 'not running' : result.ok ? 'accepted' : result.code;
    this.#count(
      `membership-${change.type}`,
      `${JSON.stringify(change)} via ${leader.id}: ${outcome}`,
    );
  }

  /** One change that keeps at least `votersMin` voters; undefined when none fits. */
  #pickChange(
    leaderId: NodeId,
    servers: readonly { readonly id: NodeId; readonly role: Role }[],
  ): MembershipChange | undefined {
    const { cluster, prng } = this.#options;
    const voters = servers.filter((server) => server.role === Role.voter);
    const choices: MembershipChange[] = [];
    for (const node of cluster.nodes) {
      if (!servers.some((server) => server.id === node.id)) {
        choices.push({ type: 'add', id: node.id, address: addressOf(node.id) });
      }
    }
    for (const server of servers) {
      if (server.role === Role.spare)
        choices.push({
          type: 'assign',
          id: server.id,
          role: prng.pick([Role.voter, Role.standby]),
        });
      if (server.role === Role.standby)
        choices.push({ type: 'assign', id: server.id, role: prng.pick([Role.voter, Role.spare]) });
      if (server.role !== Role.voter) choices.push({ type: 'remove', id: server.id });
    }
    if (voters.length > votersMin) {
      const voter = prng.chance(0.3) ? leaderId : prng.pick(voters).id;
      choices.push(
        { type: 'remove', id: voter },
        { type: 'assign', id: voter, role: prng.pick([Role.standby, Role.spare]) },
      );
    }
    return choices.length === 0 ? undefined : prng.pick(choices);
  }

  #transfer(): void {
    const { cluster, prng } = this.#options;
    const leader = cluster.leader();
    const servers = leader?.status()?.configuration.servers ?? [];
    if (leader === undefined) return;
    const voters = servers.filter(
      (server) => server.role === Role.voter && server.id !== leader.id,
    );
    const target = voters.length > 0 && prng.chance(0.7) ? prng.pick(voters).id : undefined;
    const result = leader.transferLeadership(target);
    this.#count(
      'transfer',
      `${leader.id} -> ${target ?? 'any'}: ${result?.ok === true ? 'started' : 'refused'}`,
    );
  }

  #count(action: string, detail: string): void {
    this.counts[action] = (this.counts[action] ?? 0) + 1;
    this.#note(`${action} ${detail}`);
  }

  #note(text: string): void {
    const cluster = this.#options.cluster;
    cluster.trace.add(cluster.scheduler.now, `nemesis: ${text}`);
  }
}

/** Fisher–Yates with the schedule's PRNG. */
function shuffle<T>(prng: Prng, items: readonly T[]): T[] {
  const result = [...items];
  for (let position = result.length - 1; position > 0; position--) {
    const other = prng.int(0, position);
    [result[position], result[other]] = [result[other] as T, result[position] as T];
  }
  return result;
}
