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

const writeSql = 'INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v';
export const readSql = 'SELECT v FROM kv WHERE k = ?';

export type RegisterOperation = Operation<RegisterInput, RegisterOutput> & {
  readonly key: string;
};

/** What a write was answered, as its client understands it. */
export type WriteOutcome = 'ok' | 'not-committed' | 'unknown';

/** An answer that did not come within the client's wait. */
export const timedOut = Symbol('timed out');
export type Answer = EngineOutcome | typeof timedOut;

/** How a read reaches the data: a point read on the main thread, the engine, a prepared query. */
export type ReadPath = 'pointRead' | 'engineRead' | 'preparedRead';

export interface ClientCallsOptions {
  readonly cluster: NodeCluster;
  readonly prng: Prng;
  readonly keys: number;
  /** Longest a client waits for an answer before it calls the outcome unknown. */
  readonly answerWaitMs: number;
}

/**
 * What every simulated client shares: requests to a node's entry points (ReplicatedEngine.local /
 * execute / pointRead, the calls a client connection makes), each entering the node's process
 * and bounded by the client's wait; and the record of what they were answered: the register
 * history for the linearizability check, every append for the durability check, and counts.
 */
export class ClientCalls {
  readonly history: RegisterOperation[] = [];
  readonly appends = new Map<string, { outcome: WriteOutcome; size: number }>();
  /** Writes answered "not committed", by value, with the answer (for failure reports). */
  readonly refused = new Map<number, string>();
  readonly stats = { ok: 0, failed: 0, unknown: 0, sessions: 0, replicaReads: 0 };
  /** Why answers failed, by message (for the run's summary). */
  readonly failures = new Map<string, number>();
  readonly options: ClientCallsOptions;
  /** Clients start work only while this is true. */
  running = false;
  #active = 0;
  #nextValue = 1;
  #nextSession = 1;
  #nextAppend = 1;

  constructor(options: ClientCallsOptions) {
    this.options = options;
  }

  /** Client tasks still running (the heal phase waits for them). */
  get active(): number {
    return this.#active;
  }

