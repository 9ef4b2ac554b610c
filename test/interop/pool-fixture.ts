// The setup the pool's interop suites share: one 3-node cluster per suite, an admin client on its
// leader, pools and fault proxies opened by a test and closed after it. Call inside a describe.

import { afterAll, afterEach, beforeAll } from 'vitest';
import { connect } from '../../drivers/client/index.js';
import type { DqliteClient } from '../../drivers/client/index.js';
import { createPool } from '../../drivers/pool/index.js';
import type { LeaderPool, PoolOptions, RetryEvent } from '../../drivers/pool/index.js';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';
import { startFaultProxy } from './fault-proxy.js';
import type { FaultProxy } from './fault-proxy.js';

export interface PoolFixture {
  readonly cluster: ClusterHandle;
  /** A client on the current leader, for setup and for checking what was stored. */
  readonly admin: DqliteClient;
  /** A pool on the suite's cluster, closed after the test. */
  openPool(options?: Partial<PoolOptions>): LeaderPool;
  /** A pool that reaches the leader only through a fault proxy, both closed after the test. */
  proxiedPool(options?: Partial<PoolOptions>): Promise<{ proxy: FaultProxy; pool: LeaderPool }>;
  /** Reconnects the admin client to whoever leads now. */
  reconnectAdmin(): Promise<void>;
  /** Hands leadership to another voter and follows it with the admin client. */
  transferLeadership(): Promise<void>;
}

/** The retries a pool reports, collected as they happen. */
export function retriesOf(pool: LeaderPool): RetryEvent[] {
  const retries: RetryEvent[] = [];
  pool.on('retry', (event: RetryEvent) => retries.push(event));
  return retries;
}

export function usePoolFixture(
  provider: ClusterProvider,
  database: string,
  setup: (admin: DqliteClient) => Promise<void>,
): PoolFixture {
  let cluster: ClusterHandle | undefined;
  let admin: DqliteClient | undefined;
  const pools: LeaderPool[] = [];
  const proxies: FaultProxy[] = [];
  const connectAdmin = () =>
    connect({ cluster: [...fixture.cluster.addresses], database, leaderTimeoutMs: 15_000 });

  const fixture: PoolFixture = {
    get cluster() {
      if (!cluster) throw new Error('the cluster is not started yet');
      return cluster;
    },
    get admin() {
      if (!admin) throw new Error('the admin client is not connected yet');
      return admin;
    },
    openPool: (options = {}) => {
      const pool = createPool({ cluster: [...fixture.cluster.addresses], database, ...options });
      pools.push(pool);
      return pool;
    },
    proxiedPool: async (options = {}) => {
      const proxy = await startFaultProxy(() => fixture.admin.address);
      proxies.push(proxy);
      return { proxy, pool: fixture.openPool({ cluster: [proxy.address], ...options }) };
    },
    reconnectAdmin: async () => {
      await admin?.close();
      admin = await connectAdmin();
    },
    transferLeadership: async () => {
      const current = fixture.admin;
      const target = (await current.cluster()).find((node) => node.address !== current.address)!;
      await current.transfer(target.id);
      await fixture.reconnectAdmin();
    },
  };

  beforeAll(async () => {
    cluster = await provider.start({ nodes: 3 });
    admin = await connectAdmin();
    await setup(admin);
  }, 90_000);

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  }, 60_000);

  afterAll(async () => {
    await admin?.close();
    await cluster?.stop();
  }, 60_000);

  return fixture;
}
