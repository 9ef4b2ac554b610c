import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultRaftConfig, resolveRaftConfig, type RaftConfig } from '../../../src/raft/config.js';
import { clockRateDifferenceMax, loyaltyTicks } from '../../../src/raft/election.js';
import { RaftCore } from '../../../src/raft/raft-core.js';
import { bootstrapState } from '../../../src/raft/raft-bootstrap.js';
import { RaftDriver } from '../../../src/raft/raft-driver.js';
import { leaseMilliseconds } from '../../../src/raft/read-index.js';
import { Role, type Message, type RequestVoteResult } from '../../../src/raft/types.js';
import { InstantStorage } from './instant-storage.js';
import { RecordingStateMachine, TestCluster } from './test-cluster.js';

/**
 * Leader loyalty (inLeaderLease; thesis §4.2.3, §6.4.1): how long a follower refuses candidates
 * after a leader's heartbeat or after its own start, and the leases built on that bound. The
 * followers here tick by hand; a tick may come at any moment after a message, even at once, so a
 * node granting at its n-th tick after a heartbeat surely refused for only n − 1 tick periods.
 */

const servers = [1, 2, 3].map((id) => ({ id, address: `node-${id}`, role: Role.voter }));

/** Node 2 of (1 2 3) on `storage`, over the real driver; its timer never fires in these tests. */
function startNode(storage: InstantStorage, config: Partial<RaftConfig>) {
  const sent: Message[] = [];
  const core = new RaftCore({
    id: 2,
    initialState: storage.load(),
    config,
    // The largest random draw puts its own campaign at 2 × electionTimeoutTicks − 1 ticks, after
    // every probe below, so each answer reflects its loyalty alone.
    random: () => 0.999,
  });
  const driver = new RaftDriver({
    core,
    storage,
    stateMachine: new RecordingStateMachine(),
    transport: { send: (message) => sent.push(message) },
  });
  /** Whether node 2 grants node 3's (pre-)vote for term 3; undefined when it ignores it. */
  function answers(preVote: boolean): boolean | undefined {
    sent.length = 0;
    driver.receive({
      type: 'RequestVote',
      from: 3,
      to: 2,
      term: 3,
      lastLogIndex: 1,
      lastLogTerm: 1,
      preVote,
      transfer: false,
    });
    const results = sent.filter((m): m is RequestVoteResult => m.type === 'RequestVoteResult');
    return results[0]?.voteGranted;
  }
  return { driver, answers };
}

/** A heartbeat from leader 1 in term 2, matching the bootstrap log. */
const heartbeat: Message = {
  type: 'AppendEntries',
  from: 1,
  to: 2,
  term: 2,
  prevLogIndex: 1,
  prevLogTerm: 1,
  entries: [],
  leaderCommit: 0,
  heartbeatSequence: 1,
};

