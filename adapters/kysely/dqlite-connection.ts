import { CompiledQuery } from 'kysely';
import type { DatabaseConnection, QueryResult, TransactionSettings } from 'kysely';
import type { Parameter } from '../../drivers/client/index.js';
import { classifyStatement } from '../../drivers/pool/index.js';
import type { StatementShape } from '../../drivers/pool/index.js';
import { beginMigrationLock } from './migration-lock.js';
import type { ReservedStatements } from './reserving-pool.js';

/** Most rows Kysely may ask for in one streamed chunk. */
export const STREAM_CHUNK_ROWS_MAX = 100_000;
const SQL_PREVIEW_CHARS = 80;

/**
 * One Kysely connection: a connection reserved from the pool, held from `acquireConnection` to
 * `releaseConnection`. Statements are mapped onto the pool's QUERY or EXEC by their shape (the
 * pool's classifyStatement); transactions are plain BEGIN / SAVEPOINT / COMMIT / ROLLBACK
 * statements, which the reserved connection pins to one leader connection and carries over
 * leader changes. They go through `executeQuery`, as in Kysely's own SQLite driver, so that
 * Kysely's `log` sees them.
 *
 * @internal created by DqliteDriver; applications only see Kysely's DatabaseConnection.
 */
export class DqliteConnection implements DatabaseConnection {
  readonly #reserved: ReservedStatements;
  /** Set inside a 'read only' transaction: statements that write are refused before sending. */
  #readOnly = false;
  /** Set while the migration lock's transaction is open (see DqliteAdapter). */
  #migrationLockHeld = false;
  /** Set while a transaction begun by beginTransaction holds the write lock (BEGIN IMMEDIATE). */
  #immediateTransaction = false;
  /**
   * Set when the migration lock was asked for inside such a transaction (Kysely up to 0.28.17
   * opens the migration transaction first): that transaction's write lock is the lock.
   */
  #lockIsTransaction = false;
  /**
   * Savepoints standing in for Kysely transactions begun inside the migration lock's
   * transaction, innermost last. Invariant: empty unless #migrationLockHeld.
   */
  readonly #nestedSavepoints: string[] = [];

