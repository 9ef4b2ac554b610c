import { describe, expect, it } from 'vitest';
import { Role, type Message } from '../../../src/raft/types.js';
import { TestCluster } from './test-cluster.js';

/**
 * The classic corner cases, each a story with the paper's reasoning. Delivery is explicit, so each
 * interleaving is exactly the one the paper draws.
 */

/** Delivers queued messages one at a time, dropping those `keep` rejects. Bounded. */
function deliverFiltered(cluster: TestCluster, keep: (message: Message) => boolean): void {
  for (let delivered = 0; cluster.queue.length > 0; delivered++) {
    if (delivered > 10_000) throw new Error('livelock');
    const message = cluster.queue.shift() as Message;
    if (keep(message)) cluster.deliver(message);
  }
}

/** Ticks `id` (and delivers) until it leads; bounded. */
function campaignUntilLeader(
  cluster: TestCluster,
  id: number,
  keep: (message: Message) => boolean = () => true,
): void {
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 40 && cluster.status(id).role === 'follower'; i++) cluster.tick(id);
    deliverFiltered(cluster, keep);
    if (cluster.status(id).role === 'leader') return;
  }
  throw new Error(`node ${id} did not become leader`);
}

const carries = (message: Message, index: number): boolean =>
  message.type === 'AppendEntries' && message.entries.some((entry) => entry.index === index);

describe('Raft paper figure 8 (§5.4.2): a leader never commits an older term by counting replicas', () => {
  it('does not commit a term-2 entry stored on a majority, which a later leader then overwrites', () => {
    // One entry per AppendEntries, so we can hand out entries one at a time.
    const cluster = new TestCluster({
      voters: 5,
      config: { appendBytesMax: 1, checkQuorum: false },
    });
    cluster.elect(1); // term 2, barrier at index 2 committed everywhere
    expect(cluster.status(1).term).toBe(2);

    // (a) S1 replicates index 3 (term 2) to S2 only, then crashes.
    expect(cluster.propose(1, 'x2')).toMatchObject({ ok: true, index: 3, term: 2 });
    deliverFiltered(cluster, (m) => !(m.type === 'AppendEntries' && m.to !== 2));
    cluster.crash(1);

    // (b) S5 wins term 3 with S3 and S4 and appends index 3 in term 3 that nobody receives.
    cluster.isolate(2);
    campaignUntilLeader(cluster, 5, (m) => m.type !== 'AppendEntries');
    expect(cluster.status(5)).toMatchObject({ term: 3, lastIndex: 3, lastTerm: 3 });
    cluster.crash(5);
    cluster.heal();

    // (c) S1 restarts and wins term 4; it gets index 3 (term 2) onto S2 and S3: a majority. It must
    // not count that as committed: the entry is not of its term.
    cluster.restart(1);
    cluster.cut.add('1->4').add('4->1'); // S4 stays behind, as in the figure
    // S3 may answer probes, but index 4 (S1's term-4 barrier) reaches nobody.
    campaignUntilLeader(cluster, 1, (m) => !(carries(m, 4) && cluster.status(m.to).lastIndex >= 3));
    expect(cluster.status(1).term).toBe(4);
    for (const id of [1, 2, 3]) {
      expect(cluster.node(id).storage.entries.find((entry) => entry.index === 3)?.term).toBe(2);
    }
    expect(cluster.status(1).commitIndex).toBeLessThan(3);
    cluster.drop(() => true);
    cluster.crash(1);
    cluster.heal();

    // (d) S5 restarts, wins with S2, S3 and S4 (its last term 3 beats their 2) and overwrites
    // index 3. Had S1 committed "x2", it would now be lost.
    cluster.restart(5);
    campaignUntilLeader(cluster, 5);
    cluster.run(3);
    for (const id of [2, 3, 4, 5]) {
      expect(cluster.node(id).fsm.texts()).not.toContain('x2');
      expect(cluster.node(id).storage.entries.find((entry) => entry.index === 3)?.term).toBe(3);
    }
  });
});

describe('a stale leader (§5.1, §6.2)', () => {
  it('without check-quorum keeps its role but commits nothing, then steps down on a higher term', () => {
    const cluster = new TestCluster({ voters: 3, config: { checkQuorum: false } });
    cluster.elect(1);
    cluster.isolate(1);
    campaignUntilLeader(cluster, 2);
    expect(cluster.propose(1, 'lost')).toMatchObject({ ok: true });
    expect(cluster.node(1).driver.readIndex(7)).toEqual({ ok: true });
    cluster.run(30);
    expect(cluster.status(1)).toMatchObject({ role: 'leader', term: 2 });
    expect(cluster.node(1).reads).toEqual([]); // the stale leader never confirms a read
    expect(cluster.propose(2, 'kept')).toMatchObject({ ok: true });
    cluster.heal();
    cluster.run(5);
    expect(cluster.status(1)).toMatchObject({ role: 'follower', leaderId: 2 });
    expect(cluster.node(1).events).toContainEqual({
      type: 'read-failed',
      requestId: 7,
      reason: 'leadership lost',
    });
    for (const id of [1, 2, 3]) expect(cluster.node(id).fsm.texts()).toEqual(['kept']);
  });

  it('with check-quorum steps down by itself within an election timeout', () => {
    const cluster = new TestCluster({ voters: 3 });
    cluster.elect(1);
    cluster.isolate(1);
    for (let i = 0; i < 2 * 10; i++) cluster.tick(1);
    expect(cluster.status(1).role).not.toBe('leader');
    expect(cluster.propose(1, 'x')).toMatchObject({ ok: false, code: 'not-leader' });
  });
});

