import { decodeConfiguration } from '../../../src/raft/configuration.js';
import type { RaftStatus } from '../../../src/raft/raft-core.js';
import type { RaftEvent } from '../../../src/raft/ready.js';
import {
  EntryType,
  Role,
  unreachable,
  type Configuration,
  type Entry,
  type HardState,
  type Message,
} from '../../../src/raft/types.js';

/**
 * One-line, stable renderings of Raft values for the interaction scripts (cf. the `Describe*`
 * helpers of etcd's raft, written afresh). Every field a reader needs to check a line against the
 * paper is printed; nothing that varies between runs is.
 */

export function describeRole(role: Role): string {
  switch (role) {
    case Role.voter:
      return 'voter';
    case Role.standby:
      return 'standby';
    case Role.spare:
      return 'spare';
    default:
      return unreachable(role);
  }
}

/** `(1 2 3 4:spare)`: voters bare, other roles named. */
export function describeConfiguration(configuration: Configuration): string {
  const servers = configuration.servers.map((server) =>
    server.role === Role.voter ? `${server.id}` : `${server.id}:${describeRole(server.role)}`,
  );
  return `(${servers.join(' ')})`;
}

/** `3/2 "x"`, `2/2 barrier`, `4/2 config(1 2 3 4:spare)`. */
export function describeEntry(entry: Entry): string {
  const position = `${entry.index}/${entry.term}`;
  switch (entry.type) {
    case EntryType.command:
      return `${position} ${JSON.stringify(Buffer.from(entry.data).toString())}`;
    case EntryType.barrier:
      return `${position} barrier`;
    case EntryType.configuration:
      return `${position} config${describeConfiguration(decodeConfiguration(entry.data))}`;
    default:
      return unreachable(entry.type);
  }
}

export function describeEntries(entries: readonly Entry[]): string {
  return `[${entries.map(describeEntry).join(', ')}]`;
}

export function describeMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${message.type}`;
  switch (message.type) {
    case 'RequestVote': {
      const flags = `${message.preVote ? ' pre-vote' : ''}${message.transfer ? ' transfer' : ''}`;
      return `${head}${flags} term=${message.term} last=${message.lastLogIndex}/${message.lastLogTerm}`;
    }
    case 'RequestVoteResult': {
      const outcome = message.voteGranted ? 'granted' : 'refused';
      return `${head}${message.preVote ? ' pre-vote' : ''} term=${message.term} ${outcome}`;
    }
    case 'AppendEntries':
      return (
        `${head} term=${message.term} prev=${message.prevLogIndex}/${message.prevLogTerm}` +
        ` entries=${describeEntries(message.entries)} commit=${message.leaderCommit}` +
        ` seq=${message.heartbeatSequence}`
      );
    case 'AppendEntriesResult': {
      const outcome = message.success
        ? `ok index=${message.index}`
        : `reject index=${message.index} hint=${message.hintIndex}/${message.hintTerm}`;
      return `${head} term=${message.term} ${outcome} seq=${message.heartbeatSequence}`;
    }
    case 'InstallSnapshot': {
      const snapshot = `${message.metadata.index}/${message.metadata.term}`;
      return (
        `${head} term=${message.term} snapshot=${snapshot} size=${message.metadata.bytes}` +
        ` offset=${message.offset} length=${message.data.byteLength}` +
        `${message.done ? ' done' : ''} seq=${message.heartbeatSequence}`
      );
    }
    case 'InstallSnapshotResult': {
      const flags = `${message.installed ? ' installed' : ''}${message.rejected ? ' rejected' : ''}`;
      return (
        `${head} term=${message.term} snapshot=${message.snapshotIndex}` +
        ` next=${message.nextOffset}${flags} seq=${message.heartbeatSequence}`
      );
    }
    case 'TimeoutNow':
      return `${head} term=${message.term}`;
    case 'ReadIndex':
      return `${head} term=${message.term} read=${message.requestId}`;
    case 'ReadIndexResult':
      return (
        `${head} term=${message.term} read=${message.requestId}` +
        (message.success ? ` index=${message.index}` : ' refused')
      );
    default:
      return unreachable(message);
  }
}

/**
 * `n2: follower term=2 vote=1 leader=1 last=3/2 commit=3 applied=3`, plus `durable=` when it
 * differs from the last index (or always, with `showDurable`) and `snapshot=` once there is one.
 */
export function describeStatus(status: RaftStatus, showDurable: boolean): string {
  const parts = [
    `n${status.id}: ${status.role}`,
    `term=${status.term}`,
    `vote=${status.vote}`,
    `leader=${status.leaderId}`,
    `last=${status.lastIndex}/${status.lastTerm}`,
    `commit=${status.commitIndex}`,
    `applied=${status.appliedIndex}`,
  ];
  if (showDurable || status.durableIndex !== status.lastIndex) {
    parts.push(`durable=${status.durableIndex}`);
  }
  if (status.snapshotIndex > 0) parts.push(`snapshot=${status.snapshotIndex}`);
  return parts.join(' ');
}

export function describeEvent(event: RaftEvent): string {
  switch (event.type) {
    case 'leader-changed':
      return `leader-changed leader=${event.leaderId} term=${event.term}`;
    case 'role-changed':
      return `role-changed ${event.role} term=${event.term}`;
    case 'promotion-failed':
      return `promotion-failed id=${event.id} (${event.reason})`;
    case 'transfer-failed':
      return `transfer-failed target=${event.target} (${event.reason})`;
    case 'read-failed':
      return `read-failed id=${event.requestId} (${event.reason})`;
    default:
      return unreachable(event);
  }
}

export function describeHardState(hardState: HardState): string {
  return `term=${hardState.term} vote=${hardState.vote}`;
}
