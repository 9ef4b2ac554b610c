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
  type RaftInitialState,
} from '../raft/index.js';
import { divergenceAdvice, readDivergence } from './divergence-marker.js';
import type { NodeEnvironment, NodeStorage } from './node-environment.js';
import type { NodeLogger } from './node-logger.js';

/** What opening Raft reads of the node's options (ReplicatedEngineOptions documents them). */
export interface RaftOpening {
  readonly id: NodeId;
  readonly dataDir: string;
  readonly bootstrap?: Configuration;
  readonly raft?: Partial<RaftConfig>;
  readonly leaseReads?: boolean;
  readonly logger: NodeLogger;
}

/** What opening found: the storage, the core, and what the disk held before any bootstrap. */
export interface OpenedRaft {
  readonly storage: NodeStorage;
  readonly core: RaftCore;
  /** The state loaded from disk (a brand-new node's is empty even when it bootstraps). */
  readonly loaded: RaftInitialState;
}

/** Opens the node's Raft log under `<dataDir>/raft` and builds its core from what it holds. */
export async function openRaft(
  node: RaftOpening,
  environment: NodeEnvironment,
): Promise<OpenedRaft> {
  const raftDirectory = path.join(node.dataDir, 'raft');
  fs.mkdirSync(raftDirectory, { recursive: true });
  const logger = node.logger;
  const storage = environment.openStorage(raftDirectory, (stall) => {
    if (stall === undefined) logger.info({ disk: 'raft-log' }, 'disk problem cleared');
    else {
      logger.warn(
        { disk: 'raft-log', problem: stall.error.message },
        'disk problem: cannot write the Raft log; waiting for space or write access',
      );
    }
  });
  const loaded = storage.load();
  let initial = loaded;
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
    logger.error({ reason: diverged }, divergenceAdvice(diverged));
  }
  return { storage, core, loaded };
}
