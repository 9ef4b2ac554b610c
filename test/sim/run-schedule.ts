import { AssertionError } from '../../src/raft/assert.js';
import type { RaftConfig } from '../../src/raft/config.js';
import { StorageContractError } from './disk-state.js';
import { checkHealed } from './heal-check.js';
import { InvariantViolation } from './invariant-violation.js';
import { Nemesis, faultKinds, type FaultKind } from './nemesis.js';
import { Prng } from './prng.js';
import { SimCluster, type SimClusterOptions } from './sim-cluster.js';
import { describeSwarm, drawSwarm, type SwarmChoice } from './swarm.js';
import { Workload } from './workload.js';

export interface ScheduleOptions {
  readonly seed: number;
  /** Simulator events in the fault phase; every one is followed by the step invariants. */
  readonly steps: number;
  /** Voters at bootstrap: 3, 5 or 7. Two spares more are started for membership changes. */
  readonly nodes: number;
  /** Fault kinds a schedule may inject; all of them by default. */
  readonly faults?: readonly FaultKind[];
  /**
   * Each seed enables a random subset of `faults` at random weights and draws some Raft options
   * (swarm.ts). Default true; false enables every kind of `faults` at once.
   */
  readonly swarm?: boolean;
  /** Receives every trace line as it happens. */
  readonly echo?: (line: string) => void;
}

export interface ScheduleFailure {
  /** The property that broke, such as "election safety", or "exception" for an uncaught error. */
  readonly invariant: string;
  readonly message: string;
  readonly step: number;
  readonly timeMilliseconds: number;
  /** One command that replays exactly this run. */
  readonly replay: string;
  /** The last lines of the run's trace. */
  readonly trace: readonly string[];
}

export interface ScheduleStats {
  steps: number;
  virtualMilliseconds: number;
  faults: Record<string, number>;
  proposalsAccepted: number;
  proposalsAcknowledged: number;
  leaderTerms: number;
  snapshotsInstalled: number;
  tornPersists: number;
  messagesSent: number;
  messagesDropped: number;
}

export interface ScheduleResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly failure?: ScheduleFailure;
  readonly stats: ScheduleStats;
}

/** Spares started outside the configuration, for the nemesis to add. */
const sparesCount = 2;
const traceLinesReported = 60;

/** The replay command for a run, as the CLI accepts it. */
export function replayCommand(options: {
  readonly seed: number;
  readonly steps: number;
  readonly nodes: number;
  readonly faults?: readonly FaultKind[];
  readonly swarm?: boolean;
}): string {
  const faults = options.faults ?? faultKinds;
  const allFaults = faultKinds.every((kind) => faults.includes(kind));
  return (
    `npm run sim -- --seeds ${options.seed}..${options.seed} --steps ${options.steps} ` +
    `--nodes ${options.nodes}${allFaults ? '' : ` --faults ${faults.join(',')}`}` +
    `${options.swarm === false ? ' --no-swarm' : ''}`
  );
}

/**
 * Runs one seeded schedule: a fault phase of `steps` events with the nemesis and the client
 * workload, then a heal phase that must elect a leader, commit a fresh proposal and bring every
 * member to the same state. Any broken invariant or uncaught error ends the run as a failure.
 */
export function runSchedule(options: ScheduleOptions): ScheduleResult {
  if (![3, 5, 7].includes(options.nodes))
    throw new RangeError(`nodes must be 3, 5 or 7, got ${options.nodes}`);
  if (!Number.isSafeInteger(options.steps) || options.steps < 0)
    throw new RangeError('steps must be >= 0');
  const setup = new Prng(options.seed).fork('setup');
  const swarm = drawSwarm({
    prng: new Prng(options.seed).fork('swarm'),
    seed: options.seed,
    allowed: options.faults ?? faultKinds,
    swarm: options.swarm ?? true,
  });
  const cluster = new SimCluster(clusterOptions(options, setup, swarm));
  cluster.trace.add(0, describeSwarm(swarm));
  const nemesis = new Nemesis({
    cluster,
    prng: cluster.prng.fork('nemesis'),
    kinds: swarm.kinds,
    weights: swarm.weights,
    intervalMaxMilliseconds: setup.pick([100, 300, 1000]),
    faultMaxMilliseconds: setup.pick([300, 1000, 3000]),
  });
  const workload = new Workload({
    cluster,
    prng: cluster.prng.fork('workload'),
    intervalMaxMilliseconds: setup.pick([5, 20, 60]),
    outstandingMax: setup.pick([4, 32, 256]),
  });
  let failure: ScheduleFailure | undefined;
  try {
    nemesis.start();
    workload.start();
    for (let step = 0; step < options.steps; step++) {
      if (!cluster.step()) break;
    }
    nemesis.stop();
    workload.stop();
    nemesis.heal();
    checkHealed(cluster, workload);
  } catch (error) {
    // Converted, not swallowed: any error (a broken invariant, a core assertion, a storage
    // contract violation) ends this schedule as its reported failure.
    failure = describeFailure(error, cluster, options, swarm);
  }
  return {
    ok: failure === undefined,
    seed: options.seed,
    ...(failure ? { failure } : {}),
    stats: statsOf(cluster, nemesis),
  };
}

