// The clusters the benchmark compares, behind one small interface: 3 separate processes each, on
// loopback, started and stopped by us (only our own children are ever signalled, by pid). Besides
// dqlite-ts and C dqlite, `dqlite-ts+metrics` is dqlite-ts with every node's HTTP endpoint on
// and scraped once a second, as Prometheus would: what monitoring costs the request path.

import { CDqliteCluster, cDqliteUnavailableReason } from '../../bin/c-dqlite-cluster.js';
import { LocalCluster } from '../../bin/local-cluster.js';

export type ClusterName = 'dqlite-ts' | 'dqlite-ts+metrics' | 'c-dqlite';

export const CLUSTER_NAMES: readonly ClusterName[] = ['dqlite-ts', 'dqlite-ts+metrics', 'c-dqlite'];

/** How often the metrics cluster's endpoints are scraped: Prometheus's common interval. */
const SCRAPE_INTERVAL_MS = 1000;

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

export async function startDqliteTs(metrics = false): Promise<BenchCluster> {
  const cluster = await LocalCluster.start({
    nodes: NODES,
    nodeArgs: metrics ? ['--http', '127.0.0.1:0'] : [],
  });
  const scraper = metrics ? startScraping(cluster) : undefined;
  return {
    name: metrics ? 'dqlite-ts+metrics' : 'dqlite-ts',
    addresses: cluster.addresses,
    pids: () => runningPids(cluster.nodes),
    kill: (address) => cluster.kill(address),
    restart: (address) => cluster.restart(address),
    stop: async () => {
      await scraper?.stop();
      await cluster.stop();
    },
  };
}

/**
 * Fetches /metrics from every running node every SCRAPE_INTERVAL_MS, reading each answer to its
 * end, until stopped. A failed scrape (a node restarting) is skipped, as Prometheus skips it.
 */
function startScraping(cluster: LocalCluster): { stop(): Promise<void> } {
  let inFlight: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    const scrapes = cluster.nodes.map(async (node) => {
      if (node.httpAddress === undefined) return;
      const response = await fetch(`http://${node.httpAddress}/metrics`);
      await response.text();
    });
    inFlight = Promise.allSettled(scrapes);
  }, SCRAPE_INTERVAL_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      await inFlight;
    },
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
