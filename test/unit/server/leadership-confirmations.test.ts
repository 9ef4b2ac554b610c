import { describe, expect, it } from 'vitest';
import { LeadershipConfirmations } from '../../../src/server/leadership-confirmations.js';

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
    function leased(leaseMs = 240) {
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
      clock.ms = 1000 + 239;
      await confirmations.confirm();
      expect(rounds).toEqual([1]);
      clock.ms = 1000 + 240;
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
