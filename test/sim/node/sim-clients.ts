import type { ReplicatedEngine } from '../../../src/server/replicated-engine.js';
import type { EngineCall, EngineOutcome } from '../../../src/server/sql/engine-messages.js';
import { ErrorCode, ValueType, decodeResponse, FrameDecoder } from '../../../src/wire/index.js';
import type { WireValue } from '../../../src/wire/index.js';
import type { Operation } from '../../faults/checkers/linearizability.js';
import type { RegisterInput, RegisterOutput } from '../../faults/checkers/register-model.js';
import { InvariantViolation } from '../invariant-violation.js';
import type { Prng } from '../prng.js';
import type { NodeCluster } from './node-cluster.js';

/** The databases the clients use; each has a register table and an append-only table. */
export const databases = ['app', 'other'] as const;

export const schema =
  'CREATE TABLE IF NOT EXISTS kv (k INTEGER PRIMARY KEY, v INTEGER NOT NULL);' +
  'CREATE TABLE IF NOT EXISTS acks (id INTEGER PRIMARY KEY, size INTEGER NOT NULL, pad BLOB)';

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
}

export interface ClientsOptions {
  readonly cluster: NodeCluster;
  readonly prng: Prng;
  readonly clients: number;
  readonly keys: number;
  readonly mix: ClientMix;
  /** Longest a client waits for an answer before it calls the outcome unknown. */
  readonly answerWaitMs: number;
  readonly thinkMaxMs: number;
  readonly bigRowBytes: number;
}

type RegisterOperation = Operation<RegisterInput, RegisterOutput> & { readonly key: string };

/** What happened to an append, as its client was told. */
type AppendOutcome = 'ok' | 'not-committed' | 'unknown';

const notLeaderCode = ErrorCode.SQLITE_IOERR_NOT_LEADER;

/** An answer that did not come within the client's wait. */
const timedOut = Symbol('timed out');

/**
 * Clients that use the nodes as applications do, through the node's own entry points
 * (ReplicatedEngine.local / execute / pointRead, the calls a client connection makes): they find
 * the leader, open a connection, run writes, reads of every path, transactions, DDL and pragmas,
 * sit idle, and close; a node that is not leader, or a lost answer, sends them elsewhere. They
 * record every register operation for the linearizability check and every append for the
 * durability check ("every acknowledged write survives; no write answered 'not committed' is
 * there").
 */
export class SimClients {
  readonly history: RegisterOperation[] = [];
  readonly appends = new Map<string, { outcome: AppendOutcome; size: number }>();
  /** Writes answered "not committed", by value, with the answer (for failure reports). */
  readonly refused = new Map<number, string>();
  readonly #options: ClientsOptions;
  #running = false;
  #nextValue = 1;
  #nextSession = 1;
  #nextAppend = 1;
  #active = 0;
  readonly stats = { ok: 0, failed: 0, unknown: 0, sessions: 0 };
  /** Why answers failed, by message (for the run's summary). */
  readonly failures = new Map<string, number>();

