// Latency recording and the summaries the report prints: medians across rounds with their spread.

/** Latencies of one workload run, in milliseconds, kept compactly. */
export class LatencyRecorder {
  #values = new Float64Array(4096);
  #count = 0;

  record(milliseconds: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#count++] = milliseconds;
  }

  get count(): number {
    return this.#count;
  }

  /** p50, p99 and max; zeros when nothing was recorded. */
  percentiles(): { p50: number; p99: number; max: number } {
    if (this.#count === 0) return { p50: 0, p99: 0, max: 0 };
    const sorted = this.#values.slice(0, this.#count).sort();
    return {
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: sorted[sorted.length - 1]!,
    };
  }
}

/** The value at quantile q of sorted values (nearest rank). */
function quantile(sorted: Float64Array, q: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median of the rounds and the range they spanned. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}