  constructor(reserved: ReservedStatements) {
    this.#reserved = reserved;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const shape = this.#shapeOf(compiledQuery);
    const { sql } = compiledQuery;
    const params = parametersOf(compiledQuery);
    switch (shape) {
      case 'read':
        return { rows: (await this.#reserved.query(sql, params)).rows as R[] };
      case 'write-returning': // the pool runs it in a transaction of its own when needed
        return { rows: (await this.#reserved.query(sql, params)).rows as R[] };
      case 'write': {
        const { rowsAffected, lastInsertId } = await this.#reserved.exec(sql, params);
        return { rows: [], numAffectedRows: BigInt(rowsAffected), insertId: BigInt(lastInsertId) };
      }
      default:
        return unreachable(shape);
    }
  }

  /**
   * Rows in chunks of `chunkSize`, read as they arrive from the node. A statement that writes
   * and returns rows runs whole first (it must commit before its rows count), then is chunked.
   */
  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize: number = 100,
  ): AsyncIterableIterator<QueryResult<R>> {
    checkChunkSize(chunkSize);
    const shape = this.#shapeOf(compiledQuery);
    const { sql } = compiledQuery;
    const params = parametersOf(compiledQuery);
    if (shape === 'write') {
      throw new TypeError(
        `streamQuery: only statements that return rows can be streamed: ${preview(sql)}`,
      );
    }
    const rows =
      shape === 'write-returning'
        ? (await this.#reserved.query(sql, params)).rows
        : this.#reserved.stream(sql, params, { rowMode: 'object' });
    let chunk: R[] = [];
    for await (const row of rows) {
      chunk.push(row as R);
      if (chunk.length < chunkSize) continue;
      yield { rows: chunk };
      chunk = [];
    }
    if (chunk.length > 0) yield { rows: chunk };
  }

  /**
   * BEGIN IMMEDIATE, or BEGIN DEFERRED for `accessMode: 'read only'`. Inside the migration lock,
   * a SAVEPOINT instead. Every SQLite transaction is serializable, which satisfies any
   * `isolationLevel` asked for, so that setting needs nothing.
   */
  async beginTransaction(settings: TransactionSettings): Promise<void> {
    if (this.#migrationLockHeld) {
      const name = `dqlite_ts_kysely_nested_${this.#nestedSavepoints.length + 1}`;
      await this.#control(`SAVEPOINT ${name}`);
      this.#nestedSavepoints.push(name);
      return;
    }
    const readOnly = settings.accessMode === 'read only';
    await this.#control(readOnly ? 'BEGIN DEFERRED' : 'BEGIN IMMEDIATE');
    this.#readOnly = readOnly;
    this.#immediateTransaction = !readOnly;
  }

  async commitTransaction(): Promise<void> {
    const nested = this.#nestedSavepoints.at(-1);
    if (nested !== undefined) {
      await this.#control(`RELEASE ${nested}`);
      this.#nestedSavepoints.pop();
      return;
    }
    await this.#control('COMMIT');
    this.#endTransaction();
  }

  async rollbackTransaction(): Promise<void> {
    const nested = this.#nestedSavepoints.pop();
    if (nested !== undefined) {
      await this.#ended(this.#rollbackToAndRelease(nested));
      return;
    }
    this.#endTransaction();
    await this.#ended(this.#control('ROLLBACK'));
  }

  /** A savepoint command compiled by Kysely (SAVEPOINT, ROLLBACK TO, RELEASE "name"). */
  async savepointCommand(compiledQuery: CompiledQuery): Promise<void> {
    await this.executeQuery(compiledQuery);
  }

  /**
   * Takes the migration lock: opens its transaction, waiting up to `timeoutMs` for other
   * holders. Inside a write transaction begun by beginTransaction (Kysely up to 0.28.17 asks for
   * the lock inside the migration's transaction) that transaction already holds the database's
   * write lock on the leader, which is the lock: nothing more is taken, and the transaction's
   * own COMMIT or ROLLBACK ends it.
   */
  async acquireMigrationLock(timeoutMs: number): Promise<void> {
    if (this.#migrationLockHeld || this.#lockIsTransaction) {
      throw new TypeError('acquireMigrationLock: this connection already holds the lock');
    }
    if (this.#reserved.inTransaction) {
      if (!this.#immediateTransaction || this.#nestedSavepoints.length > 0) {
        throw new TypeError(
          'acquireMigrationLock: this connection is in a transaction that does not hold the write lock',
        );
      }
      this.#lockIsTransaction = true;
      return;
    }
    await beginMigrationLock({ exec: (sql) => this.#control(sql) }, timeoutMs);
    this.#migrationLockHeld = true;
  }

  /** Commits the migration lock's transaction: the migrations of this run become visible. */
  async releaseMigrationLock(): Promise<void> {
    if (this.#lockIsTransaction) {
      this.#lockIsTransaction = false; // the migration transaction's own end releases it
      return;
    }
    if (!this.#migrationLockHeld) return;
    this.#migrationLockHeld = false;
    this.#nestedSavepoints.length = 0;
    // Not in a transaction any more: it was lost with a leader change and has already been
    // reported through the statement that met it; releasing the connection clears it.
    if (this.#reserved.inTransaction) await this.#control('COMMIT');
  }

  /** Gives the reserved connection back to the pool, rolling back anything left open. */
  async release(): Promise<void> {
    this.#endTransaction();
    this.#migrationLockHeld = false;
    this.#nestedSavepoints.length = 0;
    await this.#reserved.release();
  }

  /** A transaction control statement, sent through executeQuery so Kysely's log sees it. */
  async #control(sql: string): Promise<void> {
    await this.executeQuery(CompiledQuery.raw(sql));
  }

  #endTransaction(): void {
    this.#readOnly = false;
    this.#immediateTransaction = false;
    this.#lockIsTransaction = false;
  }

  #shapeOf(compiledQuery: CompiledQuery): StatementShape {
    const statement = classifyStatement(compiledQuery.sql);
    const { shape } = statement;
    if (this.#readOnly && shape !== 'read' && statement.control.kind === 'none') {
      throw new TypeError(
        `a read only transaction cannot run a statement that writes: ${preview(compiledQuery.sql)}`,
      );
    }
    return shape;
  }

  async #rollbackToAndRelease(savepoint: string): Promise<void> {
    await this.#control(`ROLLBACK TO ${savepoint}`);
    await this.#control(`RELEASE ${savepoint}`);
  }

  /**
   * Waits for a statement that ends a transaction (ROLLBACK, ROLLBACK TO + RELEASE). If it fails
   * while the pool no longer counts a transaction open, the transaction is over anyway: SQLite
   * had already rolled it back (it does after some errors), or it died with its leader and the
   * pool has reported that. Raising then would only hide the error that made the caller roll
   * back, so the failure is dropped; it is raised if the transaction is somehow still open.
   */
  async #ended(statement: Promise<unknown>): Promise<void> {
    try {
      await statement;
    } catch (error) {
      if (this.#reserved.inTransaction) throw error;
    }
  }
}

/**
 * Kysely's parameters, handed to the pool as they are: the client maps numbers, bigints,
 * strings, booleans, Dates, Buffers and null, and rejects anything else with a TypeError.
 */
function parametersOf(compiledQuery: CompiledQuery): readonly Parameter[] {
  return compiledQuery.parameters as readonly Parameter[];
}

function checkChunkSize(chunkSize: number): void {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0 || chunkSize > STREAM_CHUNK_ROWS_MAX) {
    throw new RangeError(
      `streamQuery: chunkSize must be a positive integer up to ${STREAM_CHUNK_ROWS_MAX}, got ${String(chunkSize)}`,
    );
  }
}

function preview(sql: string): string {
  return sql.length > SQL_PREVIEW_CHARS ? `${sql.slice(0, SQL_PREVIEW_CHARS)}…` : sql;
}

function unreachable(value: never): never {
  throw new Error(`unexpected statement shape ${String(value)}`);
}
