import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/raft/types.js';
import { Prng } from './prng.js';
import { Scheduler } from './scheduler.js';
import { SimNetwork } from './sim-network.js';

function timeoutNow(from: number, to: number, term: number): Message {
  return { type: 'TimeoutNow', from, to, term };
}

function setUp(seed = 1): { scheduler: Scheduler; network: SimNetwork; delivered: Message[] } {
  const scheduler = new Scheduler();
  const delivered: Message[] = [];
  const network = new SimNetwork({
    scheduler,
    prng: new Prng(seed),
    latencyMinMilliseconds: 1,
    latencyMaxMilliseconds: 20,
    spikeMaxMilliseconds: 500,
    deliver: (message) => delivered.push(message),
  });
  return { scheduler, network, delivered };
}

function drain(scheduler: Scheduler): void {
  while (scheduler.step() !== undefined);
}

describe('SimNetwork', () => {
  it('delivers every message within the latency bounds, reordering some', () => {
    const { scheduler, network, delivered } = setUp();
    for (let term = 1; term <= 100; term++) network.send(timeoutNow(1, 2, term));
    const arrivals: number[] = [];
    while (scheduler.step() !== undefined) arrivals.push(scheduler.now);
    expect(delivered).toHaveLength(100);
    expect(Math.min(...arrivals)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...arrivals)).toBeLessThanOrEqual(20);
    const terms = delivered.map((message) => message.term);
    expect(terms).not.toEqual([...terms].sort((a, b) => a - b));
    expect(network.stats).toMatchObject({ sent: 100, delivered: 100, dropped: 0 });
  });

  it('is deterministic for a seed', () => {
    const runs = [1, 1].map((seed) => {
      const { scheduler, network, delivered } = setUp(seed);
      network.faults = {
        dropProbability: 0.3,
        duplicateProbability: 0.3,
        delaySpikeProbability: 0.1,
      };
      for (let term = 1; term <= 50; term++) network.send(timeoutNow(1, 2, term));
      drain(scheduler);
      return delivered.map((message) => message.term);
    });
    expect(runs[0]).toEqual(runs[1]);
  });

  it('drops and duplicates at the configured rates', () => {
    const { scheduler, network, delivered } = setUp();
    network.faults = { dropProbability: 1, duplicateProbability: 0, delaySpikeProbability: 0 };
    network.send(timeoutNow(1, 2, 1));
    network.faults = { dropProbability: 0, duplicateProbability: 1, delaySpikeProbability: 0 };
    network.send(timeoutNow(1, 2, 2));
    drain(scheduler);
    expect(delivered.map((message) => message.term)).toEqual([2, 2]);
    expect(network.stats).toMatchObject({ sent: 2, dropped: 1, duplicated: 1, delivered: 2 });
  });

  it('delays spiked messages beyond the usual latency', () => {
    const { scheduler, network } = setUp();
    network.faults = { dropProbability: 0, duplicateProbability: 0, delaySpikeProbability: 1 };
    for (let term = 1; term <= 20; term++) network.send(timeoutNow(1, 2, term));
    expect(scheduler.peekTime()).toBeGreaterThanOrEqual(20);
    drain(scheduler);
    expect(network.stats.delaySpikes).toBe(20);
  });

  it('cuts links between partition groups both ways, and heals', () => {
    const { scheduler, network, delivered } = setUp();
    network.partition([[1, 2], [3]]);
    expect(network.canReach(1, 2)).toBe(true);
    expect(network.canReach(1, 3)).toBe(false);
    expect(network.canReach(3, 2)).toBe(false);
    expect(network.canReach(4, 3)).toBe(true);
    network.send(timeoutNow(1, 3, 1));
    network.send(timeoutNow(3, 1, 2));
    network.send(timeoutNow(1, 2, 3));
    network.heal();
    network.send(timeoutNow(1, 3, 4));
    drain(scheduler);
    expect(delivered.map((message) => message.term).sort()).toEqual([3, 4]);
    expect(() => network.partition([[1], [1, 2]])).toThrow(RangeError);
  });

  it('cuts one direction only for a one-way partition', () => {
    const { network } = setUp();
    network.blockOneWay(1, 2);
    expect(network.canReach(1, 2)).toBe(false);
    expect(network.canReach(2, 1)).toBe(true);
  });

  it('isolates a node from everyone', () => {
    const { network } = setUp();
    network.isolate(2);
    expect(network.canReach(1, 2)).toBe(false);
    expect(network.canReach(2, 3)).toBe(false);
    expect(network.canReach(1, 3)).toBe(true);
    expect(network.describeCuts()).toBe('isolated 2');
  });

  it('loses messages in flight when a partition starts before they arrive', () => {
    const { scheduler, network, delivered } = setUp();
    network.send(timeoutNow(1, 2, 1));
    network.isolate(2);
    drain(scheduler);
    expect(delivered).toEqual([]);
    expect(network.stats.droppedByPartition).toBe(1);
  });
});
