import { describe, expect, it } from 'vitest';
import { DiskHandover, isDiskFailureCode } from '../../../src/server/disk-handover.js';

function handover(outcome: 'ok' | 'refused' = 'ok') {
  let now = 0;
  const attempts: number[] = [];
  const reports: string[] = [];
  const subject = new DiskHandover({
    handOver: () => {
      attempts.push(now);
      return outcome === 'ok' ? Promise.resolve() : Promise.reject(new Error('timed out'));
    },
    report: (message) => reports.push(message),
    now: () => now,
  });
  return { subject, attempts, reports, advance: (ms: number) => (now += ms) };
}

describe('DiskHandover', () => {
  it('tells disk failures from SQL errors and from replication failures', () => {
    expect(isDiskFailureCode(13)).toBe(true); // SQLITE_FULL
    expect(isDiskFailureCode(10)).toBe(true); // SQLITE_IOERR
    expect(isDiskFailureCode(3338)).toBe(true); // SQLITE_IOERR_WRITE
    expect(isDiskFailureCode(264)).toBe(true); // SQLITE_READONLY_RECOVERY
    expect(isDiskFailureCode(8)).toBe(false); // plain SQLITE_READONLY: PRAGMA query_only
    expect(isDiskFailureCode(10250)).toBe(false); // NOT_LEADER
    expect(isDiskFailureCode(10506)).toBe(false); // LEADERSHIP_LOST
    expect(isDiskFailureCode(1)).toBe(false);
    expect(isDiskFailureCode(19)).toBe(false);
    expect(isDiskFailureCode(5)).toBe(false);
  });

  it('hands over only once failures went on for a second, then at most every 10 s', () => {
    const { subject, attempts, advance } = handover();
    subject.failed('full');
    advance(500);
    subject.failed('full');
    expect(attempts).toEqual([]);
    advance(600);
    subject.failed('full');
    expect(attempts).toEqual([1100]);
    advance(5000);
    subject.failed('full');
    expect(attempts).toEqual([1100]);
    advance(5000);
    subject.failed('full');
    expect(attempts).toEqual([1100, 11100]);
  });

  it('starts counting again after a quiet spell', () => {
    const { subject, attempts, advance } = handover();
    subject.failed('full');
    advance(6000);
    subject.failed('full'); // the first of a new run
    expect(attempts).toEqual([]);
  });

  it('hands over at once when it cannot serve, and backs off for a minute when refused', async () => {
    const { subject, attempts, reports, advance } = handover('refused');
    subject.cannotServe('engine waits');
    expect(attempts).toEqual([0]);
    await Promise.resolve();
    await Promise.resolve();
    expect(reports.at(-1)).toMatch(/could not hand leadership over \(timed out\); it leads on/);
    advance(30_000);
    subject.cannotServe('engine waits');
    expect(attempts).toEqual([0]);
    advance(31_000);
    subject.cannotServe('engine waits');
    expect(attempts).toEqual([0, 61_000]);
  });
});
