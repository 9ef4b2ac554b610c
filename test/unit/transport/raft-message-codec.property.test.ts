import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RaftFrameDecoder,
  decodeRaftMessage,
  encodeRaftMessage,
} from '../../../src/transport/index.js';
import { EntryType, type Message } from '../../../src/raft/types.js';
import { encodeRaftFrame } from '../../../src/transport/raft-message-codec.js';
import { message, sampleMessages } from './message-arbitraries.js';

/**
 * Property: every message encodes to one frame that decodes to an equal message and re-encodes
 * to the same bytes; any sequence of frames, cut at any points and fed to one RaftFrameDecoder,
 * yields exactly the messages encoded, in order.
 */

const seed = Number(process.env['TRANSPORT_TEST_SEED'] ?? 2_024);
const options = { seed, numRuns: 500 };

/** Feeds `bytes` in chunks cut at `cuts` (positions, any order, duplicates allowed). */
function decodeInChunks(bytes: Buffer, cuts: readonly number[]): Message[] {
  const decoder = new RaftFrameDecoder();
  const positions = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const received: Message[] = [];
  let start = 0;
  for (const end of [...positions, bytes.length]) {
    decoder.push(bytes.subarray(start, end));
    for (let next = decoder.next(); next !== undefined; next = decoder.next()) received.push(next);
    start = end;
  }
  expect(decoder.bufferedBytes).toBe(0);
  return received;
}

describe('Raft message codec', () => {
  it('round-trips one message of every type', () => {
    for (const original of sampleMessages(1, 2)) {
      const frame = encodeRaftMessage(original);
      expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
      expect(decodeRaftMessage(frame)).toEqual(original);
    }
  });

  it('round-trips arbitrary messages, and re-encodes them to the same bytes', () => {
    fc.assert(
      fc.property(message, (original) => {
        const frame = encodeRaftMessage(original);
        const decoded = decodeRaftMessage(frame);
        expect(decoded).toEqual(original);
        expect(encodeRaftMessage(decoded).equals(frame)).toBe(true);
      }),
      options,
    );
  });

  it('reassembles arbitrary message sequences cut at arbitrary points', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (originals, cuts) => {
          const bytes = Buffer.concat(originals.map((original) => encodeRaftMessage(original)));
          expect(decodeInChunks(bytes, cuts)).toEqual(originals);
        },
      ),
      options,
    );
  });

  it('reassembles a stream fed one byte at a time', () => {
    const originals = sampleMessages(3, 1);
    const bytes = Buffer.concat(originals.map((original) => encodeRaftMessage(original)));
    const everyByte = Array.from({ length: bytes.length }, (_, position) => position);
    expect(decodeInChunks(bytes, everyByte)).toEqual(originals);
  });

  it('hands out data that does not alias the socket chunk it came in', () => {
    const [, , append] = sampleMessages(1, 2);
    const frame = encodeRaftMessage(append!);
    const decoded = decodeRaftMessage(frame);
    frame.fill(0);
    expect(decoded).toEqual(append);
  });

  it("hands a big entry out as a view of the frame it came in, and a small frame's as a copy", () => {
    const entry = (bytes: number) => ({
      index: 7,
      term: 2,
      type: EntryType.command,
      data: new Uint8Array(bytes).fill(9),
    });
    const append = (bytes: number): Message => ({
      type: 'AppendEntries',
      from: 1,
      to: 2,
      term: 2,
      prevLogIndex: 6,
      prevLogTerm: 2,
      entries: [entry(bytes)],
      leaderCommit: 6,
      heartbeatSequence: 3,
    });
    const dataOf = (message: Message | undefined) =>
      (message as unknown as { entries: { data: Uint8Array }[] }).entries[0]!.data;
    // Arrived in pieces: the reassembler copied it into a buffer of its own; no second copy.
    const big = encodeRaftMessage(append(1 << 20));
    const decoder = new RaftFrameDecoder();
    for (let at = 0; at < big.length; at += 64 * 1024)
      decoder.push(big.subarray(at, at + 64 * 1024));
    const bigData = dataOf(decoder.next());
    expect(bigData.byteLength).toBe(1 << 20);
    expect(bigData.buffer.byteLength).toBe(big.length); // the frame's own buffer
    expect(bigData.every((byte) => byte === 9)).toBe(true);
    // Inside one socket chunk with other bytes: copied, so the chunk is not kept alive.
    const small = encodeRaftMessage(append(100));
    const chunk = Buffer.concat([small, Buffer.alloc(1000)]);
    const smallData = dataOf(decodeRaftMessage(chunk.subarray(0, small.length)));
    expect(smallData.buffer).not.toBe(chunk.buffer);
    expect(smallData.buffer.byteLength).toBe(100);
  });

  it('writes a large frame as parts that reference its large entries and join the small ones', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.nat(50), fc.integer({ min: 4090, max: 4100 }), fc.nat(40_000)), {
          minLength: 1,
          maxLength: 60,
        }),
        (sizes) => {
          const entries = sizes.map((bytes, i) => ({
            index: 10 + i,
            term: 5,
            type: EntryType.command,
            data: new Uint8Array(bytes).fill(i + 1),
          }));
          const original: Message = {
            type: 'AppendEntries',
            from: 1,
            to: 2,
            term: 5,
            prevLogIndex: 9,
            prevLogTerm: 4,
            entries,
            leaderCommit: 9,
            heartbeatSequence: 3,
          };
          const { parts, length } = encodeRaftFrame(original);
          const joined = Buffer.concat(parts);
          expect(joined.length).toBe(length);
          expect(joined.readUInt32LE(0)).toBe(length - 4);
          expect(joined.equals(encodeRaftMessage(original))).toBe(true);
          expect(decodeRaftMessage(joined)).toEqual(original);
          if (length < 64 * 1024) {
            expect(parts).toHaveLength(1);
            return;
          }
          const large = entries.filter((entry) => entry.data.byteLength >= 4096);
          expect(parts.length).toBeLessThanOrEqual(2 * large.length + 1);
          for (const entry of large) {
            expect(parts.some((part) => part.buffer === entry.data.buffer)).toBe(true);
          }
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});
