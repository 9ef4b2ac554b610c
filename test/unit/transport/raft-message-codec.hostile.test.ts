import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Role } from '../../../src/raft/types.js';
import type { Message } from '../../../src/raft/types.js';
import {
  MESSAGE_ENTRIES_MAX,
  RAFT_FRAME_BYTES_MAX_MIN,
  RaftFrameDecoder,
  RaftTransportError,
  decodeRaftMessage,
  encodeRaftMessage,
} from '../../../src/transport/index.js';
import { expectRaftTransportError } from './expect-raft-transport-error.js';
import { message, sampleMessages } from './message-arbitraries.js';

/**
 * Malformed input, one case per rule, then random bytes and mutations of valid frames: each must
 * end in a RaftTransportError with a stable reason, never a RangeError from a Buffer read, an
 * assertion or an allocation sized by a hostile field.
 */

const seed = Number(process.env['TRANSPORT_TEST_SEED'] ?? 4_711);

const requestVote: Message = {
  type: 'RequestVote',
  from: 1,
  to: 2,
  term: 3,
  lastLogIndex: 4,
  lastLogTerm: 5,
  preVote: false,
  transfer: true,
};
/** Byte offsets in RequestVote's frame (raft-message-schema.ts). */
const TERM_OFFSET = 22;
const PRE_VOTE_OFFSET = 46;

function frameOf(value: Message): Buffer {
  return Buffer.from(encodeRaftMessage(value));
}

function withLength(frame: Buffer): Buffer {
  frame.writeUInt32LE(frame.length - 4, 0);
  return frame;
}

/** Pushes `bytes` in one chunk and drains the decoder. */
function drain(decoder: RaftFrameDecoder, bytes: Buffer): Message[] {
  decoder.push(bytes);
  const messages: Message[] = [];
  for (let next = decoder.next(); next !== undefined; next = decoder.next()) messages.push(next);
  return messages;
}

describe('decodeRaftMessage refuses', () => {
  it('a frame shorter than its header, or cut anywhere', () => {
    const frame = frameOf(requestVote);
    for (let length = 0; length < frame.length; length++) {
      expectRaftTransportError(() => decodeRaftMessage(frame.subarray(0, length)), 'truncated');
    }
  });

  it('a field cut short with a length that agrees', () => {
    const frame = withLength(frameOf(requestVote).subarray(0, PRE_VOTE_OFFSET + 1));
    expectRaftTransportError(() => decodeRaftMessage(frame), 'truncated');
  });

  it('bytes after the last field, whether the length counts them or not', () => {
    const longer = Buffer.concat([frameOf(requestVote), Buffer.from([0])]);
    expectRaftTransportError(() => decodeRaftMessage(longer), 'trailing-bytes');
    expectRaftTransportError(() => decodeRaftMessage(withLength(longer)), 'trailing-bytes');
  });

  it('an unknown format version or type code', () => {
    const version = frameOf(requestVote);
    version[4] = 2;
    expectRaftTransportError(() => decodeRaftMessage(version), 'unknown-version');
    for (const code of [0, 10, 255]) {
      const type = frameOf(requestVote);
      type[5] = code;
      expectRaftTransportError(() => decodeRaftMessage(type), 'unknown-type');
    }
  });

  it('a boolean other than 0 or 1, and an unknown entry type', () => {
    const boolean = frameOf(requestVote);
    boolean[PRE_VOTE_OFFSET] = 2;
    expectRaftTransportError(() => decodeRaftMessage(boolean), 'bad-enum');
    const append = sampleMessages(1, 2)[2]!;
    const entryType = frameOf(append);
    // The first entry's type: header, from, to, term, prevLogIndex, prevLogTerm, count, index, term.
    entryType[6 + 8 * 5 + 4 + 16] = 9;
    expectRaftTransportError(() => decodeRaftMessage(entryType), 'bad-enum');
  });

  it('a u64 above Number.MAX_SAFE_INTEGER, by one and by the most', () => {
    for (const value of [2n ** 53n, 2n ** 64n - 1n]) {
      const frame = frameOf(requestVote);
      frame.writeBigUInt64LE(value, TERM_OFFSET);
      expectRaftTransportError(() => decodeRaftMessage(frame), 'unsafe-integer');
    }
    const largest = frameOf(requestVote);
    largest.writeBigUInt64LE(2n ** 53n - 1n, TERM_OFFSET);
    expect(decodeRaftMessage(largest)).toMatchObject({ term: Number.MAX_SAFE_INTEGER });
  });

  it('node id 0, entry index or term 0, and a configuration that does not decode', () => {
    const from = frameOf(requestVote);
    from.writeBigUInt64LE(0n, 6);
    expectRaftTransportError(() => decodeRaftMessage(from), 'malformed');
    const append = sampleMessages(1, 2)[2]! as Extract<Message, { type: 'AppendEntries' }>;
    const [first, ...rest] = append.entries;
    const index = frameOf(append);
    index.writeBigUInt64LE(0n, 6 + 8 * 5 + 4);
    expectRaftTransportError(() => decodeRaftMessage(index), 'malformed');
    const badConfiguration = { ...first!, type: 3 as const, data: new Uint8Array([9, 9, 9]) };
    const entries = [badConfiguration, ...rest];
    expectRaftTransportError(() => decodeRaftMessage(frameOf({ ...append, entries })), 'malformed');
  });

  it('a snapshot configuration without voters, and one longer than any valid one', () => {
    const snapshot = sampleMessages(1, 2)[4]! as Extract<Message, { type: 'InstallSnapshot' }>;
    const frame = frameOf(snapshot);
    // The first server's role byte: header, from, to, term, 4 metadata u64s, u32 length,
    // configuration version and count, server id.
    const roleOffset = 6 + 8 * 3 + 8 * 4 + 4 + 5 + 8;
    expect(frame[roleOffset]).toBe(Role.voter);
    frame[roleOffset] = Role.spare;
    expectRaftTransportError(() => decodeRaftMessage(frame), 'malformed');
    const oversized = frameOf(snapshot);
    oversized.writeUInt32LE(0xffffffff, roleOffset - 13 - 4);
    expectRaftTransportError(() => decodeRaftMessage(oversized), 'oversized');
  });

  it('an entry count over MESSAGE_ENTRIES_MAX, or over what the bytes could hold', () => {
    const append = frameOf(sampleMessages(1, 2)[2]!);
    const countOffset = 6 + 8 * 5;
    append.writeUInt32LE(MESSAGE_ENTRIES_MAX + 1, countOffset);
    expectRaftTransportError(() => decodeRaftMessage(append), 'oversized');
    append.writeUInt32LE(MESSAGE_ENTRIES_MAX, countOffset);
    expectRaftTransportError(() => decodeRaftMessage(append), 'truncated');
  });
});

