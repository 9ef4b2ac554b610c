import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePageSet,
  decodePageSetEntry,
  encodePageSet,
  encodePageSetEntries,
  pageSetPartHeaderBytesMax,
  type PageSet,
} from '../../../src/fsm/page-set.js';
import { UnfinishedTransaction } from '../../../src/fsm/unfinished-transaction.js';
import { sharedBytesMin } from '../../../src/wire/shared-bytes.js';

const pageSet = fc
  .record({
    database: fc.string({ maxLength: 40 }),
    pageSize: fc.constantFrom(512, 1024, 4096),
    databasePages: fc.integer({ min: 0, max: 1_000_000 }),
    pageNumbers: fc.uniqueArray(fc.integer({ min: 1, max: 100_000 }), { maxLength: 5 }),
  })
  .map(({ database, pageSize, databasePages, pageNumbers }): PageSet => ({
    database,
    pageSize,
    databasePages,
    pages: [...pageNumbers]
      .sort((a, b) => a - b)
      .map((pageNumber) => ({ pageNumber, data: Buffer.alloc(pageSize, pageNumber % 251) })),
  }));

/** Database 'app' of 3 pages of 512 bytes, with pages 1 to `pages` each filled with its number. */
function smallSet(pages: number): PageSet {
  return {
    database: 'app',
    pageSize: 512,
    databasePages: 3,
    pages: Array.from({ length: pages }, (_, i) => ({
      pageNumber: i + 1,
      data: Buffer.alloc(512, i + 1),
    })),
  };
}

describe('page set codec', () => {
  it('round-trips any page set', () => {
    fc.assert(
      fc.property(pageSet, (set) => {
        const decoded = decodePageSet(encodePageSet(set));
        expect({
          ...decoded,
          pages: decoded.pages.map((p) => ({ ...p, data: Buffer.from(p.data) })),
        }).toEqual({ ...set, pages: set.pages.map((p) => ({ ...p, data: Buffer.from(p.data) })) });
      }),
      { seed: 5, numRuns: 200 },
    );
  });

  it('rejects truncated, padded, unordered or foreign input with a RangeError', () => {
    const set = smallSet(2);
    const bytes = encodePageSet(set);
    expect(() => decodePageSet(bytes.subarray(0, bytes.length - 1))).toThrow(RangeError);
    expect(() => decodePageSet(Buffer.concat([bytes, Buffer.alloc(1)]))).toThrow(RangeError);
    const foreign = Buffer.from(bytes);
    foreign[0] = 9;
    expect(() => decodePageSet(foreign)).toThrow(/version 9/);
    const unordered = encodePageSet({ ...set, pages: [...set.pages] });
    unordered.writeUInt32LE(2, 2 + 3 + 12); // first page number := 2, equal to the second
    expect(() => decodePageSet(unordered)).toThrow(/ascend/);
    const badSize = Buffer.from(bytes);
    badSize.writeUInt32LE(1000, 2 + 3);
    expect(() => decodePageSet(badSize)).toThrow(/page size/);
  });
});

describe('page set entries: a set too large for one entry spans several', () => {
  const nonEmpty = pageSet.filter((set) => set.pages.length > 0);
  const bytes = (set: PageSet) => set.pages.map((p) => ({ ...p, data: Buffer.from(p.data) }));

  it('splits any set into entries of at most the limit, which reassemble into it in order', () => {
    fc.assert(
      fc.property(nonEmpty, fc.integer({ min: 1, max: 30_000 }), (set, entryBytesMax) => {
        const entries = encodePageSetEntries(set, entryBytesMax);
        const oneEntry = encodePageSet(set);
        if (oneEntry.length <= entryBytesMax || set.pages.length === 1) {
          // What fits one entry keeps the single-entry format an older node reads.
          expect(entries).toEqual([oneEntry]);
        } else {
          expect(entries.length).toBeGreaterThan(1);
          for (const entry of entries) {
            // At least one page each, whatever the limit.
            const floor = pageSetPartHeaderBytesMax + 4 + set.pageSize;
            expect(entry.length).toBeLessThanOrEqual(Math.max(entryBytesMax, floor));
          }
        }
        const unfinished = new UnfinishedTransaction();
        const results = entries.map((entry, position) =>
          unfinished.add(100 + position, decodePageSetEntry(entry)),
        );
        expect(results.slice(0, -1).every((result) => result === undefined)).toBe(true);
        const whole = results.at(-1) as PageSet;
        expect({ ...whole, pages: bytes(whole) }).toEqual({ ...set, pages: bytes(set) });
        expect(unfinished.open).toBe(false);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('puts entries of sharedBytesMin and more in shared memory, which the SQL worker reads in place', () => {
    const pages = (count: number): PageSet => ({
      database: 'app',
      pageSize: 4096,
      databasePages: count,
      pages: Array.from({ length: count }, (_, i) => ({
        pageNumber: i + 1,
        data: Buffer.alloc(4096, i + 1),
      })),
    });
    const isShared = (entry: Buffer) => entry.buffer instanceof SharedArrayBuffer;
    expect(isShared(encodePageSet(pages(1)))).toBe(false);
    expect(encodePageSet(pages(16)).length).toBeGreaterThanOrEqual(sharedBytesMin);
    expect(isShared(encodePageSet(pages(16)))).toBe(true);
    const parts = encodePageSetEntries(pages(100), 128 * 1024);
    expect(parts.length).toBeGreaterThan(2);
    expect(parts.map((part) => part.length >= sharedBytesMin)).toEqual(parts.map(isShared));
    expect(decodePageSet(encodePageSet(pages(16))).pages.map((page) => page.data[0])).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
  });

  it('rejects a damaged part with a RangeError', () => {
    const set = smallSet(3);
    const [part] = encodePageSetEntries(set, 1) as [Buffer];
    expect(decodePageSetEntry(part)).toMatchObject({ part: 0, last: false });
    expect(() => decodePageSetEntry(part.subarray(0, part.length - 1))).toThrow(RangeError);
    const badFlag = Buffer.from(part);
    badFlag.writeUInt8(2, 2 + 3 + 12);
    expect(() => decodePageSetEntry(badFlag)).toThrow(/last flag 2/);
    const noPages = Buffer.from(part.subarray(0, 2 + 3 + 17));
    noPages.writeUInt32LE(0, 2 + 3 + 13);
    expect(() => decodePageSetEntry(noPages)).toThrow(/no pages/);
    const foreign = Buffer.from(part);
    foreign[0] = 3;
    expect(() => decodePageSetEntry(foreign)).toThrow(/version 3/);
  });
});
