// Fault runs with reads from followers (docs/reads.md): the register workload of register.test.ts,
// its pool set to read from members, so most reads are served by whichever member the pool turns
// to, while the nemesis kills and pauses leaders and followers (and, for bounded reads, cuts a
// follower off from the leader while clients still reach it). With read-index reads the history
// must be linearizable; with bounded staleness, linearizable once each read is taken as asked
// `maxStalenessMs` earlier (the staleness check). Every node must end with the same rows.
import { describe, expect, it } from 'vitest';
import {
  expectLinearizableRegisters,
  faultRunMs,
  faultTestTimeoutMs,
  setUpRegisters,
  useFaultCluster,
} from './fault-cluster.js';
import { processFaults } from './nemesis.js';
import type { PoolOptions } from '../../drivers/pool/index.js';

const RUN_MS = faultRunMs(10_000);
const MAX_STALENESS_MS = 300;

/**
 * One fault run of the register workload with the pool's reads served by members as `reads`
 * says; members must have served reads, or the run did not test what it is named for.
 */
function followerReadsRun(
  title: string,
  reads: PoolOptions['reads'],
  run: Omit<Parameters<typeof expectLinearizableRegisters>[1], 'durationMs'>,
  what: string,
): void {
  describe(title, () => {
    const fixture = useFaultCluster({ setUp: setUpRegisters, reads });
    it(
      what,
      async () => {
        await expectLinearizableRegisters(fixture, { ...run, durationMs: RUN_MS });
        expect(fixture.pool.stats().readsServedByMembers).toBeGreaterThan(50);
      },
      faultTestTimeoutMs(RUN_MS),
    );
  });
}

followerReadsRun(
  'register workload with reads from followers, under kills and pauses',
  { consistency: 'read-index' },
  { name: 'follower-reads', faults: processFaults },
  'stays linearizable',
);

followerReadsRun(
  'register workload with bounded-staleness reads from followers, under kills, pauses and partitions',
  { consistency: 'bounded', maxStalenessMs: MAX_STALENESS_MS },
  {
    name: 'follower-reads-bounded',
    // A follower cut off from the leader, while clients still reach it, is where a stale read
    // would be served: its confirmations stop, and after the bound it must refuse.
    faults: ['partition-follower', 'pause-follower', 'partition-one-way', 'kill-leader'],
    faultMs: 1500,
    readStalenessMs: MAX_STALENESS_MS,
  },
  'stays linearizable with each read moved back by its staleness bound, and no further',
);
