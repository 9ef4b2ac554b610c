// The register workload while the nemesis partitions the cluster: the leader cut off from both
// followers (clients still reach it, so it must notice and stop answering), the leader on the
// minority side, one follower cut off, and one-way loss from the leader to a follower. The history
// must stay linearizable, which also tests that a leader's lease ends before anyone else can lead.
import { describe, it } from 'vitest';
import {
  expectLinearizableRegisters,
  faultRunMs,
  faultTestTimeoutMs,
  setUpRegisters,
  useFaultCluster,
} from './fault-cluster.js';
import { partitionFaults } from './nemesis.js';

const RUN_MS = faultRunMs(12_000);

describe('register workload under partitions', () => {
  const fixture = useFaultCluster({ setUp: setUpRegisters });
  it(
    'stays linearizable',
    () =>
      expectLinearizableRegisters(fixture, {
        name: 'register-partitions',
        faults: partitionFaults,
        durationMs: RUN_MS,
        faultMs: 1500,
      }),
    faultTestTimeoutMs(RUN_MS),
  );
});
