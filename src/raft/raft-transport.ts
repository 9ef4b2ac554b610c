import type { Message } from './types.js';

/**
 * How the driver sends Raft messages. Fire and forget: a transport may drop, delay or reorder
 * messages (Raft tolerates all three); it must never alter one. Implementations: the TCP peer
 * transport in `src/transport`, and the simulator's network.
 */
export interface RaftTransport {
  send(message: Message): void;
}
