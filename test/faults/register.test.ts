// A fault run: clients read, write and compare-and-set registers through the pool while the
// nemesis kills and pauses leaders and followers of a 3-node cluster of processes and removes a
// follower (which then joins again); the history must be linearizable
// (checkers/linearizability.ts). The run's history is kept in a file under the temporary
// directory; a failure names it.
import { describe, it } from 'vitest';
import {
  expectLinearizableRegisters,
  faultRunMs,
  faultTestTimeoutMs,
  setUpRegisters,
  useFaultCluster,
} from './fault-cluster.js';
import { membershipFaults, processFaults } from './nemesis.js';

const RUN_MS = faultRunMs(12_000);

describe('register workload under kills, pauses and a removal', () => {
  const fixture = useFaultCluster({ setUp: setUpRegisters });
  it(
    'stays linearizable',
    () =>
      expectLinearizableRegisters(fixture, {
        name: 'register',
        faults: [...processFaults, ...membershipFaults],
        durationMs: RUN_MS,
      }),
    faultTestTimeoutMs(RUN_MS),
  );
});