  constructor(options: ClientsOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running = true;
    for (let client = 1; client <= this.#options.clients; client++) {
      this.#active++;
      void this.#run(client, this.#options.prng.fork(`client-${client}`)).finally(
        () => this.#active--,
      );
    }
  }

  stop(): void {
    this.#running = false;
  }

  get active(): number {
    return this.#active;
  }

  /**
   * Scripted: a write on the leader whose reply the engine holds back, a point read of the same
   * key by another connection while it is held, then `moveLeadership`. The read may show the
   * write only if the write commits.
   */
  commitRace(id: number, moveLeadership: () => void): void {
    this.#script(id, async (engine, prng) => {
      const database = prng.pick(databases);
      const k = prng.int(1, this.#options.keys);
      const writer = await this.#open(engine, database);
      const reader = await this.#open(engine, database);
      if (writer === undefined || reader === undefined) return;
      const value = this.#nextValue++;
      const call = this.#now();
      const written = this.#execute(engine, {
        op: 'exec-sql',
        session: writer,
        sql: 'INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
        parameters: [integer(k), integer(value)],
      }).then((outcome) => this.#recordWrite(-1, `${database}/${k}`, value, call, outcome));
      await this.#options.cluster.sleep(prng.int(1, 10));
      const read = this.#pointReadRecorded(engine, reader, database, k);
      await this.#options.cluster.sleep(prng.int(0, 10));
      moveLeadership();
      await Promise.all([written, read]);
    });
  }

  /**
   * Scripted: BEGIN and a read on the leader, then `moveLeadership` (which may bring leadership
   * back to the same node), then a write, COMMIT and a read of the written key. The write may be
   * seen only if COMMIT succeeded.
   */
  transactionAcrossLeadership(id: number, moveLeadership: () => void): void {
    this.#script(id, async (engine, prng) => {
      const database = prng.pick(databases);
      const session = await this.#open(engine, database);
      if (session === undefined) return;
      const context = { client: -2, prng, engine, session, database };
      const exec = (sql: string) =>
        this.#execute(engine, { op: 'exec-sql', session, sql, parameters: [] });
      const begun = await exec('BEGIN');
      if (begun === timedOut || !begun.ok) return;
      await this.#read('engineRead', context);
      moveLeadership();
      await this.#options.cluster.sleep(prng.int(100, 2500));
      const k = prng.int(1, this.#options.keys);
      const value = this.#nextValue++;
      const call = this.#now();
      const wrote = await this.#execute(engine, {
        op: 'exec-sql',
        session,
        sql: 'INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
        parameters: [integer(k), integer(value)],
      });
      if (wrote === timedOut || !wrote.ok) {
        // The transaction never reached COMMIT: its write must never show.
        if (wrote !== timedOut) await exec('ROLLBACK');
        this.refused.set(value, `${database}/${k} write ${value} in a transaction that failed`);
      } else {
        const committed = await exec('COMMIT');
        this.#recordWrite(-2, `${database}/${k}`, value, call, committed);
      }
      await this.#read('engineRead', { ...context, prng: fixedKey(prng, k) });
    });
  }

  /** Runs a scripted client on node `id` (bounded: each of its requests has the usual wait). */
  #script(id: number, script: (engine: ReplicatedEngine, prng: Prng) => Promise<void>): void {
    const engine = this.#options.cluster.machine(id)?.engine;
    if (engine === undefined || !this.#running) return;
    this.#active++;
    const prng = this.#options.prng.fork(`script-${this.#nextSession}`);
    void script(engine, prng).finally(() => this.#active--);
  }

  /** A new connection to `database` on `engine`; its session, or undefined when it failed. */
  async #open(engine: ReplicatedEngine, database: string): Promise<number | undefined> {
    const session = this.#nextSession++;
    const opened = await this.#call(() => engine.local({ op: 'open', session, database }), engine);
    return opened === timedOut || !opened.outcome.ok ? undefined : session;
  }

  async #pointReadRecorded(
    engine: ReplicatedEngine,
    session: number,
    database: string,
    k: number,
  ): Promise<void> {
    const call = this.#now();
    const sql = 'SELECT v FROM kv WHERE k = ?';
    const outcome = await this.#call(
      () => engine.pointRead(session, database, sql, [integer(k)]),
      engine,
    );
    if (outcome === timedOut || outcome === undefined || !outcome.ok) return;
    const rows = rowsOf(outcome) ?? [];
    this.history.push({
      client: -1,
      key: `${database}/${k}`,
      input: { type: 'read' },
      output: { type: 'read', value: rows.length === 0 ? null : Number(rows[0]?.[0]?.value) },
      call,
      return: this.#now(),
    });
  }

  /**
   * A client that reads every key once from node `id` through its point reads, right now: what a
   * client still connected to a leader that was stopped and cut off would do when it wakes.
   */
  probe(id: number): void {
    const engine = this.#options.cluster.machine(id)?.engine;
    if (engine === undefined || !this.#running) return;
    for (const database of databases) {
      this.#active++;
      void this.#probe(engine, database).finally(() => this.#active--);
    }
  }

  async #probe(engine: ReplicatedEngine, database: string): Promise<void> {
    const session = this.#nextSession++;
    const client = 0;
    const opened = await this.#call(() => engine.local({ op: 'open', session, database }), engine);
    if (opened === timedOut || !opened.outcome.ok) return;
    const sql = 'SELECT v FROM kv WHERE k = ?';
    const reads = [];
    for (let k = 1; k <= this.#options.keys; k++) {
      const call = this.#now();
      // Every other key through the engine rather than the main thread's point reads.
      const read =
        k % 2 === 0
          ? () => engine.pointRead(session, database, sql, [integer(k)])
          : () => engine.execute({ op: 'query-sql', session, sql, parameters: [integer(k)] });
      reads.push(
        this.#call(read, engine).then((outcome) => {
          if (outcome === timedOut || outcome === undefined || !outcome.ok) return;
          const rows = rowsOf(outcome) ?? [];
          this.history.push({
            client,
            key: `${database}/${k}`,
            input: { type: 'read' },
            output: {
              type: 'read',
              value: rows.length === 0 ? null : Number(rows[0]?.[0]?.value),
            },
            call,
            return: this.#now(),
          });
        }),
      );
    }
    await Promise.all(reads);
    await this.#call(() => engine.local({ op: 'close', session }), engine);
  }

  /** One client: connections come and go until the run stops. */
  async #run(client: number, prng: Prng): Promise<void> {
    const cluster = this.#options.cluster;
    while (this.#running) {
      const engine = this.#findLeader(prng);
      if (engine === undefined) {
        await cluster.sleep(prng.int(10, 200));
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
    const running = this.#options.cluster.machines.filter((machine) => machine.running);
    if (running.length === 0) return undefined;
    for (let asked = 0; asked < running.length; asked++) {
      const named = prng.pick(running).engine?.leader();
      const target = named === undefined ? undefined : this.#options.cluster.machine(named.id);
      if (target?.running === true) return target.engine;
    }
    return prng.pick(running).engine;
  }

  async #connection(client: number, prng: Prng, engine: ReplicatedEngine): Promise<void> {
    const session = this.#nextSession++;
    this.stats.sessions++;
    const database = prng.pick(databases);
    const opened = await this.#call(() => engine.local({ op: 'open', session, database }), engine);
    if (opened === timedOut || !opened.outcome.ok) return;
    // As an application's start-up migration does, on every new connection.
    const migrated = await this.#execute(engine, {
      op: 'exec-sql',
      session,
      sql: schema,
      parameters: [],
    });
    if (migrated !== timedOut && migrated.ok) {
      const steps = prng.int(1, 30);
      for (let step = 0; step < steps && this.#running; step++) {
        await this.#options.cluster.sleep(prng.int(0, this.#options.thinkMaxMs));
        const kind = pickWeighted(prng, this.#options.mix);
        if (kind === 'reconnect') break;
        const keepGoing = await this.#step(kind, { client, prng, engine, session, database });
        if (!keepGoing) break;
      }
    } else {
      this.#failed(migrated);
      // As the pool does: back off before trying again.
      await this.#options.cluster.sleep(prng.int(10, 100));
    }
    // Closing may hang on a dead node: the client does not wait for ever.
    await this.#call(() => engine.local({ op: 'close', session }), engine);
  }

  /** One step; false when the connection is no good any more (not leader, lost answer). */
  async #step(kind: keyof ClientMix, context: StepContext): Promise<boolean> {
    switch (kind) {
      case 'write':
        return this.#write(context);
      case 'pointRead':
      case 'engineRead':
      case 'preparedRead':
        return this.#read(kind, context);
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
        await this.#options.cluster.sleep(context.prng.int(500, 5000));
        return true;
      case 'reconnect':
        return false;
    }
  }

  async #write({ client, prng, engine, session, database }: StepContext): Promise<boolean> {
    const k = prng.int(1, this.#options.keys);
    const value = this.#nextValue++;
    const call = this.#now();
    const outcome = await this.#execute(engine, {
      op: 'exec-sql',
      session,
      sql: 'INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
      parameters: [integer(k), integer(value)],
    });
    return this.#recordWrite(client, `${database}/${k}`, value, call, outcome);
  }

  async #read(
    path: 'pointRead' | 'engineRead' | 'preparedRead',
    { client, prng, engine, session, database }: StepContext,
  ): Promise<boolean> {
    const k = prng.int(1, this.#options.keys);
    const sql = 'SELECT v FROM kv WHERE k = ?';
    const call = this.#now();
    let outcome: EngineOutcome | typeof timedOut;
    if (path === 'pointRead') {
      const point = await this.#call(
        () => engine.pointRead(session, database, sql, [integer(k)]),
        engine,
      );
      outcome =
        point === timedOut || point !== undefined
          ? point
          : await this.#execute(engine, {
              op: 'query-sql',
              session,
              sql,
              parameters: [integer(k)],
            });
    } else if (path === 'engineRead') {
      outcome = await this.#execute(engine, {
        op: 'query-sql',
        session,
        sql,
        parameters: [integer(k)],
      });
    } else {
      const prepared = await this.#execute(engine, { op: 'prepare', session, sql }, 'none');
      if (prepared === timedOut || !prepared.ok) return this.#failed(prepared);
      const statement = (prepared.value as { statement: number }).statement;
      outcome = await this.#execute(engine, {
        op: 'query',
        session,
        statement,
        parameters: [integer(k)],
      });
      await this.#call(() => engine.local({ op: 'finalize', session, statement }), engine);
    }
    if (outcome === timedOut || !outcome.ok) {
      // A read that failed tells nothing: it stays out of the history.
      return this.#failed(outcome);
    }
    const rows = rowsOf(outcome);
    if (rows === undefined) return this.#failed(outcome); // the table is not there yet
    this.stats.ok++;
    this.history.push({
      client,
      key: `${database}/${k}`,
      input: { type: 'read' },
      output: { type: 'read', value: rows.length === 0 ? null : Number(rows[0]?.[0]?.value) },
      call,
      return: this.#now(),
    });
    return true;
  }

  /** BEGIN, a read, a write, COMMIT (or ROLLBACK): four requests on one connection. */
  async #transaction(context: StepContext): Promise<boolean> {
    const { client, prng, engine, session, database } = context;
    const begun = await this.#execute(engine, {
      op: 'exec-sql',
      session,
      sql: 'BEGIN',
      parameters: [],
    });
    if (begun === timedOut || !begun.ok) return this.#failed(begun);
    const readKey = prng.int(1, this.#options.keys);
    const readCall = this.#now();
    const read = await this.#execute(engine, {
      op: 'query-sql',
      session,
      sql: 'SELECT v FROM kv WHERE k = ?',
      parameters: [integer(readKey)],
    });
    const readReturn = this.#now();
    const writeKey = prng.int(1, this.#options.keys);
    const value = this.#nextValue++;
    const writeCall = this.#now();
    const wrote =
      read === timedOut || !read.ok
        ? read
        : await this.#execute(engine, {
            op: 'exec-sql',
            session,
            sql: 'INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
            parameters: [integer(writeKey), integer(value)],
          });
    if (wrote === timedOut || !wrote.ok) {
      // Nothing of the transaction committed: it never got to COMMIT.
      if (wrote !== timedOut) {
        await this.#execute(engine, { op: 'exec-sql', session, sql: 'ROLLBACK', parameters: [] });
      }
      return this.#failed(wrote);
    }
    const rows = read !== timedOut && read.ok ? rowsOf(read) : undefined;
    if (rows !== undefined) {
      this.history.push({
        client,
        key: `${database}/${readKey}`,
        input: { type: 'read' },
        output: { type: 'read', value: rows.length === 0 ? null : Number(rows[0]?.[0]?.value) },
        call: readCall,
        return: readReturn,
      });
    }
    const committed = await this.#execute(engine, {
      op: 'exec-sql',
      session,
      sql: 'COMMIT',
      parameters: [],
    });
    return this.#recordWrite(client, `${database}/${writeKey}`, value, writeCall, committed);
  }

  async #append({ engine, session }: StepContext, size: number): Promise<boolean> {
    const id = `${this.#nextAppend++}`;
    const outcome = await this.#execute(engine, {
      op: 'exec-sql',
      session,
      sql: 'INSERT INTO acks (id, size, pad) VALUES (?, ?, randomblob(?))',
      parameters: [integer(Number(id)), integer(size), integer(size)],
    });
    const recorded = classify(outcome);
    this.appends.set(id, { outcome: recorded, size });
    return this.#count(outcome);
  }

  async #ddl({ prng, engine, session }: StepContext): Promise<boolean> {
    const sql = prng.pick([
      'CREATE INDEX IF NOT EXISTS kv_by_value ON kv (v)',
      'DROP INDEX IF EXISTS kv_by_value',
      `CREATE TABLE IF NOT EXISTS scratch_${prng.int(1, 5)} (x)`,
      `DROP TABLE IF EXISTS scratch_${prng.int(1, 5)}`,
    ]);
    const outcome = await this.#execute(engine, { op: 'exec-sql', session, sql, parameters: [] });
    return this.#count(outcome);
  }

  /** PRAGMA user_version: a register written and read through the pragma path. */
  async #pragma({ client, prng, engine, session, database }: StepContext): Promise<boolean> {
    const key = `${database}/user_version`;
    if (prng.chance(0.5)) {
      const value = this.#nextValue++;
      const call = this.#now();
      const outcome = await this.#execute(engine, {
        op: 'exec-sql',
        session,
        sql: `PRAGMA user_version = ${value}`,
        parameters: [],
      });
      return this.#recordWrite(client, key, value, call, outcome);
    }
    const call = this.#now();
    const outcome = await this.#execute(engine, {
      op: 'query-sql',
      session,
      sql: 'PRAGMA user_version',
      parameters: [],
    });
    if (outcome === timedOut || !outcome.ok) return this.#failed(outcome);
    const rows = rowsOf(outcome) ?? [];
    const value = Number(rows[0]?.[0]?.value ?? 0);
    this.stats.ok++;
    this.history.push({
      client,
      key,
      input: { type: 'read' },
      // user_version starts at 0, which the register model calls absent (null).
      output: { type: 'read', value: value === 0 ? null : value },
      call,
      return: this.#now(),
    });
    return true;
  }

  #recordWrite(
    client: number,
    key: string,
    value: number,
    call: number,
    outcome: EngineOutcome | typeof timedOut,
  ): boolean {
    const kind = classify(outcome);
    // A write answered "not committed" did not happen: it stays out of the history, so a read
    // that saw it anyway fails the check. The failure report names it.
    if (kind === 'not-committed' && outcome !== timedOut && !outcome.ok) {
      this.refused.set(
        value,
        `${key} write ${value} by client ${client} at ${call}: ${outcome.code} ${outcome.message}`,
      );
    }
    if (kind !== 'not-committed') {
      this.history.push({
        client,
        key,
        input: { type: 'write', value },
        output: kind === 'ok' ? { type: 'written' } : { type: 'unknown' },
        call,
        return: kind === 'ok' ? this.#now() : Infinity,
      });
    }
    return this.#count(outcome);
  }

  #count(outcome: EngineOutcome | typeof timedOut): boolean {
    if (outcome !== timedOut && outcome.ok) {
      this.stats.ok++;
      return true;
    }
    return this.#failed(outcome);
  }

  #failed(outcome: EngineOutcome | typeof timedOut): boolean {
    const why =
      outcome === timedOut
        ? 'no answer'
        : outcome.ok
          ? 'no rows'
          : `${outcome.code} ${outcome.message.slice(0, 60)}`;
    this.failures.set(why, (this.failures.get(why) ?? 0) + 1);
    if (outcome === timedOut || classify(outcome) === 'unknown') this.stats.unknown++;
    else this.stats.failed++;
    // Keep using the connection after an SQL error; go elsewhere when the node cannot serve.
    return (
      outcome !== timedOut &&
      !outcome.ok &&
      !isLeadershipCode(outcome.code) &&
      outcome.code !== ErrorCode.SQLITE_BUSY
    );
  }

  #execute(
    engine: ReplicatedEngine,
    call: EngineCall,
    hold: 'commit' | 'none' = 'commit',
  ): Promise<EngineOutcome | typeof timedOut> {
    const cluster = this.#options.cluster;
    const what = () => `${describeCall(call)} on node ${engine.id}`;
    cluster.trace.add(cluster.scheduler.now, () => `client: ${what()}`);
    return this.#call(() => engine.execute(call, hold), engine).then((outcome) => {
      cluster.trace.add(
        cluster.scheduler.now,
        () =>
          `client: ${what()} -> ${outcome === timedOut ? 'no answer' : outcome.ok ? 'ok' : `${outcome.code} ${outcome.message}`}`,
      );
      return outcome;
    });
  }

  /**
   * Runs a request on `engine`; an answer that takes longer than the client waits is `timedOut`,
   * and so is an error from a node whose process died (its connections are gone). An error from
   * a live node is a bug: every request must be answered with an outcome.
   */
  async #call<T>(
    request: () => Promise<T>,
    engine: ReplicatedEngine,
  ): Promise<T | typeof timedOut> {
    const cluster = this.#options.cluster;
    const machine = cluster.machines.find((candidate) => candidate.engine === engine);
    const process = machine?.process;
    const alive = () =>
      machine?.engine === engine && machine.process === process && process?.state !== 'dead';
    // The request travels to the node and enters its process like any input: a paused node
    // takes it when it resumes (after what arrived before it), a dead one never.
    const promise = new Promise<T>((resolve, reject) => {
      cluster.scheduler.schedule(this.#options.prng.int(0, 2), 'client request', () =>
        process?.enter(() => {
          try {
            request().then(resolve, reject);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        }),
      );
    });
    const expired = cluster.sleep(this.#options.answerWaitMs).then((): typeof timedOut => timedOut);
    return Promise.race<T | typeof timedOut>([
      promise.catch((error: unknown) => (alive() ? Promise.reject(unexpected(error)) : timedOut)),
      expired,
    ]);
  }

  #now(): number {
    return this.#options.cluster.scheduler.now;
  }
}

