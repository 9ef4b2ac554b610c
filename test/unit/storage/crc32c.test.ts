import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  crc32c as crc32cInUse,
  crc32cImplementation,
  crc32cPortable,
} from '../../../src/storage/crc32c.js';

it('runs the native CRC-32C where @node-rs/crc32 ships a binding', () => {
  // A missing binding falls back to the portable code silently; on the platforms it is built for,
  // that would be a lost dependency, not a choice.
  const built = ['linux', 'darwin', 'win32'].includes(process.platform);
  if (built && ['x64', 'arm64'].includes(process.arch)) expect(crc32cImplementation).toBe('native');
});

describe.each([
  ['in use', crc32cInUse],
  ['portable', crc32cPortable],
])('crc32c (%s)', (_, crc32c) => {
  it('matches the published check values', () => {
    // RFC 3720 appendix B.4 and the usual "123456789" check value of CRC-32C.
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('continues over pieces and over ranges', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (bytes, cut) => {
        const split = Math.min(cut, bytes.length);
        const whole = crc32c(bytes);
        expect(crc32c(bytes.subarray(split), crc32c(bytes.subarray(0, split)))).toBe(whole);
        expect(crc32c(bytes, crc32c(bytes, 0, 0, split), split)).toBe(whole);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('equals the plain one-table byte loop on any data and range', () => {
    const table = new Uint32Array(256).map((_, byte) => {
      let value = byte;
      for (let bit = 0; bit < 8; bit++)
        value = value & 1 ? (value >>> 1) ^ 0x82f63b78 : value >>> 1;
      return value >>> 0;
    });
    const byteLoop = (bytes: Uint8Array, start: number, end: number): number => {
      let crc = 0xffffffff;
      for (let i = start; i < end; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
      return ~crc >>> 0;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(600), fc.nat(600), (bytes, a, b) => {
        const start = Math.min(a, b, bytes.length);
        const end = Math.min(Math.max(a, b), bytes.length);
        expect(crc32c(bytes, 0, start, end)).toBe(byteLoop(bytes, start, end));
      }),
      { seed: 11, numRuns: 500 },
    );
  });

  it('reads views of any buffer, a SharedArrayBuffer included', () => {
    const shared = Buffer.from(new SharedArrayBuffer(70_000));
    for (let i = 0; i < shared.length; i++) shared[i] = (i * 31) % 251;
    const copy = Buffer.from(shared);
    expect(crc32c(shared)).toBe(crc32cPortable(copy));
    expect(crc32c(shared, 5, 100, 65_000)).toBe(crc32cPortable(copy, 5, 100, 65_000));
    expect(crc32c(new Uint8Array(shared.buffer, 3, 1000))).toBe(crc32cPortable(copy, 0, 3, 1003));
  });
});
