/**
 * xorshift32 (Marsaglia, 2003): a small seeded generator of numbers in [0, 1), so every choice a
 * fault run makes can be replayed from its seed.
 */
export function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}
