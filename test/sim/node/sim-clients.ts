import type { ReplicatedEngine } from '../../../src/server/replicated-engine.js';
import type { Prng } from '../prng.js';
import {
  databases,
  classify,
  integer,
  readSql,
  rowsOf,
  schema,
  timedOut,
  valueOf,
  type ClientCalls,
} from './client-calls.js';

/** What each kind of client step is drawn with, per seed (swarm testing). */
export interface ClientMix {
  readonly write: number;
  readonly pointRead: number;
  readonly engineRead: number;
  readonly preparedRead: number;
  readonly transaction: number;
  readonly append: number;
  readonly bigAppend: number;
  readonly ddl: number;
  readonly pragma: number;
  readonly idle: number;
  readonly reconnect: number;
  /** Reads served by whichever node is asked (docs/reads.md), read-index or bounded. */
  readonly replicaRead: number;
}

export interface SimClientsOptions {
  readonly calls: ClientCalls;
  readonly clients: number;
  readonly mix: ClientMix;
  readonly thinkMaxMs: number;
  readonly bigRowBytes: number;
}

interface StepContext {
  readonly client: number;
  readonly prng: Prng;
  readonly engine: ReplicatedEngine;
  readonly session: number;
  readonly database: string;
}

/**
 * Clients that use the nodes as applications do: they find the leader, open a connection, run a
 * migration, then writes, reads of every path, transactions, DDL and pragmas, sit idle, and
 * close; a node that is not leader, or a lost answer, sends them elsewhere. What they are
 * answered goes to the shared record (ClientCalls).
 */
export class SimClients {
  readonly #options: SimClientsOptions;
  readonly #calls: ClientCalls;

  constructor(options: SimClientsOptions) {
    this.#options = options;
    this.#calls = options.calls;
  }

  start(): void {
    const calls = this.#calls;
    calls.running = true;
    for (let client = 1; client <= this.#options.clients; client++) {
      const prng = calls.options.prng.fork(`client-${client}`);
      calls.spawn(() => this.#run(client, prng));
    }
  }

  stop(): void {
    this.#calls.running = false;
  }

  /** One client: connections come and go until the run stops. */
  async #run(client: number, prng: Prng): Promise<void> {
    while (this.#calls.running) {
      const engine = this.#findLeader(prng);
      if (engine === undefined) {
        await this.#calls.sleep(prng.int(10, 200));
        continue;
      }
      await this.#connection(client, prng, engine);
    }
  }

