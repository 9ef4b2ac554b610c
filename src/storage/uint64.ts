/**
 * Little-endian 64-bit fields that hold JavaScript numbers: indexes, terms, ids and sizes are safe
 * integers (< 2^53), so two 32-bit halves avoid a BigInt per field on the log's hot path.
 */

const halfRange = 2 ** 32;
/** The high half of Number.MAX_SAFE_INTEGER: 2^21 - 1. */
const highHalfMax = 2 ** 21 - 1;

/** Writes a safe integer >= 0 at `offset`. */
export function writeUint64(buffer: Buffer, value: number, offset: number): void {
  buffer.writeUInt32LE(value % halfRange, offset);
  buffer.writeUInt32LE(Math.floor(value / halfRange), offset + 4);
}

/** Reads a u64, or `undefined` when it does not fit a safe integer (only damage produces that). */
export function readUint64(buffer: Buffer, offset: number): number | undefined {
  const low = buffer.readUInt32LE(offset);
  const high = buffer.readUInt32LE(offset + 4);
  if (high > highHalfMax) return undefined;
  return high * halfRange + low;
}
