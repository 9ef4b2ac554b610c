import { describe, expect, it } from 'vitest';
import { checkListAppend, type MicroOp, type Transaction } from './list-append.js';

const append = (key: number, value: number): MicroOp => ({ type: 'append', key, value });
const read = (key: number, value: number[]): MicroOp => ({ type: 'read', key, value });
const txn = (id: number, ...ops: MicroOp[]): Transaction => ({ id, outcome: 'ok', ops });
const names = (transactions: Transaction[], final?: Map<number, number[]>) =>
  checkListAppend(transactions, final).anomalies.map((anomaly) => anomaly.name);

describe('the list-append checker', () => {
  it('accepts a serial history and its final read', () => {
    const history = [
      txn(1, append(1, 1), append(2, 1)),
      txn(2, read(1, [1]), append(1, 2)),
      txn(3, read(1, [1, 2]), read(2, [1])),
    ];
    const verdict = checkListAppend(
      history,
      new Map([
        [1, [1, 2]],
        [2, [1]],
      ]),
    );
    expect(verdict).toEqual({ valid: true, anomalies: [], transactions: 3 });
  });

  it('names G0, G1c, G-single and G2 cycles', () => {
    // G0: the two transactions' appends interleave in opposite orders on two keys.
    expect(
      names([
        txn(1, append(1, 1), append(2, 2)),
        txn(2, append(1, 2), append(2, 1)),
        txn(3, read(1, [1, 2]), read(2, [1, 2])),
      ]),
    ).toContain('G0');
    // G1c: each read the other's append.
    expect(names([txn(1, append(1, 1), read(2, [2])), txn(2, append(2, 2), read(1, [1]))])).toEqual(
      ['G1c'],
    );
    // G-single (read skew): T1 saw key 1 before T2's append, yet key 2 after it.
    expect(
      names([
        txn(0, append(1, 1), append(2, 1)),
        txn(1, read(1, [1]), read(2, [1, 2])),
        txn(2, append(1, 2), append(2, 2)),
        txn(3, read(1, [1, 2])),
      ]),
    ).toEqual(['G-single']);
    // G2 (write skew): each read the other's key empty, then appended to its own.
    expect(
      names([
        txn(1, read(1, []), append(2, 1)),
        txn(2, read(2, []), append(1, 2)),
        txn(3, read(1, [2]), read(2, [1])),
      ]),
    ).toEqual(['G2']);
  });

  it('names aborted and intermediate reads, broken orders and lost appends', () => {
    const failed: Transaction = { id: 9, outcome: 'fail', ops: [append(1, 9)] };
    expect(names([failed, txn(1, read(1, [9]))])).toContain('G1a');
    expect(names([txn(1, append(1, 1), append(1, 2)), txn(2, read(1, [1]))])).toContain('G1b');
    expect(
      names([
        txn(1, append(1, 1)),
        txn(2, append(1, 2)),
        txn(3, append(1, 3)),
        txn(4, read(1, [1, 2])),
        txn(5, read(1, [1, 3])),
      ]),
    ).toContain('incompatible-order');
    expect(names([txn(1, append(1, 1)), txn(2, append(1, 2))], new Map([[1, [1]]]))).toEqual([
      'lost-append',
    ]);
    // An append whose outcome is unknown may be missing without harm.
    const unknown: Transaction = { id: 3, outcome: 'unknown', ops: [append(1, 3)] };
    expect(names([txn(1, append(1, 1)), unknown], new Map([[1, [1]]]))).toEqual([]);
  });

  it('handles a chain of 20,000 transactions without overflowing the stack', () => {
    const history = Array.from({ length: 20_000 }, (_, i) => txn(i + 1, append(1, i + 1)));
    history.push(txn(20_001, read(1, [1, 2, 3])));
    const final = new Map([[1, Array.from({ length: 20_000 }, (_, i) => i + 1)]]);
    expect(checkListAppend(history, final).valid).toBe(true);
  });
});