  /** Runs a client task, counted in `active` until it ends. */
  spawn(task: () => Promise<void>): void {
    this.#active++;
    void task().finally(() => this.#active--);
  }

  /** A value no write used before: a read shows which write it saw. */
  nextValue(): number {
    return this.#nextValue++;
  }

  nextSession(): number {
    return this.#nextSession++;
  }

  /** The session number the next connection gets (names a scripted client's PRNG). */
  get upcomingSession(): number {
    return this.#nextSession;
  }

  nextAppend(): number {
    return this.#nextAppend++;
  }

  now(): number {
    return this.options.cluster.scheduler.now;
  }

  sleep(ms: number): Promise<void> {
    return this.options.cluster.sleep(ms);
  }

  /** A new connection to `database` on `engine`; its session, or undefined when it failed. */
  async open(engine: ReplicatedEngine, database: string): Promise<number | undefined> {
    const session = this.nextSession();
    const opened = await this.call(() => engine.local({ op: 'open', session, database }), engine);
    return opened === timedOut || !opened.outcome.ok ? undefined : session;
  }

  /**
   * Reads key `k` by `path` and records it; false when the connection is no good any more. A
   * failed read tells nothing and stays out of the history.
   */
  async read(
    path: ReadPath,
    context: { client: number; engine: ReplicatedEngine; session: number; database: string },
    k: number,
  ): Promise<boolean> {
    const { client, engine, session, database } = context;
    const parameters = [integer(k)];
    const call = this.now();
    let outcome: Answer;
    if (path === 'pointRead') {
      const point = await this.call(
        () => engine.pointRead(session, database, readSql, parameters),
        engine,
      );
      outcome =
        point === timedOut || point !== undefined
          ? point
          : await this.execute(engine, { op: 'query-sql', session, sql: readSql, parameters });
    } else if (path === 'engineRead') {
      outcome = await this.execute(engine, { op: 'query-sql', session, sql: readSql, parameters });
    } else {
      const prepared = await this.execute(engine, { op: 'prepare', session, sql: readSql }, 'none');
      if (prepared === timedOut || !prepared.ok) return this.failed(prepared);
      const statement = (prepared.value as { statement: number }).statement;
      outcome = await this.execute(engine, { op: 'query', session, statement, parameters });
      await this.call(() => engine.local({ op: 'finalize', session, statement }), engine);
    }
    if (outcome === timedOut || !outcome.ok) return this.failed(outcome);
    const rows = rowsOf(outcome);
    if (rows === undefined) return this.failed(outcome); // the table is not there yet
    this.stats.ok++;
    this.recordRead(client, `${database}/${k}`, valueOf(rows), call);
    return true;
  }

  /**
   * Reads key `k` on `engine` as a connection that chose reads from followers does (the gateway's
   * path for QUERY_SQL on a node that does not lead), and records it. A 'bounded' read may be as
   * stale as its bound: it goes into the history as if asked that much earlier (on the node's
   * clock, so scaled by its rate), which is exactly what the linearizability check must allow it.
   */
  async replicaRead(
    context: { client: number; engine: ReplicatedEngine; database: string },
    k: number,
    choice: { consistency: 'read-index' | 'bounded'; maxStalenessMs: number },
  ): Promise<void> {
    const { client, engine, database } = context;
    const call = this.now();
    const outcome = await this.call(
      () => engine.replicaQuery({ database, sql: readSql, parameters: [integer(k)], ...choice }),
      engine,
    );
    if (outcome === timedOut || !outcome.ok) {
      this.failed(outcome);
      return;
    }
    const rows = rowsOf(outcome);
    if (rows === undefined) {
      this.failed(outcome); // the table is not there yet
      return;
    }
    this.stats.ok++;
    this.stats.replicaReads++;
    const machine = this.options.cluster.machines.find((candidate) => candidate.engine === engine);
    const staleness =
      choice.consistency === 'bounded' ? choice.maxStalenessMs * (machine?.process?.rate ?? 1) : 0;
    this.recordRead(client, `${database}/${k}`, valueOf(rows), call - staleness);
  }

  recordRead(client: number, key: string, value: number | null, call: number): void {
    this.history.push({
      client,
      key,
      input: { type: 'read' },
      output: { type: 'read', value },
      call,
      return: this.now(),
    });
  }

  /** Records a write by its answer; false when the connection is no good any more. */
  recordWrite(client: number, key: string, value: number, call: number, outcome: Answer): boolean {
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
        return: kind === 'ok' ? this.now() : Infinity,
      });
    }
    return this.count(outcome);
  }

  /** Counts an answer; false when the connection is no good any more. */
  count(outcome: Answer): boolean {
    if (outcome !== timedOut && outcome.ok) {
      this.stats.ok++;
      return true;
    }
    return this.failed(outcome);
  }

  /** Counts a failed answer; true when the connection may go on (an SQL error). */
  failed(outcome: Answer): boolean {
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

  /** The register write of `value` to key `k`, on `session`. */
  write(engine: ReplicatedEngine, session: number, k: number, value: number): Promise<Answer> {
    return this.execute(engine, {
      op: 'exec-sql',
      session,
      sql: writeSql,
      parameters: [integer(k), integer(value)],
    });
  }

  /** A statement request, traced with its answer. */
  execute(
    engine: ReplicatedEngine,
    call: EngineCall,
    hold: 'commit' | 'none' = 'commit',
  ): Promise<Answer> {
    const cluster = this.options.cluster;
    const what = () => `${describeCall(call)} on node ${engine.id}`;
    cluster.trace.add(cluster.scheduler.now, () => `client: ${what()}`);
    return this.call(() => engine.execute(call, hold), engine).then((outcome) => {
      cluster.trace.add(cluster.scheduler.now, () => `client: ${what()} -> ${describe(outcome)}`);
      return outcome;
    });
  }

  /**
   * Runs a request on `engine`; an answer that takes longer than the client waits is `timedOut`,
   * and so is an error from a node whose process died (its connections are gone). An error from
   * a live node is a bug: every request must be answered with an outcome.
   */
  async call<T>(request: () => Promise<T>, engine: ReplicatedEngine): Promise<T | typeof timedOut> {
    const cluster = this.options.cluster;
    const machine = cluster.machines.find((candidate) => candidate.engine === engine);
    const process = machine?.process;
    const alive = () =>
      machine?.engine === engine && machine.process === process && process?.state !== 'dead';
    // The request travels to the node and enters its process like any input: a paused node
    // takes it when it resumes (after what arrived before it), a dead one never.
    const promise = new Promise<T>((resolve, reject) => {
      cluster.scheduler.schedule(this.options.prng.int(0, 2), 'client request', () =>
        process?.enter(() => {
          try {
            request().then(resolve, reject);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        }),
      );
    });
    const expired = cluster.sleep(this.options.answerWaitMs).then((): typeof timedOut => timedOut);
    return Promise.race<T | typeof timedOut>([
      promise.catch((error: unknown) => (alive() ? Promise.reject(unexpected(error)) : timedOut)),
      expired,
    ]);
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

function describe(outcome: Answer): string {
  if (outcome === timedOut) return 'no answer';
  return outcome.ok ? 'ok' : `${outcome.code} ${outcome.message}`;
}

/** The node must answer every request with an outcome; a rejected call is a node bug. */
function unexpected(error: unknown): InvariantViolation {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return new InvariantViolation('request threw', text);
}

/**
 * What an answer means for a write. NOT_LEADER is "not committed" (the node refused it, or undid
 * it before proposing it); LEADERSHIP_LOST and no answer are unknown; any other failure is
 * SQLite's answer to the statement (busy, constraint): nothing changed.
 */
export function classify(outcome: Answer): WriteOutcome {
  if (outcome === timedOut) return 'unknown';
  if (outcome.ok) return 'ok';
  if (outcome.code === ErrorCode.SQLITE_IOERR_NOT_LEADER) return 'not-committed';
  if (outcome.code === ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST) return 'unknown';
  return 'not-committed';
}

function isLeadershipCode(code: number): boolean {
  return (
    code === ErrorCode.SQLITE_IOERR_NOT_LEADER || code === ErrorCode.SQLITE_IOERR_LEADERSHIP_LOST
  );
}

export function integer(value: number): WireValue {
  return { type: ValueType.INTEGER, value: BigInt(value) };
}

/** The register value a read's rows show: the first column of the first row, or absent. */
export function valueOf(rows: readonly (readonly WireValue[])[]): number | null {
  return rows.length === 0 ? null : Number(rows[0]?.[0]?.value);
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
