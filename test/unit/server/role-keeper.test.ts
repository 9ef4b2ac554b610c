import { describe, expect, it } from 'vitest';
import { Role, type Server } from '../../../src/raft/index.js';
import { nextRoleChange } from '../../../src/server/role-keeper.js';

const server = (id: number, role: Role): Server => ({
  id,
  address: `127.0.0.1:${9000 + id}`,
  role,
});
const targets = { voters: 3, standbys: 0 };

describe('nextRoleChange', () => {
  it('promotes spares until the cluster has its voters', () => {
    const servers = [server(1, Role.voter), server(2, Role.spare), server(3, Role.spare)];
    expect(nextRoleChange(servers, new Set([1, 2, 3]), 1, targets)).toEqual({
      type: 'assign',
      id: 2,
      role: Role.voter,
    });
  });

  it('replaces an offline voter first, then demotes it', () => {
    const servers = [
      server(1, Role.voter),
      server(2, Role.voter),
      server(3, Role.voter),
      server(4, Role.spare),
    ];
    const online = new Set([1, 2, 4]);
    expect(nextRoleChange(servers, online, 1, targets)).toEqual({
      type: 'assign',
      id: 4,
      role: Role.voter,
    });
    const promoted = servers.map((s) => (s.id === 4 ? server(4, Role.voter) : s));
    expect(nextRoleChange(promoted, online, 1, targets)).toEqual({
      type: 'assign',
      id: 3,
      role: Role.spare,
    });
  });

  it('prefers a standby over a spare, and never demotes the leader', () => {
    const servers = [
      server(1, Role.voter),
      server(2, Role.voter),
      server(3, Role.standby),
      server(4, Role.spare),
    ];
    expect(nextRoleChange(servers, new Set([1, 2, 3, 4]), 1, targets)).toEqual({
      type: 'assign',
      id: 3,
      role: Role.voter,
    });
    const many = [
      server(1, Role.voter),
      server(2, Role.voter),
      server(3, Role.voter),
      server(4, Role.voter),
    ];
    expect(nextRoleChange(many, new Set([2, 3, 4]), 1, targets)).toBeUndefined();
  });

  it('keeps the standbys asked for', () => {
    const servers = [server(1, Role.voter), server(2, Role.spare)];
    expect(nextRoleChange(servers, new Set([1, 2]), 1, { voters: 1, standbys: 1 })).toEqual({
      type: 'assign',
      id: 2,
      role: Role.standby,
    });
    const extra = [server(1, Role.voter), server(2, Role.standby)];
    expect(nextRoleChange(extra, new Set([1, 2]), 1, { voters: 1, standbys: 0 })).toEqual({
      type: 'assign',
      id: 2,
      role: Role.spare,
    });
  });

  it('does nothing when nobody can help', () => {
    const servers = [server(1, Role.voter), server(2, Role.voter), server(3, Role.spare)];
    expect(nextRoleChange(servers, new Set([1, 2]), 1, targets)).toBeUndefined();
  });
});
