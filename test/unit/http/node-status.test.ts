// /readyz and /status.json read a node's state: each reason for "not ready" on a node whose state
// the test sets, the ring of leader changes at its limit, and the metrics of two nodes in one
// process kept apart.
import { describe, expect, it } from 'vitest';
import { LeaderHistory, leaderChangesKept } from '../../../src/http/leader-history.js';
import type { MonitoredNode } from '../../../src/http/monitored-node.js';
import { NodeMetrics } from '../../../src/http/node-metrics.js';
import { nodeStatus, notReadyReason } from '../../../src/http/node-status.js';
import { Role, type RaftStatus } from '../../../src/raft/index.js';
import { RequestType } from '../../../src/wire/index.js';
import { parsePrometheusText } from './prometheus-text.js';

interface FakeState {
  member: boolean;
  leaderId: number;
  commitIndex: number;
  appliedIndex: number;
  closing: boolean;
}

function fakeNode(state: FakeState): MonitoredNode {
  const status = (): RaftStatus => ({
    id: 1,
    term: 3,
    vote: 1,
    role: state.leaderId === 1 ? 'leader' : 'follower',
    leaderId: state.leaderId,
    commitIndex: state.commitIndex,
    appliedIndex: state.appliedIndex,
    lastIndex: state.commitIndex,
    lastTerm: 3,
    durableIndex: state.commitIndex,
    snapshotIndex: 0,
    receivingSnapshot: false,
    configuration: {
      servers: [
        ...(state.member ? [{ id: 1, address: 'a:1', role: Role.voter }] : []),
        { id: 2, address: 'b:2', role: Role.voter },
      ],
    },
    configurationIndex: 1,
  });
  return {
    engine: {
      id: 1,
      address: 'a:1',
      status,
      get appliedIndex() {
        return state.appliedIndex;
      },
      matchIndexes: () => new Map(state.leaderId === 1 ? [[2, state.commitIndex - 2]] : []),
      logFiles: () => ({ segments: 1, bytes: 100, entries: state.commitIndex }),
      diverged: undefined,
      onEvent: () => () => {},
    },
    listener: { clientConnections: 2 },
    checks: { last: undefined, verdicts: { agreed: 0, diverged: 0, undecided: 0, failed: 0 } },
    closing: () => state.closing,
  };
}

const ready: FakeState = {
  member: true,
  leaderId: 2,
  commitIndex: 10,
  appliedIndex: 10,
  closing: false,
};

describe('readiness', () => {
  it('is ready as a member that knows a leader and applied what it knows committed', () => {
    expect(notReadyReason(fakeNode(ready), 0)).toBeUndefined();
  });

  it('is not ready outside its own configuration (not joined yet)', () => {
    expect(notReadyReason(fakeNode({ ...ready, member: false }), 0)).toMatch(/not a member/);
  });

  it('is not ready without a leader', () => {
    expect(notReadyReason(fakeNode({ ...ready, leaderId: 0 }), 0)).toMatch(/no leader/);
  });

  it('is not ready while closing', () => {
    expect(notReadyReason(fakeNode({ ...ready, closing: true }), 0)).toMatch(/closing/);
  });

  it('allows exactly the lag bound and not one entry more', () => {
    const behind = fakeNode({ ...ready, commitIndex: 15, appliedIndex: 10 });
    expect(notReadyReason(behind, 5)).toBeUndefined();
    expect(notReadyReason(behind, 4)).toMatch(/applied index 10 trails commit index 15/);
  });
});

describe('status JSON', () => {
  it('gives the leader figures for other members only on the leader', () => {
    const history = new LeaderHistory();
    history.record({ atMs: 1, term: 3, leaderId: 1 });
    const leading = nodeStatus(fakeNode({ ...ready, leaderId: 1 }), {
      http: 'h:1',
      history,
      lagEntriesMax: 0,
    });
    expect(leading.leader).toEqual({ id: '1', address: 'a:1' });
    expect(leading.members.find((member) => member.id === '2')).toMatchObject({
      matchIndex: 8,
      lagEntries: 2,
    });
    expect(leading.leaderChanges).toEqual([{ atMs: 1, term: 3, leaderId: '1' }]);
    const following = nodeStatus(fakeNode(ready), { http: 'h:1', history, lagEntriesMax: 0 });
    expect(following.members.every((member) => member.matchIndex === undefined)).toBe(true);
    expect(following.node).toMatchObject({ raftRole: 'follower', appliedIndex: 10, lagEntries: 0 });
  });
});

