import { callerStack, withCallerStack } from './caller-stack.js';
import { EventEmitter } from 'node:events';
import { ClosedError } from '../client/index.js';
import type { ExecResult, Parameter, QueryResult, RowValue } from '../client/index.js';
import { resolveClientOptions } from '../client/options.js';
import { Deadline } from './backoff.js';
import { LeasePool } from './lease-pool.js';
import { ReservedConnection } from './reserved-connection.js';
import type { ReservedConnectionAccess } from './reserved-connection.js';
import { StatementRunner } from './statement-runner.js';
import type { LeaseSource, RetryEvent } from './statement-runner.js';
import { WriteGate } from './write-gate.js';
import { LeaderConnections } from './leader-connections.js';
import type { LeaderChange, Lease } from './leader-connections.js';
import { clientOptionsOf, resolvePoolOptions } from './options.js';
import type { PoolOptions, ResolvedPoolOptions } from './options.js';
import { checkRowMode, shapeRows } from './rows.js';
import type { ObjectRow, PoolQueryResult, RowMode } from './rows.js';
import { TransactionRunner } from './transaction-runner.js';
import type { Transaction } from './transaction.js';
import type { TransactionOptions } from './transaction-options.js';
import { returnsRowsFromWrite, writesRows } from './returning.js';
import { isReadOnlySql } from './failure.js';
import { ReplicaReads, checkReadOptions, replicaChoiceOf } from './replica-reads.js';
import type { ReadOptions } from './replica-reads.js';

/** Options of one call. */
export interface CallOptions {
  /** This call's deadline, at most the pool's `timeoutMs` (its default). */
  readonly timeoutMs?: number;
  /**
   * The statement may run twice without harm: after an unknown outcome (leadership lost or a
   * dead socket with the request in flight) it is retried instead of raising OutcomeUnknownError.
   * Reads (SELECT, VALUES, EXPLAIN, WITH without writes) are always treated so.
   */
  readonly idempotent?: boolean;
}

export interface QueryOptions extends CallOptions, ReadOptions {
  /** 'object' (default): rows keyed by column name; 'array': rows in column order. */
  readonly rowMode?: RowMode;
}

/** One statement of `batch`. */
export interface BatchStatement {
  readonly sql: string;
  readonly params?: readonly Parameter[];
}

/** What `stats()` reports. */
export interface PoolStats {
  /** Connections open, borrowed or idle. */
  readonly size: number;
  /** Idle connections ready to be borrowed. */
  readonly available: number;
  readonly borrowed: number;
  /** Callers waiting for a connection. */
  readonly waiting: number;
  readonly max: number;
  /** Address of the leader the pool last connected to. */
  readonly leader: string | null;
  /** Leader generation: bumped each time the pool sees the leader go. */
  readonly generation: number;
  /** Reads served by members other than through the leader path (`reads`, docs/reads.md). */
  readonly readsServedByMembers: number;
}

/**
 * The leader-aware pool: one object an application holds for the cluster's lifetime. Every
 * connection goes to the current leader; when the leader changes, connections to the old one
 * are retired and callers are served from the new one, with the retry rules of docs/pool.md.
 *
 * Events: 'leaderChange' (LeaderChange), 'retry' (RetryEvent), 'error' (failures to open
 * connections; emitted only while someone listens, so an unhandled 'error' never crashes).
 */
