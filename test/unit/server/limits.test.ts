import { describe, expect, it } from 'vitest';
import { NODE_LIMITS_DEFAULT, resolveNodeLimits } from '../../../src/server/limits.js';
import { IteratorRowSource, encodeRowBatches } from '../../../src/server/sql/row-batches.js';
import { ValueType, type WireValue } from '../../../src/wire/index.js';

describe('resolveNodeLimits', () => {
  it('fills in the documented defaults', () => {
    expect(resolveNodeLimits(undefined)).toEqual({
      connectionsMax: 4096,
      messageBytesMax: 64 * 1024 * 1024,
      pipelinedRequestsMax: 64,
      statementsPerConnectionMax: 4096,
      queryBufferBytes: 64 * 1024,
      idleTimeoutMs: 3_600_000,
      diskReserveBytes: 64 * 1024 * 1024,
    });
    expect(resolveNodeLimits({ connectionsMax: 10, idleTimeoutMs: 0 })).toEqual({
      ...NODE_LIMITS_DEFAULT,
      connectionsMax: 10,
      idleTimeoutMs: 0,
    });
  });

  it('names the limit that is unknown, not an integer or out of range', () => {
    expect(() => resolveNodeLimits({ connections: 3 } as never)).toThrow(
      new TypeError('createNode: unknown limit "connections"'),
    );
    expect(() => resolveNodeLimits({ connectionsMax: 1.5 })).toThrow(
      /limits.connectionsMax must be an integer, got 1.5/,
    );
    expect(() => resolveNodeLimits({ connectionsMax: '3' as never })).toThrow(TypeError);
    expect(() => resolveNodeLimits({ connectionsMax: 0 })).toThrow(
      new RangeError('createNode: limits.connectionsMax must be from 1 to 1000000, got 0'),
    );
    expect(() => resolveNodeLimits({ messageBytesMax: 100 })).toThrow(RangeError);
    expect(() => resolveNodeLimits({ idleTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => resolveNodeLimits({ diskReserveBytes: -1 })).toThrow(RangeError);
    expect(() => resolveNodeLimits(7 as never)).toThrow(TypeError);
  });
});

describe('encodeRowBatches under a reply budget', () => {
  const rows = (count: number, text: string): WireValue[][] =>
    Array.from({ length: count }, (_, i) => [
      { type: ValueType.INTEGER, value: BigInt(i) },
      { type: ValueType.TEXT, value: text },
    ]);

  it('stops a reply once it reaches the budget and hands out every row once', () => {
    const source = new IteratorRowSource(
      ['i', 't'],
      rows(2000, 'x'.repeat(100))[Symbol.iterator](),
    );
    const replies: Buffer[] = [];
    for (let done = false; !done;) {
      const reply = encodeRowBatches(source, 16 * 1024);
      replies.push(reply.bytes);
      done = reply.done;
      // A ROWS message is cut at 4 KiB, so a reply passes the budget by less than one message.
      expect(reply.bytes.length).toBeLessThan(16 * 1024 + 4096 + 256);
    }
    expect(replies.length).toBeGreaterThan(10);
    const total = replies.reduce((sum, reply) => sum + reply.length, 0);
    const single = encodeRowBatches(
      new IteratorRowSource(['i', 't'], rows(2000, 'x'.repeat(100))[Symbol.iterator]()),
      1024 ** 3,
    );
    expect(single.done).toBe(true);
    // Cutting replies differently cuts no ROWS message differently: the same bytes in all.
    expect(Buffer.concat(replies).equals(single.bytes)).toBe(true);
    expect(total).toBe(single.bytes.length);
  });

  it('sends a row larger than the budget alone rather than never', () => {
    const source = new IteratorRowSource(
      ['i', 't'],
      rows(3, 'y'.repeat(50_000))[Symbol.iterator](),
    );
    const first = encodeRowBatches(source, 1024);
    expect(first.done).toBe(false);
    expect(first.bytes.length).toBeGreaterThan(50_000);
    expect(first.bytes.length).toBeLessThan(2 * 50_000);
  });
});