/** A request in a trace line: its session, op, SQL and parameters. */
function describeCall(call: EngineCall): string {
  const parts: string[] = [call.op];
  if ('session' in call) parts.unshift(`session ${call.session}`);
  if ('sql' in call) parts.push(JSON.stringify(call.sql.slice(0, 60)));
  if ('parameters' in call && call.parameters.length > 0)
    parts.push(`[${call.parameters.map((value) => String(value.value)).join(', ')}]`);
  return parts.join(' ');
}

interface StepContext {
  readonly client: number;
  readonly prng: Prng;
  readonly engine: ReplicatedEngine;
  readonly session: number;
  readonly database: string;
}

/** The node must answer every request with an outcome; a rejected call is a node bug. */
function unexpected(error: unknown): InvariantViolation {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return new InvariantViolation('request threw', text);
}

function classify(outcome: EngineOutcome | typeof timedOut): AppendOutcome {
  if (outcome === timedOut) return 'unknown';
  if (outcome.ok) return 'ok';
  if (outcome.code === notLeaderCode) return 'not-committed';
  if (outcome.code === ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST) return 'unknown';
  // Any other failure is SQLite's answer to the statement (busy, constraint): nothing changed.
  return 'not-committed';
}

function isLeadershipCode(code: number): boolean {
  return code === notLeaderCode || code === ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST;
}

function integer(value: number): WireValue {
  return { type: ValueType.INTEGER, value: BigInt(value) };
}

/** The rows of a query's answer (every batch must be complete here: small results). */
export function rowsOf(outcome: EngineOutcome): (readonly WireValue[])[] | undefined {
  if (!outcome.ok) return undefined;
  const value = outcome.value as { rows?: Uint8Array; done?: boolean };
  if (value.rows === undefined) return undefined;
  const rows: (readonly WireValue[])[] = [];
  const decoder = new FrameDecoder();
  decoder.push(Buffer.from(value.rows), {
    frame: (frame) => {
      const response = decodeResponse(frame);
      if (response.type === 'ROWS') rows.push(...response.rows);
    },
  });
  return rows;
}

/** A PRNG whose int() draws always give `k` (to read one chosen key through #read). */
function fixedKey(prng: Prng, k: number): Prng {
  return Object.assign(Object.create(prng) as Prng, { int: () => k });
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
