// What /status.json, /healthz and /readyz answer: computed from the node's state at each request,
// with no side effects, so a probe or a page polling every second costs a few field reads.

import { Role } from '../raft/index.js';
import type { LeaderHistory } from './leader-history.js';
import type { MonitoredNode } from './monitored-node.js';

const memberRoleNames = {
  [Role.voter]: 'voter',
  [Role.standby]: 'standby',
  [Role.spare]: 'spare',
} as const;

/** One member of the configuration as the serving node knows it. */
export interface MemberStatus {
  /** Node ids in hexadecimal, as the node's log lines print them. */
  readonly id: string;
  readonly address: string;
  readonly role: 'voter' | 'standby' | 'spare';
  readonly isLeader: boolean;
  readonly isSelf: boolean;
  /** Known on the leader only: the highest index replicated there, and what it lacks. */
  readonly matchIndex?: number;
  readonly lagEntries?: number;
}

/** The body of /status.json (docs/operations.md, "Monitoring"). */
export interface NodeStatus {
  readonly timeMs: number;
  readonly node: {
    readonly id: string;
    readonly address: string;
    readonly http: string;
    readonly raftRole: string;
    readonly term: number;
    readonly commitIndex: number;
    readonly appliedIndex: number;
    readonly lastIndex: number;
    readonly snapshotIndex: number;
    /** Commit index known here minus applied index. */
    readonly lagEntries: number;
    readonly diverged: string | null;
  };
  readonly leader: { readonly id: string; readonly address: string } | null;
  readonly members: readonly MemberStatus[];
  readonly ready: { readonly ok: boolean; readonly reason: string };
  readonly leaderChanges: readonly {
    readonly atMs: number;
    readonly term: number;
    readonly leaderId: string;
  }[];
  readonly contentCheck: {
    readonly verdict: string;
    readonly atMs: number;
    readonly index: number | null;
    readonly details: readonly string[];
  } | null;
}

/**
 * Why this node is not ready to serve (a reason for a 503), or undefined when it is: it is not
 * closing, it is in its own configuration, it knows a leader, and its applied index is within
 * `lagEntriesMax` of the commit index it knows (the leader's, as of the leader's last message).
 */
export function notReadyReason(node: MonitoredNode, lagEntriesMax: number): string | undefined {
  if (node.closing()) return 'the node is closing';
  const engine = node.engine;
  const status = engine.status();
  if (!status.configuration.servers.some((server) => server.id === engine.id)) {
    return 'this node is not a member of a cluster yet';
  }
  if (status.leaderId === 0)
    return 'no leader is known (an election is running or peers are unreachable)';
  const lag = status.commitIndex - engine.appliedIndex;
  if (lag > lagEntriesMax) {
    return `applied index ${engine.appliedIndex} trails commit index ${status.commitIndex} by more than ${lagEntriesMax} entries`;
  }
  return undefined;
}

export function nodeStatus(
  node: MonitoredNode,
  context: {
    readonly http: string;
    readonly history: LeaderHistory;
    readonly lagEntriesMax: number;
  },
): NodeStatus {
  const engine = node.engine;
  const status = engine.status();
  const matches = engine.matchIndexes();
  const hex = (id: number) => id.toString(16);
  const leader = status.configuration.servers.find((server) => server.id === status.leaderId);
  const members = status.configuration.servers.map((server): MemberStatus => {
    const match = matches.get(server.id);
    return {
      id: hex(server.id),
      address: server.address,
      role: memberRoleNames[server.role],
      isLeader: server.id === status.leaderId,
      isSelf: server.id === engine.id,
      ...(match === undefined ? {} : { matchIndex: match, lagEntries: status.lastIndex - match }),
    };
  });
  const reason = notReadyReason(node, context.lagEntriesMax);
  const check = node.checks.last;
  return {
    timeMs: Date.now(),
    node: {
      id: hex(engine.id),
      address: engine.address,
      http: context.http,
      raftRole: status.role,
      term: status.term,
      commitIndex: status.commitIndex,
      appliedIndex: engine.appliedIndex,
      lastIndex: status.lastIndex,
      snapshotIndex: status.snapshotIndex,
      lagEntries: Math.max(0, status.commitIndex - engine.appliedIndex),
      diverged: engine.diverged ?? null,
    },
    leader: leader === undefined ? null : { id: hex(leader.id), address: leader.address },
    members,
    ready: { ok: reason === undefined, reason: reason ?? 'ready' },
    leaderChanges: context.history
      .list()
      .map((change) => ({ atMs: change.atMs, term: change.term, leaderId: hex(change.leaderId) })),
    contentCheck:
      check === undefined
        ? null
        : {
            verdict: check.verdict,
            atMs: check.atMs,
            index: check.index ?? null,
            details: check.details,
          },
  };
}
