// A log record is written as parts (headers and small data copied into one buffer, large entry
// data as it lies) with a vectored write that may take fewer bytes than asked at a time.
import fc from 'fast-check';
import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatchParts } from '../../../src/storage/batch-record.js';
import { partsAfter, writeAllParts } from '../../../src/storage/durable-file.js';
import { EntryType, type Entry } from '../../../src/raft/types.js';

/** Entries from index 10, with data of the given sizes, each filled with its own byte. */
function entriesOf(sizes: readonly number[]): Entry[] {
  return sizes.map((bytes, i) => ({
    index: 10 + i,
    term: 3,
    type: EntryType.command,
    data: Buffer.alloc(bytes, i + 1),
  }));
}

describe('encodeBatchParts', () => {
  it('writes a record that decodes to its entries, whatever their sizes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.nat(100), fc.integer({ min: 4090, max: 4100 }), fc.nat(20_000)), {
          minLength: 1,
          maxLength: 12,
        }),
        (sizes) => {
          const entries = entriesOf(sizes);
          const record = Buffer.concat(encodeBatchParts(entries));
          const decoded = decodeBatch(record, 0);
          expect(decoded.kind).toBe('record');
          if (decoded.kind !== 'record') return;
          expect(decoded.end).toBe(record.length);
          expect(decoded.entries.map((entry) => Buffer.from(entry.data))).toEqual(
            entries.map((entry) => entry.data),
          );
        },
      ),
      { seed: 5, numRuns: 200 },
    );
  });

  it('references data of 4 KiB and more instead of copying it, and copies smaller data', () => {
    const entries = entriesOf([10, 4096, 4095, 70_000, 0]);
    const parts = encodeBatchParts(entries);
    expect(
      parts.filter((part) => part === entries[1]?.data || part === entries[3]?.data),
    ).toHaveLength(2);
    expect(parts.some((part) => part === entries[0]?.data || part === entries[2]?.data)).toBe(
      false,
    );
    expect(parts).toHaveLength(5); // headers+10, 4096, header+4095+header, 70000, header
  });
});

describe('writeAllParts', () => {
  it('drops what a short write took and goes on from there', () => {
    const parts = [Buffer.from('abc'), Buffer.from('de'), Buffer.from('fghij')];
    const rest = (bytes: number) => Buffer.concat(partsAfter(parts, bytes)).toString();
    expect(rest(0)).toBe('abcdefghij');
    expect(rest(2)).toBe('cdefghij');
    expect(rest(3)).toBe('defghij');
    expect(rest(6)).toBe('ghij');
    expect(rest(10)).toBe('');
  });

  it('writes every byte in order at the position, through short writes', async () => {
    const file = Buffer.alloc(40, '.');
    const calls: number[] = [];
    const handle = {
      writev: async (buffers: Uint8Array[], position: number) => {
        // Takes at most 4 bytes per call, as a system may.
        const bytes = Buffer.concat(buffers).subarray(0, 4);
        bytes.copy(file, position);
        calls.push(position);
        return { bytesWritten: bytes.length, buffers };
      },
    } as unknown as FileHandle;
    await writeAllParts(handle, [Buffer.from('abc'), Buffer.alloc(0), Buffer.from('defghij')], 5);
    expect(file.toString()).toBe('.....abcdefghij' + '.'.repeat(25));
    expect(calls).toEqual([5, 9, 13]);
  });

  it('fails rather than loop when the system takes nothing', async () => {
    const handle = {
      writev: async () => ({ bytesWritten: 0, buffers: [] }),
    } as unknown as FileHandle;
    await expect(writeAllParts(handle, [Buffer.from('x')], 0)).rejects.toThrow('write stalled');
  });
});
