import { describe, expect, it } from 'vitest';
import { checkBank } from './bank.js';
import { checkSet } from './set.js';

describe('the bank checker', () => {
  it('accepts reads that keep the total and flags one that does not', () => {
    const reads = [
      { client: 1, time: 1, balances: { a: 50, b: 50 } },
      { client: 2, time: 2, balances: { a: 20, b: 80 } },
    ];
    expect(checkBank(reads, 100, 2)).toMatchObject({ valid: true, reads: 2 });
    const torn = { client: 3, time: 3, balances: { a: 20, b: 50 } };
    const negative = { client: 3, time: 4, balances: { a: -10, b: 110 } };
    const missing = { client: 3, time: 5, balances: { a: 100 } };
    const verdict = checkBank([...reads, torn, negative, missing], 100, 2);
    expect(verdict.valid).toBe(false);
    expect(verdict.anomalies.map((anomaly) => anomaly.problem)).toEqual([
      'total 70 instead of 100',
      'a negative balance',
      '1 accounts instead of 2',
    ]);
  });
});

describe('the set checker', () => {
  it('finds lost and unexpected elements, and counts unknown outcomes either way', () => {
    const attempts = new Map<number, 'ok' | 'fail' | 'unknown'>([
      [1, 'ok'],
      [2, 'ok'],
      [3, 'unknown'],
      [4, 'unknown'],
      [5, 'fail'],
    ]);
    expect(checkSet(attempts, [1, 2, 3])).toEqual({
      valid: true,
      acknowledged: 2,
      lost: [],
      unexpected: [],
      recovered: 1,
      unrecovered: 1,
    });
    const verdict = checkSet(attempts, [2, 5, 9]);
    expect(verdict).toMatchObject({ valid: false, lost: [1], unexpected: [5, 9] });
  });
});
