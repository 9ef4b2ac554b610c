import type { NodeId } from './types.js';

/**
 * The highest index stored by a majority of `voters` (§5.3, §5.4): sort the voters' match indexes
 * descending and take the one at position floor(n/2). A voter without a known match counts as 0.
 */
export function quorumIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[Math.floor(voters.length / 2)] ?? 0;
}

export function majorityOf(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Tallies granted and refused votes among `voters` (§5.2). */
export function voteOutcome(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteOutcome {
  let granted = 0;
  let refused = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    if (vote === false) refused++;
  }
  const majority = majorityOf(voters.length);
  if (granted >= majority) return 'won';
  if (refused > voters.length - majority) return 'lost';
  return 'pending';
}