describe('LeaderHistory', () => {
  it('keeps the last leaderChangesKept changes, oldest first', () => {
    const history = new LeaderHistory();
    expect(history.list()).toEqual([]);
    for (let term = 1; term <= leaderChangesKept + 3; term++) {
      history.record({ atMs: term, term, leaderId: term });
    }
    const kept = history.list();
    expect(kept).toHaveLength(leaderChangesKept);
    expect(kept[0]?.term).toBe(4);
    expect(kept.at(-1)?.term).toBe(leaderChangesKept + 3);
    expect(history.recorded).toBe(leaderChangesKept + 3);
  });
});

describe('NodeMetrics', () => {
  it('keeps two nodes of one process in separate registries', async () => {
    const first = new NodeMetrics();
    const second = new NodeMetrics();
    first.attach(fakeNode({ ...ready, leaderId: 1 }));
    second.attach(fakeNode(ready));
    first.requests.answered(RequestType.EXEC, 0.002);
    first.requests.failed(5);
    const one = parsePrometheusText((await first.scrape()).text);
    const two = parsePrometheusText((await second.scrape()).text);
    const value = (families: typeof one, family: string, labels: Record<string, string> = {}) =>
      families
        .get(family)
        ?.samples.find((sample) =>
          Object.entries(labels).every(([name, text]) => sample.labels[name] === text),
        )?.value;
    expect(value(one, 'dqlite_ts_raft_role', { role: 'leader' })).toBe(1);
    expect(value(two, 'dqlite_ts_raft_role', { role: 'leader' })).toBe(0);
    expect(
      one
        .get('dqlite_ts_request_duration_seconds')
        ?.samples.find((sample) => sample.name.endsWith('_count') && sample.labels.type === 'EXEC')
        ?.value,
    ).toBe(1);
    expect(
      two
        .get('dqlite_ts_request_duration_seconds')
        ?.samples.find((sample) => sample.name.endsWith('_count') && sample.labels.type === 'EXEC')
        ?.value,
    ).toBe(0);
    expect(value(one, 'dqlite_ts_request_failures_total', { name: 'SQLITE_BUSY' })).toBe(1);
    expect(value(one, 'dqlite_ts_raft_peer_match_index', { peer: '2' })).toBe(8);
    expect(two.get('dqlite_ts_raft_peer_match_index')?.samples).toEqual([]);
    expect(value(one, 'dqlite_ts_client_connections')).toBe(2);
    // The default process metrics, prefixed, in each registry.
    expect(one.has('dqlite_ts_nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(two.has('dqlite_ts_process_resident_memory_bytes')).toBe(true);
  });

  it('counts a request of a type code no request has', async () => {
    const metrics = new NodeMetrics();
    metrics.requests.answered(200, 0.001);
    const families = parsePrometheusText((await metrics.scrape()).text);
    const unknown = families
      .get('dqlite_ts_request_duration_seconds')
      ?.samples.find(
        (sample) => sample.name.endsWith('_count') && sample.labels.type === 'unknown',
      );
    expect(unknown?.value).toBe(1);
  });
});

describe('parsePrometheusText', () => {
  it('rejects samples of undeclared families and values that are not numbers', () => {
    expect(() => parsePrometheusText('x 1\n')).toThrow(/no declared family/);
    expect(() => parsePrometheusText('# TYPE x gauge\nx one\n')).toThrow(/not a sample|number/);
    expect(parsePrometheusText('# HELP x An x.\n# TYPE x gauge\nx{a="b"} 2\n').get('x')).toEqual({
      name: 'x',
      type: 'gauge',
      help: 'An x.',
      samples: [{ name: 'x', labels: { a: 'b' }, value: 2 }],
    });
  });
});
