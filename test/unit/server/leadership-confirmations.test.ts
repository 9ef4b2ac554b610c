import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clockRateDifferenceMax, defaultRaftConfig } from '../../../src/raft/index.js';
import {
  LeadershipConfirmations,
  leaseMilliseconds,
} from '../../../src/server/leadership-confirmations.js';

describe('leaseMilliseconds', () => {
  it('is 208 ms by default: 5 tick periods of loyalty, 250 ms, on a clock up to 20% faster', () => {
    expect(clockRateDifferenceMax).toBe(0.2);
    expect(leaseMilliseconds(defaultRaftConfig, true)).toBe(208);
  });

  it('is 0 when disabled, without checkQuorum, or with a one-tick election timeout', () => {
    expect(leaseMilliseconds(defaultRaftConfig, false)).toBe(0);
    expect(leaseMilliseconds({ ...defaultRaftConfig, checkQuorum: false }, true)).toBe(0);
    expect(leaseMilliseconds({ ...defaultRaftConfig, electionTimeoutTicks: 1 }, true)).toBe(0);
  });

  it('ends, on a follower clock up to clockRateDifferenceMax faster, within its loyalty', () => {
    // A follower refuses candidates for (electionTimeoutTicks − 1) tick periods after the round's
    // heartbeat (test/unit/raft/leader-loyalty.test.ts), which it got after the round started.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 10_000 }),
        (electionTimeoutTicks, tickMilliseconds) => {
          const config = { ...defaultRaftConfig, electionTimeoutTicks, tickMilliseconds };
          const loyaltyMs = (electionTimeoutTicks - 1) * tickMilliseconds;
          const leaseMs = leaseMilliseconds(config, true);
          expect(leaseMs * (1 + clockRateDifferenceMax)).toBeLessThanOrEqual(loyaltyMs);
          // And no whole millisecond longer would do.
          expect((leaseMs + 1) * (1 + clockRateDifferenceMax)).toBeGreaterThan(loyaltyMs);
        },
      ),
    );
    for (const [electionTimeoutTicks, tickMilliseconds, leaseMs] of [
      [2, 50, 41],
      [10, 100, 750],
      [6, 1, 4],
    ] as const) {
      const config = { ...defaultRaftConfig, electionTimeoutTicks, tickMilliseconds };
      expect(leaseMilliseconds(config, true)).toBe(leaseMs);
    }
  });
});

describe('LeadershipConfirmations', () => {
  it('starts a round at once, and serves everything that arrived meanwhile with the next one', async () => {
    const rounds: number[] = [];
    const confirmations = new LeadershipConfirmations((requestId) => {
      rounds.push(requestId);
      return undefined;
    });
    const first = confirmations.confirm();
    // These run after round 1 was sent, so round 1 cannot vouch for them: they wait for round 2.
    const burst = [confirmations.confirm(), confirmations.confirm()];
    expect(rounds).toEqual([1]);
    let burstDone = false;
    void Promise.all(burst).then(() => (burstDone = true));
    confirmations.confirmed(1);
    await first;
    expect(rounds).toEqual([1, 2]);
    await Promise.resolve();
    expect(burstDone).toBe(false);
    confirmations.confirmed(2);
    await Promise.all(burst);
    expect(rounds).toEqual([1, 2]);
  });

  it('fails every waiter when leadership is lost or Raft refuses a round', async () => {
    let refuse = false;
    const confirmations = new LeadershipConfirmations(() =>
      refuse ? new Error('not leader') : undefined,
    );
    const waiting = confirmations.confirm();
    confirmations.failAll(new Error('stepped down'));
    await expect(waiting).rejects.toThrow('stepped down');
    refuse = true;
    await expect(confirmations.confirm()).rejects.toThrow('not leader');
  });

  describe('with a lease', () => {
    /** A fake monotonic clock and a recorder of the rounds asked for. */
    function leased(leaseMs = 208) {
      const clock = { ms: 1000 };
      const rounds: number[] = [];
      const confirmations = new LeadershipConfirmations(
        (requestId) => {
          rounds.push(requestId);
          return undefined;
        },
        { leaseMs, now: () => clock.ms },
      );
      return { clock, rounds, confirmations };
    }

    it('answers at once until leaseMs after the confirmed round started, then needs a round', async () => {
      const { clock, rounds, confirmations } = leased();
      const first = confirmations.confirm();
      clock.ms += 30; // the round's answers took 30 ms: the lease still counts from its start
      confirmations.confirmed(1);
      await first;
      clock.ms = 1000 + 207;
      await confirmations.confirm();
      expect(rounds).toEqual([1]);
      clock.ms = 1000 + 208;
      const late = confirmations.confirm();
      expect(rounds).toEqual([1, 2]);
      confirmations.confirmed(2);
      await late;
    });

    it('is off while held (a membership change) and needs a fresh round after the release', async () => {
      const { clock, rounds, confirmations } = leased();
      const first = confirmations.confirm();
      confirmations.confirmed(1);
      await first;
      const release = confirmations.holdLease();
      expect(confirmations.leased).toBe(false);
      const held = confirmations.confirm();
      expect(rounds).toEqual([1, 2]);
      confirmations.confirmed(2); // confirmed during the hold: answers, but grants no lease
      await held;
      expect(confirmations.leased).toBe(false);
      release();
      clock.ms += 1;
      expect(confirmations.leased).toBe(false);
      const after = confirmations.confirm();
      expect(rounds).toEqual([1, 2, 3]);
      confirmations.confirmed(3);
      await after;
      expect(confirmations.leased).toBe(true);
    });

    it('ends with leadership (failAll) and a new leadership drops the holds of the old one', async () => {
      const { rounds, confirmations } = leased();
      const first = confirmations.confirm();
      confirmations.confirmed(1);
      await first;
      confirmations.holdLease(); // a transfer: never released
      confirmations.failAll(new Error('stepped down'));
      expect(confirmations.leased).toBe(false);
      confirmations.resumeLease();
      const next = confirmations.confirm();
      expect(rounds).toEqual([1, 2]);
      confirmations.confirmed(2);
      await next;
      expect(confirmations.leased).toBe(true);
    });

    it('a clock that jumps (the process was paused) ends the lease, however few ticks ran', async () => {
      const { clock, confirmations } = leased();
      const first = confirmations.confirm();
      confirmations.confirmed(1);
      await first;
      expect(confirmations.leased).toBe(true);
      clock.ms += 10_000; // SIGSTOP for 10 s: the monotonic clock advanced, Raft ticks did not
      expect(confirmations.leased).toBe(false);
    });

    it('grants nothing with leaseMs 0', async () => {
      const { rounds, confirmations } = leased(0);
      const first = confirmations.confirm();
      confirmations.confirmed(1);
      await first;
      expect(confirmations.leased).toBe(false);
      void confirmations.confirm();
      expect(rounds).toEqual([1, 2]);
    });
  });
});
