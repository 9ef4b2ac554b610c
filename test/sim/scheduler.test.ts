import { describe, expect, it } from 'vitest';
import { Scheduler, pendingEventsMax } from './scheduler.js';

describe('Scheduler', () => {
  it('runs events in time order and jumps the clock to each', () => {
    const scheduler = new Scheduler();
    const ran: string[] = [];
    scheduler.schedule(30, 'c', () => ran.push(`c@${scheduler.now}`));
    scheduler.schedule(10, 'a', () => ran.push(`a@${scheduler.now}`));
    scheduler.schedule(20, 'b', () => ran.push(`b@${scheduler.now}`));
    while (scheduler.step() !== undefined);
    expect(ran).toEqual(['a@10', 'b@20', 'c@30']);
  });

  it('breaks ties between events at the same time by insertion order', () => {
    const scheduler = new Scheduler();
    const ran: number[] = [];
    for (let number = 0; number < 50; number++)
      scheduler.schedule(5, 'tie', () => ran.push(number));
    while (scheduler.step() !== undefined);
    expect(ran).toEqual(Array.from({ length: 50 }, (_, number) => number));
  });

  it('runs events scheduled by events, including at the current time', () => {
    const scheduler = new Scheduler();
    const ran: string[] = [];
    scheduler.schedule(1, 'outer', () => {
      ran.push('outer');
      scheduler.schedule(0, 'inner', () => ran.push(`inner@${scheduler.now}`));
    });
    scheduler.schedule(1, 'second', () => ran.push('second'));
    while (scheduler.step() !== undefined);
    expect(ran).toEqual(['outer', 'second', 'inner@1']);
  });

  it('skips cancelled events', () => {
    const scheduler = new Scheduler();
    const ran: string[] = [];
    const event = scheduler.schedule(1, 'cancelled', () => ran.push('cancelled'));
    scheduler.schedule(2, 'kept', () => ran.push('kept'));
    scheduler.cancel(event);
    scheduler.cancel(event);
    expect(scheduler.peekTime()).toBe(2);
    while (scheduler.step() !== undefined);
    expect(ran).toEqual(['kept']);
  });

  it('runUntil stops at the time and at the step bound, and moves the clock to the time', () => {
    const scheduler = new Scheduler();
    let count = 0;
    for (let time = 1; time <= 10; time++) scheduler.at(time, 'count', () => count++);
    expect(scheduler.runUntil(5, 100)).toBe(5);
    expect(scheduler.now).toBe(5);
    expect(scheduler.runUntil(100, 2)).toBe(2);
    expect(scheduler.now).toBe(7);
    expect(scheduler.runUntil(100, 100)).toBe(3);
    expect(scheduler.now).toBe(100);
    expect(count).toBe(10);
  });

  it('orders many random events like a sort by (time, insertion)', () => {
    const scheduler = new Scheduler();
    const expected: { time: number; sequence: number }[] = [];
    const ran: number[] = [];
    for (let sequence = 0; sequence < 2000; sequence++) {
      const time = (sequence * 7919) % 97;
      expected.push({ time, sequence });
      scheduler.at(time, 'random', () => ran.push(sequence));
    }
    expected.sort((a, b) => a.time - b.time || a.sequence - b.sequence);
    while (scheduler.step() !== undefined);
    expect(ran).toEqual(expected.map((event) => event.sequence));
  });

  it('refuses the past, negative delays and more than pendingEventsMax events', () => {
    const scheduler = new Scheduler();
    scheduler.schedule(10, 'later', () => undefined);
    scheduler.step();
    expect(() => scheduler.at(5, 'past', () => undefined)).toThrow(RangeError);
    expect(() => scheduler.schedule(-1, 'negative', () => undefined)).toThrow(RangeError);
    expect(() => scheduler.schedule(Number.NaN, 'nan', () => undefined)).toThrow(RangeError);
    for (let count = 0; count < pendingEventsMax; count++)
      scheduler.schedule(1, 'fill', () => undefined);
    expect(() => scheduler.schedule(1, 'one too many', () => undefined)).toThrow(RangeError);
  });
});
