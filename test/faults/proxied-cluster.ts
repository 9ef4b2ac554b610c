// A 3-node cluster whose every node sits behind a PartitionProxy, so the nemesis can cut links
// between nodes; clients pass the proxies untouched.

import { LocalCluster } from '../../bin/local-cluster.js';
import { PartitionProxy } from '../cluster/partition-proxy.js';

export interface ProxiedCluster {
  readonly cluster: LocalCluster;
  /** By the address each node advertises (the proxy's). */
  readonly proxies: ReadonlyMap<string, PartitionProxy>;
  stop(): Promise<void>;
}

export async function startProxiedCluster(nodes = 3): Promise<ProxiedCluster> {
  const proxies = new Map<string, PartitionProxy>();
  const cluster = await LocalCluster.start({
    nodes,
    voters: nodes,
    interpose: async (listen) => {
      const proxy = await PartitionProxy.start(listen);
      proxies.set(proxy.address, proxy);
      return proxy.address;
    },
  });
  return {
    cluster,
    proxies,
    async stop() {
      await cluster.stop();
      await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
    },
  };
}