  /**
   * Asks running nodes in random order who leads (a LEADER request, as the pool does) and picks
   * the first leader named; a random node when none names one.
   */
  #findLeader(prng: Prng): ReplicatedEngine | undefined {
    const cluster = this.#calls.options.cluster;
    const running = cluster.machines.filter((machine) => machine.running);
    if (running.length === 0) return undefined;
    for (let asked = 0; asked < running.length; asked++) {
      const named = prng.pick(running).engine?.leader();
      const target = named === undefined ? undefined : cluster.machine(named.id);
      if (target?.running === true) return target.engine;
    }
    return prng.pick(running).engine;
  }

  async #connection(client: number, prng: Prng, engine: ReplicatedEngine): Promise<void> {
    const calls = this.#calls;
    const session = calls.nextSession();
    calls.stats.sessions++;
    const database = prng.pick(databases);
    const opened = await calls.call(() => engine.local({ op: 'open', session, database }), engine);
    if (opened === timedOut || !opened.outcome.ok) return;
    // As an application's start-up migration does, on every new connection.
    const migrated = await calls.execute(engine, {
      op: 'exec-sql',
      session,
      sql: schema,
      parameters: [],
    });
    if (migrated !== timedOut && migrated.ok) {
      const steps = prng.int(1, 30);
      for (let step = 0; step < steps && calls.running; step++) {
        await calls.sleep(prng.int(0, this.#options.thinkMaxMs));
        const kind = pickWeighted(prng, this.#options.mix);
        if (kind === 'reconnect') break;
        const keepGoing = await this.#step(kind, { client, prng, engine, session, database });
        if (!keepGoing) break;
      }
    } else {
      calls.failed(migrated);
      // As the pool does: back off before trying again.
      await calls.sleep(prng.int(10, 100));
    }
    // Closing may hang on a dead node: the client does not wait for ever.
    await calls.call(() => engine.local({ op: 'close', session }), engine);
  }

  /** One step; false when the connection is no good any more (not leader, lost answer). */
  async #step(kind: keyof ClientMix, context: StepContext): Promise<boolean> {
    switch (kind) {
      case 'write':
        return this.#write(context);
      case 'pointRead':
      case 'engineRead':
      case 'preparedRead':
        return this.#calls.read(kind, context, context.prng.int(1, this.#calls.options.keys));
      case 'transaction':
        return this.#transaction(context);
      case 'append':
        return this.#append(context, context.prng.int(0, 64));
      case 'bigAppend':
        return this.#append(context, this.#options.bigRowBytes);
      case 'ddl':
        return this.#ddl(context);
      case 'pragma':
        return this.#pragma(context);
      case 'idle':
        await this.#calls.sleep(context.prng.int(500, 5000));
        return true;
      case 'reconnect':
        return false;
      case 'replicaRead':
        await this.#replicaRead(context);
        return true;
    }
  }

  /** A read from a running follower, as a pool with `reads` sends it; half of them bounded. */
  async #replicaRead({ client, prng, database }: StepContext): Promise<void> {
    // A leader serves such a connection's reads the leader's way (the gateway), tested elsewhere.
    const running = this.#calls.options.cluster.machines.filter(
      (machine) => machine.running && machine.engine?.isLeader() === false,
    );
    const engine = running.length === 0 ? undefined : prng.pick(running).engine;
    if (engine === undefined) return;
    const choice = prng.chance(0.5)
      ? ({ consistency: 'read-index', maxStalenessMs: 0 } as const)
      : ({ consistency: 'bounded', maxStalenessMs: prng.int(0, 300) } as const);
    const k = prng.int(1, this.#calls.options.keys);
    await this.#calls.replicaRead({ client, engine, database }, k, choice);
  }

  async #write({ client, prng, engine, session, database }: StepContext): Promise<boolean> {
    const calls = this.#calls;
    const k = prng.int(1, calls.options.keys);
    const value = calls.nextValue();
    const call = calls.now();
    const outcome = await calls.write(engine, session, k, value);
    return calls.recordWrite(client, `${database}/${k}`, value, call, outcome);
  }

  /** BEGIN, a read, a write, COMMIT (or ROLLBACK): four requests on one connection. */
  async #transaction(context: StepContext): Promise<boolean> {
    const calls = this.#calls;
    const { client, prng, engine, session, database } = context;
    const exec = (sql: string) =>
      calls.execute(engine, { op: 'exec-sql', session, sql, parameters: [] });
    const begun = await exec('BEGIN');
    if (begun === timedOut || !begun.ok) return calls.failed(begun);
    const readKey = prng.int(1, calls.options.keys);
    const readCall = calls.now();
    const read = await calls.execute(engine, {
      op: 'query-sql',
      session,
      sql: readSql,
      parameters: [integer(readKey)],
    });
    const readReturn = calls.now();
    const writeKey = prng.int(1, calls.options.keys);
    const value = calls.nextValue();
    const writeCall = calls.now();
    const wrote =
      read === timedOut || !read.ok ? read : await calls.write(engine, session, writeKey, value);
    if (wrote === timedOut || !wrote.ok) {
      // Nothing of the transaction committed: it never got to COMMIT.
      if (wrote !== timedOut) await exec('ROLLBACK');
      return calls.failed(wrote);
    }
    const rows = read !== timedOut && read.ok ? rowsOf(read) : undefined;
    if (rows !== undefined) {
      calls.history.push({
        client,
        key: `${database}/${readKey}`,
        input: { type: 'read' },
        output: { type: 'read', value: valueOf(rows) },
        call: readCall,
        return: readReturn,
      });
    }
    const committed = await exec('COMMIT');
    return calls.recordWrite(client, `${database}/${writeKey}`, value, writeCall, committed);
  }

  async #append({ engine, session }: StepContext, size: number): Promise<boolean> {
    const calls = this.#calls;
    const id = `${calls.nextAppend()}`;
    const outcome = await calls.execute(engine, {
      op: 'exec-sql',
      session,
      sql: 'INSERT INTO acks (id, size, pad) VALUES (?, ?, randomblob(?))',
      parameters: [integer(Number(id)), integer(size), integer(size)],
    });
    calls.appends.set(id, { outcome: classify(outcome), size });
    return calls.count(outcome);
  }

  async #ddl({ prng, engine, session }: StepContext): Promise<boolean> {
    const sql = prng.pick([
      'CREATE INDEX IF NOT EXISTS kv_by_value ON kv (v)',
      'DROP INDEX IF EXISTS kv_by_value',
      `CREATE TABLE IF NOT EXISTS scratch_${prng.int(1, 5)} (x)`,
      `DROP TABLE IF EXISTS scratch_${prng.int(1, 5)}`,
    ]);
    const outcome = await this.#calls.execute(engine, {
      op: 'exec-sql',
      session,
      sql,
      parameters: [],
    });
    return this.#calls.count(outcome);
  }

  /** PRAGMA user_version: a register written and read through the pragma path. */
  async #pragma({ client, prng, engine, session, database }: StepContext): Promise<boolean> {
    const calls = this.#calls;
    const key = `${database}/user_version`;
    if (prng.chance(0.5)) {
      const value = calls.nextValue();
      const call = calls.now();
      const outcome = await calls.execute(engine, {
        op: 'exec-sql',
        session,
        sql: `PRAGMA user_version = ${value}`,
        parameters: [],
      });
      return calls.recordWrite(client, key, value, call, outcome);
    }
    const call = calls.now();
    const outcome = await calls.execute(engine, {
      op: 'query-sql',
      session,
      sql: 'PRAGMA user_version',
      parameters: [],
    });
    if (outcome === timedOut || !outcome.ok) return calls.failed(outcome);
    const value = valueOf(rowsOf(outcome) ?? []) ?? 0;
    calls.stats.ok++;
    // user_version starts at 0, which the register model calls absent (null).
    calls.recordRead(client, key, value === 0 ? null : value, call);
    return true;
  }
}

function pickWeighted(prng: Prng, mix: ClientMix): keyof ClientMix {
  const entries = Object.entries(mix) as [keyof ClientMix, number][];
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  let draw = prng.next() * total;
  for (const [kind, weight] of entries) {
    draw -= weight;
    if (draw < 0) return kind;
  }
  return 'idle';
}
