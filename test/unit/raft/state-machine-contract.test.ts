import { describe, expect, it } from 'vitest';
import { snapshotReadBytesMax, type ReadChunk } from '../../../src/raft/state-machine.js';
import type { SnapshotMetadata } from '../../../src/raft/types.js';
import { TestCluster, type TestNode } from './test-cluster.js';

/**
 * What RaftDriver guarantees a state machine (the TSDoc of `StateMachine`), with machines that
 * answer when the test lets them, as production's engine answers from its own thread.
 */

/** A leader (1) whose log was compacted past everything node 3, cut off, has. */
function laggingFollower(): TestCluster {
  const cluster = new TestCluster({
    voters: 3,
    config: { snapshotTrailingEntries: 0 },
    snapshotThresholdEntries: 5,
  });
  cluster.elect(1);
  cluster.isolate(3);
  proposeMany(cluster, 'first', 20);
  return cluster;
}

function proposeMany(cluster: TestCluster, prefix: string, count: number): void {
  for (let i = 0; i < count; i++) {
    cluster.propose(1, `${prefix} ${i}`);
    cluster.deliverAll();
  }
  cluster.run(2);
}

function snapshotIndex(node: TestNode): number {
  return node.storage.load().snapshot?.index ?? 0;
}

/** Runs what node 3's machine holds until it holds nothing; returns how many steps it took. */
function drainHeld(node: TestNode): number {
  let steps = 0;
  for (; node.fsm.held.length > 0; steps++) {
    if (steps > 10_000) throw new Error('the machine keeps holding work');
    node.fsm.runHeld();
  }
  return steps;
}

describe('a restore (§7)', () => {
  it('holds back later applies until the machine is done, and reads whole chunks in bounds', () => {
    const cluster = laggingFollower();
    const follower = cluster.node(3);
    follower.fsm.holding = true;
    follower.fsm.restoreChunkBytes = 16;
    let restoreRead: { metadata: SnapshotMetadata; read: ReadChunk } | undefined;
    const restore = follower.fsm.restore.bind(follower.fsm);
    follower.fsm.restore = (metadata, read, done) => {
      restoreRead = { metadata, read };
      restore(metadata, read, done);
    };
    cluster.heal();
    cluster.run(2);
    const restored = snapshotIndex(follower);
    expect(restored).toBeGreaterThan(15);
    cluster.propose(1, 'after');
    cluster.run(2);
    // Committed and known to node 3, but not applied: the restore has not ended.
    expect(follower.fsm.texts()).not.toContain('after');
    expect(follower.fsm.lastAppliedIndex).toBeLessThan(restored);
    const { metadata, read } = restoreRead as { metadata: SnapshotMetadata; read: ReadChunk };
    expect(() => read(0, snapshotReadBytesMax + 1, () => {})).toThrow(RangeError);
    expect(() => read(metadata.bytes - 1, 2, () => {})).toThrow(RangeError);
    expect(() => read(0, 0, () => {})).toThrow(RangeError);
    // One held step per 16-byte read, and one for the end.
    expect(drainHeld(follower)).toBe(Math.ceil(metadata.bytes / 16) + 1);
    expect(follower.fsm.restoredFrom).toEqual([restored]);
    cluster.run(2);
    expect(follower.fsm.texts()).toEqual(cluster.node(1).fsm.texts());
    expect(follower.fsm.texts()).toContain('after');
  });

  it('keeps the snapshot it reads current: a newer one from the leader waits until it is done', () => {
    const cluster = laggingFollower();
    const follower = cluster.node(3);
    follower.fsm.holding = true;
    follower.fsm.restoreChunkBytes = 16;
    cluster.heal();
    cluster.run(2);
    const first = snapshotIndex(follower);
    expect(follower.fsm.held.length).toBe(1);
    // The leader compacts past `first` while node 3 is cut off again, then sends it a newer one.
    cluster.isolate(3);
    proposeMany(cluster, 'second', 20);
    expect(snapshotIndex(cluster.node(1))).toBeGreaterThan(first);
    cluster.heal();
    cluster.run(3);
    expect(snapshotIndex(follower)).toBe(first);
    follower.fsm.holding = false;
    drainHeld(follower);
    cluster.run(3);
    const second = snapshotIndex(follower);
    expect(second).toBeGreaterThan(first);
    expect(follower.fsm.restoredFrom).toEqual([first, second]);
    expect(follower.fsm.texts()).toEqual(cluster.node(1).fsm.texts());
  });
});

describe('a snapshot the machine takes (§7)', () => {
  it('reflects the index applied when it was asked for, though applies go on meanwhile', () => {
    const cluster = new TestCluster({ voters: 3, snapshotThresholdEntries: 5 });
    cluster.elect(1);
    const leader = cluster.node(1);
    leader.fsm.holding = true;
    for (let i = 0; leader.fsm.held.length === 0; i++) {
      if (i > 10) throw new Error('no snapshot was asked for');
      cluster.propose(1, `entry ${i}`);
      cluster.deliverAll();
      cluster.run(1);
    }
    const asked = leader.fsm.lastAppliedIndex;
    proposeMany(cluster, 'meanwhile', 3);
    expect(leader.fsm.lastAppliedIndex).toBeGreaterThan(asked);
    leader.fsm.holding = false;
    drainHeld(leader);
    expect(snapshotIndex(leader)).toBe(asked);
  });

  it('answered "not now", lets through the chunks of an incoming snapshot that waited for it', () => {
    const cluster = new TestCluster({
      voters: 3,
      config: { snapshotTrailingEntries: 0 },
      snapshotThresholdEntries: 5,
    });
    cluster.elect(1);
    const follower = cluster.node(3);
    follower.fsm.holding = true;
    follower.fsm.declining = true;
    for (let i = 0; follower.fsm.held.length === 0; i++) {
      if (i > 10) throw new Error('no snapshot was asked for');
      cluster.propose(1, `entry ${i}`);
      cluster.deliverAll();
      cluster.run(1);
    }
    cluster.isolate(3);
    proposeMany(cluster, 'behind', 20);
    cluster.heal();
    cluster.run(2);
    // The leader's chunks reached node 3 and wait for its machine's answer.
    expect(follower.driver.core.status().receivingSnapshot).toBe(true);
    expect(snapshotIndex(follower)).toBe(0);
    follower.fsm.holding = false;
    follower.fsm.runHeld();
    // Written and installed at once, without waiting for the leader to send them again.
    expect(snapshotIndex(follower)).toBe(snapshotIndex(cluster.node(1)));
  });
});
