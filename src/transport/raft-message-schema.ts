import type { Entry, Message, MessageType, SnapshotMetadata } from '../raft/types.js';

/**
 * The layout of every Raft message on a peer connection, declared once: the encoder and the
 * decoder in raft-message-codec.ts both walk these lists, so the two directions cannot drift.
 *
 * A frame is `u32 length | u8 format version | u8 message type code | fields`, little-endian,
 * where `length` counts every byte after itself. Field encodings, by kind:
 *
 * - `node-id`: u64, a safe integer >= 1.
 * - `uint64`: u64, a safe integer (terms, indexes, offsets, sequence numbers).
 * - `boolean`: u8, 0 or 1.
 * - `bytes`: u32 length, then the bytes.
 * - `entries`: u32 count, then per entry u64 index, u64 term, u8 type, u32 data length, data.
 * - `snapshot-metadata`: u64 index, u64 term, u64 configurationIndex, u64 bytes, then u32 length
 *   and the configuration as `encodeConfiguration` writes it.
 */

/** The format version this codec writes and the only one it reads. */
export const RAFT_FORMAT_VERSION = 1;

/** Bytes before a frame's fields: u32 length, u8 version, u8 type code. */
export const RAFT_FRAME_HEADER_BYTES = 6;

/** Bytes of an entry before its data: u64 index, u64 term, u8 type, u32 data length. */
export const ENTRY_HEADER_BYTES = 21;

/**
 * Most entries one AppendEntries may carry. The frame size alone would allow millions of empty
 * entries, each costing far more memory decoded than its 21 bytes on the wire.
 */
export const MESSAGE_ENTRIES_MAX = 65_536;

/**
 * Type codes on the wire. Codes are only ever added: a code keeps its meaning across versions so
 * that nodes of mixed versions can tell an unknown message from a misread one.
 */
export const RaftMessageCode = {
  RequestVote: 1,
  RequestVoteResult: 2,
  AppendEntries: 3,
  AppendEntriesResult: 4,
  InstallSnapshot: 5,
  InstallSnapshotResult: 6,
  TimeoutNow: 7,
  ReadIndex: 8,
  ReadIndexResult: 9,
} as const satisfies Record<MessageType, number>;

const messageTypeByCode = new Map<number, MessageType>(
  Object.entries(RaftMessageCode).map(([type, code]) => [code, type as MessageType]),
);

/** The message type a code stands for, or `undefined` for a code this version does not know. */
export function messageTypeOf(code: number): MessageType | undefined {
  return messageTypeByCode.get(code);
}

export type RaftFieldKind =
  'node-id' | 'uint64' | 'boolean' | 'bytes' | 'entries' | 'snapshot-metadata';

export type RaftFieldSchema = readonly (readonly [name: string, kind: RaftFieldKind])[];

/** Field lists in wire order. Names are the `Message` property names of src/raft/types.ts. */
export const raftMessageFields = {
  RequestVote: [
    ['from', 'node-id'],
    ['to', 'node-id'],
    ['term', 'uint64'],
    ['lastLogIndex', 'uint64'],
    ['lastLogTerm', 'uint64'],
    ['preVote', 'boolean'],
    ['transfer', 'boolean'],
  ],
  RequestVoteResult: [
    ['from', 'node-id'],
    ['to', 'node-id'],
    ['term', 'uint64'],
    ['voteGranted', 'boolean'],
    ['preVote', 'boolean'],
  ],
  AppendEntries: [
    ['from', 'node-id'],
    ['to', 'node-id'],
    ['term', 'uint64'],
    ['prevLogIndex', 'uint64'],
    ['prevLogTerm', 'uint64'],
    ['entries', 'entries'],
    ['leaderCommit', 'uint64'],
    ['heartbeatSequence', 'uint64'],
  ],
  AppendEntriesResult: [
    ['from', 'node-id'],
    ['to', 'node-id'],
    ['term', 'uint64'],
    ['success', 'boolean'],
    ['index', 'uint64'],
    ['hintIndex', 'uint64'],
    ['hintTerm', 'uint64'],
    ['heartbeatSequence', 'uint64'],
  ],
  InstallSnapshot: [
    ['from', 'node-id'],
    ['to', 'node-id'],
    ['term', 'uint64'],
    ['metadata', 'snapshot-metadata'],
    ['offset', 'uint64'],
    ['data', 'bytes'],
    ['done', 'boolean'],
    ['heartbeatSequence', 'uint64'],
  ],
  InstallSnapshotResult: [
    ['from', 'node-id'],
    ['to', 'node-id'],
    ['term', 'uint64'],
    ['snapshotIndex', 'uint64'],
    ['nextOffset', 'uint64'],
    ['installed', 'boolean'],
    ['rejected', 'boolean'],
    ['heartbeatSequence', 'uint64'],
  ],
  TimeoutNow: [
    ['from', 'node-id'],
    ['to', 'node-id'],
    ['term', 'uint64'],
  ],
  ReadIndex: [
    ['from', 'node-id'],
    ['to', 'node-id'],
    ['term', 'uint64'],
    ['requestId', 'uint64'],
  ],
  ReadIndexResult: [
    ['from', 'node-id'],
    ['to', 'node-id'],
    ['term', 'uint64'],
    ['requestId', 'uint64'],
    ['success', 'boolean'],
    ['index', 'uint64'],
  ],
} as const satisfies Record<MessageType, RaftFieldSchema>;

type FieldValue<K extends RaftFieldKind> = K extends 'node-id' | 'uint64'
  ? number
  : K extends 'boolean'
    ? boolean
    : K extends 'bytes'
      ? Uint8Array
      : K extends 'entries'
        ? readonly Entry[]
        : K extends 'snapshot-metadata'
          ? SnapshotMetadata
          : never;

type FieldsOf<S extends RaftFieldSchema> = { [F in S[number] as F[0]]: FieldValue<F[1]> };

type Described<T extends MessageType> = { type: T } & FieldsOf<(typeof raftMessageFields)[T]>;

type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

type AllTrue<T extends Record<MessageType, true>> = T;

/**
 * Fails to compile when a message of src/raft/types.ts gains, loses or retypes a field that its
 * schema above does not declare: a field the codec silently skipped would be lost between nodes.
 */
type _SchemaDescribesEveryMessage = AllTrue<{
  [T in MessageType]: SameShape<Described<T>, Extract<Message, { type: T }>>;
}>;