describe('leader loyalty', () => {
  for (const electionTimeoutTicks of [2, 3, 6, 10]) {
    it(`timeout ${electionTimeoutTicks}: after a heartbeat, refuses (pre-)votes until its tick ${electionTimeoutTicks}`, () => {
      const config = { electionTimeoutTicks, heartbeatTicks: 1 };
      const storage = new InstantStorage(bootstrapState({ servers }));
      const node = startNode(storage, config);
      node.driver.receive(heartbeat);
      expect(node.answers(true)).toBeUndefined();
      let grantedAtTick = 0;
      for (let tick = 1; tick <= 2 * electionTimeoutTicks && grantedAtTick === 0; tick++) {
        node.driver.tick();
        if (node.answers(true) === undefined) {
          expect(node.answers(false), `vote at tick ${tick}`).toBeUndefined();
        } else {
          grantedAtTick = tick;
        }
      }
      expect(grantedAtTick).toBe(electionTimeoutTicks);
      expect(node.answers(false)).toBe(true);
      // The heartbeat may arrive just before the first of those ticks: the refusal surely lasted
      // only the periods between the first and the granting tick.
      expect(loyaltyTicks(resolveRaftConfig(config))).toBe(grantedAtTick - 1);
    });
  }

  it('a restarted follower refuses (pre-)votes for its first election timeout, then grants', () => {
    const electionTimeoutTicks = defaultRaftConfig.electionTimeoutTicks;
    const storage = new InstantStorage(bootstrapState({ servers }));
    const before = startNode(storage, {});
    before.driver.receive(heartbeat);
    before.driver.stop();
    expect(storage.hardState.term).toBe(2);
    // The restarted node no longer knows its leader, nor when it last heard from it.
    const node = startNode(storage, {});
    expect(node.driver.core.status().leaderId).toBe(0);
    for (let tick = 0; tick < electionTimeoutTicks; tick++) {
      expect(node.answers(true), `pre-vote after ${tick} ticks`).toBeUndefined();
      expect(node.answers(false), `vote after ${tick} ticks`).toBeUndefined();
      node.driver.tick();
    }
    expect(node.answers(true)).toBe(true);
    expect(node.answers(false)).toBe(true);
    expect(node.driver.core.status()).toMatchObject({ term: 3, vote: 3 });
  });

  it('a node of a brand-new cluster has followed no leader and grants at once', () => {
    const node = startNode(new InstantStorage(bootstrapState({ servers })), {});
    expect(node.answers(true)).toBe(true);
    expect(node.answers(false)).toBe(true);
  });

  it('a restarted single voter elects itself after its election timeout, asking nobody', () => {
    const only = [{ id: 1, address: 'node-1', role: Role.voter }];
    const storage = new InstantStorage(bootstrapState({ servers: only }));
    const start = () =>
      new RaftDriver({
        core: new RaftCore({ id: 1, initialState: storage.load(), random: () => 0 }),
        storage,
        stateMachine: new RecordingStateMachine(),
        transport: { send: () => undefined },
      });
    const electionTimeoutTicks = defaultRaftConfig.electionTimeoutTicks;
    for (const driver of [start(), start()]) {
      const termBefore = driver.core.status().term;
      for (let tick = 1; tick < electionTimeoutTicks; tick++) driver.tick();
      expect(driver.core.status().role).toBe('follower');
      driver.tick();
      // Pre-vote and election both complete at once: its own vote is the majority.
      expect(driver.core.status()).toMatchObject({ role: 'leader', term: termBefore + 1 });
      driver.stop();
    }
  });

  it('a leadership transfer wins the vote of a node that just restarted (thesis §3.10)', () => {
    const cluster = new TestCluster({ voters: 3, config: { electionTimeoutTicks: 6 } });
    cluster.elect(1);
    cluster.run(1);
    cluster.crash(2);
    cluster.crash(3);
    cluster.restart(2);
    cluster.restart(3);
    expect(cluster.node(1).driver.transferLeadership(2)).toEqual({ ok: true });
    // Only n3, restarted without a tick since, can give n2 the vote it needs.
    cluster.cut.add('1->2').add('2->1');
    const timeoutNow = cluster.queue.filter((message) => message.type === 'TimeoutNow');
    cluster.queue = cluster.queue.filter((message) => message.type !== 'TimeoutNow');
    expect(timeoutNow).toHaveLength(1);
    for (const message of timeoutNow) cluster.node(2).driver.receive(message);
    cluster.deliverAll();
    expect(cluster.status(2)).toMatchObject({ role: 'leader', term: 3 });
    expect(cluster.status(3)).toMatchObject({ term: 3, vote: 2, leaderId: 2 });
  });
});

describe('leaseMilliseconds', () => {
  const on = { ...defaultRaftConfig, leaseReads: true };

  it('is 208 ms by default: 5 tick periods of loyalty, 250 ms, on a clock up to 20% faster', () => {
    expect(clockRateDifferenceMax).toBe(0.2);
    expect(leaseMilliseconds(on)).toBe(208);
  });

  it('is 0 when disabled, without checkQuorum, or with a one-tick election timeout', () => {
    expect(leaseMilliseconds(defaultRaftConfig)).toBe(0);
    expect(leaseMilliseconds({ ...on, checkQuorum: false })).toBe(0);
    expect(leaseMilliseconds({ ...on, electionTimeoutTicks: 1 })).toBe(0);
  });

  it('ends, on a follower clock up to clockRateDifferenceMax faster, within its loyalty', () => {
    // A follower refuses candidates for (electionTimeoutTicks − 1) tick periods after the round's
    // heartbeat (above), which it got after the round was sent.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 10_000 }),
        (electionTimeoutTicks, tickMilliseconds) => {
          const config = { ...on, electionTimeoutTicks, tickMilliseconds };
          const loyaltyMs = loyaltyTicks(config) * tickMilliseconds;
          const leaseMs = leaseMilliseconds(config);
          expect(leaseMs * (1 + clockRateDifferenceMax)).toBeLessThanOrEqual(loyaltyMs);
          // And no whole millisecond longer would do.
          expect((leaseMs + 1) * (1 + clockRateDifferenceMax)).toBeGreaterThan(loyaltyMs);
        },
      ),
    );
    for (const [electionTimeoutTicks, tickMilliseconds, leaseMs] of [
      [2, 50, 41],
      [10, 100, 750],
      [6, 1, 4],
    ] as const) {
      expect(leaseMilliseconds({ ...on, electionTimeoutTicks, tickMilliseconds })).toBe(leaseMs);
    }
  });
});
