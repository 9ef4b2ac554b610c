import { describe, expect, it } from 'vitest';
import {
  PeerTransport,
  RAFT_FRAME_BYTES_MAX_MIN,
  parsePeerAddress,
  peerTransportDefaults,
  reconnectDelayMilliseconds,
} from '../../../src/transport/index.js';
import type { PeerTransportOptions } from '../../../src/transport/index.js';
import { SendQueue } from '../../../src/transport/send-queue.js';

/** The edges of every limit that needs no socket, and options misuse. */

describe('SendQueue', () => {
  it('takes frames up to messagesMax, then refuses', () => {
    const queue = new SendQueue({ messagesMax: 3, bytesMax: 1000 });
    for (let count = 0; count < 3; count++) expect(queue.offer(Buffer.alloc(10))).toBe(true);
    expect(queue.offer(Buffer.alloc(1))).toBe(false);
    expect([queue.messageCount, queue.bytes]).toEqual([3, 30]);
  });

  it('takes frames up to exactly bytesMax, then refuses', () => {
    const queue = new SendQueue({ messagesMax: 10, bytesMax: 100 });
    expect(queue.offer(Buffer.alloc(60))).toBe(true);
    expect(queue.offer(Buffer.alloc(41))).toBe(false);
    expect(queue.offer(Buffer.alloc(40))).toBe(true);
    expect(queue.offer(Buffer.alloc(1))).toBe(false);
    expect(queue.bytes).toBe(100);
  });

  it('takes one frame larger than bytesMax when empty, and nothing beside it', () => {
    const queue = new SendQueue({ messagesMax: 10, bytesMax: 100 });
    expect(queue.offer(Buffer.alloc(500))).toBe(true);
    expect(queue.offer(Buffer.alloc(1))).toBe(false);
    expect(queue.shift()?.length).toBe(500);
    expect(queue.offer(Buffer.alloc(1))).toBe(true);
  });

  it('behaves like a plain array (the reference model) through many offers and shifts', () => {
    const queue = new SendQueue({ messagesMax: 3000, bytesMax: 1 << 20 });
    const model: Buffer[] = [];
    let written = 0;
    // Two offers per shift, then only shifts: the head index grows past its compaction point.
    for (let step = 0; step < 6000; step++) {
      if (step < 4000 && step % 3 !== 2) {
        const frame = Buffer.from([written++ % 256, step % 7]);
        expect(queue.offer(frame)).toBe(model.length < 3000);
        if (model.length < 3000) model.push(frame);
      } else {
        expect(queue.shift()).toBe(model.shift());
      }
      expect(queue.messageCount).toBe(model.length);
      expect(queue.bytes).toBe(model.length * 2);
    }
    queue.clear();
    expect([queue.messageCount, queue.bytes, queue.shift()]).toEqual([0, 0, undefined]);
  });
});

describe('reconnectDelayMilliseconds', () => {
  const backoff = { firstMs: 50, maxMs: 1000 };

  it('doubles from the minimum to the maximum, drawing from the upper half of the ceiling', () => {
    const lowest = (attempt: number) => reconnectDelayMilliseconds(attempt, backoff, () => 0);
    const highest = (attempt: number) =>
      reconnectDelayMilliseconds(attempt, backoff, () => 0.999_999);
    expect([1, 2, 3, 4, 5, 6, 7].map(lowest)).toEqual([50, 50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6, 7].map(highest)).toEqual([50, 99, 199, 399, 799, 999, 999]);
    expect(lowest(10_000)).toBe(500);
  });

  it('rejects a bad attempt or a random source outside [0, 1)', () => {
    expect(() => reconnectDelayMilliseconds(0, backoff, () => 0)).toThrow(RangeError);
    expect(() => reconnectDelayMilliseconds(1, backoff, () => 1)).toThrow(RangeError);
    expect(() => reconnectDelayMilliseconds(1, backoff, () => Number.NaN)).toThrow(RangeError);
  });
});

describe('parsePeerAddress', () => {
  it('splits host and port, IPv6 in brackets', () => {
    expect(parsePeerAddress('127.0.0.1:9001')).toEqual({ host: '127.0.0.1', port: 9001 });
    expect(parsePeerAddress('node-1.example:1')).toEqual({ host: 'node-1.example', port: 1 });
    expect(parsePeerAddress('[::1]:65535')).toEqual({ host: '::1', port: 65535 });
  });

  it.each(['127.0.0.1', ':9001', '127.0.0.1:0', '127.0.0.1:65536', 'a:-1', 'a:1x', '', '[]:1'])(
    'refuses %j',
    (address) => {
      expect(() => parsePeerAddress(address)).toThrow(RangeError);
    },
  );
});

describe('PeerTransport options', () => {
  const valid: PeerTransportOptions = { id: 1, address: '127.0.0.1:9001', onMessage: () => {} };

  it('freezes its defaults', () => {
    expect(Object.isFrozen(peerTransportDefaults)).toBe(true);
    new PeerTransport(valid).close();
  });

  it.each<[string, Record<string, unknown>, ErrorConstructor]>([
    ['a misspelled option', { queueMessageMax: 1 }, TypeError],
    ['id 0', { id: 0 }, RangeError],
    ['a fractional id', { id: 1.5 }, RangeError],
    ['an address without a port', { address: 'localhost' }, RangeError],
    ['no onMessage', { onMessage: undefined }, TypeError],
    ['a zero limit', { queueMessagesMax: 0 }, RangeError],
    ['a negative limit', { snapshotQueueBytesMax: -1 }, RangeError],
    ['a fractional limit', { writeStallTimeoutMilliseconds: 0.5 }, RangeError],
    [
      'min over max',
      { reconnectDelayMillisecondsMin: 5, reconnectDelayMillisecondsMax: 4 },
      RangeError,
    ],
    ['a frame cap below the least', { frameBytesMax: RAFT_FRAME_BYTES_MAX_MIN - 1 }, RangeError],
    ['a frame cap over 4 GiB', { frameBytesMax: 2 ** 32 }, RangeError],
  ])('rejects %s', (_, change, errorClass) => {
    expect(() => new PeerTransport({ ...valid, ...change } as PeerTransportOptions)).toThrow(
      errorClass,
    );
  });

  it('rejects bad peers in setPeers, naming them', () => {
    const transport = new PeerTransport(valid);
    expect(() => transport.setPeers([{ id: 0, address: 'a:1' }])).toThrow(/peers\[0\]\.id/);
    expect(() => transport.setPeers([{ id: 2, address: 'a' }])).toThrow(/peers\[0\]\.address/);
    const twice = [
      { id: 2, address: 'a:1' },
      { id: 2, address: 'b:1' },
    ];
    expect(() => transport.setPeers(twice)).toThrow(/appears twice/);
    transport.close();
  });
});
