import { unreachable, type Message } from '../../src/raft/types.js';

/** One line per message for traces: type, route, term and the fields that matter for safety. */
export function describeMessage(message: Message): string {
  const head = `${message.type} ${message.from}->${message.to} t${message.term}`;
  switch (message.type) {
    case 'RequestVote':
      return `${head} last=${message.lastLogIndex}/t${message.lastLogTerm}${flags(message.preVote, message.transfer)}`;
    case 'RequestVoteResult':
      return `${head} granted=${message.voteGranted}${message.preVote ? ' pre' : ''}`;
    case 'AppendEntries': {
      const entries = message.entries.map((entry) => `${entry.index}/t${entry.term}`).join(',');
      return `${head} prev=${message.prevLogIndex}/t${message.prevLogTerm} commit=${message.leaderCommit} [${entries}]`;
    }
    case 'AppendEntriesResult':
      return (
        `${head} ${message.success ? 'ok' : 'reject'} index=${message.index}` +
        (message.success ? '' : ` hint=${message.hintIndex}/t${message.hintTerm}`)
      );
    case 'InstallSnapshot':
      return (
        `${head} snapshot=${message.metadata.index}/t${message.metadata.term} ` +
        `offset=${message.offset} bytes=${message.data.length}${message.done ? ' done' : ''}`
      );
    case 'InstallSnapshotResult':
      return (
        `${head} snapshot=${message.snapshotIndex} next=${message.nextOffset}` +
        `${message.installed ? ' installed' : ''}${message.rejected ? ' rejected' : ''}`
      );
    case 'TimeoutNow':
      return head;
    case 'ReadIndex':
      return `${head} read=${message.requestId}`;
    case 'ReadIndexResult':
      return `${head} read=${message.requestId} ${message.success ? `index=${message.index}` : 'refused'}`;
    default:
      return unreachable(message);
  }
}

function flags(preVote: boolean, transfer: boolean): string {
  return `${preVote ? ' pre' : ''}${transfer ? ' transfer' : ''}`;
}
