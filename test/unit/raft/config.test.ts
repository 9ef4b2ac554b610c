import { describe, expect, it } from 'vitest';
import { defaultRaftConfig, resolveRaftConfig, type RaftConfig } from '../../../src/raft/config.js';

/**
 * resolveRaftConfig: defaults, a frozen copy, and a TypeError or RangeError naming the option for
 * every misuse (docs/contributing.md, "Errors" and "Test invalid input and the edge of every
 * limit").
 */

const positiveIntegerOptions = [
  'tickMilliseconds',
  'heartbeatTicks',
  'electionTimeoutTicks',
  'inflightMessagesMax',
  'inflightBytesMax',
  'appendBytesMax',
  'uncommittedEntriesMax',
  'snapshotChunkBytes',
  'snapshotTimeoutTicks',
  'promotionRoundsMax',
] as const;

const booleanOptions = ['preVote', 'checkQuorum', 'leaseReads'] as const;

/** Options that keep heartbeatTicks below electionTimeoutTicks whatever one field is set to. */
function roomy(key: keyof RaftConfig, value: unknown): Partial<RaftConfig> {
  const spacing = key === 'heartbeatTicks' ? { electionTimeoutTicks: 1_000_000 } : {};
  const floor = key === 'electionTimeoutTicks' ? { heartbeatTicks: 1 } : {};
  return { ...spacing, ...floor, [key]: value } as Partial<RaftConfig>;
}

describe('resolveRaftConfig', () => {
  it('returns the defaults, frozen, when given nothing', () => {
    const config = resolveRaftConfig();
    expect(config).toEqual(defaultRaftConfig);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(defaultRaftConfig)).toBe(true);
  });

  it('copies the options: changing them afterwards changes nothing', () => {
    const options = { electionTimeoutTicks: 20 };
    const config = resolveRaftConfig(options);
    options.electionTimeoutTicks = 30;
    expect(config.electionTimeoutTicks).toBe(20);
    expect(() => Object.assign(config, { electionTimeoutTicks: 40 })).toThrow(TypeError);
  });

  it('refuses an unknown (misspelled) option with a TypeError naming it', () => {
    expect(() => resolveRaftConfig({ electionTimeout: 10 } as Partial<RaftConfig>)).toThrow(
      TypeError,
    );
    expect(() => resolveRaftConfig({ electionTimeout: 10 } as Partial<RaftConfig>)).toThrow(
      '"electionTimeout"',
    );
  });

  for (const key of positiveIntegerOptions) {
    it(`accepts 1 for ${key} and refuses 0, negatives, fractions and non-numbers`, () => {
      if (key !== 'electionTimeoutTicks') expect(resolveRaftConfig(roomy(key, 1))[key]).toBe(1);
      for (const value of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, '5', null]) {
        expect(() => resolveRaftConfig(roomy(key, value)), `${key}=${String(value)}`).toThrow(
          RangeError,
        );
        expect(() => resolveRaftConfig(roomy(key, value))).toThrow(`"${key}"`);
      }
    });
  }

  it('accepts 0 trailing entries and refuses a negative or fractional count', () => {
    expect(resolveRaftConfig({ snapshotTrailingEntries: 0 }).snapshotTrailingEntries).toBe(0);
    for (const value of [-1, 0.5, Number.NaN]) {
      expect(() => resolveRaftConfig({ snapshotTrailingEntries: value })).toThrow(RangeError);
      expect(() => resolveRaftConfig({ snapshotTrailingEntries: value })).toThrow(
        '"snapshotTrailingEntries"',
      );
    }
  });

  it('requires heartbeats more often than elections (heartbeatTicks < electionTimeoutTicks)', () => {
    const config = resolveRaftConfig({ heartbeatTicks: 9, electionTimeoutTicks: 10 });
    expect(config.heartbeatTicks).toBe(9);
    expect(() => resolveRaftConfig({ heartbeatTicks: 10, electionTimeoutTicks: 10 })).toThrow(
      RangeError,
    );
    expect(() => resolveRaftConfig({ heartbeatTicks: 7, electionTimeoutTicks: 6 })).toThrow(
      '"heartbeatTicks"',
    );
  });

  it('refuses a non-boolean preVote, checkQuorum or leaseReads with a TypeError naming it', () => {
    for (const key of booleanOptions) {
      expect(resolveRaftConfig({ [key]: false })[key]).toBe(false);
      for (const value of ['false', 0, 1, null]) {
        const options = { [key]: value } as Partial<RaftConfig>;
        expect(() => resolveRaftConfig(options), `${key}=${String(value)}`).toThrow(TypeError);
        expect(() => resolveRaftConfig(options)).toThrow(`"${key}"`);
      }
    }
  });

  it('refuses lease reads without check-quorum: the lease relies on leader stickiness', () => {
    // Followers ignore candidates while they hear from a leader (thesis §4.2.3) only with
    // check-quorum on (inLeaderLease); without it a new leader can be elected inside the old
    // leader's lease, and a lease read returns stale data (thesis §6.4.1).
    expect(resolveRaftConfig({ leaseReads: true, checkQuorum: true }).leaseReads).toBe(true);
    expect(() => resolveRaftConfig({ leaseReads: true, checkQuorum: false })).toThrow(RangeError);
  });
});
