import { createPool } from '../../drivers/pool/index.js';
import type { LeaderPool, PoolOptions } from '../../drivers/pool/index.js';

/** The pool's options as a connection provider gives them, with Knex's optional expiry check. */
export type ProvidedOptions = PoolOptions & {
  /** True once these options are out of date; the provider is then asked again. */
  readonly expirationChecker?: () => boolean;
};

/**
 * Knex's `connection` given as a function (Knex calls it a connection configuration provider):
 * it returns the pool's options, or a promise of them, for instance read from a secret store or
 * from service discovery at start-up.
 */
export type ConnectionProvider = () => ProvidedOptions | Promise<ProvidedOptions>;

/**
 * The pool behind a connection provider. The provider is asked on the first acquire, and the
 * pool it describes serves every acquire after it, until the options' `expirationChecker` says
 * they are out of date: then the provider is asked again and a new pool serves later acquires,
 * while the old one finishes with the connections it has lent and is closed once it lends none.
 */
export class ProvidedPool {
  readonly #provider: ConnectionProvider;
  readonly #sized: (options: PoolOptions) => PoolOptions;
  #current: { readonly pool: LeaderPool; readonly expired: () => boolean } | undefined;
  #asking: Promise<LeaderPool> | undefined;
  readonly #retired: LeaderPool[] = [];
  #closed = false;

  constructor(provider: ConnectionProvider, sized: (options: PoolOptions) => PoolOptions) {
    this.#provider = provider;
    this.#sized = sized;
  }

  /** The pool to acquire from now. */
  async pool(): Promise<LeaderPool> {
    if (this.#closed) throw new Error('dqlite-ts/knex: the pool was destroyed');
    this.#closeIdleRetired();
    const current = this.#current;
    if (current !== undefined && !current.expired()) return current.pool;
    this.#asking ??= this.#ask().finally(() => (this.#asking = undefined));
    return this.#asking;
  }

  /** The pool serving now, if the provider has been asked yet. */
  get current(): LeaderPool | undefined {
    return this.#current?.pool;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#retired.splice(0), ...(this.#current ? [this.#current.pool] : [])];
    this.#current = undefined;
    await Promise.all(pools.map((pool) => pool.close()));
  }

  async #ask(): Promise<LeaderPool> {
    const provided: unknown = await this.#provider();
    if (typeof provided !== 'object' || provided === null) {
      throw new TypeError(
        'dqlite-ts/knex: the `connection` function must return the pool options, e.g. { cluster, database }',
      );
    }
    const { expirationChecker, ...options } = provided as ProvidedOptions;
    if (expirationChecker !== undefined && typeof expirationChecker !== 'function') {
      throw new TypeError('dqlite-ts/knex: `expirationChecker` must be a function');
    }
    const expired = expirationChecker ?? (() => false);
    if (expired()) {
      throw new Error(
        'dqlite-ts/knex: the `connection` function gave options that are already expired',
      );
    }
    const pool = createPool(this.#sized(options));
    if (this.#closed) {
      await pool.close();
      throw new Error('dqlite-ts/knex: the pool was destroyed');
    }
    if (this.#current !== undefined) this.#retired.push(this.#current.pool);
    this.#current = { pool, expired };
    return pool;
  }

  /** Closes the replaced pools that no longer lend a connection. */
  #closeIdleRetired(): void {
    for (let i = this.#retired.length - 1; i >= 0; i--) {
      const pool = this.#retired[i]!;
      const { borrowed, waiting } = pool.stats();
      if (borrowed > 0 || waiting > 0) continue;
      this.#retired.splice(i, 1);
      void pool.close();
    }
  }
}
