// A fault run with reads from followers (docs/reads.md): the register workload of register.test.ts,
// its pool set to read-index reads, so most reads are served by whichever member the pool turns to,
// while the nemesis kills and pauses leaders and followers. The history must still be
// linearizable, and every node must end with the same rows.
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
