import type { CompiledQuery, DatabaseConnection, QueryResult, TransactionSettings } from 'kysely';
import type { Parameter } from '../../drivers/client/index.js';
import { beginMigrationLock } from './migration-lock.js';
import type { ReservedStatements } from './reserving-pool.js';
import { statementShape } from './statement-shape.js';
import type { StatementShape } from './statement-shape.js';

/** Most rows Kysely may ask for in one streamed chunk. */
export const STREAM_CHUNK_ROWS_MAX = 100_000;
const SQL_PREVIEW_CHARS = 80;

/**
 * One Kysely connection: a connection reserved from the pool, held from `acquireConnection` to
 * `releaseConnection`. Statements are mapped onto the pool's QUERY or EXEC by their shape
 * (statement-shape.ts); transactions are plain BEGIN / SAVEPOINT / COMMIT / ROLLBACK statements,
 * which the reserved connection pins to one leader connection and carries over leader changes.
 *
 * @internal created by DqliteDriver; applications only see Kysely's DatabaseConnection.
 */
export class DqliteConnection implements DatabaseConnection {
  readonly #reserved: ReservedStatements;
  /** Set inside a 'read only' transaction: statements that write are refused before sending. */
  #readOnly = false;
  /** Set while the migration lock's transaction is open (see DqliteAdapter). */
  #migrationLockHeld = false;
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
      case 'rows':
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
      await this.#reserved.exec(`SAVEPOINT ${name}`);
      this.#nestedSavepoints.push(name);
      return;
    }
    const readOnly = settings.accessMode === 'read only';
    await this.#reserved.exec(readOnly ? 'BEGIN DEFERRED' : 'BEGIN IMMEDIATE');
    this.#readOnly = readOnly;
  }

  async commitTransaction(): Promise<void> {
    const nested = this.#nestedSavepoints.at(-1);
    if (nested !== undefined) {
      await this.#reserved.exec(`RELEASE ${nested}`);
      this.#nestedSavepoints.pop();
      return;
    }
    await this.#reserved.exec('COMMIT');
    this.#readOnly = false;
  }

  async rollbackTransaction(): Promise<void> {
    const nested = this.#nestedSavepoints.pop();
    if (nested !== undefined) {
      await this.#ended(this.#rollbackToAndRelease(nested));
      return;
    }
    this.#readOnly = false;
    await this.#ended(this.#reserved.exec('ROLLBACK'));
  }

  /** A savepoint command compiled by Kysely (SAVEPOINT, ROLLBACK TO, RELEASE "name"). */
  async savepointCommand(compiledQuery: CompiledQuery): Promise<void> {
    await this.#reserved.exec(compiledQuery.sql);
  }

  /** Opens the migration lock's transaction, waiting up to `timeoutMs` for other holders. */
  async acquireMigrationLock(timeoutMs: number): Promise<void> {
    if (this.#migrationLockHeld || this.#reserved.inTransaction) {
      throw new TypeError('acquireMigrationLock: this connection is already in a transaction');
    }
    await beginMigrationLock(this.#reserved, timeoutMs);
    this.#migrationLockHeld = true;
  }

  /** Commits the migration lock's transaction: the migrations of this run become visible. */
  async releaseMigrationLock(): Promise<void> {
    if (!this.#migrationLockHeld) return;
    this.#migrationLockHeld = false;
    this.#nestedSavepoints.length = 0;
    // Not in a transaction any more: it was lost with a leader change and has already been
    // reported through the statement that met it; releasing the connection clears it.
    if (this.#reserved.inTransaction) await this.#reserved.exec('COMMIT');
  }

  /** Gives the reserved connection back to the pool, rolling back anything left open. */
  async release(): Promise<void> {
    this.#readOnly = false;
    this.#migrationLockHeld = false;
    this.#nestedSavepoints.length = 0;
    await this.#reserved.release();
  }

  #shapeOf(compiledQuery: CompiledQuery): StatementShape {
    const shape = statementShape(compiledQuery.query, compiledQuery.sql);
    if (this.#readOnly && shape !== 'rows') {
      throw new TypeError(
        `a read only transaction cannot run a statement that writes: ${preview(compiledQuery.sql)}`,
      );
    }
    return shape;
  }

  async #rollbackToAndRelease(savepoint: string): Promise<void> {
    await this.#reserved.exec(`ROLLBACK TO ${savepoint}`);
    await this.#reserved.exec(`RELEASE ${savepoint}`);
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
