/**
 * The connection the ORM adapters reserve (`LeaderPool.reserve()`): its public methods, statements
 * run one at a time in call order, and the routing of each statement: outside a transaction by
 * the pool's retry rules, inside one (or starting one) through the TransactionCarrier.
 */
import { callerStack, withCallerStack } from './caller-stack.js';
import type { ExecResult, Parameter, QueryResult, RowValue } from '../client/index.js';
import { ClosedError } from '../client/index.js';
import { transactionControl } from '../../src/sql/index.js';
import { PinnedLease } from './pinned-lease.js';
import {
  emptyOutcome,
  runStatement,
  type StatementKind,
  type StatementOutcome,
} from './reserved-statement.js';
import { returnsRowsFromWrite, writesRows } from './returning.js';
import { checkRowMode, rowObject, shapeRows } from './rows.js';
import type { ObjectRow, PoolQueryResult, RowMode } from './rows.js';
import type { LeaseSource } from './statement-runner.js';
import { TransactionCarrier, type TransactionCarrierAccess } from './transaction-carrier.js';
import type { Lease } from './leader-connections.js';

/** What a reserved connection needs from its pool. */
export interface ReservedConnectionAccess extends TransactionCarrierAccess {
  readonly leases: LeaseSource;
  /** A read outside a transaction, served by a member when the pool's `reads` says so. */
  readonly readFromReplica: (
    sql: string,
    params: readonly Parameter[] | undefined,
    deadline: ReturnType<TransactionCarrierAccess['deadline']>,
  ) => Promise<QueryResult | undefined> | undefined;
}

/**
 * One connection reserved for a caller that drives transactions itself with BEGIN, SAVEPOINT,
 * COMMIT and ROLLBACK statements: the ORM adapters. Outside a transaction, statements follow the
 * pool's retry rules. A transaction stays on one leader connection and holds the pool's write
 * gate. If the leader goes mid-transaction, the transaction is replayed on the new leader and
 * carries on, provided every replayed statement gives what the caller already saw; an unknown
 * COMMIT outcome is settled through a bookkeeping row written just before COMMIT.
 */
export class ReservedConnection {
  readonly #access: ReservedConnectionAccess;
  /** The reserved lease, or a new one from the pool after the old one was retired. */
  readonly #pinned: PinnedLease;
  readonly #carrier: TransactionCarrier;
  #released = false;
  /** Statements run one at a time, in call order: the transaction state depends on it. */
  #tail: Promise<unknown> = Promise.resolve();

  /** @internal created by LeaderPool.reserve() */
  constructor(access: ReservedConnectionAccess, lease: Lease) {
    this.#access = access;
    this.#pinned = new PinnedLease(access.leases, lease);
    this.#carrier = new TransactionCarrier(access, this.#pinned);
  }

  /** True between BEGIN (or a first SAVEPOINT) and the COMMIT or ROLLBACK that ends it. */
  get inTransaction(): boolean {
    return this.#carrier.open !== undefined;
  }

  async query(
    sql: string,
    params?: readonly Parameter[],
    options?: { rowMode?: 'object' },
  ): Promise<PoolQueryResult<ObjectRow>>;
  async query(
    sql: string,
    params: readonly Parameter[] | undefined,
    options: { rowMode: 'array' },
  ): Promise<PoolQueryResult<RowValue[]>>;
  async query(
    sql: string,
    params?: readonly Parameter[],
    options: { rowMode?: RowMode } = {},
  ): Promise<PoolQueryResult<ObjectRow | RowValue[]>> {
    const caller = callerStack();
    try {
      const mode = checkRowMode(options.rowMode);
      const { columns, rows } = (await this.#serialized(() =>
        this.#statement('query', sql, params),
      )) as QueryResult;
      return { columns, rows: shapeRows(columns, rows, mode) };
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  async exec(sql: string, params?: readonly Parameter[]): Promise<ExecResult> {
    const caller = callerStack();
    try {
      return (await this.#serialized(() => this.#statement('exec', sql, params))) as ExecResult;
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  /** Rows as they arrive. Inside a transaction, a streamed query makes it not replayable. */
  async *stream(
    sql: string,
    params?: readonly Parameter[],
    options: { rowMode?: RowMode } = {},
  ): AsyncGenerator<ObjectRow | RowValue[]> {
    const mode = checkRowMode(options.rowMode);
    this.#checkUsable();
    const transaction = this.#carrier.open;
    if (!transaction) {
      yield* this.#access.statements.stream(
        this.#pinned,
        sql,
        params,
        mode,
        this.#access.deadline(),
      );
      return;
    }
    const lease = await this.#carrier.leaseForStream(transaction);
    for await (const batch of lease.client.iterateBatches(sql, params)) {
      for (const row of batch.rows) yield mode === 'array' ? row : rowObject(batch.columns, row);
    }
  }

  /**
   * Rolls back an open transaction and gives the connection back to the pool; with `retire`,
   * closes it instead (after changing a per-connection setting such as `PRAGMA foreign_keys`
   * that could not be restored). Idempotent.
   */
  async release(options: { retire?: boolean } = {}): Promise<void> {
    await this.#serialized(async () => {
      if (this.#released) return;
      const transaction = this.#carrier.open;
      if (transaction) await this.#carrier.rollback(transaction, 'exec', 'ROLLBACK', undefined);
      this.#released = true;
      this.#carrier.forgetLost();
      this.#pinned.giveBack(options.retire === true);
    });
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(work);
    this.#tail = result.catch(() => undefined); // the caller gets the error; the queue goes on
    return result;
  }

  async #statement(
    kind: StatementKind,
    sql: string,
    params: readonly Parameter[] | undefined,
  ): Promise<StatementOutcome> {
    this.#checkUsable();
    const control = transactionControl(sql);
    const carrier = this.#carrier;
    const lost = carrier.lost;
    if (lost) {
      if (control.kind !== 'rollback') throw lost;
      carrier.forgetLost(); // the caller acknowledged the lost transaction
      return emptyOutcome(kind);
    }
    const transaction = carrier.open;
    if (kind === 'exec' && returnsRowsFromWrite(sql)) {
      return transaction
        ? carrier.execReturning(transaction, sql, params)
        : carrier.inOwnTransaction((own) => carrier.execReturning(own, sql, params));
    }
    if (transaction) return carrier.inTransaction(transaction, kind, sql, params, control);
    if (control.kind === 'begin' || control.kind === 'savepoint')
      return carrier.begin(kind, sql, params, control);
    if (kind === 'query' && writesRows(sql)) {
      const none = { kind: 'none' } as const;
      return carrier.inOwnTransaction((own) =>
        carrier.inTransaction(own, 'query', sql, params, none),
      );
    }
    const deadline = this.#access.deadline();
    if (kind === 'query') {
      const asked = this.#access.readFromReplica(sql, params, deadline);
      const served = asked === undefined ? undefined : await asked;
      if (served !== undefined) return served;
    }
    const statement = { operation: kind, sql };
    return this.#access.statements.run(this.#pinned, statement, deadline, (client) =>
      runStatement(client, kind, sql, params),
    );
  }

  #checkUsable(): void {
    if (this.#released) throw new ClosedError('the reserved connection was released');
  }
}
