import { AssertionError } from '../../../src/raft/assert.js';
import { Role } from '../../../src/raft/types.js';
import type { ReplicatedEngine } from '../../../src/server/replicated-engine.js';
import { checkLinearizableByKey } from '../../faults/checkers/linearizability.js';
import { registerModel } from '../../faults/checkers/register-model.js';
import { InvariantViolation } from '../invariant-violation.js';
import { databases, rowsOf, type ClientCalls } from './client-calls.js';
import type { NodeCluster } from './node-cluster.js';

/**
 * The checks after every fault is healed (run-node-schedule.ts): the clients finish, a leader
 * commits, every member's content is equal at one index (the product's content check), every
 * acknowledged append is there and no refused one is, and the register history is linearizable.
 */

/** Virtual time the heal phase gives the cluster to elect, commit and converge (liveness). */
export const healBoundMs = 30_000;
/** Events the heal phase may take before the run counts as stuck. */
const healStepsMax = 2_000_000;

export function throwUnhandled(unhandled: unknown[]): void {
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

export async function healAndCheck(
  cluster: NodeCluster,
  clients: ClientCalls,
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
  clients: ClientCalls,
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