/** Cluster parameters drawn from the seed, so that seeds also explore timings and thresholds. */
function clusterOptions(
  options: ScheduleOptions,
  setup: Prng,
  swarm: SwarmChoice,
): SimClusterOptions {
  const raftConfig: Partial<RaftConfig> = {
    tickMilliseconds: 50,
    electionTimeoutTicks: 6,
    heartbeatTicks: 1,
    // Small logs and chunks make followers that restart or lag catch up by InstallSnapshot.
    snapshotTrailingEntries: setup.pick([0, 2, 8, 64]),
    snapshotChunkBytes: setup.pick([256, 4096, 65536]),
    inflightMessagesMax: setup.pick([1, 4, 64]),
    appendBytesMax: setup.pick([64, 1024, 1024 * 1024]),
    snapshotTimeoutTicks: setup.pick([10, 100]),
    // Leases are tested by the clock drift below and by reads sent to stale leaders.
    preVote: swarm.preVote,
    checkQuorum: swarm.checkQuorum,
    leaseReads: swarm.leaseReads,
  };
  return {
    seed: options.seed,
    voterCount: options.nodes,
    spareCount: sparesCount,
    raftConfig,
    snapshotThresholdEntries: setup.pick([4, 16, 64, 1024]),
    // Leases are safe while no clock runs more than clockRateDifferenceMax (20%) faster than
    // another's (election.ts): rates within 1 ± 0.09 differ by at most 1.09 / 0.91 = 1.198.
    clockDrift: setup.pick([0, 0.05, 0.09]),
    latencyMinMilliseconds: 1,
    latencyMaxMilliseconds: setup.pick([5, 15, 40]),
    spikeMaxMilliseconds: setup.pick([200, 1000]),
    fsyncMinMilliseconds: 1,
    fsyncMaxMilliseconds: setup.pick([2, 10, 30]),
    tornPersistProbability: setup.pick([0, 0.5]),
    traceCapacity: 400,
    ...(options.echo ? { echo: options.echo } : {}),
  };
}

function describeFailure(
  error: unknown,
  cluster: SimCluster,
  options: ScheduleOptions,
  swarm: SwarmChoice,
): ScheduleFailure {
  const invariant =
    error instanceof InvariantViolation
      ? error.invariant
      : error instanceof AssertionError
        ? 'core assertion'
        : error instanceof StorageContractError
          ? 'storage contract'
          : 'exception';
  const message =
    error instanceof InvariantViolation
      ? error.message
      : `${invariant}: ${error instanceof Error ? error.message : String(error)}`;
  const stack =
    error instanceof Error && !(error instanceof InvariantViolation) ? (error.stack ?? '') : '';
  return {
    invariant,
    message: stack === '' ? message : `${message}\n${stack.split('\n').slice(1, 6).join('\n')}`,
    step: cluster.steps,
    timeMilliseconds: cluster.scheduler.now,
    replay: replayCommand(options),
    trace: [describeSwarm(swarm), ...cluster.trace.lines(traceLinesReported)],
  };
}

function statsOf(cluster: SimCluster, nemesis: Nemesis): ScheduleStats {
  const network = cluster.network.stats;
  return {
    steps: cluster.steps,
    virtualMilliseconds: cluster.scheduler.now,
    faults: { ...nemesis.counts },
    proposalsAccepted: cluster.invariants.ledger.stats.proposed,
    proposalsAcknowledged: cluster.invariants.ledger.acknowledgedCount,
    leaderTerms: cluster.invariants.leaderTerms,
    snapshotsInstalled: cluster.nodes.reduce(
      (total, node) => total + node.storage.stats.snapshotsInstalled,
      0,
    ),
    tornPersists: cluster.nodes.reduce((total, node) => total + node.storage.stats.tornPersists, 0),
    messagesSent: network.sent,
    messagesDropped: network.dropped + network.droppedByPartition,
  };
}
