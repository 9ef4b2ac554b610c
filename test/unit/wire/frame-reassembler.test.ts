import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReassembler } from '../../../src/wire/frame-reassembler.js';

/** A toy framing: a 2-byte header whose first byte is the whole frame's size. */
function toyReassembler(seen: Buffer[] = []): FrameReassembler {
  return new FrameReassembler(2, (header) => {
    seen.push(header);
    if (header[0]! > 10) throw new RangeError(`frame of ${header[0]} bytes over the cap`);
    return header[0]!;
  });
}

function drain(frames: FrameReassembler): string[] {
  const out: string[] = [];
  for (let frame = frames.nextFrame(); frame !== undefined; frame = frames.nextFrame()) {
    out.push(frame.toString('hex'));
  }
  return out;
}

describe('FrameReassembler', () => {
  const stream = Buffer.from([3, 0, 0xaa, 2, 1, 5, 2, 0xbb, 0xcc, 0xdd]);
  const frames = ['0300aa', '0201', '0502bbccdd'];

  it('hands out the same frames wherever the stream is cut', () => {
    for (let first = 0; first <= stream.length; first++) {
      for (let second = first; second <= stream.length; second++) {
        const reassembler = toyReassembler();
        const out: string[] = [];
        for (const chunk of [
          stream.subarray(0, first),
          stream.subarray(first, second),
          stream.subarray(second),
        ]) {
          reassembler.push(chunk);
          out.push(...drain(reassembler));
        }
        expect(out, `cut at ${first} and ${second}`).toEqual(frames);
        expect(reassembler.bufferedBytes).toBe(0);
      }
    }
  });

  it('reads a header once, as soon as it is whole, and keeps it buffered until its frame is', () => {
    const seen: Buffer[] = [];
    const reassembler = toyReassembler(seen);
    reassembler.push(Buffer.from([5]));
    expect(drain(reassembler)).toEqual([]);
    expect(seen).toHaveLength(0);
    reassembler.push(Buffer.from([2, 0xbb]));
    expect(drain(reassembler)).toEqual([]);
    expect(drain(reassembler)).toEqual([]);
    expect(seen.map((header) => header.toString('hex'))).toEqual(['0502']);
    expect(reassembler.bufferedBytes).toBe(3);
    reassembler.push(Buffer.from([0xcc, 0xdd]));
    expect(drain(reassembler)).toEqual(['0502bbccdd']);
  });

  it('refuses a header through the framing before any of the body arrives', () => {
    const reassembler = toyReassembler();
    reassembler.push(Buffer.from([200, 0]));
    expect(() => reassembler.nextFrame()).toThrow(RangeError);
    expect(reassembler.bufferedBytes).toBe(2);
  });

  it('takes a preamble between frames, and only there', () => {
    const reassembler = toyReassembler();
    reassembler.push(Buffer.from([9, 9, 9]));
    expect(reassembler.takeBytes(4)).toBeUndefined();
    reassembler.push(Buffer.from([9, 3, 0]));
    expect(reassembler.takeBytes(4)?.toString('hex')).toBe('09090909');
    expect(reassembler.nextFrame()).toBeUndefined(); // the frame's header is read: 3 bytes
    expect(() => reassembler.takeBytes(1)).toThrow(/middle of a frame/);
  });

  it('stops on a framing that measures a frame shorter than its header', () => {
    const reassembler = new FrameReassembler(4, () => 3);
    reassembler.push(Buffer.alloc(4));
    expect(() => reassembler.nextFrame()).toThrow(/shorter than its header/);
    expect(() => new FrameReassembler(0, () => 1)).toThrow(RangeError);
  });

  it('reassembles frames of megabytes, cut anywhere, into the bytes sent', () => {
    // A 4-byte header holding the frame's size: frames from a few bytes to 3 MiB, so that both
    // small frames and large ones (copied into their own buffer as they arrive) occur.
    const sized = new FrameReassembler(4, (header) => header.readUInt32LE(0));
    const frameOf = (bytes: number, fill: number) => {
      const frame = Buffer.alloc(bytes, fill);
      frame.writeUInt32LE(bytes, 0);
      return frame;
    };
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 4, max: 3 * 1024 * 1024 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 512 * 1024 }), { minLength: 1, maxLength: 30 }),
        (sizes, cuts) => {
          const sent = sizes.map((bytes, position) => frameOf(bytes, position + 1));
          const stream = Buffer.concat(sent);
          const received: Buffer[] = [];
          let offset = 0;
          for (let cut = 0; offset < stream.length; cut++) {
            const length = cuts[cut % cuts.length] as number;
            sized.push(stream.subarray(offset, offset + length));
            offset += length;
            for (let frame = sized.nextFrame(); frame !== undefined; frame = sized.nextFrame()) {
              received.push(frame);
            }
          }
          expect(received.map((frame) => frame.length)).toEqual(sizes);
          for (const [position, frame] of received.entries()) {
            expect(frame.equals(sent[position] as Buffer)).toBe(true);
          }
          expect(sized.bufferedBytes).toBe(0);
        },
      ),
      { seed: 11, numRuns: 40 },
    );
  });

  it('copies frames from sharedFrameBytes up into SharedArrayBuffers, and no smaller one', () => {
    // A node posts what it receives to its SQL worker: a frame in a SharedArrayBuffer is shared
    // with it instead of copied. Both ways a frame gets copied: whole once it has all arrived,
    // and piece by piece once a megabyte of it has.
    const shared = new FrameReassembler(4, (header) => header.readUInt32LE(0), {
      sharedFrameBytes: 1000,
    });
    const frameOf = (bytes: number) => {
      const frame = Buffer.alloc(bytes, bytes % 251);
      frame.writeUInt32LE(bytes, 0);
      return frame;
    };
    const sizes = [999, 1000, 3 * 1024 * 1024, 20];
    const received: Buffer[] = [];
    for (const sent of sizes.map(frameOf)) {
      for (let offset = 0; offset < sent.length; offset += 600) {
        shared.push(sent.subarray(offset, offset + 600));
        for (let frame = shared.nextFrame(); frame !== undefined; frame = shared.nextFrame()) {
          received.push(frame);
        }
      }
    }
    expect(received.map((frame) => frame.length)).toEqual(sizes);
    expect(received.map((frame) => frame.buffer instanceof SharedArrayBuffer)).toEqual([
      false,
      true,
      true,
      false, // inside one chunk: a view of it
    ]);
    expect(received.every((frame, position) => frame.equals(frameOf(sizes[position]!)))).toBe(true);
  });
});
