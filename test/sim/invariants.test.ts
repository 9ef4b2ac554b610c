import { describe, expect, it } from 'vitest';
import type { RaftStatus } from '../../src/raft/raft-core.js';
import { EntryType, type Entry, type Message } from '../../src/raft/types.js';
import { InvariantViolation } from './invariant-violation.js';
import { Invariants, type ObservedNode } from './invariants.js';
import { MemoryStorage } from './memory-storage.js';
import { Prng } from './prng.js';
import { Scheduler } from './scheduler.js';

const scheduler = new Scheduler();

function entry(index: number, term: number, data: string): Entry {
  return { index, term, type: EntryType.command, data: Buffer.from(data) };
}

function status(overrides: Partial<RaftStatus>): RaftStatus {
  return {
    id: 1,
    term: 1,
    vote: 0,
    role: 'follower',
    leaderId: 0,
    commitIndex: 0,
    appliedIndex: 0,
    lastIndex: 0,
    lastTerm: 0,
    durableIndex: 0,
    snapshotIndex: 0,
    receivingSnapshot: false,
    configuration: { servers: [] },
    configurationIndex: 0,
    ...overrides,
  };
}

/** A node whose status the test sets directly, over a real in-memory storage. */
function fakeNode(
  id: number,
): ObservedNode & { current: RaftStatus | undefined; incarnation: number } {
  const storage = new MemoryStorage({
    scheduler,
    prng: new Prng(id),
    fsyncMinMilliseconds: 1,
    fsyncMaxMilliseconds: 1,
    tornPersistProbability: 0,
  });
  const node = {
    id,
    incarnation: 1,
    storage,
    current: undefined as RaftStatus | undefined,
    status: () => node.current,
  };
  return node;
}

function violation(action: () => void): string {
  try {
    action();
  } catch (error) {
    if (error instanceof InvariantViolation) return error.invariant;
    throw error;
  }
  return 'none';
}

describe('Invariants', () => {
  it('election safety: two leaders of one term', () => {
    const invariants = new Invariants();
    const [a, b] = [fakeNode(1), fakeNode(2)];
    a.current = status({ id: 1, role: 'leader', term: 3 });
    invariants.checkStep([a, b]);
    b.current = status({ id: 2, role: 'leader', term: 3 });
    expect(violation(() => invariants.checkStep([a, b]))).toBe('election safety');
  });

  it('election safety: one node leading a term again after a restart', () => {
    const invariants = new Invariants();
    const node = fakeNode(1);
    node.current = status({ role: 'leader', term: 3 });
    invariants.checkStep([node]);
    node.incarnation = 2;
    expect(violation(() => invariants.checkStep([node]))).toBe('election safety');
  });

  it('monotonic term and commit index within an incarnation, but not across restarts', () => {
    const invariants = new Invariants();
    const node = fakeNode(1);
    node.current = status({ term: 5, commitIndex: 4, lastIndex: 4 });
    invariants.checkStep([node]);
    node.current = status({ term: 5, commitIndex: 3, lastIndex: 4 });
    expect(violation(() => invariants.checkStep([node]))).toBe('commit monotonic');
    node.incarnation = 2;
    expect(violation(() => invariants.checkStep([node]))).toBe('none');
    node.current = status({ term: 4, commitIndex: 3, lastIndex: 4 });
    expect(violation(() => invariants.checkStep([node]))).toBe('term monotonic');
  });

  it('log matching: one (index, term) with two payloads, or after two different terms', () => {
    const invariants = new Invariants();
    const [a, b, c] = [fakeNode(1), fakeNode(2), fakeNode(3)];
    invariants.persisting(a, { entries: [entry(1, 1, 'x'), entry(2, 2, 'y')] });
    expect(
      violation(() => invariants.persisting(b, { entries: [entry(1, 1, 'x'), entry(2, 2, 'z')] })),
    ).toBe('log matching');
    c.storage.bootstrap({
      hardState: { term: 1, vote: 0 },
      snapshot: undefined,
      entries: [entry(1, 3, 'w')],
    });
    expect(violation(() => invariants.persisting(c, { entries: [entry(2, 2, 'y')] }))).toBe(
      'log matching',
    );
  });

  it('state machine safety: two entries applied at one index, or different states after it', () => {
    const invariants = new Invariants();
    invariants.applied(1, entry(1, 1, 'x'), 10);
    expect(violation(() => invariants.applied(2, entry(1, 1, 'y'), 10))).toBe(
      'state machine safety',
    );
    expect(violation(() => invariants.applied(3, entry(1, 1, 'x'), 11))).toBe(
      'state machine safety',
    );
  });

  it('leader completeness: a leader whose log stops short of an earlier commit', () => {
    const invariants = new Invariants();
    const [a, b] = [fakeNode(1), fakeNode(2)];
    a.current = status({ id: 1, role: 'leader', term: 2, commitIndex: 5, lastIndex: 5 });
    invariants.checkStep([a, b]);
    a.current = status({ id: 1, role: 'follower', term: 3, commitIndex: 5, lastIndex: 5 });
    b.current = status({ id: 2, role: 'leader', term: 3, lastIndex: 4 });
    expect(violation(() => invariants.checkStep([a, b]))).toBe('leader completeness');
  });

  it('votes: one per term, and only once durable', () => {
    const invariants = new Invariants();
    const voter = fakeNode(1);
    voter.storage.bootstrap({ hardState: { term: 2, vote: 2 }, snapshot: undefined, entries: [] });
    const vote = (to: number, term: number): Message => ({
      type: 'RequestVoteResult',
      from: 1,
      to,
      term,
      voteGranted: true,
      preVote: false,
    });
    invariants.messageSent(vote(2, 2), voter);
    expect(violation(() => invariants.messageSent(vote(3, 2), voter))).toBe('one vote per term');
    expect(violation(() => invariants.messageSent(vote(3, 4), voter))).toBe('vote durability');
  });

  it('acknowledgements promise durable entries', () => {
    const invariants = new Invariants();
    const follower = fakeNode(2);
    const acknowledgement: Message = {
      type: 'AppendEntriesResult',
      from: 2,
      to: 1,
      term: 1,
      success: true,
      index: 3,
      hintIndex: 0,
      hintTerm: 0,
      heartbeatSequence: 0,
    };
    expect(violation(() => invariants.messageSent(acknowledgement, follower))).toBe(
      'acknowledged durability',
    );
  });

  it('durability: an acknowledged proposal replaced or missing at the end', () => {
    const invariants = new Invariants();
    invariants.ledger.accepted(1, 1, 1, Buffer.from('x'));
    invariants.applied(1, entry(1, 1, 'x'), 10);
    expect(invariants.ledger.isAcknowledged(1, 1)).toBe(true);
    expect(violation(() => invariants.ledger.checkAllPresent(2, []))).toBe('durability');
    expect(
      violation(() =>
        invariants.ledger.checkAllPresent(2, [{ index: 1, term: 1, data: Buffer.from('x') }]),
      ),
    ).toBe('none');
  });
});
