// Shared by the examples: use the cluster named by DQLITE_CLUSTER (and DQLITE_DATABASE), which
// may be dqlite-ts or canonical's C dqlite; or else embed a 3-node dqlite-ts cluster in this very
// process, as an application would (each node in production lives in its own process or machine).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNode, type DqliteNode } from '../index.js';
import { freePorts } from '../bin/local-cluster.js';

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
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `dqlite-ts-example-${name}-`));
  const nodes: DqliteNode[] = [];
  try {
    const addresses = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
    const [first, ...others] = addresses as [string, ...string[]];
    // The first node bootstraps the cluster; the others join it and are promoted to voters.
    nodes.push(await createNode({ address: first, dataDir: path.join(dataDir, '1') }));
    for (const [i, address] of others.entries()) {
      nodes.push(
        await createNode({ address, dataDir: path.join(dataDir, String(i + 2)), join: [first] }),
      );
    }
    await run(addresses, database);
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
