// Cluster provider backed by dqlite-ts itself: every node a separate `dqlite-ts node` process on
// loopback (bin/local-cluster.ts), so the interop suites that run against canonical's C server
// run unchanged against ours. Stopping it first checks, with the product's own content check,
// that every running node holds the same data.

import { LocalCluster } from '../../bin/local-cluster.js';
import { checkAndStop } from '../cluster/node-content.js';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';

export const dqliteTsProvider: ClusterProvider = {
  name: 'dqlite-ts',
  unavailableReason: () => null,
  queuesWriters: true,
  async start(options?: { nodes?: number; standbys?: number }): Promise<ClusterHandle> {
    const cluster = await LocalCluster.start({
      nodes: options?.nodes ?? 3,
      nodeArgs: ['--standbys', String(options?.standbys ?? 0)],
    });
    let stopping: Promise<void> | undefined;
    return {
      addresses: cluster.addresses,
      kill: (address) => cluster.kill(address),
      restart: (address) => cluster.restart(address),
      stop: () =>
        (stopping ??= (async () => {
          await checkAndStop(cluster);
        })()),
    };
  },
};