describe('encodeRaftMessage refuses values the format cannot carry', () => {
  it.each([
    ['an unsafe term', { ...requestVote, term: 2 ** 53 }],
    ['a negative index', { ...requestVote, lastLogIndex: -1 }],
    ['a fractional term', { ...requestVote, term: 1.5 }],
    ['node id 0', { ...requestVote, to: 0 }],
    ['a boolean given as a number', { ...requestVote, preVote: 1 as unknown as boolean }],
  ])('%s', (_, value) => {
    expect(() => encodeRaftMessage(value)).toThrow(RangeError);
  });

  it('more entries than MESSAGE_ENTRIES_MAX, an unknown entry type, an invalid configuration', () => {
    const append = sampleMessages(1, 2)[2]! as Extract<Message, { type: 'AppendEntries' }>;
    const entry = { index: 1, term: 1, type: 1 as const, data: new Uint8Array() };
    const entries = Array.from({ length: MESSAGE_ENTRIES_MAX + 1 }, () => entry);
    expect(() => encodeRaftMessage({ ...append, entries })).toThrow(RangeError);
    const unknownType = { ...entry, type: 7 as unknown as 1 };
    expect(() => encodeRaftMessage({ ...append, entries: [unknownType] })).toThrow(RangeError);
    const snapshot = sampleMessages(1, 2)[4]! as Extract<Message, { type: 'InstallSnapshot' }>;
    const metadata = { ...snapshot.metadata, configuration: { servers: [] } };
    expect(() => encodeRaftMessage({ ...snapshot, metadata })).toThrow(RangeError);
  });
});

