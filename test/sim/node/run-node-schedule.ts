import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { AssertionError } from '../../../src/raft/assert.js';
import { Role } from '../../../src/raft/types.js';
import type { ReplicatedEngine } from '../../../src/server/replicated-engine.js';
import { checkLinearizableByKey } from '../../faults/checkers/linearizability.js';
import { registerModel } from '../../faults/checkers/register-model.js';
import { InvariantViolation } from '../invariant-violation.js';
import { Prng } from '../prng.js';
import { NodeCluster } from './node-cluster.js';
import { NodeNemesis, nodeFaultKinds, type NodeFaultKind } from './node-nemesis.js';
import { SimClients, databases, rowsOf, type ClientMix } from './sim-clients.js';

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
    readonly clients: SimClients['stats'];
    readonly failures: ReadonlyMap<string, number>;
    readonly operations: number;
    readonly appends: number;
  };
}

/** Virtual time the heal phase gives the cluster to elect, commit and converge (liveness). */
export const healBoundMs = 30_000;
/** Events the heal phase may take before the run counts as stuck. */
const healStepsMax = 2_000_000;

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
    traceCapacity: 400,
    ...(options.echo ? { echo: options.echo } : {}),
  });
  const weights: Partial<Record<NodeFaultKind, number>> = {};
  for (const kind of nodeFaultKinds) if (setup.chance(0.6)) weights[kind] = setup.int(1, 4);
  const clients: SimClients = new SimClients({
    cluster,
    prng: cluster.prng.fork('clients'),
    clients: setup.int(1, 6),
    keys: setup.int(1, 6),
    mix: clientMix(setup),
    answerWaitMs: setup.pick([1000, 5000]),
    thinkMaxMs: setup.pick([1, 20, 200]),
    bigRowBytes: setup.pick([64 * 1024, 1024 * 1024]),
  });
  const nemesis = new NodeNemesis({
    cluster,
    prng: cluster.prng.fork('nemesis'),
    weights,
    intervalMaxMs: setup.pick([200, 1000, 3000]),
    faultMaxMs: setup.pick([300, 1000, 3000]),
    probe: (id) => clients.probe(id),
    commitRace: (id, move) => clients.commitRace(id, move),
    transactionAcrossLeadership: (id, move) => clients.transactionAcrossLeadership(id, move),
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
    await healAndCheck(cluster, clients, unhandled);
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
      clients: clients.stats,
      failures: clients.failures,
      operations: clients.history.length,
      appends: clients.appends.size,
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
  };
}

function throwUnhandled(unhandled: unknown[]): void {
  const first = unhandled[0];
  if (first === undefined) return;
  if (first instanceof InvariantViolation || first instanceof AssertionError) throw first;
  throw new InvariantViolation(
    'unhandled rejection',
    first instanceof Error ? (first.stack ?? first.message) : String(first),
  );
}

/** Runs until `done` or the heal bound passes; false if it did not happen. */
async function runUntil(
  cluster: NodeCluster,
  unhandled: unknown[],
  deadline: number,
  done: () => boolean,
): Promise<boolean> {
  for (let steps = 0; steps < healStepsMax && !done(); steps++) {
    if (cluster.scheduler.now > deadline) return false;
    if (!(await cluster.step())) return done();
    throwUnhandled(unhandled);
  }
  return done();
}

/** Waits for a promise while the simulation runs; undefined when it did not settle in time. */
async function await_<T>(
  cluster: NodeCluster,
  unhandled: unknown[],
  deadline: number,
  promise: Promise<T>,
): Promise<T | undefined> {
  let settled: { value: T } | undefined;
  let failed: unknown;
  promise.then(
    (value) => (settled = { value }),
    (error: unknown) => (failed = error ?? new Error('rejected')),
  );
  await runUntil(cluster, unhandled, deadline, () => settled !== undefined || failed !== undefined);
  if (failed !== undefined) throw failed;
  return settled?.value;
}

