import type { Mutant } from './mutant.js';

/**
 * Bugs the simulators must catch (`npm run sim:mutants`). Each models a mistake a Raft
 * implementation plausibly makes; each replacement's search text is exact, so a refactor of the
 * code under test makes the runner refuse the mutant instead of silently testing nothing.
 */
export const mutants: readonly Mutant[] = [
  {
    name: 'vote-skips-log-check',
    description:
      'votes and pre-votes are granted without the election restriction, so a candidate missing committed entries can win (§5.4.1)',
    mode: 'raft',
    file: 'src/raft/election.ts',
    replacements: [
      {
        search: 'const upToDate = state.log.isUpToDate(request.lastLogIndex, request.lastLogTerm);',
        replace: 'const upToDate = true;',
      },
    ],
  },
  {
    name: 'real-vote-skips-log-check',
    description:
      'only the pre-vote checks that the candidate is up to date; the real vote forgets it (§5.4.1, thesis §9.6)',
    mode: 'raft',
    file: 'src/raft/election.ts',
    replacements: [
      {
        search: 'granted = (state.vote === 0 || state.vote === request.from) && upToDate;',
        replace: 'granted = state.vote === 0 || state.vote === request.from;',
      },
    ],
  },
  {
    name: 'commit-earlier-term-by-count',
    description:
      'a leader commits an entry of an earlier term once a majority stores it, which a later leader may overwrite (§5.4.2, figure 8)',
    mode: 'raft',
    file: 'src/raft/replication.ts',
    replacements: [
      {
        search: 'if (index <= log.commitIndex || log.term(index) !== state.term) return false;',
        replace: 'if (index <= log.commitIndex) return false;',
      },
    ],
  },
  {
    name: 'follower-keeps-conflicts',
    description:
      'a follower skips leader entries at indexes it already holds without comparing terms, keeping a conflicting suffix (§5.3 step 3)',
    mode: 'raft',
    file: 'src/raft/raft-log.ts',
    replacements: [
      {
        search: 'if (existing === entry.term) continue;',
        replace: 'if (existing !== undefined) continue;',
      },
    ],
  },
  {
    name: 'leader-ignores-higher-term',
    description:
      'a leader drops messages that carry a higher term instead of adopting the term and stepping down (§5.1)',
    mode: 'raft',
    file: 'src/raft/term-rules.ts',
    replacements: [
      {
        search: "  if (message.term > state.term) {\n    if (message.type === 'RequestVote') {",
        replace:
          "  if (message.term > state.term) {\n    if (state.role === 'leader') return false;\n    if (message.type === 'RequestVote') {",
      },
    ],
  },
  {
    name: 'quorum-one-short',
    description:
      'a majority is taken as floor(n/2) voters, so half the cluster (one node of three) elects a leader (§5.2)',
    mode: 'raft',
    file: 'src/raft/quorum.ts',
    replacements: [
      {
        search: 'return Math.floor(voterCount / 2) + 1;',
        replace: 'return Math.floor(voterCount / 2);',
      },
    ],
  },
  {
    name: 'majority-of-n-minus-1',
    description:
      'quorums are computed over n-1 voters (the leader left out, then counted), so with an even voter count half the cluster elects and commits (§5.2, §5.3)',
    mode: 'raft',
    file: 'src/raft/quorum.ts',
    replacements: [
      {
        search: 'return matches[Math.floor(voters.length / 2)] ?? 0;',
        replace: 'return matches[Math.floor((voters.length - 1) / 2)] ?? 0;',
      },
      {
        search: 'return Math.floor(voterCount / 2) + 1;',
        replace: 'return Math.floor((voterCount - 1) / 2) + 1;',
      },
    ],
  },
  {
    name: 'send-before-persist',
    description:
      'votes and acknowledgements go out before the term, vote and entries they promise are durable, so a crash breaks the promise (§5.1, figure 2)',
    mode: 'raft',
    file: 'src/raft/raft-state.ts',
    replacements: [
      {
        search:
          '  sendAfterPersist(message: Message): void {\n    this.messagesAfterPersist.push(message);',
        replace: '  sendAfterPersist(message: Message): void {\n    this.messages.push(message);',
      },
    ],
  },
  {
    name: 'lease-never-expires',
    description:
      'a leader that once held a lease serves reads from it without comparing its end with the clock, so a stale leader serves stale reads (thesis §6.4.1)',
    mode: 'raft',
    file: 'src/raft/read-index.ts',
    replacements: [
      {
        search: 'return state.now() < state.leaseUntilMs;',
        replace: 'return state.leaseUntilMs > 0;',
      },
    ],
  },
  {
    name: 'follower-read-from-own-commit',
    description:
      'a follower serves a read at its own commit index instead of asking the leader for one, so it misses writes the leader acknowledged that it has not heard of (thesis §6.4)',
    mode: 'raft',
    file: 'src/raft/forwarded-reads.ts',
    replacements: [
      {
        search: "  if (state.leaderId === 0) return 'no known leader';\n",
        replace:
          "  if (state.leaderId === 0) return 'no known leader';\n  state.readStates.push({ requestId, index: state.log.commitIndex });\n  return undefined;\n",
      },
    ],
  },

  {
    name: 'snapshot-installed-without-fsync',
    description:
      'a follower installs an incoming snapshot and answers the leader before the disk has made it durable (the fsync), so a crash can take back what it acknowledged',
    mode: 'raft',
    file: 'src/raft/driver-snapshots.ts',
    replacements: [
      {
        search:
          '      storage.installSnapshot(\n        write.metadata,\n        { keepLogAfter: write.keepLogAfter, trailingEntries },\n        (installError) => {\n          if (this.#host.stopped()) return;\n          if (installError !== undefined) return this.#host.fatal(installError);\n          this.#host.input(() => core.snapshotWritten(write));\n        },\n      );',
        replace:
          '      storage.installSnapshot(\n        write.metadata,\n        { keepLogAfter: write.keepLogAfter, trailingEntries },\n        () => undefined,\n      );\n      this.#host.input(() => core.snapshotWritten(write));',
      },
    ],
  },
  // The whole node (test/sim/node): the server stack between Raft and the client.
  {
    name: 'replica-read-unconfirmed',
    description:
      'a follower serves a read-index read from what it has applied, without asking the leader, so it misses writes the leader acknowledged that it has not applied',
    mode: 'node',
    file: 'src/server/replicated-engine.ts',
    replacements: [
      {
        search:
          "    const fresh =\n      query.consistency === 'bounded' && this.#followerReads.freshWithin(query.maxStalenessMs);",
        replace: '    const fresh = true;',
      },
    ],
  },
  {
    name: 'replica-reader-outlives-apply',
    description:
      "a follower's read connection stays open while entries write pages under it, so SQLite serves reads from pages it cached before",
    mode: 'node',
    file: 'src/server/sql/sql-engine.ts',
    replacements: [
      {
        search: '    if (changesFiles(request)) this.#replicaReads.closeAll();',
        replace:
          "    if (changesFiles(request) && request.op !== 'apply') this.#replicaReads.closeAll();",
      },
    ],
  },
  {
    name: 'answer-before-commit',
    description:
      'a write is answered OK once the engine committed it locally, without waiting until Raft committed it ("no OK without a commit")',
    mode: 'node',
    file: 'src/server/write-path.ts',
    replacements: [
      {
        search:
          "      if (!wrote && call.op !== 'more-rows') await confirmations.confirm();\n      await applied.reached(leadership.lastProposedIndex);",
        replace:
          "      if (!wrote && call.op !== 'more-rows') await confirmations.confirm();\n      if (!wrote) await applied.reached(leadership.lastProposedIndex);",
      },
    ],
  },
  {
    name: 'read-unconfirmed',
    description:
      'a read run in the engine is answered without confirming that this node still leads (ReadIndex, thesis §6.4), so a deposed leader serves stale reads',
    mode: 'node',
    file: 'src/server/write-path.ts',
    replacements: [
      {
        search: "      if (!wrote && call.op !== 'more-rows') await confirmations.confirm();",
        replace: '',
      },
    ],
  },
  {
    name: 'anchor-never-reads',
    description:
      "the database's first connection turns WAL mode on but never reads, so it holds no lock, a closing session deletes the WAL and the capture reads a stale file (acknowledged writes never replicated)",
    mode: 'node',
    file: 'src/fsm/leader-databases.ts',
    replacements: [
      {
        search: '      const knownDataVersion = dataVersion.get() as number;',
        replace: '      const knownDataVersion = 1;',
      },
    ],
  },
  {
    name: 'undo-skipped-on-step-down',
    description:
      'a deposed leader closes its connections but does not undo the transactions Raft never committed, so its files keep writes the cluster does not have',
    mode: 'node',
    file: 'src/fsm/database-set.ts',
    replacements: [
      {
        search:
          '    for (const write of pending) this.#pageFiles.write(this.#file(write.undo.database), write.undo);',
        replace: '',
      },
    ],
  },
  {
    name: 'point-read-ignores-inflight-writes',
    description:
      'a point read on the main thread is answered without waiting for the replies of writes the engine already committed, so it can show a transaction that is then undone',
    mode: 'node',
    file: 'src/server/write-path.ts',
    replacements: [
      { search: '      if (writersTaken !== undefined) await writersTaken;', replace: '' },
    ],
  },
  {
    name: 'transaction-survives-step-down',
    description:
      'after leadership moves, the statements of a transaction it ended run on a fresh connection in autocommit, committing part of a transaction whose COMMIT then fails',
    mode: 'node',
    file: 'src/server/sql/session-statements.ts',
    replacements: [
      { search: '    if (session.transactionLost) throw transactionLost();\n', replace: '' },
    ],
  },
  {
    name: 'node-lease-never-expires',
    description:
      "the production lease, as the whole node runs it, never compares its end with the node's clock: a leader stopped and cut off serves stale reads when it wakes (thesis §6.4.1)",
    mode: 'node',
    file: 'src/raft/read-index.ts',
    replacements: [
      {
        search: 'return state.now() < state.leaseUntilMs;',
        replace: 'return state.leaseUntilMs > 0;',
      },
    ],
  },
  {
    name: 'part-applied-before-last',
    description:
      'each part of a transaction spanning several entries is written as it applies, so the first parts of a transaction its leader lost stay in the files',
    mode: 'node',
    file: 'src/fsm/unfinished-transaction.ts',
    replacements: [
      {
        search: '    if (!part.last) return undefined;',
        replace: '    if (!part.last) return part.set;',
      },
    ],
  },
  {
    name: 'snapshot-inside-transaction',
    description:
      'a snapshot is taken between the parts of a transaction spanning several entries, so Raft drops its first parts and a node restored from it never has them',
    mode: 'node',
    file: 'src/fsm/database-set.ts',
    replacements: [
      {
        search: '    if (this.#pending.length > 0 || this.#unfinished.open) return false;',
        replace: '    if (this.#pending.length > 0) return false;',
      },
    ],
  },
];
