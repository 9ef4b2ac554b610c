/**
 * A small deterministic random source (xorshift32) for the chunking and fuzz tests. One seed
 * drives everything a test does, so a failure replays exactly from the seed its message prints.
 */
export interface SeededRandom {
  readonly seed: number;
  /** A uniformly distributed integer in [0, bound). */
  integer(bound: number): number;
  /** True with probability `chance`. */
  chance(chance: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

/** The seed of a test run: `WIRE_TEST_SEED` from the environment, else `fallback`. */
export function testSeed(fallback: number): number {
  const fromEnvironment = process.env['WIRE_TEST_SEED'];
  if (fromEnvironment === undefined || fromEnvironment === '') return fallback;
  const seed = Number(fromEnvironment);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`WIRE_TEST_SEED must be an integer`);
  return seed;
}

export function seededRandom(seed: number): SeededRandom {
  // xorshift32 has a fixed point at 0, so a zero seed is mapped to a non-zero state.
  let state = seed >>> 0 || 0x9e3779b9;
  const nextUint32 = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  const integer = (bound: number): number => {
    if (!Number.isSafeInteger(bound) || bound <= 0) {
      throw new RangeError(`bound must be a positive integer, got ${bound}`);
    }
    return Math.floor((nextUint32() / 2 ** 32) * bound);
  };
  return {
    seed,
    integer,
    chance: (chance) => nextUint32() / 2 ** 32 < chance,
    pick: (items) => {
      const item = items[integer(items.length)];
      if (item === undefined) throw new RangeError('pick needs a non-empty list');
      return item;
    },
  };
}

/** Cuts `bytes` into consecutive chunks of 0..`chunkBytesMax` bytes (empty chunks included). */
export function randomChunks(bytes: Buffer, random: SeededRandom, chunkBytesMax: number): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const size = random.integer(chunkBytesMax + 1);
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}
