/**
 * A safety property of Raft (or of the simulator's model of a host) does not hold. The run stops
 * at the first one and reports it with its seed, so it can be replayed.
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  /** Which property broke, such as "election safety"; stable, for grouping failures. */
  readonly invariant: string;

  constructor(invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
    this.invariant = invariant;
  }
}
