import type { FaultKind } from './nemesis.js';
import type { Prng } from './prng.js';

/**
 * What one seed's schedule turns on. Swarm testing (Groce, Zhang, Eide, Chen and Regehr, "Swarm
 * Testing", ISSTA 2012): a schedule with every fault at once is diluted, and some bugs need one
 * fault often and another never (a figure 8 schedule is undone by a random crash in its middle).
 * So each seed enables a random subset of the fault kinds, each at a random weight, and draws
 * the Raft options whose paths differ (pre-vote off exposes the real vote's checks).
 */
export interface SwarmChoice {
  readonly kinds: readonly FaultKind[];
  readonly weights: Readonly<Partial<Record<FaultKind, number>>>;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly leaseReads: boolean;
}

/** Weights a kind may get: its actions appear this many times in the nemesis's pool. */
const weightChoices = [1, 2, 4] as const;
const kindProbability = 0.5;
const preVoteProbability = 0.6;
const leaseReadsProbability = 0.4;
const checkQuorumWithoutLeaseProbability = 0.75;

/**
 * Draws a seed's choice from `allowed`. Without swarm every allowed kind is on at weight 1, with
 * pre-vote and check-quorum, and every fourth seed reads from leases (the setup before swarm).
 */
export function drawSwarm(options: {
  readonly prng: Prng;
  readonly seed: number;
  readonly allowed: readonly FaultKind[];
  readonly swarm: boolean;
}): SwarmChoice {
  const { prng, allowed } = options;
  if (!options.swarm) {
    return {
      kinds: allowed,
      weights: {},
      preVote: true,
      checkQuorum: true,
      leaseReads: options.seed % 4 === 0,
    };
  }
  let kinds = allowed.filter(() => prng.chance(kindProbability));
  if (kinds.length === 0 && allowed.length > 0) kinds = [prng.pick(allowed)];
  const weights: Partial<Record<FaultKind, number>> = {};
  for (const kind of kinds) weights[kind] = prng.pick(weightChoices);
  const leaseReads = prng.chance(leaseReadsProbability);
  const preVote = prng.chance(preVoteProbability);
  return {
    kinds,
    weights,
    preVote,
    // Leases rely on the loyalty check-quorum brings (thesis §6.4.1), so they need it. Without
    // pre-vote it is what keeps a removed server, which never learns of its removal, from
    // deposing leader after leader with ever higher terms (thesis §4.2.3): liveness needs one.
    checkQuorum: leaseReads || !preVote || prng.chance(checkQuorumWithoutLeaseProbability),
    leaseReads,
  };
}

/** One line for traces and failure reports. */
export function describeSwarm(choice: SwarmChoice): string {
  const kinds = choice.kinds.map((kind) => `${kind}x${choice.weights[kind] ?? 1}`).join(',');
  return (
    `swarm: ${kinds || 'no faults'}; preVote=${choice.preVote} ` +
    `checkQuorum=${choice.checkQuorum} leaseReads=${choice.leaseReads}`
  );
}
