// The follower's side of reads it serves itself: a read waits for a request to the leader asked
// after it arrived, one request serves a burst, and freshness for bounded reads counts from when
// the request was asked (everything acknowledged before then is applied), never from its answer.
import { describe, expect, it } from 'vitest';
import { FollowerReadIndex } from '../../../src/server/follower-read-index.js';

function harness() {
  let now = 0;
  let next = 0;
  const started: number[] = [];
  let refuse: Error | undefined;
  const reads = new FollowerReadIndex({
    start: (requestId) => {
      started.push(requestId);
      return refuse;
    },
    nextRequestId: () => ++next,
    now: () => now,
  });
  return {
    reads,
    started,
    at: (ms: number) => {
      now = ms;
    },
    refuseWith: (error: Error | undefined) => {
      refuse = error;
    },
  };
}

describe('FollowerReadIndex', () => {
  it('a read never joins a request already out; past the cap, reads gather for the next', async () => {
    const { reads, started } = harness();
    const first = reads.confirm();
    const second = reads.confirm();
    // Each started its own request: the second arrived after request 1 was asked.
    expect(started).toEqual([1, 2]);
    const more = [reads.confirm(), reads.confirm()];
    expect(started).toEqual([1, 2, 3, 4]);
    // Four are out: these two wait together for the next request.
    let gatheredDone = 0;
    const gathered = [reads.confirm(), reads.confirm()];
    for (const read of gathered) void read.then(() => gatheredDone++);
    expect(started).toEqual([1, 2, 3, 4]);
    expect(reads.confirmed(2)).toBe(true);
    await second;
    expect(started).toEqual([1, 2, 3, 4, 5]);
    // Request 1 coming back later does not release them: they wait for request 5.
    reads.confirmed(1);
    await first;
    await Promise.resolve();
    expect(gatheredDone).toBe(0);
    reads.confirmed(5);
    await Promise.all(gathered);
    reads.confirmed(3);
    reads.confirmed(4);
    await Promise.all(more);
  });

  it('counts freshness from when the request was asked, not from its answer', () => {
    const { reads, at } = harness();
    at(1000);
    void reads.confirm();
    at(1400); // the answer comes 400 ms later (a slow leader, or this node catching up)
    reads.confirmed(1);
    expect(reads.freshWithin(400)).toBe(true);
    expect(reads.freshWithin(399)).toBe(false);
    at(1500);
    expect(reads.freshWithin(499)).toBe(false);
    expect(reads.freshWithin(500)).toBe(true);
  });

  it('is never fresh before a first confirmation', () => {
    const { reads } = harness();
    expect(reads.freshWithin(86_400_000)).toBe(false);
  });

  it('fails only the reads of a failed request', async () => {
    const { reads, started } = harness();
    const first = reads.confirm();
    const later = reads.confirm();
    expect(started).toEqual([1, 2]);
    expect(reads.failed(1, new Error('the leader changed'))).toBe(true);
    await expect(first).rejects.toThrow('the leader changed');
    expect(reads.failed(7, new Error('not ours'))).toBe(false);
    expect(reads.confirmed(7)).toBe(false);
    reads.confirmed(2);
    await later;
  });

  it('fails at once when Raft refuses the request (no known leader)', async () => {
    const { reads, refuseWith } = harness();
    refuseWith(new Error('no known leader'));
    await expect(reads.confirm()).rejects.toThrow('no known leader');
    refuseWith(undefined);
    const next = reads.confirm();
    reads.confirmed(2);
    await next;
  });
});
