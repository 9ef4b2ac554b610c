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
  clock(): Clock;
}

/**
 * Resolves once `id` is a voter in a configuration this node applied: a promotion's catch-up
 * rounds are over (thesis §4.2.1). Rejects if the promotion fails or this node stops leading.
 */
export function promoted(node: RaftObserver, id: NodeId, tickMilliseconds: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const status = node.status();
      const server = status.configuration.servers.find((candidate) => candidate.id === id);
      if (server?.role === Role.voter && status.configurationIndex <= node.appliedIndex()) {
        stop();
        resolve();
      }
    };
    const stopChecks = node.clock().every(tickMilliseconds, check);
    const unsubscribe = node.onEvent((event) => {
      if (event.type === 'promotion-failed' && event.id === id) {
        stop();
        reject(new MembershipError('bad-change', `promotion failed: ${event.reason}`));
      }
      if (event.type === 'role-changed' && event.role !== 'leader') {
        stop();
        reject(new MembershipError('not-leader', 'leadership lost during the promotion'));
      }
    });
    const stop = () => {
      stopChecks();
      unsubscribe();
    };
  });
}

/**
 * Resolves once a transfer this node started is over: it stepped down and knows the new leader,
 * so a LEADER request right after names it (as dqlite's does). Rejects when the transfer fails
 * or takes longer than `timeoutMs`.
 */
export function handedOver(node: RaftObserver, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelTimeout = node.clock().after(timeoutMs, () => {
      stop();
      reject(new MembershipError('bad-target', 'leadership transfer failed: timed out'));
    });
    const done = () => {
      const status = node.status();
      return status.role !== 'leader' && status.leaderId !== 0 && status.leaderId !== node.id();
    };
    const unsubscribe = node.onEvent((event) => {
      if (done()) {
        stop();
        resolve();
      } else if (event.type === 'transfer-failed') {
        stop();
        reject(new MembershipError('bad-target', `leadership transfer failed: ${event.reason}`));
      }
    });
    const stop = () => {
      cancelTimeout();
      unsubscribe();
    };
  });
}
