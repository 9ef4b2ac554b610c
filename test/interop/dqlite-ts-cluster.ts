// Cluster provider backed by dqlite-ts itself: every node a separate `dqlite-ts node` process on
// loopback (bin/local-cluster.ts), so the interop suites that run against canonical's C server
// run unchanged against ours.

import { LocalCluster } from '../../bin/local-cluster.js';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';

export const dqliteTsProvider: ClusterProvider = {
  name: 'dqlite-ts',
  unavailableReason: () => null,
  queuesWriters: true,
  async start(options?: { nodes?: number }): Promise<ClusterHandle> {
    const cluster = await LocalCluster.start({ nodes: options?.nodes ?? 3 });
    return {
      addresses: cluster.addresses,
      kill: (address) => cluster.kill(address),
      restart: (address) => cluster.restart(address),
      stop: () => cluster.stop(),
    };
  },
};
