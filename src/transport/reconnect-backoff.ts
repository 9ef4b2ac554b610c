import { backoffJitteredMs, type Backoff } from '../retry/backoff.js';

/**
 * The delay before dial number `attempt` (1 for the first retry) of one peer: the shared jittered
 * backoff (src/retry/), from `reconnectDelayMillisecondsMin` up to `reconnectDelayMillisecondsMax`,
 * in whole milliseconds and never below the minimum, which the option's name promises. So the
 * first redial waits exactly the minimum, and the jitter spreads the later dials of nodes that
 * lost a peer at the same moment.
 *
 * `random` returns a number in [0, 1), like Math.random; the node passes its environment's (the
 * simulator's is seeded) and tests a fixed one.
 */
export function reconnectDelayMilliseconds(
  attempt: number,
  backoff: Backoff,
  random: () => number,
): number {
  return Math.max(backoff.firstMs, Math.floor(backoffJitteredMs(backoff, attempt, random)));
}
