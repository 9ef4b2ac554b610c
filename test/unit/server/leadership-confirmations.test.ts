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

  it('starts no round while Raft would serve one at once, and rounds again when it would not', async () => {
    const rounds: number[] = [];
    let leased = true;
    const confirmations = new LeadershipConfirmations(
      (requestId) => {
        rounds.push(requestId);
        return undefined;
      },
      undefined,
      () => leased,
    );
    await confirmations.confirm();
    await confirmations.confirm();
    expect(rounds).toEqual([]);
    leased = false;
    const waiting = confirmations.confirm();
    expect(rounds).toEqual([1]);
    confirmations.confirmed(1);
    await waiting;
  });
});
