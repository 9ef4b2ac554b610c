import { Role, type NodeId, type RaftEvent, type RaftStatus } from '../raft/index.js';
import type { Clock } from './clock.js';
import { MembershipError } from './membership-error.js';

/** What the waits below need to see of a node's Raft. */
export interface RaftObserver {
  id(): NodeId;
  status(): RaftStatus;
  /** The last entry the node applied (handed to its state machine). */
  appliedIndex(): number;
  onEvent(listener: (event: RaftEvent) => void): () => void;
  /**
   * Calls `listener` once when the node stops (at once if it has): its Raft ticks and events end
   * there, so a wait that only watched them would never settle, and its timer would keep the
   * process alive.
   */
  onStop(listener: () => void): () => void;
  clock(): Clock;
}

/**
 * A wait on a node's Raft: `watch` starts the watchers (each returns how to stop it) and may
 * call `settle` from any of them. Settling stops every watcher; so does the node stopping, which
 * rejects with `stoppedMessage`.
 */
function raftWait(
  node: RaftObserver,
  stoppedMessage: string,
  watch: (settle: (error?: Error) => void) => (() => void)[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const stops: (() => void)[] = [];
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      for (const stop of stops) stop();
      if (error === undefined) resolve();
      else reject(error);
    };
    stops.push(...watch(settle));
    stops.push(node.onStop(() => settle(new MembershipError('not-leader', stoppedMessage))));
    if (settled) for (const stop of stops) stop(); // the node had stopped already
  });
}

/**
 * Resolves once `id` is a voter in a configuration this node applied: a promotion's catch-up
 * rounds are over (thesis §4.2.1). Rejects if the promotion fails, this node stops leading or
 * the node stops.
 */
export function promoted(node: RaftObserver, id: NodeId, tickMilliseconds: number): Promise<void> {
  return raftWait(node, 'the node stopped during the promotion', (settle) => [
    node.clock().every(tickMilliseconds, () => {
      const status = node.status();
      const server = status.configuration.servers.find((candidate) => candidate.id === id);
      if (server?.role === Role.voter && status.configurationIndex <= node.appliedIndex()) {
        settle();
      }
    }),
    node.onEvent((event) => {
      if (event.type === 'promotion-failed' && event.id === id) {
        settle(new MembershipError('bad-change', `promotion failed: ${event.reason}`));
      }
      if (event.type === 'role-changed' && event.role !== 'leader') {
        settle(new MembershipError('not-leader', 'leadership lost during the promotion'));
      }
    }),
  ]);
}

/**
 * Resolves once a transfer this node started is over: it stepped down and knows the new leader,
 * so a LEADER request right after names it (as dqlite's does). Rejects when the transfer fails
 * or takes longer than `timeoutMs`, or when the node stops.
 */
export function handedOver(node: RaftObserver, timeoutMs: number): Promise<void> {
  const done = () => {
    const status = node.status();
    return status.role !== 'leader' && status.leaderId !== 0 && status.leaderId !== node.id();
  };
  return raftWait(node, 'the node stopped during the transfer', (settle) => [
    node.clock().after(timeoutMs, () => {
      settle(new MembershipError('bad-target', 'leadership transfer failed: timed out'));
    }),
    node.onEvent((event) => {
      if (done()) settle();
      else if (event.type === 'transfer-failed') {
        settle(new MembershipError('bad-target', `leadership transfer failed: ${event.reason}`));
      }
    }),
  ]);
}
