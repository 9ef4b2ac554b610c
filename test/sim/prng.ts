/**
 * The simulator's only source of randomness. One integer seed decides every latency, fault and
 * proposal of a run, so a failing seed replays exactly (docs/contributing.md, "Seeded simulation").
 * sfc32 is small, fast and passes PractRand for the stream lengths a simulation uses; splitmix32
 * spreads a small integer seed over its 128 bits of state so that neighbouring seeds are unrelated.
 */
export class Prng {
  readonly seed: number;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer: ${seed}`);
    this.seed = seed;
    const mixer = splitmix32(foldSeed(seed));
    this.#a = mixer();
    this.#b = mixer();
    this.#c = mixer();
    this.#d = mixer();
    // sfc32's authors discard the first outputs so that weak seeds do not show through.
    for (let round = 0; round < 12; round++) this.uint32();
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A uniform number in [0, 1), the contract `RaftCore` expects of its `random` option. */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** A uniform integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) {
      throw new RangeError(`int(lo, hi) needs integers with lo <= hi, got ${lo}, ${hi}`);
    }
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `probability`. */
  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** A uniformly chosen element; the array must not be empty. */
  pick<T>(array: readonly T[]): T {
    if (array.length === 0) throw new RangeError('pick() needs a non-empty array');
    return array[this.int(0, array.length - 1)] as T;
  }

  /**
   * An independent stream derived from this generator's seed and `label` only, never from how
   * many numbers were drawn so far: adding a draw to one stream (say, the network's) leaves every
   * other stream, and so the rest of the run, unchanged. The same label always gives the same
   * stream.
   */
  fork(label: string): Prng {
    return new Prng((Math.imul(foldSeed(this.seed), 0x9e3779b1) ^ hashLabel(label)) >>> 0);
  }
}

/** Folds a safe integer into 32 bits, keeping the high bits of large seeds. */
function foldSeed(seed: number): number {
  const high = Math.floor(seed / 4294967296);
  return (seed ^ Math.imul(high, 0x85ebca6b)) >>> 0;
}

/** splitmix32: a 32-bit counter passed through a bijective mixer. */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over the label's UTF-16 code units; only needs to separate a handful of labels. */
function hashLabel(label: string): number {
  let hash = 0x811c9dc5;
  for (let position = 0; position < label.length; position++) {
    hash = Math.imul(hash ^ label.charCodeAt(position), 0x01000193);
  }
  return hash >>> 0;
}
