// The waits a leader runs on its own Raft (a promotion's catch-up, a transfer) must end when the
// node stops: its ticks and events end there, and a wait that kept watching would hold a timer
// forever, keeping the process alive (an application's close() returned, but it never exited).
import { describe, expect, it } from 'vitest';
import { Role, type RaftEvent, type RaftStatus } from '../../../src/raft/index.js';
import type { Clock } from '../../../src/server/clock.js';
import { handedOver, promoted, type RaftObserver } from '../../../src/server/raft-waits.js';

/** A node's Raft as the waits see it, with timers counted so a test sees none left behind. */
class ObservedNode implements RaftObserver {
  readonly #eventListeners = new Set<(event: RaftEvent) => void>();
  readonly #stopListeners = new Set<() => void>();
  readonly #timers = new Set<() => void>();
  #stopped = false;
  readonly status: () => RaftStatus;

  constructor(status: () => RaftStatus) {
    this.status = status;
  }

  id(): number {
    return 1;
  }

  appliedIndex(): number {
    return this.status().appliedIndex;
  }

  onEvent(listener: (event: RaftEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  onStop(listener: () => void): () => void {
    if (this.#stopped) {
      listener();
      return () => {};
    }
    this.#stopListeners.add(listener);
    return () => this.#stopListeners.delete(listener);
  }

  clock(): Clock {
    const register = (run: () => void) => {
      this.#timers.add(run);
      return () => this.#timers.delete(run);
    };
    return {
      now: () => 0,
      after: (_ms, run) => register(run),
      every: (_ms, run) => register(run),
      defer: (run) => run(),
    };
  }

  /** Timers and listeners still registered: what would keep a real process alive. */
  pending(): number {
    return this.#timers.size + this.#eventListeners.size + this.#stopListeners.size;
  }

  tick(): void {
    for (const run of [...this.#timers]) run();
  }

  emit(event: RaftEvent): void {
    for (const listener of [...this.#eventListeners]) listener(event);
  }

  stop(): void {
    this.#stopped = true;
    for (const listener of [...this.#stopListeners]) listener();
    this.#stopListeners.clear();
  }
}

function leaderStatus(roleOfTwo: Role): RaftStatus {
  return {
    id: 1,
    term: 2,
    vote: 1,
    role: 'leader',
    leaderId: 1,
    commitIndex: 5,
    appliedIndex: 5,
    lastIndex: 5,
    lastTerm: 2,
    durableIndex: 5,
    snapshotIndex: 0,
    receivingSnapshot: false,
    configurationIndex: 5,
    configuration: {
      servers: [
        { id: 1, address: '127.0.0.1:9001', role: Role.voter },
        { id: 2, address: '127.0.0.1:9002', role: roleOfTwo },
      ],
    },
  };
}

describe('raft waits', () => {
  it('a promotion still catching up when the node stops rejects, leaving nothing behind', async () => {
    const node = new ObservedNode(() => leaderStatus(Role.spare));
    const waiting = promoted(node, 2, 50);
    node.tick();
    expect(node.pending()).toBeGreaterThan(0);
    node.stop();
    await expect(waiting).rejects.toThrow('the node stopped during the promotion');
    expect(node.pending()).toBe(0);
  });

  it('a promotion asked of a node already stopped rejects at once', async () => {
    const node = new ObservedNode(() => leaderStatus(Role.spare));
    node.stop();
    await expect(promoted(node, 2, 50)).rejects.toThrow('the node stopped');
    expect(node.pending()).toBe(0);
  });

  it('a promotion resolves once the promotee is a voter in an applied configuration', async () => {
    let role: Role = Role.spare;
    const node = new ObservedNode(() => leaderStatus(role));
    const waiting = promoted(node, 2, 50);
    node.tick();
    role = Role.voter;
    node.tick();
    await expect(waiting).resolves.toBeUndefined();
    expect(node.pending()).toBe(0);
  });

  it('a failed promotion rejects with the reason', async () => {
    const node = new ObservedNode(() => leaderStatus(Role.spare));
    const waiting = promoted(node, 2, 50);
    node.emit({ type: 'promotion-failed', id: 2, reason: 'it did not catch up in time' });
    await expect(waiting).rejects.toThrow('promotion failed: it did not catch up in time');
    expect(node.pending()).toBe(0);
  });

  it('a transfer still under way when the node stops rejects, leaving nothing behind', async () => {
    const node = new ObservedNode(() => leaderStatus(Role.voter));
    const waiting = handedOver(node, 60_000);
    node.stop();
    await expect(waiting).rejects.toThrow('the node stopped during the transfer');
    expect(node.pending()).toBe(0);
  });
});
