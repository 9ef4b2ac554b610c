// A 3-node cluster whose every node sits behind a PartitionProxy, so the nemesis can cut links
// between nodes; clients pass the proxies untouched. With `disks`, each node also has its own
// small disk the nemesis can fill or slow down (disks.ts).

import { LocalCluster } from '../../bin/local-cluster.js';
import { PartitionProxy } from '../cluster/partition-proxy.js';
import { NodeDisks } from './disks.js';

/** The database every fault workload's pool uses. */
export const FAULT_DATABASE = 'faults';
/** The database only churn clients use (churn-client.ts says why it is another one). */
export const CHURN_DATABASE = 'faults-churn';

export interface ProxiedCluster {
  readonly cluster: LocalCluster;
  /** By the address each node advertises (the proxy's). */
  readonly proxies: ReadonlyMap<string, PartitionProxy>;
  /** Each node's own small disk, when asked for (`disks: true`). */
  readonly disks: NodeDisks | undefined;
  stop(): Promise<void>;
}

export async function startProxiedCluster(
  nodes = 3,
  options: { disks?: boolean } = {},
): Promise<ProxiedCluster> {
  const proxies = new Map<string, PartitionProxy>();
  const disks = options.disks === true ? NodeDisks.create(nodes) : undefined;
  const closeProxies = () => Promise.all([...proxies.values()].map((proxy) => proxy.close()));
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start({
      nodes,
      voters: nodes,
      interpose: async (listen) => {
        const proxy = await PartitionProxy.start(listen);
        proxies.set(proxy.address, proxy);
        return proxy.address;
      },
      ...(disks === undefined
        ? {}
        : { directory: disks.directory, environment: (dataDir) => disks.environment(dataDir) }),
    });
  } catch (error) {
    await closeProxies();
    disks?.remove();
    throw error;
  }
  return {
    cluster,
    proxies,
    disks,
    async stop() {
      await cluster.stop();
      await closeProxies();
      disks?.remove();
    },
  };
}
