import fc from 'fast-check';
import { encodeConfiguration } from '../../../src/raft/configuration.js';
import { EntryType, Role } from '../../../src/raft/types.js';
import type {
  Configuration,
  Entry,
  Message,
  NodeId,
  SnapshotMetadata,
} from '../../../src/raft/types.js';

/**
 * fast-check arbitraries for every Raft message, with the values at the edges of each field drawn
 * often: 0, 2^32 (where a u64 stops fitting a u32) and Number.MAX_SAFE_INTEGER.
 */

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export const uint64 = fc.oneof(
  fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, MAX_SAFE),
  fc.maxSafeNat(),
);
export const positive = fc.oneof(
  fc.constantFrom(1, 2 ** 32, MAX_SAFE),
  fc.integer({ min: 1, max: MAX_SAFE }),
);
const bytes = fc.uint8Array({ maxLength: 64 });

/** Valid configurations only: decodeConfiguration refuses the others (tested in hostile input). */
export const configuration: fc.Arbitrary<Configuration> = fc
  .uniqueArray(
    fc.record({
      id: positive,
      address: fc.string({ unit: 'grapheme', maxLength: 8 }),
      role: fc.constantFrom(Role.voter, Role.standby, Role.spare),
    }),
    { selector: (server) => server.id, minLength: 1, maxLength: 5 },
  )
  .map(([first, ...rest]) => ({ servers: [{ ...first!, role: Role.voter }, ...rest] }));

export const entry: fc.Arbitrary<Entry> = fc.oneof(
  fc.record({
    index: positive,
    term: positive,
    type: fc.constantFrom(EntryType.command, EntryType.barrier),
    data: bytes,
  }),
  fc.record({
    index: positive,
    term: positive,
    type: fc.constant(EntryType.configuration),
    data: configuration.map((value) => new Uint8Array(encodeConfiguration(value))),
  }),
);

const snapshotMetadata: fc.Arbitrary<SnapshotMetadata> = fc.record({
  index: uint64,
  term: uint64,
  configuration,
  configurationIndex: uint64,
  bytes: uint64,
});

const envelope = { from: positive, to: positive, term: uint64 };

export const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constant('RequestVote' as const),
    ...envelope,
    lastLogIndex: uint64,
    lastLogTerm: uint64,
    preVote: fc.boolean(),
    transfer: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('RequestVoteResult' as const),
    ...envelope,
    voteGranted: fc.boolean(),
    preVote: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('AppendEntries' as const),
    ...envelope,
    prevLogIndex: uint64,
    prevLogTerm: uint64,
    entries: fc.array(entry, { maxLength: 5 }),
    leaderCommit: uint64,
    heartbeatSequence: uint64,
  }),
  fc.record({
    type: fc.constant('AppendEntriesResult' as const),
    ...envelope,
    success: fc.boolean(),
    index: uint64,
    hintIndex: uint64,
    hintTerm: uint64,
    heartbeatSequence: uint64,
  }),
  fc.record({
    type: fc.constant('InstallSnapshot' as const),
    ...envelope,
    metadata: snapshotMetadata,
    offset: uint64,
    data: bytes,
    done: fc.boolean(),
    heartbeatSequence: uint64,
  }),
  fc.record({
    type: fc.constant('InstallSnapshotResult' as const),
    ...envelope,
    snapshotIndex: uint64,
    nextOffset: uint64,
    installed: fc.boolean(),
    rejected: fc.boolean(),
    heartbeatSequence: uint64,
  }),
  fc.record({ type: fc.constant('TimeoutNow' as const), ...envelope }),
  fc.record({ type: fc.constant('ReadIndex' as const), ...envelope, requestId: uint64 }),
  fc.record({
    type: fc.constant('ReadIndexResult' as const),
    ...envelope,
    requestId: uint64,
    success: fc.boolean(),
    index: uint64,
  }),
);

const sampleConfiguration: Configuration = {
  servers: [
    { id: 1, address: '127.0.0.1:9001', role: Role.voter },
    { id: 2, address: '127.0.0.1:9002', role: Role.standby },
    { id: 3, address: '127.0.0.1:9003', role: Role.spare },
  ],
};

/** One message of every type from `from` to `to`, for the socket tests. */
export function sampleMessages(from: NodeId, to: NodeId): Message[] {
  const metadata: SnapshotMetadata = {
    index: 90,
    term: 4,
    configuration: sampleConfiguration,
    configurationIndex: 12,
    bytes: 3,
  };
  return [
    {
      type: 'RequestVote',
      from,
      to,
      term: 5,
      lastLogIndex: 9,
      lastLogTerm: 4,
      preVote: true,
      transfer: false,
    },
    { type: 'RequestVoteResult', from, to, term: 5, voteGranted: true, preVote: false },
    {
      type: 'AppendEntries',
      from,
      to,
      term: 5,
      prevLogIndex: 9,
      prevLogTerm: 4,
      entries: [
        { index: 10, term: 5, type: EntryType.command, data: new Uint8Array([1, 2, 3]) },
        { index: 11, term: 5, type: EntryType.barrier, data: new Uint8Array() },
        {
          index: 12,
          term: 5,
          type: EntryType.configuration,
          data: new Uint8Array(encodeConfiguration(sampleConfiguration)),
        },
      ],
      leaderCommit: 9,
      heartbeatSequence: 77,
    },
    {
      type: 'AppendEntriesResult',
      from,
      to,
      term: 5,
      success: false,
      index: 9,
      hintIndex: 7,
      hintTerm: 3,
      heartbeatSequence: 77,
    },
    {
      type: 'InstallSnapshot',
      from,
      to,
      term: 5,
      metadata,
      offset: 0,
      data: new Uint8Array([7, 8, 9]),
      done: true,
      heartbeatSequence: 78,
    },
    {
      type: 'InstallSnapshotResult',
      from,
      to,
      term: 5,
      snapshotIndex: 90,
      nextOffset: 3,
      installed: true,
      rejected: false,
      heartbeatSequence: 78,
    },
    { type: 'TimeoutNow', from, to, term: 5 },
    { type: 'ReadIndex', from, to, term: 5, requestId: 12 },
    { type: 'ReadIndexResult', from, to, term: 5, requestId: 12, success: true, index: 91 },
  ];
}
