// The setup both Kysely suites share: one cluster per suite; pools and Kysely instances opened by
// a test (each on a database of its own) and closed after it. Call inside a describe.

import { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { DqliteDialect } from '../../adapters/kysely/index.js';
import { createPool } from '../../drivers/pool/index.js';
import type { LeaderPool, PoolOptions } from '../../drivers/pool/index.js';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';

export interface KyselyFixture<Database> {
  readonly cluster: ClusterHandle;
  openPool(database: string, options?: Partial<PoolOptions>): LeaderPool;
  openDb(database: string, options?: Partial<PoolOptions>): Kysely<Database>;
  /** Destroys a Kysely instance built by the test itself after the test, like openDb's. */
  adopt(db: Kysely<Database>): Kysely<Database>;
  /** Destroys every Kysely instance and pool now (before a fault proxy they use goes away). */
  closeAll(): Promise<void>;
}

export function useKyselyFixture<Database>(provider: ClusterProvider): KyselyFixture<Database> {
  let cluster: ClusterHandle | undefined;
  const pools: LeaderPool[] = [];
  const dbs: Kysely<Database>[] = [];

  const fixture: KyselyFixture<Database> = {
    get cluster() {
      if (!cluster) throw new Error('the cluster is not started yet');
      return cluster;
    },
    openPool: (database, options = {}) => {
      const pool = createPool({ cluster: [...fixture.cluster.addresses], database, ...options });
      pools.push(pool);
      return pool;
    },
    openDb: (database, options = {}) => {
      const dialect = new DqliteDialect({ pool: fixture.openPool(database, options) });
      return fixture.adopt(new Kysely<Database>({ dialect }));
    },
    adopt: (db) => {
      dbs.push(db);
      return db;
    },
    closeAll: async () => {
      await Promise.all(dbs.splice(0).map((db) => db.destroy()));
      await Promise.all(pools.splice(0).map((pool) => pool.close()));
    },
  };

  beforeAll(async () => {
    cluster = await provider.start({ nodes: 3 });
  }, 90_000);

  afterEach(() => fixture.closeAll(), 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  return fixture;
}
