// What a configuration entry changed, in words for the node's log: the servers added, assigned a
// new role and removed since the configuration before it. Raft changes one server at a time
// (thesis §4.1), but a recovery entry may change several, so every difference is listed.

import { Role, type Configuration } from '../raft/index.js';

const roleNames: Readonly<Record<Role, string>> = {
  [Role.voter]: 'voter',
  [Role.standby]: 'standby',
  [Role.spare]: 'spare',
};

/** One difference between two configurations, ids in hexadecimal as the CLI prints them. */
export interface MembershipDifference {
  readonly change: 'add' | 'assign' | 'remove';
  readonly id: string;
  readonly address: string;
  readonly role?: string;
}

/** The servers `after` added, reassigned and removed relative to `before`, in that order. */
export function membershipDifferences(
  before: Configuration,
  after: Configuration,
): MembershipDifference[] {
  const differences: MembershipDifference[] = [];
  const previous = new Map(before.servers.map((server) => [server.id, server]));
  const next = new Set(after.servers.map((server) => server.id));
  for (const server of after.servers) {
    const id = server.id.toString(16);
    const role = roleNames[server.role];
    const old = previous.get(server.id);
    if (old === undefined) differences.push({ change: 'add', id, address: server.address, role });
    else if (old.role !== server.role) {
      differences.push({ change: 'assign', id, address: server.address, role });
    }
  }
  for (const server of before.servers) {
    if (next.has(server.id)) continue;
    differences.push({ change: 'remove', id: server.id.toString(16), address: server.address });
  }
  return differences;
}

/** One line for the log, e.g. "add 1f (10.0.0.2:9001) as spare; remove 2c (10.0.0.3:9001)". */
export function describeDifferences(differences: readonly MembershipDifference[]): string {
  if (differences.length === 0) return 'no change';
  return differences
    .map((difference) => {
      const who = `${difference.id} (${difference.address})`;
      if (difference.change === 'remove') return `remove ${who}`;
      return `${difference.change} ${who} as ${difference.role}`;
    })
    .join('; ');
}
