/**
 * FNV-1a, 32 bits. The simulator compares entries and state machines by hash; a collision could
 * only hide a bug, never invent one, and at 2^-32 per comparison it is not worth a slower hash.
 */
const offsetBasis = 0x811c9dc5;
const prime = 0x01000193;

export function hashBytes(data: Uint8Array, seed: number = offsetBasis): number {
  let hash = seed;
  for (let position = 0; position < data.length; position++) {
    hash = Math.imul(hash ^ (data[position] as number), prime);
  }
  return hash >>> 0;
}

/** Folds a 32-bit value into `hash`, one byte at a time as FNV-1a does. */
export function mixHash(hash: number, value: number): number {
  let mixed = hash;
  for (let shift = 0; shift < 32; shift += 8) {
    mixed = Math.imul(mixed ^ ((value >>> shift) & 0xff), prime);
  }
  return mixed >>> 0;
}

export const emptyHash = offsetBasis;
