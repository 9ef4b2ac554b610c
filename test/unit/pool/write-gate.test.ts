import { describe, expect, it } from 'vitest';
import { Deadline } from '../../../drivers/pool/backoff.js';
import { PoolTimeoutError } from '../../../drivers/pool/index.js';
import { WriteGate } from '../../../drivers/pool/write-gate.js';

describe('write gate', () => {
  it('admits one writer at a time, first come first served', async () => {
    const gate = new WriteGate();
    const order: number[] = [];
    const leaveFirst = await gate.enter('w', new Deadline(1000));
    const waiting = [1, 2, 3].map((writer) =>
      gate.enter('w', new Deadline(1000)).then((leave) => {
        order.push(writer);
        leave();
      }),
    );
    expect(gate.waiting).toBe(3);
    leaveFirst();
    leaveFirst(); // leaving twice must not let a second writer in
    await Promise.all(waiting);
    expect(order).toEqual([1, 2, 3]);
    expect(gate.waiting).toBe(0);
    const leave = await gate.enter('w', new Deadline(10)); // free again
    leave();
  });

  it('gives up at the deadline and forgets the waiter', async () => {
    const gate = new WriteGate();
    const leave = await gate.enter('w', new Deadline(1000));
    await expect(gate.enter('exec', new Deadline(30))).rejects.toThrow(PoolTimeoutError);
    expect(gate.waiting).toBe(0);
    leave();
    const next = await gate.enter('w', new Deadline(10));
    next();
  });
});
