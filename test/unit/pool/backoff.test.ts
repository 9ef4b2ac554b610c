import { describe, expect, it } from 'vitest';
import { Deadline, retryDelayMs } from '../../../drivers/pool/backoff.js';
import { rowObject } from '../../../drivers/pool/rows.js';

describe('backoff', () => {
  it('doubles from 10 ms up to 500 ms, with jitter in the upper half', () => {
    const deadline = new Deadline(60_000);
    for (let attempt = 1; attempt <= 30; attempt++) {
      const ceiling = Math.min(500, 10 * 2 ** (attempt - 1));
      const delay = retryDelayMs(attempt, deadline);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });

  it('never pauses past the deadline', () => {
    const deadline = new Deadline(3);
    expect(retryDelayMs(20, deadline)).toBeLessThanOrEqual(3);
  });

  it('counts a deadline down', async () => {
    const deadline = new Deadline(30);
    expect(deadline.passed).toBe(false);
    expect(deadline.remainingMs).toBeLessThanOrEqual(30);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(deadline.passed).toBe(true);
  });
});

describe('object rows', () => {
  it('keys by column name; a later duplicate column wins', () => {
    expect(rowObject(['a', 'b', 'a'], [1, 2, 3])).toEqual({ a: 3, b: 2 });
  });
});