describe('a partitioned node returns (thesis §9.6)', () => {
  function partitionFollower(preVote: boolean) {
    const cluster = new TestCluster({ voters: 3, config: { preVote } });
    cluster.elect(1);
    cluster.isolate(3);
    for (let i = 0; i < 200; i++) {
      cluster.tick(3);
      cluster.run(0);
      cluster.tick(1);
      cluster.tick(2);
      cluster.deliverAll();
    }
    const termWhileAway = cluster.status(3).term;
    cluster.heal();
    cluster.run(5);
    return { cluster, termWhileAway };
  }

  it('with pre-vote does not raise its term and does not disturb the leader', () => {
    const { cluster, termWhileAway } = partitionFollower(true);
    expect(termWhileAway).toBe(2);
    expect(cluster.status(1)).toMatchObject({ role: 'leader', term: 2 });
    expect(cluster.status(3)).toMatchObject({ role: 'follower', leaderId: 1, term: 2 });
  });

  it('without pre-vote raises its term, and its return deposes the leader (the case pre-vote fixes)', () => {
    const { cluster, termWhileAway } = partitionFollower(false);
    expect(termWhileAway).toBeGreaterThan(2);
    expect(cluster.status(1).term).toBeGreaterThan(2);
  });
});

describe('removing the leader (thesis §4.2.2)', () => {
  it('the leader commits its removal without counting itself, hands over and never campaigns again', () => {
    const cluster = new TestCluster({ voters: 3 });
    cluster.elect(1);
    cluster.propose(1, 'before');
    cluster.deliverAll();
    expect(cluster.node(1).driver.changeMembership({ type: 'remove', id: 1 })).toMatchObject({
      ok: true,
    });
    cluster.deliverAll();
    cluster.run(2);
    const leader = cluster.leader();
    expect(leader === 2 || leader === 3).toBe(true);
    expect(cluster.status(1).role).toBe('follower');
    expect(cluster.status(leader as number).configuration.servers.map((s) => s.id)).toEqual([2, 3]);
    expect(cluster.propose(leader as number, 'after')).toMatchObject({ ok: true });
    cluster.run(50);
    expect(cluster.leader()).toBe(leader);
    expect(cluster.status(1).role).toBe('follower');
    for (const id of [2, 3]) expect(cluster.node(id).fsm.texts()).toEqual(['before', 'after']);
  });
});

describe('a join that needs a snapshot (§7)', () => {
  it('a new node far behind catches up by InstallSnapshot in chunks, then by entries', () => {
    const cluster = new TestCluster({
      voters: 3,
      config: { snapshotTrailingEntries: 2, snapshotChunkBytes: 64 },
      snapshotThresholdEntries: 10,
    });
    cluster.elect(1);
    for (let i = 0; i < 30; i++) {
      cluster.propose(1, `entry ${i}`);
      cluster.deliverAll();
    }
    cluster.run(2);
    expect(cluster.status(1).snapshotIndex).toBeGreaterThan(20);
    cluster.addNode(4);
    expect(
      cluster.node(1).driver.changeMembership({ type: 'add', id: 4, address: 'node-4' }),
    ).toMatchObject({ ok: true });
    cluster.deliverAll();
    const promotion = cluster
      .node(1)
      .driver.changeMembership({ type: 'assign', id: 4, role: Role.voter });
    expect(promotion).toEqual({ ok: true, catchingUp: true });
    const chunks = { count: 0 };
    for (let round = 0; round < 20; round++) {
      cluster.run(1);
      chunks.count += cluster.queue.filter((m) => m.type === 'InstallSnapshot').length;
    }
    cluster.propose(1, 'after join');
    cluster.run(3);
    expect(cluster.node(4).fsm.restoredFrom.length).toBe(1);
    expect(cluster.status(1).configuration.servers.find((s) => s.id === 4)?.role).toBe(Role.voter);
    const expected = cluster.node(1).fsm.texts();
    expect(expected).toHaveLength(31);
    for (const id of [2, 3, 4]) expect(cluster.node(id).fsm.texts()).toEqual(expected);
  });
});

describe('a snapshot reception ends when its follower campaigns', () => {
  it('a node that was receiving a snapshot and starts an election can take its own snapshots again', () => {
    const cluster = new TestCluster({
      voters: 3,
      config: { snapshotTrailingEntries: 0, snapshotChunkBytes: 16 },
      snapshotThresholdEntries: 5,
    });
    cluster.elect(1);
    cluster.isolate(3);
    for (let i = 0; i < 20; i++) {
      cluster.propose(1, `entry ${i}`);
      cluster.deliverAll();
    }
    cluster.run(2);
    cluster.heal();
    // Node 3 stages the first chunk of the leader's snapshot; then the leader goes away.
    for (let i = 0; i < 5 && !cluster.status(3).receivingSnapshot; i++) {
      cluster.tick(1);
      deliverFiltered(cluster, (m) => m.type !== 'InstallSnapshot' || m.offset === 0);
    }
    expect(cluster.status(3).receivingSnapshot).toBe(true);
    cluster.crash(1);
    for (let i = 0; i < 40 && cluster.status(3).role === 'follower'; i++) cluster.tick(3);
    expect(cluster.status(3).role).not.toBe('follower');
    expect(cluster.status(3).receivingSnapshot).toBe(false);
  });
});
