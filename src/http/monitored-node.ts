// What the HTTP endpoint reads of a running node: narrow structural types over ReplicatedEngine,
// NodeListener and ContentCheckMonitor, so the endpoint depends only on what it calls.

import type { NodeId, RaftEvent, RaftStatus } from '../raft/index.js';
import type { ContentCheckSummary, ContentCheckVerdict } from '../server/content-check-monitor.js';
import type { LogFiles } from '../storage/index.js';

export interface MonitoredEngine {
  readonly id: NodeId;
  readonly address: string;
  status(): RaftStatus;
  /** What the SQL engine applied (it may trail Raft's applied index briefly). */
  readonly appliedIndex: number;
  matchIndexes(): Map<NodeId, number>;
  logFiles(): LogFiles | undefined;
  readonly diverged: string | undefined;
  onEvent(listener: (event: RaftEvent) => void): () => void;
}

export interface MonitoredNode {
  readonly engine: MonitoredEngine;
  readonly listener: { readonly clientConnections: number };
  readonly checks: {
    readonly last: ContentCheckSummary | undefined;
    readonly verdicts: Readonly<Record<ContentCheckVerdict, number>>;
  };
  /** The node started closing (or stopped after a fatal error). */
  closing(): boolean;
}
