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

const RUN_MS = faultRunMs(10_000);

describe('register workload with reads from followers, under kills and pauses', () => {
  const fixture = useFaultCluster({
    setUp: setUpRegisters,
    reads: { consistency: 'read-index' },
  });
  it(
    'stays linearizable',
    async () => {
      await expectLinearizableRegisters(fixture, {
        name: 'follower-reads',
        faults: processFaults,
        durationMs: RUN_MS,
      });
      // Members served reads: the run tested what it is named for.
      expect(fixture.pool.stats().readsServedByMembers).toBeGreaterThan(50);
    },
    faultTestTimeoutMs(RUN_MS),
  );
});

const MAX_STALENESS_MS = 300;

describe('register workload with bounded-staleness reads from followers, under kills, pauses and partitions', () => {
  const fixture = useFaultCluster({
    setUp: setUpRegisters,
    reads: { consistency: 'bounded', maxStalenessMs: MAX_STALENESS_MS },
  });
  it(
    'stays linearizable with each read moved back by its staleness bound, and no further',
    async () => {
      await expectLinearizableRegisters(fixture, {
        name: 'follower-reads-bounded',
        // A follower cut off from the leader, while clients still reach it, is where a stale
        // read would be served: its confirmations stop, and after the bound it must refuse.
        faults: ['partition-follower', 'pause-follower', 'partition-one-way', 'kill-leader'],
        durationMs: RUN_MS,
        faultMs: 1500,
        readStalenessMs: MAX_STALENESS_MS,
      });
      expect(fixture.pool.stats().readsServedByMembers).toBeGreaterThan(50);
    },
    faultTestTimeoutMs(RUN_MS),
  );
});
