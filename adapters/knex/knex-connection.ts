import type { ExecResult, Parameter, RowValue } from '../../drivers/client/index.js';
import type { ObjectRow, ReservedConnection } from '../../drivers/pool/index.js';

/** `PRAGMA foreign_keys = …`: changes the pooled connection for whoever uses it next. */
const SETS_FOREIGN_KEYS = /^\s*PRAGMA\s+foreign_keys\s*=/i;

/** Statements one Knex connection may have queued, the one running included. */
export const QUEUED_STATEMENTS_MAX = 1024;

let connectionCount = 0;

/**
 * What Knex holds as "a connection": a wrapper over one reserved pool connection. Knex's SQLite
 * transaction code fires some statements without awaiting them (it restores `foreign_keys` after
 * a transaction while already releasing the connection), so every call here queues behind the
 * previous ones, release included, and runs in call order. Knex also sets its own bookkeeping
 * properties (`__knexUid`, `__knexTxId`, `__knex__disposed`) on this object.
 *
 * The pool connection goes back as it came: Knex turns `foreign_keys` off around table rebuilds
 * and back on afterwards, but not when that last statement fails, so release() restores it.
 */
export class KnexConnection {
  readonly __knexUid: string;
  readonly #reserved: ReservedConnection;
  #tail: Promise<unknown> = Promise.resolve();
  #queued = 0;
  #releasing: Promise<void> | undefined;
  /** `PRAGMA foreign_keys` before the first statement that set it; undefined until one does. */
  #foreignKeysBefore: RowValue | undefined;

  constructor(reserved: ReservedConnection) {
    this.#reserved = reserved;
    connectionCount += 1;
    this.__knexUid = `__knexUid${connectionCount}`;
  }

  /** True inside a transaction this connection began. */
  get inTransaction(): boolean {
    return this.#reserved.inTransaction;
  }

  /** Runs one statement that answers rows (objects keyed by column name). */
  query(sql: string, params?: readonly Parameter[]): Promise<ObjectRow[]> {
    return this.exclusive(async (reserved) => (await reserved.query(sql, params)).rows);
  }

  /** Like `query`, with rows as arrays in column order (for the adapter's own bookkeeping). */
  queryArrays(sql: string, params?: readonly Parameter[]): Promise<RowValue[][]> {
    return this.exclusive(
      async (reserved) => (await reserved.query(sql, params, { rowMode: 'array' })).rows,
    );
  }

  exec(sql: string, params?: readonly Parameter[]): Promise<ExecResult> {
    return this.exclusive(async (reserved) => {
      if (SETS_FOREIGN_KEYS.test(sql)) this.#foreignKeysBefore ??= await foreignKeys(reserved);
      return reserved.exec(sql, params);
    });
  }

  /**
   * Runs `work` alone on the connection, after everything queued before it and before anything
   * queued after it: for several statements that must not be interleaved, or a stream.
   */
  exclusive<T>(work: (reserved: ReservedConnection) => Promise<T>): Promise<T> {
    if (this.#releasing) {
      return Promise.reject(new Error('dqlite-ts/knex: the connection was released'));
    }
    return this.#enqueue(() => work(this.#reserved));
  }

  /** Gives the connection back once every queued statement has run. Idempotent. */
  release(): Promise<void> {
    this.#releasing ??= this.#enqueue(async () => {
      try {
        await this.#restoreForeignKeys();
      } finally {
        await this.#reserved.release();
      }
    });
    return this.#releasing;
  }

  async #restoreForeignKeys(): Promise<void> {
    const before = this.#foreignKeysBefore;
    if (before === undefined) return;
    // SQLite ignores PRAGMA foreign_keys inside a transaction; release() would roll it back anyway.
    if (this.#reserved.inTransaction) await this.#reserved.exec('ROLLBACK');
    if ((await foreignKeys(this.#reserved)) === before) return;
    await this.#reserved.exec(`PRAGMA foreign_keys = ${before ? 'ON' : 'OFF'}`);
  }

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    if (this.#queued >= QUEUED_STATEMENTS_MAX) {
      return Promise.reject(
        new RangeError(
          `dqlite-ts/knex: more than ${QUEUED_STATEMENTS_MAX} statements queued on one connection; await them`,
        ),
      );
    }
    this.#queued += 1;
    const result = this.#tail.then(work).finally(() => {
      this.#queued -= 1;
    });
    // The caller gets the failure; the statements queued behind it run all the same.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

async function foreignKeys(reserved: ReservedConnection): Promise<RowValue | undefined> {
  const { rows } = await reserved.query('PRAGMA foreign_keys', [], { rowMode: 'array' });
  return rows[0]?.[0];
}
