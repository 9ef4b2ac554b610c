/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 metadata and
 * canonical raft's segments. Written here because `zlib.crc32` only exists from Node 22 and
 * computes the IEEE polynomial; Castagnoli's detects more error patterns in records of the sizes
 * stored here. A 256-entry table keeps it to one lookup per byte.
 */

const polynomialReflected = 0x82f63b78;

const table: Uint32Array = buildTable();

function buildTable(): Uint32Array {
  const result = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let value = byte;
    for (let bit = 0; bit < 8; bit++) {
      value = value & 1 ? (value >>> 1) ^ polynomialReflected : value >>> 1;
    }
    result[byte] = value >>> 0;
  }
  return result;
}

/**
 * The CRC-32C of `data[start, end)`. Pass the result of a previous call as `previous` to continue
 * over data that arrives in pieces: `crc32c(b, crc32c(a))` equals the checksum of `a` then `b`.
 */
export function crc32c(data: Uint8Array, previous = 0, start = 0, end = data.length): number {
  let crc = ~previous >>> 0;
  for (let position = start; position < end; position++) {
    // Both lookups stay in range: the index is masked to 8 bits.
    crc = (table[(crc ^ (data[position] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return ~crc >>> 0;
}
