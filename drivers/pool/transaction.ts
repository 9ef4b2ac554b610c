import { callerStack, withCallerStack } from './caller-stack.js';
import { ClosedError } from '../client/index.js';
import type { DqliteClient, ExecResult, Parameter, RowValue } from '../client/index.js';
import { classifyFailure } from './failure.js';
import type { FailureKind } from './failure.js';
import { CHANGES_SQL, execResultOf, returnsRowsFromWrite } from './returning.js';
import { checkRowMode, shapeRows } from './rows.js';
import type { ObjectRow, PoolQueryResult, RowMode } from './rows.js';

/**
 * The handle `transaction(fn)` passes to `fn`: statements on the one connection pinned for the
 * transaction. It records the first failure of its statements that calls for a retry, so the
 * pool can tell "the transaction broke" from "fn threw its own error", whatever fn rethrows.
 */
export class Transaction {
  readonly #client: DqliteClient;
  #finished = false;
  /** The first failure of a statement that makes the transaction worth rerunning, if any. */
  retryableFailure: { error: Error; kind: FailureKind } | undefined;

  /** @internal created by the pool */
  constructor(client: DqliteClient) {
    this.#client = client;
  }

  async query(
    sql: string,
    parameters?: readonly Parameter[],
    options?: { rowMode?: 'object' },
  ): Promise<PoolQueryResult<ObjectRow>>;
  async query(
    sql: string,
    parameters: readonly Parameter[] | undefined,
    options: { rowMode: 'array' },
  ): Promise<PoolQueryResult<RowValue[]>>;
  async query(
    sql: string,
    parameters?: readonly Parameter[],
    options: { rowMode?: RowMode } = {},
  ): Promise<PoolQueryResult<ObjectRow | RowValue[]>> {
    const caller = callerStack();
    try {
      const mode = checkRowMode(options.rowMode);
      const { columns, rows } = await this.#run(() => this.#client.query(sql, parameters));
      return { columns, rows: shapeRows(columns, rows, mode) };
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  /** A write with RETURNING is sent as a query, never as an EXEC (see returning.ts). */
  async exec(sql: string, parameters?: readonly Parameter[]): Promise<ExecResult> {
    const caller = callerStack();
    try {
      if (!returnsRowsFromWrite(sql)) {
        return await this.#run(() => this.#client.exec(sql, parameters));
      }
      await this.#run(() => this.#client.query(sql, parameters));
      return execResultOf(await this.#run(() => this.#client.query(CHANGES_SQL)));
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  /** @internal the pool ends the handle once the transaction commits or rolls back */
  finish(): void {
    this.#finished = true;
  }

  async #run<T>(statement: () => Promise<T>): Promise<T> {
    if (this.#finished)
      throw new ClosedError('the transaction has finished; use the pool for new statements');
    try {
      return await statement();
    } catch (error) {
      const kind = classifyFailure(error);
      if (kind !== 'final' && !this.retryableFailure)
        this.retryableFailure = { error: error as Error, kind };
      throw error;
    }
  }
}
