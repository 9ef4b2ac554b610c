import { once } from 'node:events';
import type { Transform } from 'node:stream';
import type { Parameter } from '../../drivers/client/index.js';
import { PoolTimeoutError, classifyStatement, createPool } from '../../drivers/pool/index.js';
import type { LeaderPool } from '../../drivers/pool/index.js';
import { closeOwnedPool, prepareConfig, sizedByKnexPool, usablePool } from './client-config.js';
import { ProvidedPool } from './provided-pool.js';
import type { ConnectionProvider } from './provided-pool.js';
import type { DqliteKnexConfig } from './client-config.js';
import { DqliteDdl } from './dqlite-ddl.js';
import { DqliteTransaction } from './dqlite-transaction.js';
import { KnexConnection } from './knex-connection.js';
import { KnexTimeoutError, SqliteClient } from './knex-internals.js';
import type { KnexClientConfig, KnexPoolShim, KnexQueryObject } from './knex-internals.js';

/**
 * Knex's SQLite3 client on Dqlite: Knex's SQLite query, schema and DDL compilers unchanged, with
 * connections reserved from the leader-aware pool instead of files opened by node-sqlite3. Leader
 * changes, retries and transactions that move to a new leader are the pool's business; Knex's
 * own tarn pool is never built.
 *
 * @example
 * import knexFactory from 'knex';
 * import { DqliteKnexClient } from 'dqlite-ts/knex';
 * const db = knexFactory({
 *   client: DqliteKnexClient,
 *   connection: { cluster: ['127.0.0.1:9001'], database: 'app' },
 * });
 */
export class DqliteKnexClient extends SqliteClient {
  // Set by initializePool(), which Knex's constructor calls before this class's own fields
  // would be initialized: hence `declare`, never an initializer.
  declare poolSource: PoolSource | undefined;

  constructor(config: DqliteKnexConfig) {
    super(prepareConfig(config));
  }

  /** The pool serving this client now (undefined before a connection provider was asked). */
  get leaderPool(): LeaderPool | undefined {
    return this.poolSource?.current;
  }

  /** The "driver" is the pool module: there is no native binding to load. */
  override _driver(): unknown {
    return { createPool };
  }

  /**
   * Knex 3.3's external-pool path, for `connection` (an owned pool, or a connection provider
   * function) and `connectionPool`.
   */
  override initializePool(config: KnexClientConfig = this.config): void {
    if (this.pool) {
      this.logger.warn('The pool has already been initialized');
      return;
    }
    if (typeof config.connection === 'function') {
      this.initializeDriver();
      const knexPool = config.pool;
      const provided = new ProvidedPool(config.connection as ConnectionProvider, (options) =>
        sizedByKnexPool(options, knexPool),
      );
      this._ownsPool = true;
      this.pool = this.poolShim({
        pool: () => provided.pool(),
        get current() {
          return provided.current;
        },
        close: () => provided.close(),
      });
      return;
    }
    // Without either, the client only compiles SQL (knex({ client }).toSQL()).
    if (config.connectionPool === undefined) return;
    this.initializeDriver();
    this.pool = this.wrapNativePool(config.connectionPool);
  }

  /** Knex's `this.pool`: each acquire reserves one pool connection, each release gives it back. */
  override wrapNativePool(given: unknown): KnexPoolShim {
    const { pool, owned } = usablePool(given);
    this.config.connectionPool = pool;
    this._ownsPool = owned;
    return this.poolShim({
      pool: () => Promise.resolve(pool),
      current: pool,
      close: () => (owned ? closeOwnedPool(pool) : Promise.resolve()),
    });
  }

  /**
   * Knex's view of a pool source. (A method, not a #private one: Knex's constructor calls
   * initializePool before this class's private members exist.)
   */
  protected poolShim(source: PoolSource): KnexPoolShim {
    this.poolSource = source;
    let destroyed = false;
    const stats = () => source.current?.stats();
    return {
      acquire: () => ({ promise: this.acquireRawConnection() }),
      release: (connection) => {
        this.destroyRawConnection(connection).catch((error: unknown) => {
          // release() only fails when the connection is already gone; nothing is left to undo.
          this.logger.warn(`dqlite-ts/knex: releasing a connection failed: ${String(error)}`);
        });
        return true;
      },
      destroy: () => {
        destroyed = true;
        return source.close();
      },
      // What Knex's own (tarn) pool shows of itself.
      get destroyed() {
        return destroyed;
      },
      numUsed: () => stats()?.borrowed ?? 0,
      numFree: () => stats()?.available ?? 0,
      numPendingAcquires: () => stats()?.waiting ?? 0,
      numPendingCreates: () => 0,
    };
  }