export class LeaderPool extends EventEmitter {
  readonly #options: ResolvedPoolOptions;
  readonly #connections: LeaderConnections;
  readonly #leases: LeasePool;
  readonly #writeGate = new WriteGate();
  readonly #statements: StatementRunner;
  /** The pool itself as a source of connections for statements. */
  readonly #source: LeaseSource = {
    acquire: (operation, deadline, lastError) => this.#acquire(operation, deadline, lastError),
    release: (lease, reason) => this.#leases.release(lease, reason),
  };
  readonly #transactions: TransactionRunner;
  /** Reads served by any member, for calls that choose it (docs/reads.md). */
  readonly #replicas: ReplicaReads;
  #closing: Promise<void> | undefined;

  constructor(options: PoolOptions) {
    super();
    this.#options = resolvePoolOptions(options);
    resolveClientOptions(clientOptionsOf(this.#options, this.#options.cluster)); // fail fast
    this.#connections = new LeaderConnections(this.#options);
    this.#connections.on('leaderChange', (change: LeaderChange) =>
      this.emit('leaderChange', change),
    );
    this.#leases = new LeasePool(this.#connections, this.#options, (error) =>
      this.#reportOpenError(error),
    );
    this.#statements = new StatementRunner(this.#options.busyTimeoutMs, this.#writeGate, (event) =>
      this.#emitRetry(event),
    );
    // The members come from the leader's configuration, asked like any idempotent request.
    const members = { operation: 'cluster', sql: '', idempotent: true, gated: false };
    this.#replicas = new ReplicaReads(this.#options, () =>
      this.#statements.run(this.#source, members, this.#deadline({}), (client) => client.cluster()),
    );
    this.#transactions = new TransactionRunner(this.#options, {
      acquire: (operation, deadline, lastError) => this.#acquire(operation, deadline, lastError),
      release: (lease, kind) => this.#leases.release(lease, kind),
      enterWriteGate: (operation, deadline) => this.#writeGate.enter(operation, deadline),
      exec: (sql, deadline) =>
        this.#runStatement('exec', sql, { idempotent: true }, deadline, (c) => c.exec(sql)),
      retried: (event) => this.#emitRetry(event),
    });
  }

  /** Runs the first statement of `sql` on the leader and returns its rows. */
  async query(
    sql: string,
    params?: readonly Parameter[],
    options?: QueryOptions & { rowMode?: 'object' },
  ): Promise<PoolQueryResult<ObjectRow>>;
  async query(
    sql: string,
    params: readonly Parameter[] | undefined,
    options: QueryOptions & { rowMode: 'array' },
  ): Promise<PoolQueryResult<RowValue[]>>;
  async query(
    sql: string,
    params?: readonly Parameter[],
    options: QueryOptions = {},
  ): Promise<PoolQueryResult<ObjectRow | RowValue[]>> {
    const caller = callerStack();
    try {
      const mode = checkRowMode(options.rowMode);
      const deadline = this.#deadline(options);
      const { columns, rows } = writesRows(sql)
        ? await this.#writeReturningRows(sql, params, options, deadline)
        : await this.#readRows(sql, params, options, deadline);
      return { columns, rows: shapeRows(columns, rows, mode) };
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  /** Runs every statement of `sql` on the leader (parameters bind to the first). */
  async exec(
    sql: string,
    params?: readonly Parameter[],
    options: CallOptions = {},
  ): Promise<ExecResult> {
    const caller = callerStack();
    try {
      const deadline = this.#deadline(options);
      if (returnsRowsFromWrite(sql)) {
        // Never a plain EXEC (see returning.ts): a transaction of its own, where tx.exec sends it
        // as a query and reads the counts after it.
        const transactionOptions = {
          behavior: 'immediate',
          idempotent: options.idempotent,
        } as const;
        return await this.#transactions.run(
          (tx) => tx.exec(sql, params),
          transactionOptions,
          deadline,
        );
      }
      return await this.#runStatement('exec', sql, options, deadline, (client) =>
        client.exec(sql, params),
      );
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  /** Runs the statements atomically, in one IMMEDIATE transaction; returns each one's result. */
  async batch(
    statements: readonly BatchStatement[],
    options: Omit<TransactionOptions, 'behavior'> = {},
  ): Promise<ExecResult[]> {
    if (!Array.isArray(statements))
      throw new TypeError('batch(statements): statements must be an array');
    for (const [index, statement] of statements.entries()) {
      if (typeof statement?.sql !== 'string')
        throw new TypeError(`batch(statements): statement ${index} has no sql`);
    }
    return this.transaction(
      async (tx) => {
        const results: ExecResult[] = [];
        for (const { sql, params } of statements) results.push(await tx.exec(sql, params));
        return results;
      },
      { ...options, behavior: 'immediate' },
    );
  }

  /**
   * Runs `fn` in a transaction on one pinned connection: BEGIN, fn, COMMIT. On a leader change
   * or SQLITE_BUSY before COMMIT it rolls back and runs `fn` again (bounded, with backoff), so
   * `fn` must not have side effects outside the database. Errors `fn` throws roll back and are
   * rethrown unchanged. Inside `fn`, use `tx`, not the pool (the pool may need the connection
   * `tx` holds).
   */
  async transaction<T>(
    fn: (tx: Transaction) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    this.#checkOpen();
    if (typeof fn !== 'function')
      throw new TypeError('transaction(fn): fn must be an async function');
    return this.#transactions.run(fn, options, this.#deadline(options));
  }

  /**
   * Streams rows as they arrive; holds one connection until the loop ends. Failures before the
   * first row are retried like `query`; after it, they surface (rows already seen cannot be
   * taken back). Breaking out early interrupts the query on the node.
   */
  stream(
    sql: string,
    params?: readonly Parameter[],
    options: QueryOptions = {},
  ): AsyncIterable<ObjectRow | RowValue[]> {
    const mode = checkRowMode(options.rowMode);
    return {
      [Symbol.asyncIterator]: () =>
        this.#statements.stream(this.#source, sql, params, mode, this.#deadline(options)),
    };
  }

  /**
   * Reserves one connection for a caller that drives transactions itself (BEGIN … COMMIT): the
   * ORM adapters. See ReservedConnection. Release it when done.
   */
  async reserve(options: { timeoutMs?: number } = {}): Promise<ReservedConnection> {
    const lease = await this.#acquire('reserve', this.#deadline(options), undefined);
    const access: ReservedConnectionAccess = {
      leases: this.#source,
      statements: this.#statements,
      gate: this.#writeGate,
      deadline: () => this.#deadline({}),
      readFromReplica: (sql, params, deadline) => this.#readFromReplica(sql, params, {}, deadline),
      ensureBookkeeping: (deadline, exec) => this.#transactions.ensureBookkeeping(deadline, exec),
      committed: (id, deadline) => this.#transactions.committed(id, deadline),
      pruneNow: () => this.#transactions.pruneNow(),
    };
    return new ReservedConnection(access, lease);
  }

  /** A statement that returns rows without writing: from a member when `reads` says so. */
  async #readRows(
    sql: string,
    params: readonly Parameter[] | undefined,
    options: QueryOptions,
    deadline: Deadline,
  ): Promise<QueryResult> {
    const fromMember = this.#readFromReplica(sql, params, options, deadline);
    const served = fromMember === undefined ? undefined : await fromMember;
    return (
      served ??
      this.#runStatement('query', sql, options, deadline, (client) => client.query(sql, params))
    );
  }

  /**
   * A read-only statement served by a member as `options` (or the pool's `reads`) chooses;
   * undefined when it must go to the leader. Reserved connections reach it through their access
   * object, outside transactions. Decided without a promise when the read goes to the leader (no
   * `reads`, or not a read), so that path costs no extra turn of the event loop.
   */
  #readFromReplica(
    sql: string,
    params: readonly Parameter[] | undefined,
    options: ReadOptions,
    deadline: Deadline,
  ): Promise<QueryResult | undefined> | undefined {
    checkReadOptions(options, 'query options');
    const choice = replicaChoiceOf(options, this.#options.reads);
    if (choice === undefined || !isReadOnlySql(sql) || writesRows(sql)) return undefined;
    this.#checkOpen();
    return this.#replicas.query(sql, params, choice, deadline);
  }

  /** Pool size, waiting callers, the leader and its generation. */
  stats(): PoolStats {
    return {
      ...this.#leases.counts(),
      max: this.#options.max,
      leader: this.#connections.leader,
      generation: this.#connections.generation,
      readsServedByMembers: this.#replicas.served,
    };
  }

  /** Waits for borrowed connections to come back, closes every connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([this.#leases.close(), this.#replicas.close()]).then(() => {});
    return this.#closing;
  }

  /** A write that returns rows runs in a transaction of its own (see writesRows). */
  #writeReturningRows(
    sql: string,
    params: readonly Parameter[] | undefined,
    options: CallOptions,
    deadline: Deadline,
  ): Promise<PoolQueryResult<RowValue[]>> {
    const transactionOptions = { behavior: 'immediate', idempotent: options.idempotent } as const;
    const work = (tx: Transaction) => tx.query(sql, params, { rowMode: 'array' });
    return this.#transactions.run(work, transactionOptions, deadline);
  }

  #runStatement<T>(
    operation: string,
    sql: string,
    options: CallOptions,
    deadline: Deadline,
    work: (client: Lease['client']) => Promise<T>,
  ): Promise<T> {
    const statement = { operation, sql, idempotent: options.idempotent };
    return this.#statements.run(this.#source, statement, deadline, work);
  }

  #emitRetry(event: RetryEvent): void {
    this.#options.logger?.debug?.('dqlite-ts pool: retry', { ...event });
    this.emit('retry', event);
  }

  /** Borrows a connection to the current leader within the deadline. */
  #acquire(operation: string, deadline: Deadline, lastError: unknown): Promise<Lease> {
    this.#checkOpen();
    return this.#leases.acquire(operation, deadline, lastError);
  }

  #reportOpenError(error: unknown): void {
    this.#options.logger?.warn?.('dqlite-ts pool: could not open a connection to the leader', {
      error,
    });
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  #deadline(options: { timeoutMs?: number }): Deadline {
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > this.#options.timeoutMs) {
      throw new RangeError(
        `timeoutMs must be a positive integer up to the pool's ${this.#options.timeoutMs}`,
      );
    }
    return new Deadline(timeoutMs);
  }

  #checkOpen(): void {
    if (this.#closing) throw new ClosedError('the pool is closed');
  }
}

/** Creates the pool. See LeaderPool and PoolOptions. */
export function createPool(options: PoolOptions): LeaderPool {
  return new LeaderPool(options);
}
