import { defaultRaftConfig } from '../../src/raft/config.js';
import { Role } from '../../src/raft/types.js';
import { InvariantViolation } from './invariant-violation.js';
import type { SimCluster } from './sim-cluster.js';
import type { SimNode } from './sim-node.js';
import type { Workload } from './workload.js';

/**
 * How long a healed cluster may take to elect a leader and commit, and then to bring every member
 * to the same state, in election timeouts of virtual time.
 */
export const healElectionTimeoutsMax = 10;
/** Events the heal phase may run; a livelock of messages fails here rather than spinning. */
export const healStepsMax = 2_000_000;

interface Sentinel {
  readonly node: SimNode;
  readonly index: number;
  readonly term: number;
}

/**
 * Liveness after the faults stop (every link healed, every node running): within
 * `healElectionTimeoutsMax` election timeouts a leader is elected and commits a fresh proposal,
 * and within as many more every member has applied it and all members hold the same state, with
 * every acknowledged proposal in it. Both bounds add the time the seed's replication parameters
 * need to catch up the most lagging member, which may be part of the only available quorum.
 */
export function checkHealed(cluster: SimCluster, workload: Workload): void {
  const sentinel = commitSentinel(cluster, workload);
  converge(cluster, sentinel);
}

function boundMilliseconds(cluster: SimCluster): number {
  return healElectionTimeoutsMax * cluster.electionTimeoutMaxMilliseconds;
}

/** Bytes of the largest entry the simulation writes (a configuration of 9 servers is ~150). */
const entryBytesMax = 160;

/**
 * Time a member that lags needs on top of the election bound, given how slowly the seed's
 * parameters let a leader replicate: the largest snapshot sent one chunk per round trip (each chunk
 * read from the leader's disk and written to the follower's), plus the entries between the most
 * lagging member and the leader's last index at `appendBytesMax` per message and
 * `inflightMessagesMax` messages per round trip.
 */
function catchUpAllowanceMilliseconds(cluster: SimCluster): number {
  const options = cluster.options;
  const config = options.raftConfig;
  const roundTrip = 2 * options.latencyMaxMilliseconds + 2 * options.fsyncMaxMilliseconds;
  const bytes = Math.max(
    ...cluster.nodes.map((node) => node.storage.latest.snapshot?.data.length ?? 0),
  );
  const chunks = Math.ceil(
    bytes / (config.snapshotChunkBytes ?? defaultRaftConfig.snapshotChunkBytes),
  );
  // The longest log, not the leader's: right after healing there may be no leader yet.
  const lastIndex = Math.max(...cluster.nodes.map((node) => node.status()?.lastIndex ?? 0));
  const appliedMin = Math.min(
    ...membersOf(cluster).map((node) => node.stateMachine?.appliedIndex ?? 0),
  );
  const entriesPerMessage = Math.max(
    1,
    Math.floor((config.appendBytesMax ?? defaultRaftConfig.appendBytesMax) / entryBytesMax),
  );
  const entriesPerRoundTrip =
    entriesPerMessage * (config.inflightMessagesMax ?? defaultRaftConfig.inflightMessagesMax);
  const rounds = Math.ceil(Math.max(0, lastIndex - appliedMin) / entriesPerRoundTrip);
  return (chunks + rounds) * roundTrip;
}

/** Proposes to the leader until one proposal is acknowledged, re-proposing on a leader change. */
function commitSentinel(cluster: SimCluster, workload: Workload): Sentinel {
  // A quorum may need a member that lags, so the catch-up allowance applies here too.
  const deadline =
    cluster.scheduler.now + boundMilliseconds(cluster) + catchUpAllowanceMilliseconds(cluster);
  const ledger = cluster.invariants.ledger;
  let sentinel: Sentinel | undefined;
  for (let step = 0; step < healStepsMax && cluster.scheduler.now <= deadline; step++) {
    if (sentinel !== undefined && ledger.isAcknowledged(sentinel.index, sentinel.term))
      return sentinel;
    const status = sentinel?.node.status();
    if (sentinel === undefined || status?.role !== 'leader' || status.term !== sentinel.term) {
      sentinel = proposeSentinel(cluster, workload) ?? sentinel;
    }
    if (!cluster.step()) break;
  }
  throw new InvariantViolation(
    'liveness',
    `no proposal committed within ${healElectionTimeoutsMax} election timeouts (and the time to ` +
      `catch up a lagging member) after healing` +
      ` (last attempt ${sentinel ? `${sentinel.index}/t${sentinel.term} on node ${sentinel.node.id}` : 'none'}); ` +
      describeNodes(cluster),
  );
}

function proposeSentinel(cluster: SimCluster, workload: Workload): Sentinel | undefined {
  const leader = cluster.leader();
  if (leader === undefined) return undefined;
  const data = workload.nextPayload('sentinel');
  const result = leader.propose(data);
  if (result?.ok !== true) return undefined;
  cluster.invariants.ledger.accepted(leader.id, result.index, result.term, data);
  return { node: leader, index: result.index, term: result.term };
}

/** Every member (voter or standby) applies the sentinel; then all hold the same commands. */
function converge(cluster: SimCluster, sentinel: Sentinel): void {
  const deadline =
    cluster.scheduler.now + boundMilliseconds(cluster) + catchUpAllowanceMilliseconds(cluster);
  for (let step = 0; step < healStepsMax && cluster.scheduler.now <= deadline; step++) {
    const members = membersOf(cluster);
    if (members.every((node) => (node.stateMachine?.appliedIndex ?? 0) >= sentinel.index)) {
      checkSameState(cluster, members);
      return;
    }
    if (!cluster.step()) break;
  }
  throw new InvariantViolation(
    'liveness',
    `members did not all apply index ${sentinel.index} within ${healElectionTimeoutsMax} ` +
      `election timeouts and the time to catch up a lagging member; ${describeNodes(cluster)}`,
  );
}

/** Voters and standbys of the leader's configuration (or of node 1's when there is no leader). */
function membersOf(cluster: SimCluster): SimNode[] {
  const reference = cluster.leader() ?? cluster.nodes[0];
  const servers = reference?.status()?.configuration.servers ?? [];
  return servers
    .filter((server) => server.role !== Role.spare)
    .map((server) => cluster.node(server.id))
    .filter((node): node is SimNode => node !== undefined);
}

function checkSameState(cluster: SimCluster, members: readonly SimNode[]): void {
  const first = members[0];
  const expected = first?.stateMachine?.hash;
  for (const node of members) {
    const stateMachine = node.stateMachine;
    if (stateMachine === undefined) continue;
    if (stateMachine.hash !== expected) {
      throw new InvariantViolation(
        'convergence',
        `node ${node.id} has state hash ${stateMachine.hash} (${stateMachine.commands.length} commands), ` +
          `node ${first?.id} has ${expected}`,
      );
    }
    cluster.invariants.ledger.checkAllPresent(node.id, stateMachine.commands);
  }
}

function describeNodes(cluster: SimCluster): string {
  const servers = cluster.leader()?.status()?.configuration.servers ?? [];
  const roles = ['voter', 'standby', 'spare'];
  const configuration = servers.map((server) => `${server.id}=${roles[server.role]}`).join(',');
  return (
    `leader's configuration ${configuration || 'unknown'}; ` +
    cluster.nodes
      .map((node) => {
        const status = node.status();
        if (status === undefined) return `${node.id}:${node.state}`;
        return (
          `${node.id}:${node.state}/${status.role}/t${status.term}` +
          ` last=${status.lastIndex} commit=${status.commitIndex} applied=${status.appliedIndex}`
        );
      })
      .join(' ')
  );
}
