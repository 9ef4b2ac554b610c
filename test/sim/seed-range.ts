/** Most seeds one `--seeds` range may name. */
export const seedsMax = 1_000_000;

/** An inclusive range of seeds, run in ascending order. */
export interface SeedRange {
  readonly first: number;
  readonly last: number;
}

/** Parses `--seeds` text: `A..B` or a single seed `A`. */
export function parseSeedRange(text: string): SeedRange {
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(text);
  if (match === null) throw new RangeError(`--seeds must look like 1..100 or 7, got "${text}"`);
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  if (last < first || last - first + 1 > seedsMax) {
    throw new RangeError(`--seeds range must be ascending and at most ${seedsMax} seeds`);
  }
  return { first, last };
}
