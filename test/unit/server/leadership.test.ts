import { describe, expect, it } from 'vitest';
import { Leadership } from '../../../src/server/leadership.js';

describe('Leadership', () => {
  it('starts each epoch from its barrier: a later leadership may propose lower indexes', () => {
    const leadership = new Leadership();
    expect(leadership.begin(10)).toBe(1);
    leadership.proposed(11);
    leadership.proposed(12);
    expect(leadership.lastProposedIndex).toBe(12);
    expect(() => leadership.proposed(12)).toThrow(/rising/);
    expect(leadership.end()).toBe(true);
    // Another leader replaced entries 9..12 meanwhile; this node leads again from entry 8.
    expect(leadership.begin(8)).toBe(2);
    expect(leadership.lastProposedIndex).toBe(8);
    leadership.proposed(9);
    expect(leadership.lastProposedIndex).toBe(9);
  });

  it('asks for a barrier to serve again after every step-down, once at a time', () => {
    const leadership = new Leadership();
    const raft = { role: 'leader', lastIndex: 5, commitIndex: 5, appliedIndex: 5 };
    expect(leadership.barrierDue(raft)).toBe(true);
    leadership.barrierProposed(6);
    expect(leadership.barrierDue({ ...raft, lastIndex: 6 })).toBe(false);
    expect(leadership.barrierDue({ ...raft, lastIndex: 6, commitIndex: 6, appliedIndex: 6 })).toBe(
      true,
    );
    leadership.begin(6);
    expect(leadership.barrierDue(raft)).toBe(false);
    leadership.end();
    expect(leadership.barrierDue({ ...raft, lastIndex: 7, commitIndex: 7, appliedIndex: 7 })).toBe(
      true,
    );
    expect(leadership.barrierDue({ ...raft, role: 'follower' })).toBe(false);
  });
});