  /** A connection for Knex: one reserved pool connection, within `acquireConnectionTimeout`. */
  override async acquireRawConnection(): Promise<KnexConnection> {
    const source = this.poolSource;
    if (!source) throw new Error('Unable to acquire a connection');
    const pool = await source.pool();
    const timeoutMs = this.config.acquireConnectionTimeout;
    try {
      return new KnexConnection(await pool.reserve(timeoutMs === undefined ? {} : { timeoutMs }));
    } catch (error) {
      if (!(error instanceof PoolTimeoutError)) throw error;
      // The error Knex raises when its own pool times out, with the pool's reason kept.
      const timeout = new KnexTimeoutError(
        'Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a .transacting(trx) call?',
      );
      throw Object.assign(timeout, { cause: error });
    }
  }

  /** Gives the reserved connection back (rolling back a transaction left open). */
  override async destroyRawConnection(connection: unknown): Promise<void> {
    await knexConnection(connection).release();
  }

  /**
   * Sends each statement as QUERY or EXEC by its shape (the pool's classifyStatement) and shapes
   * the answer as node-sqlite3 does.
   */
  override async _query(connection: unknown, obj: KnexQueryObject): Promise<KnexQueryObject> {
    if (!obj.sql) throw new Error('The query is empty');
    const target = knexConnection(connection);
    const params = parametersOf(obj);
    switch (classifyStatement(obj.sql).shape) {
      case 'read':
        obj.response = await target.query(obj.sql, params);
        return obj;
      case 'write-returning': {
        const rows = await target.query(obj.sql, params);
        obj.response = rows;
        obj.context = { lastID: undefined, changes: rows.length };
        return obj;
      }
      case 'write': {
        const { lastInsertId, rowsAffected } = await target.exec(obj.sql, params);
        obj.response = [];
        obj.context = { lastID: lastInsertId, changes: rowsAffected };
        return obj;
      }
    }
  }

  /** Streams rows as Dqlite sends them, in batches, pausing while the consumer is behind. */
  override async _stream(
    connection: unknown,
    obj: KnexQueryObject,
    stream: Transform,
  ): Promise<void> {
    if (!obj.sql) throw new Error('The query is empty');
    const target = knexConnection(connection);
    const params = parametersOf(obj);
    try {
      if (classifyStatement(obj.sql).shape === 'read') {
        await target.exclusive((reserved) => pipeRows(reserved.stream(obj.sql, params), stream));
      } else {
        // A write (with RETURNING) has all its rows before it commits: nothing to stream.
        const { response } = await this._query(connection, obj);
        await pipeRows(Array.isArray(response) ? response : [], stream);
      }
      if (!stream.destroyed) stream.end();
    } catch (error) {
      stream.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }

  override transaction(
    container: unknown,
    config?: Record<string, unknown>,
    outerTx?: unknown,
  ): DqliteTransaction {
    return new DqliteTransaction(this, container, config, outerTx);
  }

  override ddl(compiler: unknown, pragma: unknown, connection: unknown): DqliteDdl {
    return new DqliteDdl(this._strict(), compiler, pragma, connection);
  }
}

Object.assign(DqliteKnexClient.prototype, {
  // Knex's SQLite compilers and checks key on the dialect, and `knex.fn` (uuid) on the driver
  // name: both say SQLite, whose SQL this is. The driver itself is the pool (_driver above), so
  // Knex never loads node-sqlite3.
  dialect: 'sqlite3',
  driverName: 'sqlite3',
});

/** Where the client's connections come from: one pool, or the pool a provider names now. */
export interface PoolSource {
  pool(): Promise<LeaderPool>;
  readonly current: LeaderPool | undefined;
  close(): Promise<void>;
}

function knexConnection(connection: unknown): KnexConnection {
  if (connection instanceof KnexConnection) return connection;
  throw new TypeError('dqlite-ts/knex: not a connection from this client');
}

/**
 * Knex binds `undefined` for the columns a row of a multi-row insert lacks; node-sqlite3 binds
 * NULL for it, and so does the adapter (Knex itself rejects undefined values elsewhere).
 */
function parametersOf(obj: KnexQueryObject): Parameter[] {
  return (obj.bindings ?? []).map((value) => (value === undefined ? null : value));
}

/** Writes rows into Knex's stream, honouring back-pressure; stops when the stream is destroyed. */
async function pipeRows(
  rows: AsyncIterable<unknown> | Iterable<unknown>,
  stream: Transform,
): Promise<void> {
  for await (const row of rows) {
    if (stream.destroyed) return;
    if (!stream.write(row)) await drainedOrClosed(stream);
  }
}

async function drainedOrClosed(stream: Transform): Promise<void> {
  if (stream.destroyed) return;
  const abort = new AbortController();
  try {
    await Promise.race([
      once(stream, 'drain', { signal: abort.signal }),
      once(stream, 'close', { signal: abort.signal }),
    ]);
  } finally {
    abort.abort(); // drops the listener that did not fire
  }
}
