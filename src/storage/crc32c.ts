/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 metadata and
 * canonical raft's segments. `zlib.crc32` only exists from Node 22 and computes the IEEE
 * polynomial; Castagnoli's detects more error patterns in records of the sizes stored here.
 *
 * Every log record is checksummed on every node as it is written, so this is on the write path
 * of every node's main thread: with rows of tens of megabytes it was a fifth of each node's busy
 * time (docs/benchmarks.md, "Big rows"). `@node-rs/crc32` computes it with the CPU's CRC32
 * instruction, seven times faster than the portable code below on 1 MiB here and faster on 200
 * bytes too (`npm run bench:crc32c`). Where its prebuilt binding does not load, the portable code
 * runs: both give the same checksums (crc32c.test.ts).
 */

import { createRequire } from 'node:module';

type Crc32c = (data: Uint8Array, previous?: number) => number;

/** The native binding's CRC-32C, or undefined where it does not load. */
function loadNative(): Crc32c | undefined {
  try {
    const binding = createRequire(import.meta.url)('@node-rs/crc32') as {
      crc32c(input: Uint8Array, initialState?: number): number;
    };
    return (data, previous) => binding.crc32c(data, previous);
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** Which implementation `crc32c` runs here. */
export const crc32cImplementation: 'native' | 'portable' = native ? 'native' : 'portable';

/**
 * The CRC-32C of `data[start, end)`. Pass the result of a previous call as `previous` to continue
 * over data that arrives in pieces: `crc32c(b, crc32c(a))` equals the checksum of `a` then `b`.
 */
export function crc32c(data: Uint8Array, previous = 0, start = 0, end = data.length): number {
  if (native === undefined) return crc32cPortable(data, previous, start, end);
  const whole = start === 0 && end === data.length;
  return native(whole ? data : data.subarray(start, end), previous);
}

/*
 * The portable code: "slicing by 8" (eight 256-entry tables, eight bytes per step) ran 1.4 GB/s
 * against the one-table byte loop's 0.5 GB/s on the machine of docs/benchmarks.md; the byte loop
 * stays for the last few bytes.
 */
const polynomialReflected = 0x82f63b78;
const slices = 8;

/** tables[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const tables: Uint32Array = buildTables();

function buildTables(): Uint32Array {
  const result = new Uint32Array(slices * 256);
  for (let byte = 0; byte < 256; byte++) {
    let value = byte;
    for (let bit = 0; bit < 8; bit++) {
      value = value & 1 ? (value >>> 1) ^ polynomialReflected : value >>> 1;
    }
    result[byte] = value >>> 0;
  }
  for (let byte = 0; byte < 256; byte++) {
    for (let slice = 1; slice < slices; slice++) {
      const previous = result[(slice - 1) * 256 + byte] as number;
      result[slice * 256 + byte] = ((result[previous & 0xff] as number) ^ (previous >>> 8)) >>> 0;
    }
  }
  return result;
}

/** `crc32c` without the native binding; exported so tests compare the two. */
export function crc32cPortable(
  data: Uint8Array,
  previous = 0,
  start = 0,
  end = data.length,
): number {
  const t = tables;
  let crc = ~previous >>> 0;
  let position = start;
  // Eight bytes per step: the first four fold into the running CRC, the next four are looked up
  // on their own, each table shifting its byte by the distance to the end of the step.
  for (; position + 8 <= end; position += 8) {
    const low =
      (crc ^
        ((data[position] as number) |
          ((data[position + 1] as number) << 8) |
          ((data[position + 2] as number) << 16) |
          ((data[position + 3] as number) << 24))) >>>
      0;
    crc =
      (t[7 * 256 + (low & 0xff)] as number) ^
      (t[6 * 256 + ((low >>> 8) & 0xff)] as number) ^
      (t[5 * 256 + ((low >>> 16) & 0xff)] as number) ^
      (t[4 * 256 + (low >>> 24)] as number) ^
      (t[3 * 256 + (data[position + 4] as number)] as number) ^
      (t[2 * 256 + (data[position + 5] as number)] as number) ^
      (t[256 + (data[position + 6] as number)] as number) ^
      (t[data[position + 7] as number] as number);
  }
  for (; position < end; position++) {
    crc = (t[(crc ^ (data[position] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return ~crc >>> 0;
}
