import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable, checkLinearizableByKey, type Operation } from './linearizability.js';
import { registerModel, type RegisterInput, type RegisterOutput } from './register-model.js';

type Op = Operation<RegisterInput, RegisterOutput>;

const read = (client: number, value: number | null, call: number, ret: number): Op => ({
  client,
  input: { type: 'read' },
  output: { type: 'read', value },
  call,
  return: ret,
});
const write = (client: number, value: number, call: number, ret: number): Op => ({
  client,
  input: { type: 'write', value },
  output: ret === Infinity ? { type: 'unknown' } : { type: 'written' },
  call,
  return: ret,
});
const cas = (
  client: number,
  from: number,
  to: number,
  swapped: boolean,
  call: number,
  ret: number,
): Op => ({
  client,
  input: { type: 'cas', from, to },
  output: { type: 'cas', swapped },
  call,
  return: ret,
});

const check = (history: Op[]) => checkLinearizable(registerModel, history).result;

describe('the linearizability checker, on a register', () => {
  it('accepts what a single copy could have done', () => {
    expect(check([])).toBe('ok');
    expect(
      check([write(1, 1, 0, 1), read(2, 1, 2, 3), cas(1, 1, 2, true, 4, 5), read(2, 2, 6, 7)]),
    ).toBe('ok');
    // A read concurrent with a write may see either value.
    expect(check([write(1, 1, 0, 10), read(2, 1, 1, 2), read(3, null, 3, 4)])).toBe('illegal');
    expect(check([write(1, 1, 0, 10), read(2, null, 1, 2), read(3, 1, 3, 4)])).toBe('ok');
    expect(check([read(2, null, 0, 1), write(1, 1, 0, 10)])).toBe('ok');
  });

  it('rejects a stale read, a flip-flop and a double swap', () => {
    // The write returned before the read was called: the read must see it.
    const stale = checkLinearizable(registerModel, [write(1, 1, 0, 1), read(2, null, 2, 3)]);
    expect(stale.result).toBe('illegal');
    if (stale.result === 'illegal') expect(stale.stuckAt.join()).toContain('read -> null');
    // Two concurrent writes, then two readers in sequence that disagree on the last one.
    expect(
      check([
        write(1, 1, 0, 5),
        write(2, 2, 0, 5),
        read(3, 1, 6, 7),
        read(3, 2, 8, 9),
        read(4, 1, 10, 11),
      ]),
    ).toBe('illegal');
    // Two concurrent compare-and-sets from the same value cannot both win.
    expect(check([write(1, 0, 0, 1), cas(2, 0, 1, true, 2, 5), cas(3, 0, 2, true, 2, 5)])).toBe(
      'illegal',
    );
    expect(check([write(1, 0, 0, 1), cas(2, 0, 1, true, 2, 5), cas(3, 0, 2, false, 2, 5)])).toBe(
      'ok',
    );
  });

  it('lets an operation with an unknown outcome take effect later, or never', () => {
    expect(check([write(1, 7, 0, Infinity), read(2, 7, 5, 6)])).toBe('ok');
    expect(check([write(1, 7, 0, Infinity), read(2, null, 5, 6)])).toBe('ok');
    // But never before it was called.
    expect(check([read(2, 7, 0, 1), write(1, 7, 2, Infinity)])).toBe('illegal');
  });

  it('checks each key on its own and names the one that failed', () => {
    const history = [
      { ...write(1, 1, 0, 1), key: 'a' },
      { ...read(2, 1, 2, 3), key: 'a' },
      { ...write(1, 5, 0, 1), key: 'b' },
      { ...read(2, null, 2, 3), key: 'b' },
    ];
    const verdict = checkLinearizableByKey(registerModel, history);
    expect(verdict).toMatchObject({ result: 'illegal', key: 'b' });
  });

  it('accepts any history produced by a real register, and rejects one read changed to a value never written', () => {
    // Clients run operations against one register; each takes effect at a random instant
    // between its call and its return, in the order of those instants.
    const scenario = fc.record({
      operations: fc.array(
        fc.record({
          client: fc.integer({ min: 1, max: 6 }),
          kind: fc.constantFrom('read', 'write', 'cas'),
          value: fc.integer({ min: 0, max: 3 }),
          from: fc.integer({ min: 0, max: 3 }),
          start: fc.integer({ min: 0, max: 1000 }),
          before: fc.integer({ min: 0, max: 50 }),
          after: fc.integer({ min: 0, max: 50 }),
        }),
        { minLength: 1, maxLength: 60 },
      ),
    });
    fc.assert(
      fc.property(scenario, ({ operations }) => {
        const timed = operations.map((op) => ({ ...op, at: op.start + op.before + 0.5 }));
        const ordered = [...timed].sort((a, b) => a.at - b.at);
        let state: number | null = null;
        const history: Op[] = [];
        for (const op of ordered) {
          const call = op.start;
          const ret = op.at + op.after + 0.5;
          if (op.kind === 'read') history.push(read(op.client, state, call, ret));
          else if (op.kind === 'write') {
            state = op.value;
            history.push(write(op.client, op.value, call, ret));
          } else {
            const swapped = state === op.from;
            if (swapped) state = op.value;
            history.push(cas(op.client, op.from, op.value, swapped, call, ret));
          }
        }
        expect(checkLinearizable(registerModel, history).result).toBe('ok');
        const reads = history.filter((op) => op.input.type === 'read');
        if (reads.length === 0) return;
        const victim = reads[0] as Op;
        const corrupted = history.map((op) =>
          op === victim ? read(op.client, 99, op.call, op.return) : op,
        );
        expect(checkLinearizable(registerModel, corrupted).result).toBe('illegal');
      }),
      { seed: 4242, numRuns: 300 },
    );
  });

  it('checks 2,000 operations from 10 concurrent clients quickly, and gives up within its step bound', () => {
    const history: Op[] = [];
    let state: number | null = null;
    for (let i = 0; i < 2000; i++) {
      // Ten clients overlap: each operation spans the ten instants around its own.
      const client = i % 10;
      if (i % 3 === 0) {
        state = i;
        history.push(write(client, i, i, i + 10));
      } else history.push(read(client, state, i, i + 10));
    }
    const started = performance.now();
    expect(checkLinearizable(registerModel, history).result).toBe('ok');
    expect(performance.now() - started).toBeLessThan(20_000); // a backstop, not a benchmark
    expect(checkLinearizable(registerModel, history, { stepsMax: 10 }).result).toBe('unknown');
  });
});
