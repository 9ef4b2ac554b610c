// Three createNode nodes in the test's process, as an application embeds them: the first
// bootstraps, the others join it, and the fixture resolves once all three are voters.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../../bin/local-cluster.js';
import { createNode, type DqliteNode, type NodeOptions } from '../../index.js';
import { waitUntil } from '../interop/poll-until.js';

export interface EmbeddedCluster {
  readonly directory: string;
  readonly addresses: readonly string[];
  /** The running nodes by address; tests delete and set entries as they stop and restart them. */
  readonly nodes: Map<string, DqliteNode>;
  /** The options node `i` starts (and restarts) with. */
  optionsOf(i: number): NodeOptions;
  leaderNode(): DqliteNode | undefined;
  /** Closes every node and removes the data. */
  close(): Promise<void>;
}

export async function startEmbeddedCluster(
  name: string,
  extra: Partial<NodeOptions> = {},
): Promise<EmbeddedCluster> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const addresses = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
  const nodes = new Map<string, DqliteNode>();
  const optionsOf = (i: number): NodeOptions => ({
    address: addresses[i] as string,
    dataDir: path.join(directory, `n${i}`),
    join: i === 0 ? [] : [addresses[0] as string],
    roleCheckIntervalMs: 100,
    ...extra,
  });
  for (let i = 0; i < 3; i++) nodes.set(addresses[i] as string, await createNode(optionsOf(i)));
  const first = nodes.get(addresses[0] as string) as DqliteNode;
  await waitUntil(
    () => first.cluster().filter((node) => node.role === 'voter').length === 3,
    '3 voters',
  );
  return {
    directory,
    addresses,
    nodes,
    optionsOf,
    leaderNode: () => [...nodes.values()].find((node) => node.isLeader()),
    close: async () => {
      await Promise.all([...nodes.values()].map((node) => node.close()));
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
