import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WriteLock } from '../../../src/server/sql/write-lock.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('WriteLock', () => {
  it('hands the lock to waiters in arrival order', () => {
    const lock = new WriteLock();
    const order: number[] = [];
    expect(
      lock.acquire(
        1,
        1000,
        () => order.push(1),
        () => {},
      ),
    ).toBe(true);
    expect(
      lock.acquire(
        2,
        1000,
        () => order.push(2),
        () => {},
      ),
    ).toBe(false);
    expect(
      lock.acquire(
        3,
        1000,
        () => order.push(3),
        () => {},
      ),
    ).toBe(false);
    expect(
      lock.acquire(
        1,
        1000,
        () => {},
        () => {},
      ),
    ).toBe(true); // the holder again
    lock.release(1);
    expect(lock.holder).toBe(2);
    lock.release(2);
    expect(order).toEqual([2, 3]);
    expect(lock.holder).toBe(3);
  });

  it('gives up on a waiter after its busy timeout', () => {
    const lock = new WriteLock();
    lock.acquire(
      1,
      1000,
      () => {},
      () => {},
    );
    const timedOut = vi.fn();
    lock.acquire(2, 500, () => {}, timedOut);
    vi.advanceTimersByTime(499);
    expect(timedOut).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(timedOut).toHaveBeenCalledWith(expect.stringContaining('database is locked'));
    lock.release(1);
    expect(lock.holder).toBeUndefined();
  });

  it('holds new writers back while paused, and lets them in on resume', () => {
    const lock = new WriteLock();
    lock.pause();
    const granted = vi.fn();
    expect(lock.acquire(1, 1000, granted, () => {})).toBe(false);
    lock.resume();
    expect(granted).toHaveBeenCalledOnce();
    expect(lock.holder).toBe(1);
  });

  it('forgets a session that goes away, waiting or holding', () => {
    const lock = new WriteLock();
    lock.acquire(
      1,
      1000,
      () => {},
      () => {},
    );
    const second = vi.fn();
    lock.acquire(2, 1000, second, () => {});
    lock.forget(2);
    lock.forget(1);
    expect(second).not.toHaveBeenCalled();
    expect(lock.holder).toBeUndefined();
  });

  it('runs every waiter on clear, so each finds leadership gone', () => {
    const lock = new WriteLock();
    lock.acquire(
      1,
      1000,
      () => {},
      () => {},
    );
    const waiter = vi.fn();
    lock.acquire(2, 1000, waiter, () => {});
    lock.clear();
    expect(waiter).toHaveBeenCalledOnce();
    expect(lock.holder).toBeUndefined();
  });
});
