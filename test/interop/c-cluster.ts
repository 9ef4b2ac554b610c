// Cluster provider backed by the C dqlite 1.11 server, run through Debian's `dqlite-demo`. The
// launcher itself, with the facts about dqlite-demo it relies on, lives in
// bin/c-dqlite-cluster.ts and bin/c-dqlite-node.ts so that commands shipped in dist can start a
// C cluster too; this file adapts it to the suites' ClusterProvider contract. The suites also
// observe the cluster through the go-dqlite shell, so the provider is only available when that
// is installed as well.

import { accessSync, constants as fsConstants } from 'node:fs';
import { CDqliteCluster, cDqliteUnavailableReason } from '../../bin/c-dqlite-cluster.js';
import type { CDqliteNode } from '../../bin/c-dqlite-node.js';
import type { ClusterHandle, ClusterProvider } from './cluster-provider.js';
import { GO_SHELL_BINARY } from './go-shell.js';

export { DEMO_BINARY, DEMO_DATABASE } from '../../bin/c-dqlite-node.js';
export type { CDqliteNode } from '../../bin/c-dqlite-node.js';

export interface CDqliteClusterHandle extends ClusterHandle {
  readonly nodes: readonly CDqliteNode[];
  /** Captured output of every node, for failure messages. */
  logs(): string;
}

export interface CDqliteClusterProvider extends ClusterProvider {
  start(options?: { nodes?: number }): Promise<CDqliteClusterHandle>;
}

const INSTALL_HINT = 'install it with: apt-get update && apt-get install -y go-dqlite';

function missingPeerReason(): string | null {
  const demoReason = cDqliteUnavailableReason();
  if (demoReason !== null) return demoReason;
  try {
    accessSync(GO_SHELL_BINARY, fsConstants.X_OK);
  } catch {
    return `${GO_SHELL_BINARY} is missing or not executable (${INSTALL_HINT})`;
  }
  return null;
}

let cachedReason: string | null | undefined;

export const cDqliteProvider: CDqliteClusterProvider = {
  name: 'c-dqlite',
  unavailableReason(): string | null {
    // Cached: suites call this at collection time, and the answer cannot change during a run.
    if (cachedReason === undefined) cachedReason = missingPeerReason();
    return cachedReason;
  },
  start(options?: { nodes?: number }): Promise<CDqliteClusterHandle> {
    return CDqliteCluster.start({ nodes: options?.nodes ?? 3 });
  },
};
