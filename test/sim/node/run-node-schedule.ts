import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { AssertionError } from '../../../src/raft/assert.js';
import { InvariantViolation } from '../invariant-violation.js';
import { Prng } from '../prng.js';
import { NodeCluster } from './node-cluster.js';
import { NodeNemesis, nodeFaultKinds, type NodeFaultKind } from './node-nemesis.js';
import { ClientCalls } from './client-calls.js';
import { healAndCheck, throwUnhandled } from './heal-checks.js';
import { ScriptedClients } from './scripted-clients.js';
import { SimClients, type ClientMix } from './sim-clients.js';

export interface NodeScheduleOptions {
  readonly seed: number;
  /** Simulator events in the fault phase. */
  readonly steps: number;
  /** Receives every trace line as it happens. */
  readonly echo?: (line: string) => void;
  /** Keep the machines' files of a failed run (their path is in the failure). */
  readonly keepFiles?: boolean;
}

export interface NodeScheduleResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly failure?: {
    readonly invariant: string;
    readonly message: string;
    readonly replay: string;
    readonly trace: readonly string[];
  };
  readonly stats: {
    readonly steps: number;
    readonly virtualMs: number;
    readonly faults: Record<string, number>;
    readonly clients: ClientCalls['stats'];
    readonly failures: ReadonlyMap<string, number>;
    readonly operations: number;
    readonly appends: number;
  };
}

export function nodeReplayCommand(seed: number, steps: number): string {
  return `npm run sim:node -- --seeds ${seed}..${seed} --steps ${steps}`;
}

/**
 * One seeded whole-node schedule: three machines running the real node, clients and faults for
 * `steps` events, then every fault healed, and the checks: the node never stopped itself, one
 * leader per term, progress within `healBoundMs`, every replica's content equal at one index (the
 * product's own content check), every acknowledged append present and no append answered "not
 * committed" present, and the register history linearizable.
 */
export async function runNodeSchedule(options: NodeScheduleOptions): Promise<NodeScheduleResult> {
  const setup = new Prng(options.seed).fork('setup');
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), `dqlite-ts-sim-${options.seed}-`));
  const cluster = new NodeCluster({
    seed: options.seed,
    voters: 3,
    spares: 1,
    directory,
    snapshotThresholdEntries: setup.pick([4, 16, 64, 100_000]),
    clockDrift: setup.pick([0, 0.05, 0.1]),
    latencyMaxMilliseconds: setup.pick([1, 5, 20]),
    spikeMaxMilliseconds: setup.pick([200, 1000]),
    fsyncMaxMilliseconds: setup.pick([1, 3, 15]),
    tornPersistProbability: setup.pick([0, 0.5]),
    engineDelayMaxMs: setup.pick([0.05, 1, 5]),
    // Its own stream, so that every other draw of a seed stays as it was. 1 byte: a transaction
    // of several pages spans as many entries, one page each.
    transactionEntryBytes: new Prng(options.seed).fork('entry-bytes').pick([1, 1024 * 1024]),
    traceCapacity: 400,
    ...(options.echo ? { echo: options.echo } : {}),
  });
  const weights: Partial<Record<NodeFaultKind, number>> = {};
  for (const kind of nodeFaultKinds) if (setup.chance(0.6)) weights[kind] = setup.int(1, 4);
  // Drawn in this order so that every seed keeps its schedule.
  const clientCount = setup.int(1, 6);
  const keys = setup.int(1, 6);
  const mix = clientMix(setup);
  const answerWaitMs = setup.pick([1000, 5000]);
  const thinkMaxMs = setup.pick([1, 20, 200]);
  const bigRowBytes = setup.pick([64 * 1024, 1024 * 1024]);
  const calls = new ClientCalls({
    cluster,
    prng: cluster.prng.fork('clients'),
    keys,
    answerWaitMs,
  });
  const clients = new SimClients({ calls, clients: clientCount, mix, thinkMaxMs, bigRowBytes });
  const scripts = new ScriptedClients(calls);
  const nemesis = new NodeNemesis({
    cluster,
    prng: cluster.prng.fork('nemesis'),
    weights,
    intervalMaxMs: setup.pick([200, 1000, 3000]),
    faultMaxMs: setup.pick([300, 1000, 3000]),
    probe: (id) => scripts.probe(id),
    commitRace: (id, move) => scripts.commitRace(id, move),
    transactionAcrossLeadership: (id, move) => scripts.transactionAcrossLeadership(id, move),
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  let failure: NodeScheduleResult['failure'];
  try {
    await cluster.start();
    nemesis.start();
    clients.start();
    for (let step = 0; step < options.steps; step++) {
      if (!(await cluster.step())) break;
      throwUnhandled(unhandled);
    }
    nemesis.stop();
    clients.stop();
    await nemesis.heal();
    await healAndCheck(cluster, calls, unhandled);
  } catch (error) {
    failure = describe(error, cluster, options);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    if (failure === undefined || options.keepFiles !== true) cluster.dispose();
    else for (const machine of cluster.machines) machine.crash();
  }
  return {
    ok: failure === undefined,
    seed: options.seed,
    ...(failure
      ? {
          failure: {
            ...failure,
            message:
              options.keepFiles === true
                ? `${failure.message} (files kept in ${directory})`
                : failure.message,
          },
        }
      : {}),
    stats: {
      steps: cluster.steps,
      virtualMs: cluster.scheduler.now,
      faults: nemesis.counts,
      clients: calls.stats,
      failures: calls.failures,
      operations: calls.history.length,
      appends: calls.appends.size,
    },
  };
}

/** A per-seed mix of client steps: some kinds off entirely, the rest weighted (swarm testing). */
function clientMix(setup: Prng): ClientMix {
  const weight = () => (setup.chance(0.2) ? 0 : setup.int(1, 5));
  return {
    write: setup.int(1, 5),
    pointRead: weight(),
    engineRead: weight(),
    preparedRead: weight(),
    transaction: weight(),
    append: setup.int(1, 5),
    bigAppend: setup.chance(0.3) ? 1 : 0,
    ddl: weight() / 4,
    pragma: weight() / 2,
    idle: weight() / 4,
    reconnect: weight(),
    // Its own stream: every seed draws the other weights as it did before this kind existed.
    replicaRead: setup.fork('replica-reads').int(0, 4),
  };
}

function describe(error: unknown, cluster: NodeCluster, options: NodeScheduleOptions) {
  const invariant =
    error instanceof InvariantViolation
      ? error.invariant
      : error instanceof AssertionError
        ? 'core assertion'
        : 'exception';
  const message =
    error instanceof InvariantViolation
      ? error.message
      : error instanceof Error
        ? `${invariant}: ${error.stack ?? error.message}`
        : String(error);
  return {
    invariant,
    message,
    replay: nodeReplayCommand(options.seed, options.steps),
    trace: cluster.trace.lines(80),
  };
}
