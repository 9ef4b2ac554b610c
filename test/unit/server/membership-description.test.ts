// How a configuration entry reads in the node's log: each server added, reassigned or removed.
import { describe, expect, it } from 'vitest';
import { Role } from '../../../src/raft/index.js';
import {
  describeDifferences,
  membershipDifferences,
} from '../../../src/server/membership-description.js';

const a = { id: 0x1a, address: '10.0.0.1:9001', role: Role.voter };
const b = { id: 0x2b, address: '10.0.0.2:9001', role: Role.spare };

describe('membershipDifferences', () => {
  it('names an added server with its role, in hexadecimal', () => {
    const changes = membershipDifferences({ servers: [a] }, { servers: [a, b] });
    expect(describeDifferences(changes)).toBe('add 2b (10.0.0.2:9001) as spare');
  });

  it('names a new role and a removal', () => {
    const promoted = { ...b, role: Role.voter };
    expect(
      describeDifferences(membershipDifferences({ servers: [a, b] }, { servers: [promoted] })),
    ).toBe('assign 2b (10.0.0.2:9001) as voter; remove 1a (10.0.0.1:9001)');
  });

  it('says so when nothing changed', () => {
    expect(describeDifferences(membershipDifferences({ servers: [a] }, { servers: [a] }))).toBe(
      'no change',
    );
  });
});
