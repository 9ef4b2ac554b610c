// Each node's HTTP endpoint on a running cluster: three createNode nodes in this process, each
// with `http`. /metrics parses as Prometheus text and names the families docs/operations.md
// lists, per node; /readyz follows membership and leadership; /healthz says the node lives.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../bin/local-cluster.js';
import { createNode, createPool, type DqliteNode } from '../../index.js';
import { waitUntil } from '../interop/poll-until.js';
import { parsePrometheusText, type Family } from '../unit/http/prometheus-text.js';
import { startEmbeddedCluster, type EmbeddedCluster } from './embedded-cluster.js';

let cluster: EmbeddedCluster;

beforeAll(async () => {
  cluster = await startEmbeddedCluster('http-endpoint', { http: { address: '127.0.0.1:0' } });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

async function get(node: DqliteNode, route: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://${node.httpAddress}${route}`);
  return { status: response.status, text: await response.text() };
}

async function metricsOf(node: DqliteNode): Promise<Map<string, Family>> {
  const { status, text } = await get(node, '/metrics');
  expect(status).toBe(200);
  return parsePrometheusText(text);
}

function valueOf(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  // A sample's name may carry its family's suffix (_count, _sum, _bucket).
  return [...families.values()]
    .flatMap((family) => family.samples)
    .find(
      (sample) =>
        sample.name === name &&
        Object.entries(labels).every(([label, text]) => sample.labels[label] === text),
    )?.value;
}

/** Every family docs/operations.md lists under "Monitoring", besides the process metrics. */
const families = [
  'dqlite_ts_raft_role',
  'dqlite_ts_raft_term',
  'dqlite_ts_raft_leader_known',
  'dqlite_ts_raft_commit_index',
  'dqlite_ts_raft_applied_index',
  'dqlite_ts_raft_last_index',
  'dqlite_ts_raft_snapshot_index',
  'dqlite_ts_raft_leader_changes_total',
  'dqlite_ts_raft_peer_match_index',
  'dqlite_ts_raft_peer_lag_entries',
  'dqlite_ts_log_segments',
  'dqlite_ts_log_bytes',
  'dqlite_ts_log_entries',
  'dqlite_ts_log_persist_duration_seconds',
  'dqlite_ts_snapshots_installed_total',
  'dqlite_ts_snapshot_bytes',
  'dqlite_ts_snapshot_install_duration_seconds',
  'dqlite_ts_client_connections',
  'dqlite_ts_request_duration_seconds',
  'dqlite_ts_request_failures_total',
  'dqlite_ts_diverged',
  'dqlite_ts_content_checks_total',
  'dqlite_ts_content_check_last_timestamp_seconds',
  'dqlite_ts_nodejs_eventloop_lag_p99_seconds',
  'dqlite_ts_process_resident_memory_bytes',
];

describe('the HTTP endpoint', () => {
  it('serves each node its own metrics, in Prometheus text, with sensible values', async () => {
    const leader = cluster.leaderNode() as DqliteNode;
    const follower = [...cluster.nodes.values()].find((node) => node !== leader) as DqliteNode;
    const pool = createPool({ cluster: cluster.addresses, database: 'app' });
    await pool.exec('CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)');
    await pool.exec('INSERT INTO t (v) VALUES (?)', ['one']);
    await pool.query('SELECT v FROM t WHERE k = 1');
    await expect(pool.exec('INSERT INTO missing VALUES (1)')).rejects.toThrow();
    await leader.checkContent();

    const led = await metricsOf(leader);
    for (const family of families) expect(led.has(family), family).toBe(true);
    expect(valueOf(led, 'dqlite_ts_raft_role', { role: 'leader' })).toBe(1);
    expect(valueOf(led, 'dqlite_ts_raft_leader_known')).toBe(1);
    const commit = valueOf(led, 'dqlite_ts_raft_commit_index') as number;
    expect(commit).toBeGreaterThan(2);
    expect(valueOf(led, 'dqlite_ts_raft_applied_index')).toBeLessThanOrEqual(commit);
    // The leader knows both followers' match indexes.
    expect(led.get('dqlite_ts_raft_peer_match_index')?.samples).toHaveLength(2);
    expect(valueOf(led, 'dqlite_ts_log_entries')).toBeGreaterThan(0);
    expect(valueOf(led, 'dqlite_ts_log_segments')).toBeGreaterThanOrEqual(1);
    expect(valueOf(led, 'dqlite_ts_log_persist_duration_seconds_count')).toBeGreaterThan(0);
    expect(valueOf(led, 'dqlite_ts_client_connections')).toBeGreaterThanOrEqual(1);
    const writes = led
      .get('dqlite_ts_request_duration_seconds')
      ?.samples.find((s) => s.name.endsWith('_count') && s.labels.type === 'EXEC_SQL');
    expect(writes?.value).toBeGreaterThanOrEqual(2);
    expect(valueOf(led, 'dqlite_ts_request_failures_total', { name: 'SQLITE_ERROR' })).toBe(1);
    expect(valueOf(led, 'dqlite_ts_content_checks_total', { verdict: 'agreed' })).toBe(1);
    expect(valueOf(led, 'dqlite_ts_content_check_last_timestamp_seconds')).toBeGreaterThan(0);

    const followed = await metricsOf(follower);
    expect(valueOf(followed, 'dqlite_ts_raft_role', { role: 'follower' })).toBe(1);
    expect(followed.get('dqlite_ts_raft_peer_match_index')?.samples).toEqual([]);
    expect(valueOf(followed, 'dqlite_ts_content_checks_total', { verdict: 'agreed' })).toBe(0);
    await pool.close();
  }, 30_000);

  it('answers the probes and the status page on every node', async () => {
    for (const node of cluster.nodes.values()) {
      expect(await get(node, '/healthz')).toEqual({ status: 200, text: 'ok\n' });
      await waitUntil(async () => (await get(node, '/readyz')).status === 200, 'ready');
      const page = await get(node, '/');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<script>');
      expect(page.text).not.toMatch(/<script src|<link /);
      const status = JSON.parse((await get(node, '/status.json')).text);
      expect(status.members).toHaveLength(3);
      expect(status.leader.id).toBe((cluster.leaderNode() as DqliteNode).id.toString(16));
      expect((await get(node, '/nothing')).status).toBe(404);
    }
    const post = await fetch(`http://${[...cluster.nodes.values()][0]?.httpAddress}/readyz`, {
      method: 'POST',
    });
    expect(post.status).toBe(405);
  });

  it('says 503 with a reason on a node that has not joined yet', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'http-joining-'));
    const [address, http, nobody] = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
    // Nothing listens at `nobody`: the node keeps trying to join until joinTimeoutMs.
    const starting = createNode({
      address: address as string,
      dataDir: directory,
      join: [nobody as string],
      joinTimeoutMs: 3000,
      http: { address: http as string },
    });
    const failed = starting.then(
      () => false,
      () => true,
    );
    let answer = '';
    await waitUntil(async () => {
      const response = await fetch(`http://${http}/readyz`).catch(() => undefined);
      if (response === undefined) return false;
      answer = `${response.status} ${await response.text()}`;
      return true;
    }, 'the endpoint of a joining node');
    expect(answer).toMatch(/^503 this node is not a member of a cluster yet/);
    expect(await failed).toBe(true);
    fs.rmSync(directory, { recursive: true, force: true });
  }, 30_000);

  it('refuses a malformed http option', async () => {
    const options = { address: '127.0.0.1:1', dataDir: '/nonexistent' };
    await expect(createNode({ ...options, http: { address: 'nowhere' } })).rejects.toThrow(
      'createNode: http.address must be "host:port"',
    );
    await expect(
      createNode({ ...options, http: { address: '127.0.0.1:0', colour: 1 } as never }),
    ).rejects.toThrow('unknown option "colour"');
  });

  it('says 503 on a node whose peers are all stopped, and stops answering once closed', async () => {
    const nodes = [...cluster.nodes.values()];
    const last = nodes.find((node) => !node.isLeader()) as DqliteNode;
    for (const node of nodes) {
      if (node === last) continue;
      await node.close();
      cluster.nodes.delete(node.address);
    }
    let answer = '';
    await waitUntil(
      async () => {
        const response = await get(last, '/readyz');
        answer = `${response.status} ${response.text}`;
        return response.status === 503;
      },
      'the survivor not ready',
      20_000,
    );
    expect(answer).toMatch(/^503 no leader is known/);
    expect((await get(last, '/healthz')).status).toBe(200);
    const httpAddress = last.httpAddress;
    await last.close();
    cluster.nodes.delete(last.address);
    await expect(fetch(`http://${httpAddress}/healthz`)).rejects.toThrow();
  }, 40_000);
});
