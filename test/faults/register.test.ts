// A fault run: clients read, write and compare-and-set registers while the nemesis kills and
// pauses leaders and followers of a 3-node cluster of processes and removes a follower (which then
// joins again). Four clients share the pool; two churn: a session for every operation, sometimes
// quiet past their pools' idle timeout, in a database of their own, so the leader sees its
// sessions all close, as it does under short-lived programs (churn-client.ts; the build before
// the fix lost their writes and failed here). The history must be linearizable
// (checkers/linearizability.ts) and every node must end with the same rows. The run's history is
// kept in a file under the temporary directory; a failure names it.
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
        churnClients: 2,
      }),
    faultTestTimeoutMs(RUN_MS),
  );
});
