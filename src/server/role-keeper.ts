import { Role, type MembershipChange, type NodeId, type Server } from '../raft/index.js';
import type { NodeTls } from '../transport/index.js';
import { probeOnline } from './cluster-client.js';
import type { ReplicatedEngine } from './replicated-engine.js';

/** How long a node has to answer the leader's liveness probe before role checks count it down. */
const probeTimeoutMs = 500;

/** How many voters and standbys the cluster should keep (go-dqlite app's defaults: 3 and 0). */
export interface RoleTargets {
  readonly voters: number;
  readonly standbys: number;
}

/**
 * The next role change that moves the cluster toward `targets`, or undefined when none helps now
 * (go-dqlite app's role adjustment). One change at a time, since Raft applies them one by one:
 *
 * 1. too few online voters: promote an online standby, else an online spare;
 * 2. more voters than wanted: demote an offline voter (never the leader) to spare;
 * 3. too few online standbys: promote an online spare;
 * 4. more standbys than wanted: demote an offline one, else any, to spare.
 *
 * A replacement is promoted before the offline voter is demoted, so the number of online voters
 * never drops below what it was.
 */
export function nextRoleChange(
  servers: readonly Server[],
  online: ReadonlySet<NodeId>,
  leaderId: NodeId,
  targets: RoleTargets,
): MembershipChange | undefined {
  const withRole = (role: Role) => servers.filter((server) => server.role === role);
  const isOnline = (server: Server) => online.has(server.id);
  const voters = withRole(Role.voter);
  const standbys = withRole(Role.standby);
  const spares = withRole(Role.spare);
  if (voters.filter(isOnline).length < targets.voters) {
    const candidate = standbys.find(isOnline) ?? spares.find(isOnline);
    if (candidate !== undefined) return { type: 'assign', id: candidate.id, role: Role.voter };
  }
  if (voters.length > targets.voters) {
    const offline = voters.find((server) => !isOnline(server) && server.id !== leaderId);
    if (offline !== undefined) return { type: 'assign', id: offline.id, role: Role.spare };
  }
  if (standbys.filter(isOnline).length < targets.standbys) {
    const candidate = spares.find(isOnline);
    if (candidate !== undefined) return { type: 'assign', id: candidate.id, role: Role.standby };
  }
  if (standbys.length > targets.standbys) {
    const surplus = standbys.find((server) => !isOnline(server)) ?? standbys[0];
    if (surplus !== undefined) return { type: 'assign', id: surplus.id, role: Role.spare };
  }
  return undefined;
}

/**
 * Runs on every node and acts on the leader: every `intervalMs` it probes the members and makes
 * the next role change toward `targets`, one at a time.
 */
export class RoleKeeper {
  readonly #engine: ReplicatedEngine;
  readonly #targets: RoleTargets;
  readonly #timer: NodeJS.Timeout;
  /** How the probes dial the other nodes: mutual TLS when the cluster uses it. */
  readonly #tls: NodeTls | undefined;
  #busy = false;

  constructor(engine: ReplicatedEngine, targets: RoleTargets, intervalMs: number, tls?: NodeTls) {
    this.#engine = engine;
    this.#targets = targets;
    this.#tls = tls;
    this.#timer = setInterval(() => void this.#check(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #check(): Promise<void> {
    const engine = this.#engine;
    if (this.#busy || !engine.isServing()) return;
    this.#busy = true;
    try {
      const servers = engine.configuration().servers;
      const others = servers.filter((server) => server.id !== engine.id);
      const online = await probeOnline(others, probeTimeoutMs, this.#tls);
      online.add(engine.id);
      const change = nextRoleChange(servers, online, engine.id, this.#targets);
      if (change !== undefined && engine.isServing()) {
        // A refusal (another change in flight, a lost leadership) is retried at the next check.
        await engine.changeMembership(change).catch(() => {});
      }
    } finally {
      this.#busy = false;
    }
  }
}
