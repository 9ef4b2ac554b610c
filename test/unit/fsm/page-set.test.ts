import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePageSet, encodePageSet, type PageSet } from '../../../src/fsm/page-set.js';

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
    const set: PageSet = {
      database: 'app',
      pageSize: 512,
      databasePages: 3,
      pages: [
        { pageNumber: 1, data: Buffer.alloc(512, 1) },
        { pageNumber: 2, data: Buffer.alloc(512, 2) },
      ],
    };
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
