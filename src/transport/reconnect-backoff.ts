/** The bounds of the delay between a lost or failed connection and the next dial. */
export interface ReconnectBackoff {
  readonly delayMillisecondsMin: number;
  readonly delayMillisecondsMax: number;
}

/** Doublings after which the ceiling is certainly at its maximum; keeps 2 ** n finite. */
const DOUBLINGS_MAX = 52;

/**
 * The delay before dial number `attempt` (1 for the first retry) of one peer: the ceiling doubles
 * from the minimum up to the maximum, and the delay is drawn from the upper half of it, never
 * below the minimum. The jitter spreads the dials of nodes that lost a peer at the same moment;
 * the upper half keeps the growth that protects a peer that is restarting.
 *
 * `random` returns a number in [0, 1), like Math.random; tests inject a fixed one.
 */
export function reconnectDelayMilliseconds(
  attempt: number,
  backoff: ReconnectBackoff,
  random: () => number,
): number {
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  }
  const draw = random();
  if (!(draw >= 0 && draw < 1)) throw new RangeError(`random() returned ${draw}, not in [0, 1)`);
  const { delayMillisecondsMin: minimum, delayMillisecondsMax: maximum } = backoff;
  const ceiling = Math.min(maximum, minimum * 2 ** Math.min(attempt - 1, DOUBLINGS_MAX));
  return Math.max(minimum, Math.floor(ceiling / 2 + (draw * ceiling) / 2));
}
