import { describe, expect, it } from 'vitest';
import { faultKinds } from './nemesis.js';
import { Prng } from './prng.js';
import { drawSwarm } from './swarm.js';

function draw(seed: number, swarm = true) {
  return drawSwarm({ prng: new Prng(seed).fork('swarm'), seed, allowed: faultKinds, swarm });
}

describe('drawSwarm', () => {
  it('is a function of the seed', () => {
    expect(draw(7)).toEqual(draw(7));
  });

  it('enables at least one allowed kind, each with a positive weight', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const choice = draw(seed);
      expect(choice.kinds.length).toBeGreaterThan(0);
      for (const kind of choice.kinds) expect(choice.weights[kind]).toBeGreaterThan(0);
    }
  });

  it('keeps check-quorum on where leases or liveness need it', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const choice = draw(seed);
      if (choice.leaseReads) expect(choice.checkQuorum).toBe(true);
      if (!choice.preVote) expect(choice.checkQuorum).toBe(true);
    }
  });

  it('varies the options across seeds', () => {
    const choices = Array.from({ length: 100 }, (_, index) => draw(index + 1));
    expect(new Set(choices.map((choice) => choice.preVote)).size).toBe(2);
    expect(new Set(choices.map((choice) => choice.leaseReads)).size).toBe(2);
    expect(new Set(choices.map((choice) => choice.kinds.length)).size).toBeGreaterThan(2);
  });

  it('without swarm enables every allowed kind with the default options', () => {
    const choice = draw(8, false);
    expect(choice.kinds).toEqual(faultKinds);
    expect(choice.preVote).toBe(true);
    expect(choice.checkQuorum).toBe(true);
    expect(choice.leaseReads).toBe(true);
    expect(draw(9, false).leaseReads).toBe(false);
  });
});
