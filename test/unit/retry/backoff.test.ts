import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, backoffJitteredMs } from '../../../src/retry/backoff.js';

describe('backoffCeilingMs', () => {
  it('doubles from the first delay and stops at the cap', () => {
    const backoff = { firstMs: 50, maxMs: 1000 };
    const ceilings = [1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffCeilingMs(backoff, attempt));
    expect(ceilings).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
  });

  it('stays at the cap however many attempts came before', () => {
    const backoff = { firstMs: 10, maxMs: 500 };
    expect(backoffCeilingMs(backoff, 1025)).toBe(500); // 2 ** 1024 is Infinity
    expect(backoffCeilingMs(backoff, Number.MAX_SAFE_INTEGER)).toBe(500);
  });

  it('never grows when the first delay is the cap', () => {
    expect(backoffCeilingMs({ firstMs: 7, maxMs: 7 }, 1)).toBe(7);
    expect(backoffCeilingMs({ firstMs: 7, maxMs: 7 }, 40)).toBe(7);
  });

  it('rejects an attempt that is not a positive integer', () => {
    const backoff = { firstMs: 50, maxMs: 1000 };
    for (const attempt of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => backoffCeilingMs(backoff, attempt), String(attempt)).toThrow(RangeError);
    }
  });

  it('rejects bounds that are not 0 < firstMs <= maxMs', () => {
    for (const backoff of [
      { firstMs: 0, maxMs: 1000 },
      { firstMs: -5, maxMs: 1000 },
      { firstMs: Number.NaN, maxMs: 1000 },
      { firstMs: 50, maxMs: 49 },
      { firstMs: 50, maxMs: Number.POSITIVE_INFINITY },
    ]) {
      expect(() => backoffCeilingMs(backoff, 1), JSON.stringify(backoff)).toThrow(RangeError);
    }
  });
});

describe('backoffJitteredMs', () => {
  const backoff = { firstMs: 10, maxMs: 500 };

  it('draws from the upper half of the ceiling: the lowest draw gives half of it', () => {
    const lowest = [1, 2, 3, 4, 5, 6, 7].map((attempt) =>
      backoffJitteredMs(backoff, attempt, () => 0),
    );
    expect(lowest).toEqual([5, 10, 20, 40, 80, 160, 250]);
  });

  it('never exceeds the ceiling, even for the highest draw', () => {
    for (let attempt = 1; attempt <= 30; attempt++) {
      const ceiling = backoffCeilingMs(backoff, attempt);
      const highest = backoffJitteredMs(backoff, attempt, () => 1 - Number.EPSILON);
      expect(highest).toBeLessThanOrEqual(ceiling); // rounding may reach it
      expect(highest).toBeGreaterThan(ceiling * 0.999);
      expect(backoffJitteredMs(backoff, attempt, () => 0.999)).toBeLessThan(ceiling);
    }
  });

  it('is a function of its random source: a fixed draw gives a fixed delay', () => {
    expect(backoffJitteredMs(backoff, 3, () => 0.5)).toBe(30);
    expect(backoffJitteredMs(backoff, 9, () => 0.25)).toBe(312.5);
  });

  it('draws once per delay', () => {
    let draws = 0;
    backoffJitteredMs(backoff, 4, () => {
      draws++;
      return 0.1;
    });
    expect(draws).toBe(1);
  });

  it('rejects a random source outside [0, 1)', () => {
    for (const draw of [1, -0.1, 1.5, Number.NaN]) {
      expect(() => backoffJitteredMs(backoff, 1, () => draw), String(draw)).toThrow(RangeError);
    }
  });
});
