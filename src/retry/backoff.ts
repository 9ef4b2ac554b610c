/**
 * Exponential backoff with a cap, and jitter for the callers that want it: written once for
 * every retry loop of the project, from the bottom layer so that every layer may import it
 * (docs/architecture.md, "Layering"). Pure: no timers, no clock, and no `Math.random` of its
 * own, so a seeded simulator can pass its source.
 */

/** The bounds of an exponential backoff. Invariant: 0 < firstMs <= maxMs. */
export interface Backoff {
  /** The ceiling before the first retry; it doubles with each retry after that. */
  readonly firstMs: number;
  /** The cap the doubling stops at. */
  readonly maxMs: number;
}

/**
 * The ceiling before retry number `attempt` (1 for the first): `firstMs * 2 ** (attempt - 1)`,
 * capped at `maxMs`. Without jitter this is the delay itself. A large `attempt` makes the power
 * Infinity, which the cap turns into `maxMs`.
 */
export function backoffCeilingMs(backoff: Backoff, attempt: number): number {
  checkBackoff(backoff);
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  }
  return Math.min(backoff.maxMs, backoff.firstMs * 2 ** (attempt - 1));
}

/**
 * A delay drawn uniformly from the upper half of the ceiling, from `ceiling / 2` up to `ceiling`
 * (which rounding may reach): the jitter spreads apart the retries of callers that failed at the
 * same moment, and the lower bound keeps the growth that protects whatever they retry against.
 *
 * `random` returns a number in [0, 1), as Math.random does; a simulator passes its seeded source
 * and tests a fixed one.
 */
export function backoffJitteredMs(backoff: Backoff, attempt: number, random: () => number): number {
  const ceiling = backoffCeilingMs(backoff, attempt);
  const draw = random();
  if (!(draw >= 0 && draw < 1)) throw new RangeError(`random() returned ${draw}, not in [0, 1)`);
  return ceiling / 2 + (draw * ceiling) / 2;
}

function checkBackoff(backoff: Backoff): void {
  if (!(Number.isFinite(backoff.firstMs) && backoff.firstMs > 0)) {
    throw new RangeError(`backoff firstMs must be a positive number, got ${backoff.firstMs}`);
  }
  if (!(Number.isFinite(backoff.maxMs) && backoff.maxMs >= backoff.firstMs)) {
    throw new RangeError(
      `backoff maxMs must be a number no smaller than firstMs, got ${backoff.maxMs}`,
    );
  }
}
