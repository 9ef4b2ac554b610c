import type { Message } from './types.js';

/**
 * How the driver sends Raft messages. Fire and forget: a transport may drop, duplicate, delay or
 * reorder messages (Raft tolerates all of it by retransmitting, §5.3); it must never alter one.
 * Incoming messages reach the host through a callback given to the implementation.
 * Implementations: `PeerTransport` over TCP in `src/transport` (it keeps the order of messages to
 * one peer, except that InstallSnapshot chunks may be overtaken), and the simulator's network.
 */
export interface RaftTransport {
  send(message: Message): void;
}
