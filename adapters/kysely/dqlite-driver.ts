import { createQueryId, IdentifierNode, RawNode } from 'kysely';
import type { DatabaseConnection, Driver, QueryCompiler, TransactionSettings } from 'kysely';
import { DqliteConnection } from './dqlite-connection.js';
import type { ReservingPool } from './reserving-pool.js';

/** What the driver is given: the pool, and whether closing it is the driver's job. */
export interface DqliteDriverConfig {
  /** The application's pool, or one the dialect created from pool options. */
  readonly pool: ReservingPool;
  /** True when the dialect created the pool: `destroy()` then closes it. */
  readonly ownsPool: boolean;
}

/**
 * Kysely's driver over the leader-aware pool: each Kysely connection is one reserved pool
 * connection, transactions are BEGIN / SAVEPOINT / COMMIT / ROLLBACK on it. Connection pooling,
 * leader discovery and retries are the pool's.
 *
 * @internal created by DqliteDialect.
 */
export class DqliteDriver implements Driver {
  readonly #config: DqliteDriverConfig;

  constructor(config: DqliteDriverConfig) {
    this.#config = Object.freeze({ ...config });
  }

  /** Nothing to do: the pool connects on first use. */
  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new DqliteConnection(await this.#config.pool.reserve());
  }

  async beginTransaction(
    connection: DatabaseConnection,
    settings: TransactionSettings,
  ): Promise<void> {
    await asDqliteConnection(connection).beginTransaction(settings);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await asDqliteConnection(connection).commitTransaction();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await asDqliteConnection(connection).rollbackTransaction();
  }

  async savepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await savepointCommand(connection, 'savepoint', savepointName, compileQuery);
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await savepointCommand(connection, 'rollback to', savepointName, compileQuery);
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await savepointCommand(connection, 'release', savepointName, compileQuery);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await asDqliteConnection(connection).release();
  }

  /** Closes the pool if the dialect created it; an application's own pool stays open. */
  async destroy(): Promise<void> {
    if (this.#config.ownsPool) await this.#config.pool.close();
  }
}

/** The adapter's own connection behind a Kysely DatabaseConnection; anything else is misuse. */
export function asDqliteConnection(connection: DatabaseConnection): DqliteConnection {
  if (!(connection instanceof DqliteConnection)) {
    throw new TypeError('dqlite-ts/kysely: the connection does not come from DqliteDriver');
  }
  return connection;
}

/** `<command> "name"`, with the name quoted by Kysely's compiler as for any identifier. */
async function savepointCommand(
  connection: DatabaseConnection,
  command: 'savepoint' | 'rollback to' | 'release',
  savepointName: string,
  compileQuery: QueryCompiler['compileQuery'],
): Promise<void> {
  const node = RawNode.createWithChildren([
    RawNode.createWithSql(`${command} `),
    IdentifierNode.create(savepointName),
  ]);
  await asDqliteConnection(connection).savepointCommand(compileQuery(node, createQueryId()));
}
