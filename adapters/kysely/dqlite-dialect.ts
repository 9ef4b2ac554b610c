import { SqliteQueryCompiler } from 'kysely';
import type {
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
} from 'kysely';
import { createPool } from '../../drivers/pool/index.js';
import type { PoolOptions } from '../../drivers/pool/index.js';
import { DqliteAdapter } from './dqlite-adapter.js';
import { DqliteDriver } from './dqlite-driver.js';
import { DqliteIntrospector } from './dqlite-introspector.js';
import { checkMigrationLockTimeoutMs } from './migration-lock.js';
import type { ReservingPool } from './reserving-pool.js';

/** Options the dialect itself reads, next to the pool or its options. */
export interface DqliteDialectOptions {
  /**
   * How long Kysely's Migrator waits for another migrator, in this process or any other, to
   * finish before giving up with a PoolTimeoutError. Default 300000 (five minutes), at most one
   * hour.
   */
  readonly migrationLockTimeoutMs?: number;
}

/** The dialect on an application's pool; the application closes it. */
export interface DqliteDialectPoolConfig extends DqliteDialectOptions {
  /** A pool from `createPool` of dqlite-ts/pool (anything with its `reserve` and `close`). */
  readonly pool: ReservingPool;
}

/** The dialect creates its own pool from these options and closes it on `db.destroy()`. */
export interface DqliteDialectPoolOptionsConfig extends PoolOptions, DqliteDialectOptions {}

/** Either `{ pool }` or the options of `createPool` (`cluster`, `database`, …). */
export type DqliteDialectConfig = DqliteDialectPoolConfig | DqliteDialectPoolOptionsConfig;

const DIALECT_KEYS: ReadonlySet<string> = new Set(['pool', 'migrationLockTimeoutMs']);

/**
 * Kysely's dialect for Dqlite: SQLite's SQL, query compiler and introspector, run on the
 * leader-aware pool of dqlite-ts, with leader changes ridden out by the pool (transactions
 * included) and a migration lock that holds across the cluster.
 *
 * @example
 * import { Kysely } from 'kysely';
 * import { createPool } from 'dqlite-ts/pool';
 * import { DqliteDialect } from 'dqlite-ts/kysely';
 *
 * const pool = createPool({ cluster: ['10.0.0.1:9001', '10.0.0.2:9001'], database: 'app' });
 * const db = new Kysely<Database>({ dialect: new DqliteDialect({ pool }) });
 * // or let the dialect own the pool (closed by db.destroy()):
 * const db2 = new Kysely<Database>({
 *   dialect: new DqliteDialect({ cluster: ['10.0.0.1:9001'], database: 'app', max: 8 }),
 * });
 *
 * Caveats: each Kysely instance made with pool options gets a pool of its own, created when
 * `new Kysely` calls `createDriver` (bad pool options throw there). Transactions begin with
 * `BEGIN IMMEDIATE`; `accessMode: 'read only'` begins `BEGIN DEFERRED` and refuses statements
 * that write; any `isolationLevel` is accepted, since SQLite's transactions are serializable.
 */
export class DqliteDialect implements Dialect {
  readonly #config: Readonly<DqliteDialectConfig>;

  constructor(config: DqliteDialectConfig) {
    if (typeof config !== 'object' || config === null) {
      throw new TypeError('DqliteDialect(config): config must be an object');
    }
    if ('pool' in config) checkPoolConfig(config);
    checkMigrationLockTimeoutMs(config.migrationLockTimeoutMs);
    this.#config = Object.freeze({ ...config });
  }

  createDriver(): Driver {
    const config = this.#config;
    if ('pool' in config) return new DqliteDriver({ pool: config.pool, ownsPool: false });
    const { migrationLockTimeoutMs: _dialectOnly, ...poolOptions } = config;
    return new DqliteDriver({ pool: createPool(poolOptions), ownsPool: true });
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new DqliteAdapter({ migrationLockTimeoutMs: this.#config.migrationLockTimeoutMs });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own signature
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new DqliteIntrospector(db);
  }
}

function checkPoolConfig(config: DqliteDialectPoolConfig): void {
  for (const key of Object.keys(config)) {
    if (!DIALECT_KEYS.has(key)) {
      throw new TypeError(
        `DqliteDialect(config): "${key}" cannot be combined with "pool"; pass pool options to createPool`,
      );
    }
  }
  const pool = config.pool as Partial<ReservingPool> | null;
  if (typeof pool?.reserve !== 'function' || typeof pool.close !== 'function') {
    throw new TypeError('DqliteDialect(config): pool must be a pool from createPool');
  }
}
