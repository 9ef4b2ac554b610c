import type { NodeId } from '../../../src/raft/types.js';
import type { ReplicatedEngine } from '../../../src/server/replicated-engine.js';
import type { Prng } from '../prng.js';
import {
  databases,
  integer,
  readSql,
  rowsOf,
  timedOut,
  valueOf,
  type ClientCalls,
} from './client-calls.js';

/**
 * Clients that run a fixed script on one node around a fault the nemesis makes at a chosen
 * moment: the interleavings that random clients almost never build. Each records what it was
 * answered in the shared record (ClientCalls), so the same checks judge it.
 */
export class ScriptedClients {
  readonly #calls: ClientCalls;

  constructor(calls: ClientCalls) {
    this.#calls = calls;
  }

  /**
   * Reads every key of every database once from node `id`, half of them through point reads and
   * half through the engine, right now: what a client still connected to a leader that was
   * stopped and cut off does when it wakes.
   */
  probe(id: NodeId): void {
    const engine = this.#calls.options.cluster.machine(id)?.engine;
    if (engine === undefined || !this.#calls.running) return;
    for (const database of databases) this.#calls.spawn(() => this.#probe(engine, database));
  }

  async #probe(engine: ReplicatedEngine, database: string): Promise<void> {
    const calls = this.#calls;
    const session = calls.nextSession();
    const opened = await calls.call(() => engine.local({ op: 'open', session, database }), engine);
    if (opened === timedOut || !opened.outcome.ok) return;
    const reads = [];
    for (let k = 1; k <= calls.options.keys; k++) {
      const call = calls.now();
      const parameters = [integer(k)];
      const read =
        k % 2 === 0
          ? () => engine.pointRead(session, database, readSql, parameters)
          : () => engine.execute({ op: 'query-sql', session, sql: readSql, parameters });
      reads.push(
        calls.call(read, engine).then((outcome) => {
          if (outcome === timedOut || outcome === undefined || !outcome.ok) return;
          calls.recordRead(0, `${database}/${k}`, valueOf(rowsOf(outcome) ?? []), call);
        }),
      );
    }
    await Promise.all(reads);
    await calls.call(() => engine.local({ op: 'close', session }), engine);
  }

  /**
   * A write on the leader whose reply the engine holds back, a point read of the same key by
   * another connection while it is held, then `moveLeadership`. The read may show the write only
   * if the write commits.
   */
  commitRace(id: NodeId, moveLeadership: () => void): void {
    this.#script(id, async (engine, prng) => {
      const calls = this.#calls;
      const database = prng.pick(databases);
      const k = prng.int(1, calls.options.keys);
      const writer = await calls.open(engine, database);
      const reader = await calls.open(engine, database);
      if (writer === undefined || reader === undefined) return;
      const value = calls.nextValue();
      const call = calls.now();
      const written = calls
        .write(engine, writer, k, value)
        .then((outcome) => calls.recordWrite(-1, `${database}/${k}`, value, call, outcome));
      await calls.sleep(prng.int(1, 10));
      const read = this.#pointRead(engine, reader, database, k);
      await calls.sleep(prng.int(0, 10));
      moveLeadership();
      await Promise.all([written, read]);
    });
  }

  /**
   * BEGIN and a read on the leader, then `moveLeadership` (which may bring leadership back to the
   * same node), then a write, COMMIT and a read of the written key. The write may be seen only
   * if COMMIT succeeded.
   */
  transactionAcrossLeadership(id: NodeId, moveLeadership: () => void): void {
    this.#script(id, async (engine, prng) => {
      const calls = this.#calls;
      const database = prng.pick(databases);
      const session = await calls.open(engine, database);
      if (session === undefined) return;
      const context = { client: -2, engine, session, database };
      const exec = (sql: string) =>
        calls.execute(engine, { op: 'exec-sql', session, sql, parameters: [] });
      const begun = await exec('BEGIN');
      if (begun === timedOut || !begun.ok) return;
      await calls.read('engineRead', context, prng.int(1, calls.options.keys));
      moveLeadership();
      await calls.sleep(prng.int(100, 2500));
      const k = prng.int(1, calls.options.keys);
      const value = calls.nextValue();
      const call = calls.now();
      const wrote = await calls.write(engine, session, k, value);
      if (wrote === timedOut || !wrote.ok) {
        // The transaction never reached COMMIT: its write must never show.
        if (wrote !== timedOut) await exec('ROLLBACK');
        calls.refused.set(value, `${database}/${k} write ${value} in a transaction that failed`);
      } else {
        const committed = await exec('COMMIT');
        calls.recordWrite(-2, `${database}/${k}`, value, call, committed);
      }
      await calls.read('engineRead', context, k);
    });
  }

  /** Runs a script on node `id` (bounded: each of its requests has the usual wait). */
  #script(id: NodeId, script: (engine: ReplicatedEngine, prng: Prng) => Promise<void>): void {
    const calls = this.#calls;
    const engine = calls.options.cluster.machine(id)?.engine;
    if (engine === undefined || !calls.running) return;
    const prng = calls.options.prng.fork(`script-${calls.upcomingSession}`);
    calls.spawn(() => script(engine, prng));
  }

  async #pointRead(
    engine: ReplicatedEngine,
    session: number,
    database: string,
    k: number,
  ): Promise<void> {
    const calls = this.#calls;
    const call = calls.now();
    const outcome = await calls.call(
      () => engine.pointRead(session, database, readSql, [integer(k)]),
      engine,
    );
    if (outcome === timedOut || outcome === undefined || !outcome.ok) return;
    calls.recordRead(-1, `${database}/${k}`, valueOf(rowsOf(outcome) ?? []), call);
  }
}
