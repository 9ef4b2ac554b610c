import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  majorityOf,
  quorumIndex,
  voteOutcome,
  type VoteOutcome,
} from '../../../src/raft/quorum.js';
import type { NodeId } from '../../../src/raft/types.js';

/**
 * The quorum arithmetic checked against naive reference versions on seeded random input (cf.
 * etcd's quorum/quick_test.go). A failure prints the seed and the shrunk counterexample.
 */

const seed = 20_241_126;
const runs = { seed, numRuns: 2_000 };

/** The largest index that at least a majority of voters store, found by trying every candidate. */
function naiveQuorumIndex(voters: readonly NodeId[], match: ReadonlyMap<NodeId, number>): number {
  const candidates = [0, ...voters.map((id) => match.get(id) ?? 0)];
  let best = 0;
  for (const candidate of candidates) {
    const storing = voters.filter((id) => (match.get(id) ?? 0) >= candidate).length;
    if (storing * 2 > voters.length && candidate > best) best = candidate;
  }
  return best;
}

/** Won with a strict majority of grants; lost once the grants still possible cannot reach one. */
function naiveVoteOutcome(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteOutcome {
  const granted = voters.filter((id) => votes.get(id) === true).length;
  const possible = voters.filter((id) => votes.get(id) !== false).length;
  if (granted * 2 > voters.length) return 'won';
  if (possible * 2 <= voters.length) return 'lost';
  return 'pending';
}

/** Distinct voter ids, some of them with a match index (or a vote), plus entries for non-voters. */
const votersArbitrary = fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 9 });

describe('quorumIndex (§5.3, §5.4)', () => {
  it('matches the naive reference on random voters and match indexes', () => {
    fc.assert(
      fc.property(
        votersArbitrary,
        fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.nat({ max: 1_000 }))),
        (voters, pairs) => {
          const match = new Map(pairs);
          const actual = quorumIndex(voters, (id) => match.get(id) ?? 0);
          expect(actual).toBe(naiveQuorumIndex(voters, match));
        },
      ),
      runs,
    );
  });

  it('counts only voters: a non-voter with a high match index changes nothing', () => {
    const match = new Map([
      [1, 5],
      [2, 3],
      [3, 1],
      [9, 100],
    ]);
    expect(quorumIndex([1, 2, 3], (id) => match.get(id) ?? 0)).toBe(3);
  });

  it('is 0 with no voters, and a voter without a known match counts as 0', () => {
    expect(quorumIndex([], () => 7)).toBe(0);
    expect(quorumIndex([1, 2, 3], (id) => (id === 1 ? 9 : 0))).toBe(0);
    expect(quorumIndex([1], () => 4)).toBe(4);
  });

  it('in an even-sized cluster needs more than half', () => {
    const match = new Map([
      [1, 8],
      [2, 8],
      [3, 2],
      [4, 2],
    ]);
    expect(quorumIndex([1, 2, 3, 4], (id) => match.get(id) ?? 0)).toBe(2);
  });
});

describe('voteOutcome (§5.2)', () => {
  it('matches the naive reference on random voters and votes', () => {
    fc.assert(
      fc.property(
        votersArbitrary,
        fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.boolean())),
        (voters, pairs) => {
          const votes = new Map(pairs);
          expect(voteOutcome(voters, votes)).toBe(naiveVoteOutcome(voters, votes));
        },
      ),
      runs,
    );
  });

  it('ignores votes from servers that are not voters', () => {
    const votes = new Map([
      [1, true],
      [8, true],
      [9, true],
    ]);
    expect(voteOutcome([1, 2, 3], votes)).toBe('pending');
  });

  it('decides at the edge of the majority', () => {
    const granted = (ids: number[]) => new Map(ids.map((id) => [id, true]));
    const refused = (ids: number[]) => new Map(ids.map((id) => [id, false]));
    expect(voteOutcome([1, 2, 3], granted([1, 2]))).toBe('won');
    expect(voteOutcome([1, 2, 3], granted([1]))).toBe('pending');
    expect(voteOutcome([1, 2, 3], refused([2, 3]))).toBe('lost');
    expect(voteOutcome([1, 2, 3, 4], granted([1, 2]))).toBe('pending');
    expect(voteOutcome([1, 2, 3, 4], refused([3, 4]))).toBe('lost');
    expect(voteOutcome([1], granted([1]))).toBe('won');
    expect(voteOutcome([], new Map())).toBe('lost');
  });
});

describe('majorityOf', () => {
  it('is more than half', () => {
    expect([1, 2, 3, 4, 5, 6, 64].map(majorityOf)).toEqual([1, 2, 2, 3, 3, 4, 33]);
  });
});
