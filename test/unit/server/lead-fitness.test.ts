import { describe, expect, it } from 'vitest';
import { LeadFitness, type LeadFitnessParts } from '../../../src/server/lead-fitness.js';
import { silentLogger } from '../../../src/server/node-logger.js';

/** A follower's fitness, with its disk's state given by the test. */
function fitness(disk: { stall?: string; shortfall?: string }) {
  const parts: LeadFitnessParts = {
    id: 1,
    dataDir: '/unused',
    clock: { now: () => 0, after: () => () => {}, every: () => () => {}, defer: () => {} },
    core: { campaignHold: undefined, holdCampaigns: () => {} },
    storage: {
      stall: disk.stall === undefined ? undefined : { error: new Error(disk.stall) },
    } as LeadFitnessParts['storage'],
    isLeader: () => false,
    otherVoters: () => 2,
    closed: () => false,
    transferLeadership: async () => {},
    diskShortfall: () => disk.shortfall,
    logger: silentLogger,
  };
  return new LeadFitness(parts);
}

describe('LeadFitness', () => {
  it('refuses to take leadership over while its disk fails it or has less free than the reserve', () => {
    expect(fitness({}).refusesTakeOver()).toBe(false);
    expect(fitness({ stall: 'ENOSPC' }).refusesTakeOver()).toBe(true);
    // It would refuse every write (disk-reserve.ts), so it could not serve as leader either.
    expect(fitness({ shortfall: 'database or disk is full: ...' }).refusesTakeOver()).toBe(true);
    const engineWaiting = fitness({});
    engineWaiting.engineWaits('writing pages: ENOSPC');
    expect(engineWaiting.refusesTakeOver()).toBe(true);
    engineWaiting.engineWaits(undefined);
    expect(engineWaiting.refusesTakeOver()).toBe(false);
  });
});
