// Raft as a node's disk left it: the log opened, a brand-new cluster bootstrapped into it, the
// core built with the node's lease choice, and campaigns held for good when a content check once
// found this node diverged. Kept apart from ReplicatedEngine because it runs once, before there
// is an engine, and only reads the disk; the engine runs what it returns.

import path from 'node:path';
import fs from 'node:fs';
import {
  RaftCore,
  bootstrapState,
  type Configuration,
  type NodeId,
  type RaftConfig,
} from '../raft/index.js';
import { divergenceAdvice, readDivergence } from './divergence-marker.js';
import type { NodeEnvironment, NodeStorage } from './node-environment.js';

/** What opening Raft reads of the node's options (ReplicatedEngineOptions documents them). */
export interface RaftOpening {
  readonly id: NodeId;
  readonly dataDir: string;
  readonly bootstrap?: Configuration;
  readonly raft?: Partial<RaftConfig>;
  readonly leaseReads?: boolean;
}

/** Opens the node's Raft log under `<dataDir>/raft` and builds its core from what it holds. */
export async function openRaft(
  node: RaftOpening,
  environment: NodeEnvironment,
): Promise<{ storage: NodeStorage; core: RaftCore }> {
  const raftDirectory = path.join(node.dataDir, 'raft');
  fs.mkdirSync(raftDirectory, { recursive: true });
  const storage = environment.openStorage(raftDirectory, (stall) => {
    console.error(
      stall === undefined
        ? `dqlite-ts node ${node.id}: the Raft log is written again`
        : `dqlite-ts node ${node.id}: cannot write the Raft log (${stall.error.message}); ` +
            'waiting for space or write access, Raft carries on without this disk',
    );
  });
  let initial = storage.load();
  const fresh = initial.entries.length === 0 && initial.snapshot === undefined;
  if (fresh && node.bootstrap !== undefined) {
    const boot = bootstrapState(node.bootstrap);
    await new Promise<void>((resolve, reject) =>
      storage.persist({ hardState: boot.hardState, entries: boot.entries }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    initial = boot;
  }
  const core = new RaftCore({
    id: node.id,
    initialState: initial,
    // The lease (read-index.ts) needs check-quorum's stickiness; without it reads take rounds.
    config: {
      ...node.raft,
      leaseReads: (node.leaseReads ?? true) && (node.raft?.checkQuorum ?? true),
    },
    random: environment.random,
    now: () => environment.clock.now(),
  });
  // The marker survives restarts: the data that diverged is still there.
  const diverged = readDivergence(node.dataDir);
  if (diverged !== undefined) {
    core.holdCampaigns(diverged);
    console.error(`dqlite-ts node ${node.id}: ${divergenceAdvice(diverged)}`);
  }
  return { storage, core };
}
