// Shared by the examples: use the cluster named by DQLITE_CLUSTER (and DQLITE_DATABASE), or start
// a local 3-node C dqlite cluster for the run and stop it afterwards.

import { cDqliteProvider } from '../test/interop/c-cluster.js';

export async function withExampleCluster(
  name: string,
  run: (cluster: readonly string[], database: string) => Promise<void>,
): Promise<void> {
  const database = process.env.DQLITE_DATABASE ?? `example-${name}`;
  const given = process.env.DQLITE_CLUSTER;
  if (given) {
    await run(given.split(','), database);
    return;
  }
  const missing = cDqliteProvider.unavailableReason();
  if (missing) throw new Error(`set DQLITE_CLUSTER, or install the C peer: ${missing}`);
  const cluster = await cDqliteProvider.start({ nodes: 3 });
  try {
    await run(cluster.addresses, database);
  } finally {
    await cluster.stop();
  }
}
