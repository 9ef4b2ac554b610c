import { describe, expect, it } from 'vitest';
import { RaftCore } from '../../../src/raft/raft-core.js';
import { bootstrapState } from '../../../src/raft/raft-bootstrap.js';
import { leaseMilliseconds } from '../../../src/raft/read-index.js';
import { resolveRaftConfig } from '../../../src/raft/config.js';
import { Role } from '../../../src/raft/types.js';
import { TestCluster } from './test-cluster.js';

/**
 * The leader lease (thesis §6.4.1) as the Raft core runs it for production and the simulator
 * alike: timed on the clock the host passes (`now`), from when the confirming round was sent.
 * TestCluster: 10-tick election timeout, 50 ms ticks, so the lease is 9 × 50 / 1.2 = 375 ms.
 */
const leaseMs = leaseMilliseconds(
  resolveRaftConfig({ electionTimeoutTicks: 10, heartbeatTicks: 1, leaseReads: true }),
);

/** A 3-voter cluster led by node 1 with lease reads on, and a way to ask node 1 for a read. */
function leasedCluster() {
  const cluster = new TestCluster({ voters: 3, config: { leaseReads: true } });
  cluster.elect(1);
  let nextRead = 1;
  /**
   * Asks node 1 for a read: 'now' when served at once, 'round' when it sent a round first. The
   * driver's query (readConfirmedNow, which lets the node skip the request) must have said
   * beforehand which it would be.
   */
  const read = (): 'now' | 'round' | 'refused' => {
    const requestId = nextRead++;
    const sentBefore = cluster.queue.length;
    const confirmedNow = cluster.node(1).driver.readConfirmedNow();
    const started = cluster.node(1).driver.readIndex(requestId);
    if (!started.ok) {
      expect(confirmedNow).toBe(false);
      return 'refused';
    }
    const served = cluster.node(1).reads.some((state) => state.requestId === requestId);
    expect(confirmedNow).toBe(served);
    if (served) return 'now';
    expect(cluster.queue.length).toBeGreaterThan(sentBefore);
    cluster.deliverAll();
    expect(cluster.node(1).reads.some((state) => state.requestId === requestId)).toBe(true);
    return 'round';
  };
  return { cluster, read };
}

describe('the leader lease', () => {
  it('is 375 ms with this cluster', () => {
    expect(leaseMs).toBe(375);
  });

  it('serves reads at once until leaseMs after the confirming round was sent, then needs a round', () => {
    const { cluster, read } = leasedCluster();
    cluster.clockMs = 1000;
    expect(read()).toBe('round'); // the first read's round was sent at 1000 ms
    cluster.clockMs = 1000 + leaseMs - 1;
    expect(read()).toBe('now');
    cluster.clockMs = 1000 + leaseMs;
    expect(read()).toBe('round');
  });

  it('counts from when the round was sent, not from when a majority answered', () => {
    const { cluster, read } = leasedCluster();
    cluster.clockMs = 1000;
    const started = cluster.node(1).driver.readIndex(100);
    expect(started.ok).toBe(true);
    cluster.clockMs = 1300; // the answers took 300 ms to come back
    cluster.deliverAll();
    cluster.clockMs = 1000 + leaseMs - 1;
    expect(read()).toBe('now');
    cluster.clockMs = 1000 + leaseMs;
    expect(read()).toBe('round');
  });

  it('ends when the clock jumps (the process was paused), however few ticks ran', () => {
    const { cluster, read } = leasedCluster();
    expect(read()).toBe('round');
    expect(read()).toBe('now');
    cluster.clockMs += 10_000; // SIGSTOP for 10 s: the clock advanced, Raft ticks did not
    expect(read()).toBe('round');
  });

  it('is off while a configuration change is uncommitted', () => {
    const { cluster, read } = leasedCluster();
    expect(read()).toBe('round');
    cluster.addNode(4);
    const change = cluster
      .node(1)
      .driver.changeMembership({ type: 'add', id: 4, address: 'node-4' });
    expect(change.ok).toBe(true);
    // The configuration entry is appended but not committed: reads take rounds.
    expect(read()).toBe('round');
  });

  it('never starts again in a term whose leader sent TimeoutNow, even once the transfer gave up', () => {
    const { cluster, read } = leasedCluster();
    expect(read()).toBe('round');
    expect(cluster.node(1).driver.transferLeadership(2).ok).toBe(true);
    // TimeoutNow is lost: the target never campaigns and the transfer times out.
    for (let tick = 0; tick < 30; tick++) {
      cluster.drop((message) => message.type === 'TimeoutNow');
      cluster.deliverAll();
      cluster.tick(1);
    }
    cluster.drop((message) => message.type === 'TimeoutNow');
    expect(cluster.status(1)).toMatchObject({ role: 'leader', term: 2 });
    expect(read()).toBe('round');
    expect(read()).toBe('round');
  });

  it('is off without leaseReads', () => {
    const cluster = new TestCluster({ voters: 3 });
    cluster.elect(1);
    cluster.node(1).driver.readIndex(1);
    cluster.deliverAll();
    cluster.node(1).driver.readIndex(2);
    expect(cluster.node(1).reads.map((state) => state.requestId)).toEqual([1]);
  });

  it('needs a clock: RaftCore refuses leaseReads without `now`', () => {
    const servers = [{ id: 1, address: 'node-1', role: Role.voter }];
    expect(
      () =>
        new RaftCore({
          id: 1,
          initialState: bootstrapState({ servers }),
          config: { leaseReads: true },
          random: () => 0,
        }),
    ).toThrow(/needs a clock/);
  });
});
