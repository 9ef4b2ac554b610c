import { describe, expect, it } from 'vitest';
import { TestCluster } from './test-cluster.js';

describe('raft smoke', () => {
  it('elects a leader and replicates proposals to every node', () => {
    const cluster = new TestCluster({ voters: 3 });
    cluster.elect(1);
    const result = cluster.propose(1, 'hello');
    expect(result.ok).toBe(true);
    cluster.deliverAll();
    cluster.run(2);
    for (const id of [1, 2, 3]) expect(cluster.node(id).fsm.texts()).toEqual(['hello']);
  });
});