describe('RaftFrameDecoder', () => {
  it('refuses a length over frameBytesMax from the header alone, before the body arrives', () => {
    const decoder = new RaftFrameDecoder({ frameBytesMax: RAFT_FRAME_BYTES_MAX_MIN });
    const header = Buffer.from([0, 0, 0, 0, 1, 1]);
    header.writeUInt32LE(RAFT_FRAME_BYTES_MAX_MIN - 3, 0);
    expectRaftTransportError(() => drain(decoder, header), 'oversized');
    expect(decoder.bufferedBytes).toBe(header.length);
  });

  it('accepts a frame of exactly frameBytesMax', () => {
    const decoder = new RaftFrameDecoder({ frameBytesMax: RAFT_FRAME_BYTES_MAX_MIN });
    const snapshot = sampleMessages(1, 2)[4]! as Extract<Message, { type: 'InstallSnapshot' }>;
    const overhead = encodeRaftMessage({ ...snapshot, data: new Uint8Array() }).length;
    const data = new Uint8Array(RAFT_FRAME_BYTES_MAX_MIN - overhead);
    const exact = encodeRaftMessage({ ...snapshot, data });
    expect(exact.length).toBe(RAFT_FRAME_BYTES_MAX_MIN);
    expect(drain(decoder, exact)).toHaveLength(1);
    const over = encodeRaftMessage({ ...snapshot, data: new Uint8Array(data.length + 1) });
    expectRaftTransportError(() => drain(decoder, over), 'oversized');
  });

  it('refuses an unknown version as soon as the header arrives, and stays failed', () => {
    const decoder = new RaftFrameDecoder();
    const frame = frameOf(requestVote);
    frame[4] = 0;
    expect(drain(decoder, frame.subarray(0, 5))).toEqual([]);
    expectRaftTransportError(() => drain(decoder, frame.subarray(5, 6)), 'unknown-version');
    expectRaftTransportError(() => decoder.next(), 'unknown-version');
    expectRaftTransportError(() => decoder.push(frameOf(requestVote)), 'unknown-version');
  });

  it('rejects misspelled options and out-of-range caps', () => {
    expect(() => new RaftFrameDecoder({ frameByteMax: 1 } as never)).toThrow(TypeError);
    expect(() => new RaftFrameDecoder({ frameBytesMax: RAFT_FRAME_BYTES_MAX_MIN - 1 })).toThrow(
      RangeError,
    );
    expect(() => new RaftFrameDecoder({ frameBytesMax: 2 ** 32 })).toThrow(RangeError);
  });
});

/** Decodes `bytes` as a stream; only RaftTransportError may escape. */
function decodeOrTypedError(bytes: Buffer): Message[] | RaftTransportError {
  try {
    return drain(new RaftFrameDecoder({ frameBytesMax: RAFT_FRAME_BYTES_MAX_MIN }), bytes);
  } catch (error) {
    if (error instanceof RaftTransportError) return error;
    throw error;
  }
}

/** Whatever decodes must encode again and decode to the same message. */
function expectReencodable(messages: Message[] | RaftTransportError): void {
  if (messages instanceof RaftTransportError) return;
  for (const decoded of messages) {
    expect(decodeRaftMessage(encodeRaftMessage(decoded))).toEqual(decoded);
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('word' as const), at: fc.nat(), value: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(frame: Buffer, change: Mutation): Buffer {
  const copy = Buffer.from(frame);
  const at = change.at % copy.length;
  switch (change.kind) {
    case 'flip':
      copy[at] = copy[at]! ^ (1 << change.bit);
      return copy;
    case 'cut':
      return copy.subarray(0, at);
    case 'insert':
      return Buffer.concat([copy.subarray(0, at), Buffer.from([change.byte]), copy.subarray(at)]);
    case 'word':
      if (at + 4 <= copy.length) copy.writeUInt32LE(change.value % 2 ** 32, at);
      return copy;
  }
}

describe('hostile input', () => {
  it('random bytes end in messages or a RaftTransportError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expectReencodable(decodeOrTypedError(Buffer.from(bytes)));
      }),
      { seed, numRuns: 3_000 },
    );
  });

  it('random bytes after a valid header end the same way', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3, 4, 5, 6, 7),
        fc.uint8Array({ maxLength: 300 }),
        (code, body) => {
          const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 1, code]), body]);
          expectReencodable(decodeOrTypedError(withLength(frame)));
        },
      ),
      { seed, numRuns: 3_000 },
    );
  });

  it('mutated valid frames, with the length fixed up or not, end the same way', () => {
    fc.assert(
      fc.property(
        message,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (original, changes, fix) => {
          let frame = frameOf(original);
          for (const change of changes) frame = frame.length === 0 ? frame : mutate(frame, change);
          if (fix && frame.length >= 4) withLength(frame);
          expectReencodable(decodeOrTypedError(frame));
        },
      ),
      { seed, numRuns: 3_000 },
    );
  });
});
