// The two clusters the benchmark compares, behind one small interface: 3 separate processes each,
// on loopback, started and stopped by us (only our own children are ever signalled, by pid).

import { CDqliteCluster, cDqliteUnavailableReason } from '../../bin/c-dqlite-cluster.js';
import { LocalCluster } from '../../bin/local-cluster.js';

export type ClusterName = 'dqlite-ts' | 'c-dqlite';

export interface BenchCluster {
  readonly name: ClusterName;
  readonly addresses: readonly string[];
  /** pid of each node that is running now, by address. */
  pids(): ReadonlyMap<string, number>;
  kill(address: string): Promise<void>;
  restart(address: string): Promise<void>;
  stop(): Promise<void>;
}

const NODES = 3;

export async function startDqliteTs(): Promise<BenchCluster> {
  const cluster = await LocalCluster.start({ nodes: NODES });
  return {
    name: 'dqlite-ts',
    addresses: cluster.addresses,
    pids: () => runningPids(cluster.nodes),
    kill: (address) => cluster.kill(address),
    restart: (address) => cluster.restart(address),
    stop: () => cluster.stop(),
  };
}

/** Why the C cluster cannot run here (Debian's go-dqlite missing), or null. */
export function cDqliteMissing(): string | null {
  return cDqliteUnavailableReason();
}

export async function startCDqlite(): Promise<BenchCluster> {
  const cluster = await CDqliteCluster.start({ nodes: NODES });
  return {
    name: 'c-dqlite',
    addresses: cluster.addresses,
    pids: () => runningPids(cluster.nodes),
    kill: (address) => cluster.kill(address),
    restart: (address) => cluster.restart(address),
    stop: () => cluster.stop(),
  };
}

function runningPids(
  nodes: readonly { readonly address: string; readonly pid: number | undefined }[],
): Map<string, number> {
  const pids = new Map<string, number>();
  for (const node of nodes) if (node.pid !== undefined) pids.set(node.address, node.pid);
  return pids;
}