async function healAndCheck(
  cluster: NodeCluster,
  clients: SimClients,
  unhandled: unknown[],
): Promise<void> {
  const healedAt = cluster.scheduler.now;
  const deadline = healedAt + healBoundMs;
  // The clients finish what they were doing (each answer is bounded by their wait).
  await runUntil(cluster, unhandled, deadline, () => clients.active === 0);
  if (clients.active !== 0) {
    throw new InvariantViolation(
      'liveness',
      `${clients.active} clients still busy ${healBoundMs} ms after healing`,
    );
  }
  // Progress: a leader serves and commits a write in every database.
  let leader: ReplicatedEngine | undefined;
  const session = 1_000_000_000;
  for (;;) {
    const found = await runUntil(
      cluster,
      unhandled,
      deadline,
      () => cluster.servingLeader() !== undefined,
    );
    leader = cluster.servingLeader();
    if (!found || leader === undefined) {
      throw new InvariantViolation('liveness', `no leader serves ${healBoundMs} ms after healing`);
    }
    const opened = await await_(
      cluster,
      unhandled,
      deadline,
      leader.local({ op: 'open', session, database: databases[0] }),
    );
    const wrote =
      opened?.outcome.ok === true
        ? await await_(
            cluster,
            unhandled,
            deadline,
            leader.execute({
              op: 'exec-sql',
              session,
              sql: 'CREATE TABLE IF NOT EXISTS healed (x)',
              parameters: [],
            }),
          )
        : undefined;
    await await_(cluster, unhandled, deadline, leader.local({ op: 'close', session }));
    if (wrote?.ok === true) break;
    if (cluster.scheduler.now > deadline) {
      throw new InvariantViolation(
        'liveness',
        `no write committed ${healBoundMs} ms after healing: ${JSON.stringify(wrote)}`,
      );
    }
  }
  // Convergence: every machine applies what the leader committed, and the content check agrees.
  const started = await await_(cluster, unhandled, deadline, leader.startContentCheck());
  if (started === undefined || !started.ok) {
    throw new InvariantViolation(
      'liveness',
      `no content check ${healBoundMs} ms after healing: ${JSON.stringify(started)}`,
    );
  }
  const index = started.check.index;
  const expected = JSON.stringify(started.check.databases);
  // Every voter and standby applies the check; spares and removed machines get no entries.
  const members = leader
    .configuration()
    .servers.filter((server) => server.role !== Role.spare)
    .map((server) => server.id);
  for (const machine of cluster.machines.filter((candidate) => members.includes(candidate.id))) {
    const engine = machine.engine;
    if (engine === undefined)
      throw new InvariantViolation('liveness', `node ${machine.id} is not running`);
    // Each member gets the whole bound to catch up: a new voter may replay the log from 1.
    const found = await await_(
      cluster,
      unhandled,
      cluster.scheduler.now + healBoundMs + 1000,
      engine.contentCheck(index, healBoundMs),
    );
    if (found === undefined || !found.ok) {
      const status = engine.status();
      throw new InvariantViolation(
        'convergence',
        `node ${machine.id} (${status.role}, term ${status.term}, commit ${status.commitIndex}) ` +
          `has no content check at ${index}: ${JSON.stringify(found)}`,
      );
    }
    if (JSON.stringify(found.check.databases) !== expected) {
      throw new InvariantViolation(
        'replica equality',
        `node ${machine.id} differs from the leader at index ${index}: ${JSON.stringify(found.check.databases)} vs ${expected}`,
      );
    }
  }
  await checkFinalState(cluster, clients, unhandled, leader, deadline);
}

/** Reads every database on the leader and checks appends and the register history. */
async function checkFinalState(
  cluster: NodeCluster,
  clients: SimClients,
  unhandled: unknown[],
  leader: ReplicatedEngine,
  deadline: number,
): Promise<void> {
  const present = new Set<string>();
  const now = cluster.scheduler.now;
  const finalReads: typeof clients.history = [];
  const session = 1_000_000_001;
  for (const database of databases) {
    await await_(cluster, unhandled, deadline, leader.local({ op: 'open', session, database }));
    const query = async (sql: string) => {
      const outcome = await await_(
        cluster,
        unhandled,
        deadline,
        leader.execute({ op: 'query-sql', session, sql, parameters: [] }),
      );
      if (outcome === undefined)
        throw new InvariantViolation('liveness', `final read "${sql}" got no answer`);
      if (!outcome.ok)
        return outcome.message.includes('no such table')
          ? []
          : Promise.reject(new InvariantViolation('final read', outcome.message));
      return rowsOf(outcome) ?? [];
    };
    for (const row of await query('SELECT id FROM acks')) present.add(String(row[0]?.value));
    const values = new Map<number, number>();
    for (const row of await query('SELECT k, v FROM kv'))
      values.set(Number(row[0]?.value), Number(row[1]?.value));
    const version = Number((await query('PRAGMA user_version'))[0]?.[0]?.value ?? 0);
    const keys = new Set(
      clients.history.filter((op) => op.key.startsWith(`${database}/`)).map((op) => op.key),
    );
    for (const key of keys) {
      const name = key.slice(database.length + 1);
      const value =
        name === 'user_version'
          ? version === 0
            ? null
            : version
          : (values.get(Number(name)) ?? null);
      finalReads.push({
        client: 0,
        key,
        input: { type: 'read' },
        output: { type: 'read', value },
        call: now,
        return: now,
      });
    }
    await await_(cluster, unhandled, deadline, leader.local({ op: 'close', session }));
  }
  for (const [id, append] of clients.appends) {
    if (append.outcome === 'ok' && !present.has(id)) {
      throw new InvariantViolation(
        'durability',
        `append ${id} was acknowledged but is not in the database`,
      );
    }
    if (append.outcome === 'not-committed' && present.has(id)) {
      throw new InvariantViolation(
        'no phantom writes',
        `append ${id} was answered "not committed" but is in the database`,
      );
    }
  }
  const verdict = checkLinearizableByKey(registerModel, [...clients.history, ...finalReads]);
  if (verdict.result === 'illegal') {
    const seen = verdict.stuckAt
      .map((text) => /read -> (\d+)/.exec(text)?.[1])
      .filter((value) => value !== undefined);
    const refusals = seen
      .map((value) => clients.refused.get(Number(value)))
      .filter((text) => text !== undefined);
    throw new InvariantViolation(
      'linearizability',
      `key ${String(verdict.key)}: ${verdict.longestLinearized.slice(-6).join('; ')} | stuck at ${verdict.stuckAt.join('; ')}` +
        (refusals.length > 0 ? ` | answered not committed: ${refusals.join('; ')}` : ''),
    );
  }
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
