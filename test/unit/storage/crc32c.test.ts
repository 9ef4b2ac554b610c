import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/storage/crc32c.js';

describe('crc32c', () => {
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
});
