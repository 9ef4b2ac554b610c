import { describe, expect, it } from 'vitest';
import { AppliedIndex } from '../../../src/server/applied-index.js';

describe('AppliedIndex', () => {
  it('releases each answer once its index is applied, in any order of asking', async () => {
    const applied = new AppliedIndex();
    const released: number[] = [];
    const wait = (index: number) => applied.reached(index).then(() => released.push(index));
    const waits = [wait(3), wait(1), wait(5), wait(2)];
    applied.advance(2);
    await Promise.resolve();
    await Promise.resolve();
    expect(released.sort()).toEqual([1, 2]);
    applied.advance(4);
    await Promise.resolve();
    await Promise.resolve();
    expect(released.sort()).toEqual([1, 2, 3]);
    await expect(applied.reached(4)).resolves.toBeUndefined();
    applied.advance(5);
    await Promise.all(waits);
    expect(released.sort()).toEqual([1, 2, 3, 5]);
    expect(applied.index).toBe(5);
  });

  it('fails every waiting answer at once', async () => {
    const applied = new AppliedIndex();
    const waiting = [applied.reached(1), applied.reached(2)];
    applied.failAll(new Error('leadership lost'));
    for (const wait of waiting) await expect(wait).rejects.toThrow('leadership lost');
    applied.advance(2); // nothing left to release
    expect(applied.index).toBe(2);
  });
});
